package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/store"
	"github.com/cascadehq/cascade/internal/testkit"
)

// drain collects what w.Next returns into got (latest state per notice)
// until cond holds.
func drainUntil(t *testing.T, w *store.NoticeWatch, got map[breach.NoticeID]*breach.Notice, seen *int, cond func() bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for !cond() {
		select {
		case <-w.Ready():
			ns, err := w.Next()
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range ns {
				got[n.ID] = n
				*seen++
			}
		case <-deadline:
			t.Fatalf("watch: condition not met; have %d notices", len(got))
		}
	}
}

// TestNoticeFeed: one tail for all watchers, started by the first and
// stopped by the last; a watcher gets the snapshot, then every later
// change of its notices only, never one the snapshot had; a watcher that
// does not read ends with every notice's latest state, each once.
func TestNoticeFeed(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	feed := store.NewNoticeFeed(st, 0, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var cs []store.Change
	for i := range 20 {
		cs = append(cs, newNotice("F1", fmt.Sprintf("org-%02d", i)))
	}
	if _, err := st.AppendChanges(ctx, cs, make([]uint64, len(cs))); err != nil {
		t.Fatal(err)
	}
	if feed.Running() {
		t.Fatal("tail runs without watchers")
	}
	wOrg, snap, err := feed.Watch(ctx, store.NoticeFilter{Org: "org-03"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap) != 1 || snap[0].ID.Org != "org-03" || snap[0].State != breach.StatePending {
		t.Fatalf("org snapshot = %+v", snap)
	}
	wBreach, snap, err := feed.Watch(ctx, store.NoticeFilter{Breach: "F1"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap) != 20 {
		t.Fatalf("breach snapshot: %d notices", len(snap))
	}
	// A watcher that reads nothing until the end.
	wSlow, _, err := feed.Watch(ctx, store.NoticeFilter{Breach: "F1"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if !feed.Running() || feed.Watchers() != 3 {
		t.Fatalf("running %v with %d watchers", feed.Running(), feed.Watchers())
	}
	// Deliver all, then acknowledge all: 40 changes.
	for _, c := range cs {
		if _, err := st.UpdateNotice(ctx, c.Notice.ID, "t", t0, func(n *breach.Notice) (breach.Event, error) {
			return n.Deliver(t0, time.Hour, 1), nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cs {
		if _, err := st.UpdateNotice(ctx, c.Notice.ID, "t", t0, func(n *breach.Notice) (breach.Event, error) {
			return n.Acknowledge(t0, "dpo", "", 0)
		}); err != nil {
			t.Fatal(err)
		}
	}
	acked := func(got map[breach.NoticeID]*breach.Notice, want int) func() bool {
		return func() bool {
			k := 0
			for _, n := range got {
				if n.State == breach.StateAcknowledged {
					k++
				}
			}
			return k == want
		}
	}
	got, seen := map[breach.NoticeID]*breach.Notice{}, 0
	drainUntil(t, wBreach, got, &seen, acked(got, 20))
	if seen > 40 {
		t.Errorf("breach watcher: %d changes for 40 stored", seen)
	}
	gotOrg, seenOrg := map[breach.NoticeID]*breach.Notice{}, 0
	drainUntil(t, wOrg, gotOrg, &seenOrg, acked(gotOrg, 1))
	if len(gotOrg) != 1 || seenOrg > 2 {
		t.Errorf("org watcher: %d notices, %d changes", len(gotOrg), seenOrg)
	}
	// The slow watcher: its queue coalesced, one state per notice, the
	// latest (the tail may still be queueing the last acknowledgement for
	// it: a second read then has that one).
	gotSlow, seenSlow := map[breach.NoticeID]*breach.Notice{}, 0
	drainUntil(t, wSlow, gotSlow, &seenSlow, acked(gotSlow, 20))
	if seenSlow > 21 {
		t.Errorf("slow watcher: %d states for 20 notices; want them coalesced", seenSlow)
	}
	wOrg.Close()
	wBreach.Close()
	if !feed.Running() {
		t.Fatal("tail stopped with a watcher left")
	}
	wSlow.Close()
	if feed.Running() || feed.Watchers() != 0 {
		t.Fatal("tail runs after the last watcher left")
	}
	// A new watcher starts it again.
	w, _, err := feed.Watch(ctx, store.NoticeFilter{Breach: "F1", Org: "org-00"}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := st.UpdateNotice(ctx, cs[0].Notice.ID, "t", t0, func(n *breach.Notice) (breach.Event, error) {
		return n.RecordNotReportable(t0, "dpo", "no risk")
	}); err != nil {
		t.Fatal(err)
	}
	got = map[breach.NoticeID]*breach.Notice{}
	drainUntil(t, w, got, &seen, func() bool { return got[cs[0].Notice.ID] != nil })
}

// TestNoticeFeedBehind: a watcher whose queue passes its bound ends with
// ErrWatchBehind; the others go on.
func TestNoticeFeedBehind(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	feed := store.NewNoticeFeed(st, 5, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w, _, err := feed.Watch(ctx, store.NoticeFilter{Breach: "F2"}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var cs []store.Change
	for i := range 10 {
		cs = append(cs, newNotice("F2", fmt.Sprintf("org-%02d", i)))
	}
	if _, err := st.AppendChanges(ctx, cs, make([]uint64, len(cs))); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if _, err := w.Next(); err != store.ErrWatchBehind {
			return fmt.Errorf("next: %v", err)
		}
		return nil
	})
}
