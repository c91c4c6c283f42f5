package intake

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/natstest"
	"github.com/cascadehq/cascade/internal/store"
)

func orgRange(from, to int) []store.Member {
	var ms []store.Member
	for i := from; i < to; i++ {
		ms = append(ms, store.Member{Org: breach.OrgID(fmt.Sprintf("org-%05d", i))})
	}
	return ms
}

// TestWriteMembershipResumesAfterCrash: an attempt that crashed after
// writing some chunks is completed from where it stopped, even if the
// registry changed in between; no member of the first attempt is lost or
// repeated.
func TestWriteMembershipResumesAfterCrash(t *testing.T) {
	srv := natstest.Start(t)
	st, err := store.Open(context.Background(), srv.Connect(), store.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	in := &Intake{st: st}
	ctx := context.Background()
	first := orgRange(0, 2500)
	// The crashed attempt wrote chunk 0 only.
	if _, err := st.PutMembers(ctx, "B1", "digest", 0, first[:store.MembersChunk]); err != nil {
		t.Fatal(err)
	}
	// Meanwhile org-00010 (in chunk 0) and org-02000 left the registry and five joined at the end.
	var second []store.Member
	for _, m := range orgRange(0, 2505) {
		if m.Org != "org-00010" && m.Org != "org-02000" {
			second = append(second, m)
		}
	}
	chunks, count, err := in.writeMembership(ctx, "B1", "digest", 0, second)
	if err != nil {
		t.Fatal(err)
	}
	if chunks != 3 || count != 2504 {
		t.Fatalf("chunks=%d count=%d; want 3 and 2504 (chunk 0 kept whole, org-02000 gone, 5 added)", chunks, count)
	}
	seen := map[breach.OrgID]bool{}
	for c := range chunks {
		ms, err := st.Members(ctx, "B1", "digest", c)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if seen[m.Org] {
				t.Fatalf("%s in two chunks", m.Org)
			}
			seen[m.Org] = true
		}
	}
	if !seen["org-00010"] || seen["org-02000"] || !seen["org-02504"] {
		t.Fatalf("membership wrong: org-00010=%v org-02000=%v org-02504=%v", seen["org-00010"], seen["org-02000"], seen["org-02504"])
	}
	// Running it again changes nothing.
	if c2, n2, err := in.writeMembership(ctx, "B1", "digest", 0, second); err != nil || c2 != chunks || n2 != count {
		t.Fatalf("rerun = %d, %d, %v", c2, n2, err)
	}
}
