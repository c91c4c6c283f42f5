package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cascadehq/cascade/internal/breach"
)

// longID is a valid organisation id of 64 characters.
func longID(prefix string, i int) breach.OrgID {
	s := fmt.Sprintf("%s-%06d-", prefix, i)
	return breach.OrgID(s + strings.Repeat("x", 64-len(s)))
}

// TestLargeBreachRecord: a breach whose affected list and unknown ids
// together are far larger than one NATS message (20,000 entries of 64
// characters, and 19,999 of them unknown) is stored, reads back whole,
// keeps its lists through an update, and an old-style small record still
// reads as it is.
func TestLargeBreachRecord(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	b := &breach.Breach{ID: "B-large", Revision: 1, ReceivedAt: t0, Digest: strings.Repeat("ab", 32), NoticeCount: 1, Chunks: 1}
	b.Report = breach.Report{ID: b.ID, Processor: "P", Title: "T", Nature: strings.Repeat("n", breach.MaxLongText), DiscoveredAt: t0}
	for i := range breach.MaxAffected {
		b.Report.Affected = append(b.Report.Affected, breach.Affected{Org: longID("org", i), ApproxSubjects: breach.MaxApproxQuantity, ApproxRecords: breach.MaxApproxQuantity})
		if i > 0 {
			b.UnknownOrgs = append(b.UnknownOrgs, longID("org", i))
		}
	}
	if _, existed, err := st.CreateBreach(ctx, b); err != nil || existed {
		t.Fatalf("CreateBreach = %v, %v", existed, err)
	}
	got, err := st.GetBreach(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Report.Affected, b.Report.Affected) || !reflect.DeepEqual(got.UnknownOrgs, b.UnknownOrgs) {
		t.Fatalf("read back %d affected, %d unknown; want %d, %d", len(got.Report.Affected), len(got.UnknownOrgs), len(b.Report.Affected), len(b.UnknownOrgs))
	}
	if _, err := st.UpdateBreach(ctx, b.ID, func(b *breach.Breach) error { b.FanoutComplete = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, err = st.GetBreach(ctx, b.ID); err != nil || !got.FanoutComplete || len(got.Report.Affected) != breach.MaxAffected || len(got.UnknownOrgs) != breach.MaxAffected-1 {
		t.Fatalf("after update: %v, complete=%v, %d affected, %d unknown", err, got != nil && got.FanoutComplete, len(got.Report.Affected), len(got.UnknownOrgs))
	}

	small := &breach.Breach{ID: "B-small", Revision: 1, Digest: "cd", Report: breach.Report{Title: "t", Affected: []breach.Affected{{Org: "a"}}}, UnknownOrgs: []breach.OrgID{"z"}}
	if _, _, err := st.CreateBreach(ctx, small); err != nil {
		t.Fatal(err)
	}
	if got, err := st.GetBreach(ctx, small.ID); err != nil || len(got.Report.Affected) != 1 || len(got.UnknownOrgs) != 1 {
		t.Fatalf("small breach = %+v, %v", got, err)
	}
}

// TestBreachRecordTooLarge: a change that would make a record larger than
// the server takes (revisions whose texts add up) is refused as invalid,
// too_large, and leaves the stored record as it was.
func TestBreachRecordTooLarge(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	b := &breach.Breach{ID: "B-grow", Revision: 1, Digest: "ef", Report: breach.Report{Title: "t", Affected: []breach.Affected{{Org: "a"}}}}
	if _, _, err := st.CreateBreach(ctx, b); err != nil {
		t.Fatal(err)
	}
	_, err := st.UpdateBreach(ctx, b.ID, func(b *breach.Breach) error {
		for i := range 40 {
			b.Revisions = append(b.Revisions, breach.Revision{Number: i + 2, Update: breach.Update{Summary: strings.Repeat("€", breach.MaxLongText)}})
		}
		return nil
	})
	var inv *breach.InvalidError
	if !errors.As(err, &inv) || inv.Violations[0].Reason != "too_large" {
		t.Fatalf("UpdateBreach = %v; want an invalid error, too_large", err)
	}
	if got, err := st.GetBreach(ctx, b.ID); err != nil || len(got.Revisions) != 0 {
		t.Fatalf("stored breach changed: %v", err)
	}
}
