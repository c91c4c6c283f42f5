package store

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/natstest"
)

// TestMultiGetNotices: one multi_last request returns the current state and
// sequence of every existing notice, aligned with the ids, nil for missing
// ones, also for a full request of multiGetMax notices.
func TestMultiGetNotices(t *testing.T) {
	srv := natstest.Start(t)
	st, err := Open(context.Background(), srv.Connect(), Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	at := time.Date(2025, 8, 23, 14, 0, 0, 0, time.UTC)
	var cs []Change
	var ids []breach.NoticeID
	for i := range multiGetMax {
		id := breach.NewNoticeID("MG", breach.OrgID(fmt.Sprintf("org-%04d", i)))
		ids = append(ids, id)
		if i%10 == 3 {
			continue // never created
		}
		cs = append(cs, Change{Event: breach.EventCreated, At: at, Actor: "test", Notice: breach.Notice{ID: id, State: breach.StatePending, CreatedAt: at}})
	}
	res, err := st.AppendChanges(ctx, cs, make([]uint64, len(cs)))
	if err != nil {
		t.Fatal(err)
	}
	// A second change of the first notice: its later sequence must be read.
	n, err := st.UpdateNotice(ctx, ids[0], "test", at, func(n *breach.Notice) (breach.Event, error) {
		n.AckNote = "changed"
		return breach.EventAcknowledged, nil
	})
	if err != nil || n.AckNote != "changed" {
		t.Fatal(err)
	}
	vs, err := st.multiGetNotices(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	one, err := st.getNoticesEach(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vs {
		switch {
		case i%10 == 3:
			if v.Notice != nil {
				t.Fatalf("%s: read a notice that was never created", ids[i])
			}
		case v.Notice == nil || v.Notice.ID != ids[i] || v.Seq != one[i].Seq:
			t.Fatalf("%s: got %+v, one by one %+v", ids[i], v, one[i])
		}
	}
	if vs[0].Notice.AckNote != "changed" || vs[0].Seq <= res[0].Seq {
		t.Fatalf("first notice: %+v (created at seq %d)", vs[0], res[0].Seq)
	}
	none, err := st.multiGetNotices(ctx, []breach.NoticeID{breach.NewNoticeID("MG", "nobody")})
	if err != nil || none[0].Notice != nil {
		t.Fatalf("missing notice: %+v, %v", none, err)
	}
}
