package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/natstest"
	"github.com/cascadehq/cascade/internal/store"
)

func open(t testing.TB) *store.Store {
	t.Helper()
	srv := natstest.Start(t)
	st, err := store.Open(context.Background(), srv.Connect(), store.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

var t0 = time.Date(2025, 8, 23, 14, 0, 0, 0, time.UTC)

func newNotice(b, o string) store.Change {
	return store.Change{Event: breach.EventCreated, At: t0, Actor: "test", Notice: breach.Notice{
		ID: breach.NewNoticeID(breach.BreachID(b), breach.OrgID(o)), State: breach.StatePending, CreatedAt: t0,
	}}
}

func TestAppendChangesCreatesOnce(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	cs := []store.Change{newNotice("B1", "a"), newNotice("B1", "b")}
	res, err := st.AppendChanges(ctx, cs, []uint64{0, 0})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Conflict || res[1].Conflict || res[0].Seq == 0 {
		t.Fatalf("first create = %+v", res)
	}
	again, err := st.AppendChanges(ctx, cs, []uint64{0, 0})
	if err != nil {
		t.Fatal(err)
	}
	if !again[0].Conflict || !again[1].Conflict {
		t.Fatalf("second create = %+v; want conflicts", again)
	}
	h, err := st.History(ctx, cs[0].Notice.ID)
	if err != nil || len(h) != 1 {
		t.Fatalf("history = %v, %v", h, err)
	}
}

// TestUpdateNoticeUnderContention: concurrent read-modify-writes of one
// notice all land, none lost, none applied twice.
func TestUpdateNoticeUnderContention(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	c := newNotice("B1", "a")
	if _, err := st.AppendChanges(ctx, []store.Change{c}, []uint64{0}); err != nil {
		t.Fatal(err)
	}
	const writers = 16
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.UpdateNotice(ctx, c.Notice.ID, "w", t0, func(n *breach.Notice) (breach.Event, error) {
				return n.Deliver(t0, time.Hour, 1), nil
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	v, err := st.GetNotice(ctx, c.Notice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Notice.DeliveryCount != writers || v.Notice.State != breach.StateDelivered {
		t.Fatalf("notice = %+v; want %d deliveries", v.Notice, writers)
	}
	h, err := st.History(ctx, c.Notice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != writers+1 || h[1].Change.Event != breach.EventDelivered || h[1].Change.Prev != breach.StatePending || h[2].Change.Event != breach.EventRedelivered {
		t.Fatalf("history has %d entries: %+v", len(h), h[:3])
	}
}

func TestUpdateNoticeErrors(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	_, err := st.UpdateNotice(ctx, breach.NewNoticeID("B1", "nope"), "x", t0, func(*breach.Notice) (breach.Event, error) { return "x", nil })
	if !errors.Is(err, breach.ErrNotFound) {
		t.Fatalf("missing notice: %v", err)
	}
	c := newNotice("B1", "a")
	if _, err := st.AppendChanges(ctx, []store.Change{c}, []uint64{0}); err != nil {
		t.Fatal(err)
	}
	// A domain error from fn is returned as is and nothing is written.
	_, err = st.UpdateNotice(ctx, c.Notice.ID, "x", t0, func(n *breach.Notice) (breach.Event, error) {
		return n.Acknowledge(t0, "dpo", "", 0)
	})
	if !errors.Is(err, breach.ErrIllegalTransition) {
		t.Fatalf("ack of pending notice: %v", err)
	}
	// No change: nothing written.
	if _, err := st.UpdateNotice(ctx, c.Notice.ID, "x", t0, func(*breach.Notice) (breach.Event, error) { return "", nil }); err != nil {
		t.Fatal(err)
	}
	if h, _ := st.History(ctx, c.Notice.ID); len(h) != 1 {
		t.Fatalf("history has %d entries, want 1", len(h))
	}
}

func TestMembersWrittenOnce(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	first := []store.Member{{Org: "a", Name: "A"}}
	if _, err := st.PutMembers(ctx, "B1", "d1", 0, first); err != nil {
		t.Fatal(err)
	}
	got, err := st.PutMembers(ctx, "B1", "d1", 0, []store.Member{{Org: "z"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Org != "a" {
		t.Fatalf("second write returned %v; want the first", got)
	}
	// Another report digest has its own membership.
	if other, err := st.PutMembers(ctx, "B1", "d2", 0, []store.Member{{Org: "z"}}); err != nil || other[0].Org != "z" {
		t.Fatalf("other digest = %v, %v", other, err)
	}
	if _, err := st.Members(ctx, "B1", "d1", 1); !errors.Is(err, breach.ErrNotFound) {
		t.Fatalf("missing chunk: %v", err)
	}
}

func TestSummaryCAS(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	v, err := st.GetSummary(ctx, "B1")
	if err != nil || v.Applied != 0 {
		t.Fatalf("empty summary = %+v, %v", v, err)
	}
	v.Summary.Total, v.Applied = 1, 5
	if ok, err := st.PutSummary(ctx, v); !ok || err != nil {
		t.Fatalf("first put = %v, %v", ok, err)
	}
	// A second writer from the same (stale) read loses.
	if ok, err := st.PutSummary(ctx, v); ok || err != nil {
		t.Fatalf("stale put = %v, %v; want conflict", ok, err)
	}
	got, _ := st.GetSummary(ctx, "B1")
	if got.Summary.Total != 1 || got.Applied != 5 {
		t.Fatalf("stored = %+v", got)
	}
}

func TestLoadOrgsWritesOnlyChanges(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	orgs := make([]breach.Org, 2500) // more than one atomic batch
	for i := range orgs {
		orgs[i] = breach.Org{ID: breach.OrgID(fmt.Sprintf("org-%05d", i)), Name: fmt.Sprintf("Org %d", i)}
	}
	res, err := st.LoadOrgs(ctx, orgs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != len(orgs) || res.Unchanged != 0 {
		t.Fatalf("first load: %+v, want %d written", res, len(orgs))
	}
	kv, err := st.JetStream().KeyValue(ctx, store.BucketOrgs)
	if err != nil {
		t.Fatal(err)
	}
	before, err := kv.Get(ctx, "org-00007")
	if err != nil {
		t.Fatal(err)
	}
	orgs[42].Name = "Renamed"
	orgs = append(orgs, breach.Org{ID: "org-new", Name: "New"})
	res, err = st.LoadOrgs(ctx, orgs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != 2 || res.Unchanged != len(orgs)-2 {
		t.Fatalf("second load: %+v, want 2 written, %d unchanged", res, len(orgs)-2)
	}
	after, err := kv.Get(ctx, "org-00007")
	if err != nil {
		t.Fatal(err)
	}
	if after.Revision() != before.Revision() {
		t.Fatalf("an unchanged organisation was written again: revision %d → %d", before.Revision(), after.Revision())
	}
	for id, name := range map[breach.OrgID]string{"org-00042": "Renamed", "org-new": "New", "org-02499": "Org 2499"} {
		o, err := st.GetOrg(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if o.Name != name {
			t.Fatalf("%s: name %q, want %q", id, o.Name, name)
		}
	}
	all, err := st.AllOrgs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(orgs) {
		t.Fatalf("registry holds %d organisations, want %d", len(all), len(orgs))
	}
}
