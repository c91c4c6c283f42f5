package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/store"
)

// deliveredNotices creates and delivers one notice per organisation of
// breach b, all in chunk 0, delivered at t0 (deadline t0+72h).
func deliveredNotices(t *testing.T, st *store.Store, b string, orgs ...string) []breach.NoticeID {
	t.Helper()
	ctx := context.Background()
	var ids []breach.NoticeID
	var created []store.Change
	for _, o := range orgs {
		c := newNotice(b, o)
		created = append(created, c)
		ids = append(ids, c.Notice.ID)
	}
	res, err := st.AppendChanges(ctx, created, make([]uint64, len(created)))
	if err != nil {
		t.Fatal(err)
	}
	var delivered []store.Change
	var expect []uint64
	for i, c := range created {
		n := c.Notice
		ev := n.Deliver(t0, 72*time.Hour, 1)
		delivered = append(delivered, store.Change{Event: ev, At: t0, Actor: "test", Prev: breach.StatePending, Notice: n})
		expect = append(expect, res[i].Seq)
	}
	if _, err := st.AppendChanges(ctx, delivered, expect); err != nil {
		t.Fatal(err)
	}
	return ids
}

func reminderRemaining(n *breach.Notice) []time.Duration {
	var out []time.Duration
	for _, r := range n.Reminders {
		out = append(out, r.Remaining)
	}
	return out
}

func historyEvents(h []store.Entry) []breach.Event {
	var out []breach.Event
	for _, e := range h {
		out = append(out, e.Change.Event)
	}
	return out
}

// TestChunkReminders: one record per chunk and threshold round; every read
// of a notice (one, many, by organisation, its history, the breach's
// histories) shows the reminders that name it, as if they were its own
// records; a repeated round records nothing twice.
func TestChunkReminders(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	ids := deliveredNotices(t, st, "B1", "a", "b", "c")
	sent48 := t0.Add(24 * time.Hour)
	rec, err := st.RecordReminders(ctx, "B1", 0, []store.ReminderRound{
		{Remaining: 48 * time.Hour, SentAt: sent48, Actor: "cascade", Orgs: []breach.OrgID{"c", "a"}, Late: []breach.OrgID{"c"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, seq1, err := st.ChunkReminders(ctx, "B1", 0)
	if err != nil || seq1 == 0 {
		t.Fatalf("record: seq %d, %v", seq1, err)
	}
	if len(rec) != 1 || rec[0].Seq != seq1 || !slices.Equal(rec[0].Orgs, []breach.OrgID{"a", "c"}) || !slices.Equal(rec[0].Late, []breach.OrgID{"c"}) {
		t.Fatalf("recorded %+v", rec)
	}
	// A repeat (a firing handled again after a crash, or by a second
	// daemon) adds nothing, and says what is on record: the first time.
	again, err := st.RecordReminders(ctx, "B1", 0, []store.ReminderRound{
		{Remaining: 48 * time.Hour, SentAt: sent48.Add(time.Minute), Actor: "cascade", Orgs: []breach.OrgID{"a", "c"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, seq, _ := st.ChunkReminders(ctx, "B1", 0); seq != seq1 {
		t.Fatalf("a repeated round was written: seq %d, was %d", seq, seq1)
	}
	if len(again) != 1 || !again[0].SentAt.Equal(sent48) {
		t.Fatalf("repeat: on record %+v", again)
	}

	v, err := st.GetNotice(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Notice.Reminders; len(got) != 1 || got[0].Remaining != 48*time.Hour || !got[0].SentAt.Equal(sent48) ||
		!got[0].DueAt.Equal(t0.Add(24*time.Hour)) || got[0].Late {
		t.Fatalf("a: reminders %+v", got)
	}
	vs, err := st.GetNotices(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if r := vs[2].Notice.Reminders; len(r) != 1 || !r[0].Late {
		t.Fatalf("c: reminders %+v (late)", r)
	}
	if r := vs[1].Notice.Reminders; len(r) != 0 {
		t.Fatalf("b was not reminded: %+v", r)
	}

	// An acknowledgement through the CAS helper carries the reminder on,
	// and the notice it returns shows it.
	acked, err := st.UpdateNotice(ctx, ids[0], "dpo", t0.Add(25*time.Hour), func(n *breach.Notice) (breach.Event, error) {
		return n.Acknowledge(t0.Add(25*time.Hour), "dpo", "", 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := acked.Reminders; acked.State != breach.StateAcknowledged || len(r) != 1 || r[0].Remaining != 48*time.Hour || !r[0].SentAt.Equal(sent48) {
		t.Fatalf("a after acknowledging: state %v, reminders %+v", acked.State, r)
	}
	// A change stored concurrently with a round, from a read before it:
	// the round still shows on the notice and on that change in the history.
	old, err := st.GetNotice(ctx, ids[1])
	if err != nil {
		t.Fatal(err)
	}
	sent24 := t0.Add(48 * time.Hour)
	if _, err := st.RecordReminders(ctx, "B1", 0, []store.ReminderRound{
		{Remaining: 24 * time.Hour, SentAt: sent24, Actor: "cascade", Orgs: []breach.OrgID{"b", "a"}},
		{Remaining: 48 * time.Hour, SentAt: sent24, Actor: "cascade", Orgs: []breach.OrgID{"b", "a"}}, // a: recorded before
	}); err != nil {
		t.Fatal(err)
	}
	n := *old.Notice
	ev, err := n.Acknowledge(t0.Add(49*time.Hour), "sec", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := st.AppendChanges(ctx, []store.Change{{Event: ev, At: t0.Add(49 * time.Hour), Actor: "sec", Prev: old.Notice.State, Notice: n}},
		[]uint64{old.Seq}); err != nil || res[0].Conflict {
		t.Fatalf("concurrent change: %+v, %v", res, err)
	}
	b, err := st.GetNotice(ctx, ids[1])
	if err != nil {
		t.Fatal(err)
	}
	if got := reminderRemaining(b.Notice); !slices.Equal(got, []time.Duration{24 * time.Hour, 48 * time.Hour}) || b.Notice.State != breach.StateAcknowledged {
		t.Fatalf("b: %v reminders, state %v", got, b.Notice.State)
	}
	if got := reminderRemaining(b.Notice); b.Notice.Reminders[0].SentAt.After(b.Notice.Reminders[1].SentAt) {
		t.Fatalf("b: reminders out of order: %v", got)
	}

	h, err := st.History(ctx, ids[1])
	if err != nil {
		t.Fatal(err)
	}
	want := []breach.Event{breach.EventCreated, breach.EventDelivered, breach.EventReminded, breach.EventReminded, breach.EventAcknowledged}
	if got := historyEvents(h); !slices.Equal(got, want) {
		t.Fatalf("b: history %v, want %v", got, want)
	}
	for i := 1; i < len(h); i++ {
		if h[i].Seq < h[i-1].Seq { // two rounds of one record share its sequence
			t.Fatalf("b: history not in ledger order: %d after %d", h[i].Seq, h[i-1].Seq)
		}
	}
	if r := h[2].Change; r.Detail != "reminder: 24h0m0s left" || r.Actor != "cascade" || !r.At.Equal(sent24) || r.Prev != breach.StateDelivered ||
		len(r.Notice.Reminders) != 1 {
		t.Fatalf("b: reminded entry %+v", r)
	}
	if last := h[len(h)-1].Change.Notice; len(last.Reminders) != 2 {
		t.Fatalf("b: the last change's notice lacks the reminders: %+v", last.Reminders)
	}

	ha, err := st.History(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	want = []breach.Event{breach.EventCreated, breach.EventDelivered, breach.EventReminded, breach.EventAcknowledged, breach.EventReminded}
	if got := historyEvents(ha); !slices.Equal(got, want) {
		t.Fatalf("a: history %v, want %v", got, want)
	}
	hs, err := st.Histories(ctx, "B1", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		one, _ := st.History(ctx, id)
		if got, want := historyEvents(hs[id]), historyEvents(one); !slices.Equal(got, want) {
			t.Fatalf("%s: histories %v, history %v", id, got, want)
		}
	}
	ns, err := st.OrgNotices(ctx, "c")
	if err != nil || len(ns) != 1 || len(ns[0].Reminders) != 1 {
		t.Fatalf("organisation c: %+v, %v", ns, err)
	}
}

// TestChunkRemindersConcurrent: writers of the same chunk's record (two
// daemons, one taking over a firing) merge; nothing is lost.
func TestChunkRemindersConcurrent(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	var orgs []string
	for i := range 24 { // 24 rounds: within a record's bound
		orgs = append(orgs, fmt.Sprintf("org-%02d", i))
	}
	deliveredNotices(t, st, "B2", orgs...)
	var wg sync.WaitGroup
	errs := make(chan error, len(orgs))
	for i, o := range orgs {
		wg.Go(func() {
			r := time.Duration(1+i%4) * time.Hour
			_, err := st.RecordReminders(ctx, "B2", 0, []store.ReminderRound{{Remaining: r, SentAt: t0.Add(time.Duration(i) * time.Second), Actor: "cascade", Orgs: []breach.OrgID{breach.OrgID(o)}}})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rs, _, err := st.ChunkReminders(ctx, "B2", 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[breach.OrgID]int{}
	for _, r := range rs {
		for _, o := range r.Orgs {
			seen[o]++
		}
	}
	if len(seen) != len(orgs) {
		t.Fatalf("%d of %d organisations recorded", len(seen), len(orgs))
	}
	for o, n := range seen {
		if n != 1 {
			t.Fatalf("%s recorded %d times", o, n)
		}
	}
}

// TestChunkRemindersBounded: a record that would grow too large, or hold
// too many rounds, is refused as a whole (the timers then record per
// notice).
func TestChunkRemindersBounded(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	var orgs []breach.OrgID
	for i := range 1000 {
		orgs = append(orgs, breach.OrgID(fmt.Sprintf("%s-%04d", strings.Repeat("o", 58), i)))
	}
	var err error
	for r := 1; r <= 20 && err == nil; r++ {
		_, err = st.RecordReminders(ctx, "B3", 0, []store.ReminderRound{{Remaining: time.Duration(r) * time.Hour, SentAt: t0, Actor: "cascade", Orgs: orgs}})
	}
	if !errors.Is(err, store.ErrRemindersTooLarge) {
		t.Fatalf("err = %v, want ErrRemindersTooLarge", err)
	}
	rs, _, err := st.ChunkReminders(ctx, "B3", 0)
	if err != nil || len(rs) == 0 || len(rs) >= 20 {
		t.Fatalf("%d rounds kept, %v", len(rs), err)
	}
	// Many small rounds: each write stores the record again, so their
	// number is bounded too.
	for r := 1; ; r++ {
		_, err = st.RecordReminders(ctx, "B3", 1, []store.ReminderRound{{Remaining: time.Hour, SentAt: t0, Actor: "cascade", Orgs: []breach.OrgID{breach.OrgID(fmt.Sprintf("o-%d", r))}}})
		if err != nil {
			if !errors.Is(err, store.ErrRemindersTooLarge) || r < 30 || r > 40 {
				t.Fatalf("round %d: %v", r, err)
			}
			break
		}
	}
}

// TestWatchShowsReminderRounds: a round is a change of each notice it
// names, on a watch of the breach or of the organisation; a new watch has
// it in its snapshot and is not sent it again.
func TestWatchShowsReminderRounds(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	feed := store.NewNoticeFeed(st, 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ids := deliveredNotices(t, st, "B4", "a", "b")
	next := func(w *store.NoticeWatch) []*breach.Notice {
		select {
		case <-w.Ready():
			ns, err := w.Next()
			if err != nil {
				t.Fatal(err)
			}
			return ns
		case <-time.After(10 * time.Second):
			t.Fatal("nothing on the watch")
		}
		return nil
	}
	wb, snap, err := feed.Watch(ctx, store.NoticeFilter{Breach: "B4"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer wb.Close()
	wo, _, err := feed.Watch(ctx, store.NoticeFilter{Org: "b"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer wo.Close()
	if len(snap) != 2 {
		t.Fatalf("snapshot: %d notices", len(snap))
	}
	if _, err := st.RecordReminders(ctx, "B4", 0, []store.ReminderRound{{Remaining: 6 * time.Hour, SentAt: t0.Add(66 * time.Hour), Actor: "cascade", Orgs: []breach.OrgID{"b"}}}); err != nil {
		t.Fatal(err)
	}
	for _, w := range []*store.NoticeWatch{wb, wo} {
		ns := next(w)
		if len(ns) != 1 || ns[0].ID != ids[1] || len(ns[0].Reminders) != 1 || ns[0].Reminders[0].Remaining != 6*time.Hour {
			t.Fatalf("watch: %+v", ns)
		}
	}
	// A new watch has it in its snapshot.
	w2, snap, err := feed.Watch(ctx, store.NoticeFilter{Breach: "B4"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	got := map[breach.NoticeID]int{}
	for _, n := range snap {
		got[n.ID] = len(n.Reminders)
	}
	if got[ids[0]] != 0 || got[ids[1]] != 1 {
		t.Fatalf("new watch: reminders per notice %v", got)
	}
}
