package daemon_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// noticeWatcher is one WatchNotices stream and what it received.
type noticeWatcher struct {
	req *cascadev1.WatchNoticesRequest

	mu       sync.Mutex
	caughtUp bool
	last     map[string]*cascadev1.Notice
	count    map[string]int       // notices received per notice id
	seenAt   map[string]time.Time // when the acknowledged state arrived
	err      error
}

func (w *noticeWatcher) run(s cascadev1.NoticeService_WatchNoticesClient) {
	for {
		m, err := s.Recv()
		w.mu.Lock()
		if err != nil {
			w.err = err
			w.mu.Unlock()
			return
		}
		if m.GetCaughtUp() != nil {
			w.caughtUp = true
		}
		if n := m.GetNotice(); n != nil {
			w.last[n.GetId()] = n
			w.count[n.GetId()]++
			if n.GetState() == cascadev1.NoticeState_NOTICE_STATE_ACKNOWLEDGED {
				if _, ok := w.seenAt[n.GetId()]; !ok {
					w.seenAt[n.GetId()] = time.Now()
				}
			}
		}
		w.mu.Unlock()
	}
}

// TestWatchNoticesFanout: 200 WatchNotices streams over real gRPC, half
// opened before a fan-out of 2,000 notices and half during it, watch the
// fan-out and 1,000 acknowledgements. Every watcher ends with the final
// state of every one of its notices, never receives one notice more often
// than its ledger has changes (no stored change twice), and sees each
// acknowledgement soon after it is stored. The lags are logged, not
// asserted beyond a generous bound: this is a correctness test.
func TestWatchNoticesFanout(t *testing.T) {
	const orgs, watchers, breachWatchers, acks = 2000, 200, 4, 1000
	opts := options(t)
	opts.OrgsFile = writeRegistry(t, orgs)
	opts.MaxStreamsPerToken, opts.MaxStreams = 2*watchers, 2*watchers
	e := start(t, opts)
	var conns []cascadev1.NoticeServiceClient
	for range 4 {
		cc, err := grpc.NewClient(e.d.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cc.Close() })
		conns = append(conns, cascadev1.NewNoticeServiceClient(cc))
	}
	const breachID = "WATCH-FAN"
	org := func(i int) string { return fmt.Sprintf("org-%05d", i) }
	// Watcher i: breach watchers first, then one notice (every 5th), then
	// an organisation's notices; organisations spread over the registry.
	ws := make([]*noticeWatcher, watchers)
	for i := range ws {
		req := &cascadev1.WatchNoticesRequest{OrgId: org(i * (orgs / watchers))}
		switch {
		case i < breachWatchers:
			req = &cascadev1.WatchNoticesRequest{BreachId: breachID}
		case i%5 == 0:
			req = &cascadev1.WatchNoticesRequest{NoticeId: breachID + "/" + org(i*(orgs/watchers))}
		}
		ws[i] = &noticeWatcher{req: req, last: map[string]*cascadev1.Notice{}, count: map[string]int{}, seenAt: map[string]time.Time{}}
	}
	wctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func(from, to int) {
		for i := from; i < to; i++ {
			s, err := conns[i%len(conns)].WatchNotices(wctx, ws[i].req)
			if err != nil {
				t.Fatal(err)
			}
			go ws[i].run(s)
		}
		testkit.Eventually(t, 30*time.Second, func() error {
			for _, w := range ws[from:to] {
				w.mu.Lock()
				ok, err := w.caughtUp, w.err
				w.mu.Unlock()
				if err != nil {
					t.Fatalf("watch %v: %v", w.req, err)
				}
				if !ok {
					return fmt.Errorf("watch %v not caught up", w.req)
				}
			}
			return nil
		})
	}
	// Half before the fan-out (the even ones: each kind of watcher).
	var before, during []int
	for i := range ws {
		if i%2 == 0 {
			before = append(before, i)
		} else {
			during = append(during, i)
		}
	}
	ws = append(pick(ws, before), pick(ws, during)...)
	open(0, len(before))
	began := time.Now()
	e.publish(allReport(breachID))
	testkit.Eventually(t, 20*time.Second, func() error {
		_, err := e.breachC.GetBreach(ctx(t), &cascadev1.GetBreachRequest{BreachId: breachID})
		return err
	})
	open(len(before), len(ws)) // during the fan-out: snapshot, then changes
	e.waitSummary(breachID, 120*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == orgs })
	t.Logf("fan-out of %d notices delivered in %v with %d watchers", orgs, time.Since(began).Round(time.Millisecond), watchers)

	// Acknowledgements: every watched organisation's and more, 8 at a time.
	// The lag from an acknowledgement being stored to a watcher having it
	// lies between the time from the call's return and from its start.
	type span struct{ called, returned time.Time }
	ackedAt := sync.Map{} // notice id -> span
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				id := breachID + "/" + org(i*(orgs/acks))
				called := time.Now()
				if _, err := e.noticeC.AcknowledgeNotice(ctx(t), &cascadev1.AcknowledgeNoticeRequest{NoticeId: id, AcknowledgedBy: "dpo"}); err != nil {
					t.Error(err)
					continue
				}
				ackedAt.Store(id, span{called, time.Now()})
			}
		}()
	}
	for i := range acks {
		next <- i
	}
	close(next)
	wg.Wait()

	// The final state of every notice, as ListNotices has it.
	final := map[string]*cascadev1.Notice{}
	for _, n := range e.listAll(&cascadev1.ListNoticesRequest{BreachId: breachID, PageSize: 1000}) {
		final[n.GetId()] = n
	}
	if len(final) != orgs {
		t.Fatalf("%d notices listed, want %d", len(final), orgs)
	}
	wants := func(w *noticeWatcher, id string) bool {
		n := final[id]
		switch {
		case w.req.GetNoticeId() != "":
			return id == w.req.GetNoticeId()
		case w.req.GetOrgId() != "":
			return n.GetOrgId() == w.req.GetOrgId()
		}
		return n.GetBreachId() == w.req.GetBreachId()
	}
	testkit.Eventually(t, 60*time.Second, func() error {
		for _, w := range ws {
			w.mu.Lock()
			err := w.err
			var stale string
			for id, n := range final {
				if wants(w, id) && !proto.Equal(w.last[id], n) {
					stale = id
					break
				}
			}
			w.mu.Unlock()
			if err != nil {
				t.Fatalf("watch %v ended: %v", w.req, err)
			}
			if stale != "" {
				return fmt.Errorf("watch %v: %s is %v, want %v", w.req, stale, w.last[stale].GetState(), final[stale].GetState())
			}
		}
		return nil
	})
	// Nothing else, and no notice more often than its ledger changed.
	changes := map[string]int{}
	var lags, upper []time.Duration
	received := 0
	for _, w := range ws {
		w.mu.Lock()
		for id, c := range w.count {
			received += c
			if !wants(w, id) {
				t.Errorf("watch %v received %s", w.req, id)
				continue
			}
			if c <= 2 {
				continue // every notice has at least two changes: created, delivered
			}
			if _, ok := changes[id]; !ok {
				h, err := e.noticeC.GetNoticeHistory(ctx(t), &cascadev1.GetNoticeHistoryRequest{NoticeId: id})
				if err != nil {
					t.Fatal(err)
				}
				changes[id] = len(h.GetEvents())
			}
			if c > changes[id] {
				t.Errorf("watch %v received %s %d times; its ledger has %d changes", w.req, id, c, changes[id])
			}
		}
		for id, seen := range w.seenAt {
			if at, ok := ackedAt.Load(id); ok {
				lags = append(lags, max(0, seen.Sub(at.(span).returned)))
				upper = append(upper, seen.Sub(at.(span).called))
			}
		}
		w.mu.Unlock()
	}
	slices.Sort(lags)
	slices.Sort(upper)
	if len(lags) == 0 {
		t.Fatal("no acknowledgement was watched")
	}
	q := func(ds []time.Duration, p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
	t.Logf("%d watchers received %d notices; acknowledgement to watcher, %d samples: from the call's return p50 %v, p99 %v, max %v; from its start p50 %v, p99 %v, max %v",
		len(ws), received, len(lags), q(lags, 0.5), q(lags, 0.99), lags[len(lags)-1], q(upper, 0.5), q(upper, 0.99), upper[len(upper)-1])
	if lags[len(lags)-1] > 10*time.Second {
		t.Errorf("an acknowledgement reached a watcher %v after it was stored", lags[len(lags)-1])
	}
}

func pick[T any](s []T, idx []int) []T {
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = s[j]
	}
	return out
}
