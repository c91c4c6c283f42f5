package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/auth"
	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/store"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// watchRep is what one repetition of the watch scenario measured.
type watchRep struct {
	inboxLag, pageLag, streamLag, all []time.Duration
	inboxRSS, inboxHeap               float64 // bytes per inbox view
	pageRSS, pageHeap                 float64 // bytes per notice page view
	missed, dups, reconnects          int
	events                            int64
	acks                              ackResult
	inSnapshot                        int
}

// runWatch: per repetition, a daemon with authentication on (as deployed)
// and its dashboard, a registry of WatchOrgs organisations, a controller
// token for each of WatchViews organisations spread over the registry and
// a viewer token per WatchStreams stream. The client process opens the
// views (each organisation's inbox, GET /api/events/notices); the breach
// is reported and, as soon as it is recorded, the WatchBreach streams
// open; the fan-out runs to the end. Then the views become the notice
// pages (GET /api/events/notices/{breach}/{org}) and AckConcurrency
// clients acknowledge the watched notices, each with its organisation's
// token. Lag is from the stored change (delivered_at, acknowledged_at; for
// a summary the time its stored record first held the final count) to
// the watcher receiving it.
func (r *runner) runWatch(ctx context.Context) error {
	cfg := r.cfg
	var reps []watchRep
	defer func() { r.watchFigures(reps) }()
	for rep := range cfg.Reps {
		w, err := r.watchOnce(ctx, rep)
		if err != nil {
			return err
		}
		reps = append(reps, w)
	}
	return nil
}

func (r *runner) watchOnce(ctx context.Context, rep int) (watchRep, error) {
	cfg := r.cfg
	var res watchRep
	label := fmt.Sprintf("watch rep %d/%d", rep+1, cfg.Reps)
	in, err := r.startFresh(ctx, "watch", cfg.WatchOrgs, func(o *daemon.Options) {
		o.InsecureNoAuth = false
		o.HTTPAddr = "127.0.0.1:0"
		o.BootstrapTokenFile = filepath.Join(r.tmp, fmt.Sprintf("watch-%d-vendor.token", rep+1))
		if n := cfg.WatchViews + cfg.WatchStreams + 64; n > auth.DefaultStreamsTotal {
			o.MaxStreams = n
		}
	})
	if err != nil {
		return res, err
	}
	defer in.discard()
	breachID := fmt.Sprintf("WATCH-%d", rep+1)

	// Tokens: a controller of each watched organisation, a viewer per stream.
	orgs := make([]string, cfg.WatchViews)
	for i := range orgs {
		orgs[i] = orgID(i * cfg.WatchOrgs / max(cfg.WatchViews, 1))
	}
	r.progressf("%s: issuing %d controller and %d viewer tokens", label, len(orgs), cfg.WatchStreams)
	start := time.Now()
	ctlTokens, err := issueTokens(ctx, in, orgs, cascadev1.Role_ROLE_CONTROLLER)
	if err != nil {
		return res, err
	}
	viewerTokens, err := issueTokens(ctx, in, make([]string, cfg.WatchStreams), cascadev1.Role_ROLE_VIEWER)
	if err != nil {
		return res, err
	}
	r.progressf("%s: tokens issued in %.1fs", label, time.Since(start).Seconds())

	clients, err := r.startClients(ctx)
	if err != nil {
		return res, err
	}
	defer clients.stop()
	httpAddr, grpcAddr := in.d.HTTPAddr(), in.d.GRPCAddr()
	openTimeout := 60*time.Second + time.Duration(len(orgs))*20*time.Millisecond

	// The inbox views, and what each costs the daemon.
	rss0, heap0 := memory()
	r.progressf("%s: opening %d inbox views (GET /api/events/notices, server-sent events)", label, len(orgs))
	if len(orgs) > 0 {
		if _, err := clients.do(ctx, job{Kind: "watch_views", HTTPAddr: httpAddr, View: "inbox", Breach: breachID, Orgs: orgs, Tokens: ctlTokens, Timeout: openTimeout}); err != nil {
			return res, err
		}
		rss1, heap1 := memory()
		res.inboxRSS, res.inboxHeap = float64(rss1-rss0)/float64(len(orgs)), float64(heap1-heap0)/float64(len(orgs))
		r.progressf("%s: %d inbox views open: daemon RSS +%.1f MiB (%.0f bytes per view), Go heap +%.1f MiB", label, len(orgs),
			float64(rss1-rss0)/(1<<20), res.inboxRSS, float64(heap1-heap0)/(1<<20))
	}

	// When the summary record first held each final count (server time).
	sumTimes, stopSum, err := watchSummaryRecord(ctx, in.js, breachID)
	if err != nil {
		return res, err
	}
	defer stopSum()

	// The fan-out, with the streams opening as soon as the breach is recorded.
	r.progressf("%s: fan-out of %d with %d views and %d WatchBreach streams (include_notices %v) open", label, cfg.WatchOrgs, len(orgs), cfg.WatchStreams, cfg.WatchIncludeNotices)
	start = time.Now()
	if err := in.publishReport(ctx, allReport(breachID)); err != nil {
		return res, err
	}
	var wg sync.WaitGroup
	var streamErr error
	if cfg.WatchStreams > 0 {
		wg.Go(func() {
			_, streamErr = clients.do(ctx, job{Kind: "watch_streams", GRPCAddr: grpcAddr, Breach: breachID, Tokens: viewerTokens,
				IncludeNotices: cfg.WatchIncludeNotices, Orgs: orgs, Timeout: 30 * time.Second})
		})
	}
	_, fanErr := in.waitFanout(ctx, breachID, cfg.WatchOrgs, start, label)
	wg.Wait()
	if err := errors.Join(fanErr, streamErr); err != nil {
		return res, err
	}
	waitTimeout := 30*time.Second + 2*time.Duration(cfg.WatchViews)*time.Millisecond
	delivered, err := clients.do(ctx, job{Kind: "watch_wait", Phase: "delivered", Want: int64(cfg.WatchOrgs), Timeout: waitTimeout})
	if err != nil {
		return res, err
	}
	r.progressf("%s: fan-out done; the watchers had it %.1fs later", label, time.Duration(delivered.Watch.WaitedNanos).Seconds())

	// The notice pages during the acknowledgements.
	var acked *answer
	if len(orgs) > 0 {
		if _, err := clients.do(ctx, job{Kind: "watch_views"}); err != nil { // close the inboxes
			return res, err
		}
		rss2, heap2 := memory()
		if _, err := clients.do(ctx, job{Kind: "watch_views", HTTPAddr: httpAddr, View: "page", Breach: breachID, Orgs: orgs, Tokens: ctlTokens, Timeout: openTimeout}); err != nil {
			return res, err
		}
		rss3, heap3 := memory()
		res.pageRSS, res.pageHeap = float64(rss3-rss2)/float64(len(orgs)), float64(heap3-heap2)/float64(len(orgs))
		r.progressf("%s: %d notice pages open (%.0f bytes RSS per view); %d clients acknowledging the %d watched notices", label, len(orgs), res.pageRSS, min(cfg.AckConcurrency, len(orgs)), len(orgs))
		a, err := clients.do(ctx, job{Kind: "watch_acks", GRPCAddr: grpcAddr, Breach: breachID, Orgs: orgs, Tokens: ctlTokens,
			Concurrency: min(cfg.AckConcurrency, len(orgs)), Timeout: 5 * time.Minute})
		if err != nil {
			return res, err
		}
		res.acks = a.Watch.Acks.result()
		if res.acks.errors > 0 {
			r.rep.notef("%s: %d acknowledgements failed, first: %v", label, res.acks.errors, res.acks.firstErr)
		}
		ack, err := clients.do(ctx, job{Kind: "watch_wait", Phase: "acknowledged", Want: int64(res.acks.acks), Timeout: waitTimeout})
		if err != nil {
			return res, err
		}
		acked = &ack
	}
	end, err := clients.do(ctx, job{Kind: "watch_close"})
	if err != nil {
		return res, err
	}

	// Lags. The summary's: from the stored record to each stream.
	times := sumTimes()
	streamLag := func(w *watchResult, stored time.Time) {
		if stored.IsZero() {
			return
		}
		for _, at := range w.SummaryAt {
			res.streamLag = append(res.streamLag, time.Unix(0, at).Sub(stored))
		}
		res.streamLag = append(res.streamLag, fromNanos(w.NoticeLag)...)
	}
	res.inboxLag = fromNanos(delivered.Watch.ViewLag)
	streamLag(delivered.Watch, times.delivered(int64(cfg.WatchOrgs)))
	res.missed, res.inSnapshot = delivered.Watch.Missed, delivered.Watch.InSnapshot
	report := func(w *watchResult, phase string) {
		if w.Missed > 0 {
			r.rep.notef("%s: %d final states (%s) did not reach their watcher, e.g. %v", label, w.Missed, phase, w.MissedWhat)
		}
	}
	report(delivered.Watch, "delivered")
	if acked != nil {
		res.pageLag = fromNanos(acked.Watch.ViewLag)
		streamLag(acked.Watch, times.acknowledged(int64(res.acks.acks)))
		res.missed += acked.Watch.Missed
		res.inSnapshot += acked.Watch.InSnapshot
		report(acked.Watch, "acknowledged")
	}
	res.dups, res.events, res.reconnects = end.Watch.Duplicates, end.Watch.Events, end.Watch.Reconnects
	if res.dups > 0 {
		r.rep.notef("%s: %d changes shown twice, e.g. %v", label, res.dups, end.Watch.DupWhat)
	}
	if res.reconnects > 0 {
		r.rep.notef("%s: %d view reconnections, e.g. %v", label, res.reconnects, end.Watch.ReconnWhat)
	}
	if len(end.Watch.Errors) > 0 {
		r.rep.notef("%s: watcher errors: %v", label, end.Watch.Errors)
	}
	res.all = slices.Concat(res.inboxLag, res.pageLag, res.streamLag)
	all := LatencyOf(slices.Clone(res.all))
	r.progressf("%s: lag p50 %.0f ms, p99 %.0f ms, max %.0f ms over %d changes; %d missed, %d duplicated, %d events, %d reconnects",
		label, all.P50ms, all.P99ms, all.Maxms, all.Count, res.missed, res.dups, res.events, res.reconnects)
	return res, nil
}

// memory is the process's RSS and Go heap after a collection: the daemon
// and its server (the clients are in their own process).
func memory() (rss_, heap int64) {
	freeMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return rss(), int64(ms.HeapAlloc)
}

// issueTokens issues one token per organisation (empty: none) with role,
// 16 at a time, with the daemon's first vendor token.
func issueTokens(ctx context.Context, in *instance, orgs []string, role cascadev1.Role) ([]string, error) {
	out := make([]string, len(orgs))
	errs := make([]error, len(orgs))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, org := range orgs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			res, err := in.tc.IssueToken(ctx, &cascadev1.IssueTokenRequest{OrgId: org, Role: role, Label: fmt.Sprintf("cascade-load watcher %d", i)})
			if err != nil {
				errs[i] = fmt.Errorf("issue a %s token for %q: %w", role, org, err)
				return
			}
			out[i] = res.GetToken()
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// summaryTimes are the summary record's stored versions: when the server
// stored each (its timestamp) and its counts.
type summaryTimes []summaryStored

type summaryStored struct {
	at               time.Time
	delivered, acked int64
}

func (s summaryTimes) delivered(want int64) time.Time {
	for _, v := range s {
		if v.delivered >= want {
			return v.at
		}
	}
	return time.Time{}
}

func (s summaryTimes) acknowledged(want int64) time.Time {
	for _, v := range s {
		if v.acked >= want {
			return v.at
		}
	}
	return time.Time{}
}

// watchSummaryRecord watches the breach's record in the summaries bucket
// (from the tool's own NATS connection) and returns what it saw so far.
func watchSummaryRecord(ctx context.Context, js jetstream.JetStream, id string) (func() summaryTimes, func(), error) {
	kv, err := js.KeyValue(ctx, store.BucketSummaries)
	if err != nil {
		return nil, nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	w, err := kv.Watch(wctx, id)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	var mu sync.Mutex
	var seen summaryTimes
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-wctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil || e.Operation() != jetstream.KeyValuePut {
					continue
				}
				var rec struct {
					Delivered    int64 `json:"delivered"`
					Acknowledged int64 `json:"acknowledged"`
				}
				if json.Unmarshal(e.Value(), &rec) != nil {
					continue
				}
				mu.Lock()
				seen = append(seen, summaryStored{at: e.Created(), delivered: rec.Delivered, acked: rec.Acknowledged})
				mu.Unlock()
			}
		}
	}()
	get := func() summaryTimes {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
	stop := func() { cancel(); _ = w.Stop(); <-done }
	return get, stop, nil
}

// watchFigures records the watch scenario's figures.
func (r *runner) watchFigures(reps []watchRep) {
	if len(reps) == 0 {
		return
	}
	cfg := r.cfg
	var (
		p50, p99, mx                []float64
		ip50, ip99, imx             []float64
		pp50, pp99, pmx             []float64
		sp50, sp99, smx             []float64
		irss, iheap, prss, pheap    []float64
		missed, dups, events, recon []float64
		ackRate, ackP99, samples    []float64
	)
	for _, w := range reps {
		a, i, p, s := LatencyOf(slices.Clone(w.all)), LatencyOf(slices.Clone(w.inboxLag)), LatencyOf(slices.Clone(w.pageLag)), LatencyOf(slices.Clone(w.streamLag))
		p50, p99, mx, samples = append(p50, a.P50ms), append(p99, a.P99ms), append(mx, a.Maxms), append(samples, float64(a.Count))
		ip50, ip99, imx = append(ip50, i.P50ms), append(ip99, i.P99ms), append(imx, i.Maxms)
		pp50, pp99, pmx = append(pp50, p.P50ms), append(pp99, p.P99ms), append(pmx, p.Maxms)
		sp50, sp99, smx = append(sp50, s.P50ms), append(sp99, s.P99ms), append(smx, s.Maxms)
		irss, iheap, prss, pheap = append(irss, w.inboxRSS), append(iheap, w.inboxHeap), append(prss, w.pageRSS), append(pheap, w.pageHeap)
		missed, dups = append(missed, float64(w.missed)), append(dups, float64(w.dups))
		events, recon = append(events, float64(w.events)), append(recon, float64(w.reconnects))
		ackRate, ackP99 = append(ackRate, rate(w.acks.acks, w.acks.elapsed)), append(ackP99, w.acks.lat.P99ms)
	}
	v, s := cfg.WatchViews, cfg.WatchStreams
	add := func(key, name, unit string, vs []float64) { r.rep.add(ScenarioWatch, "watch."+key, name, unit, vs) }
	add("lag_p50_ms", fmt.Sprintf("lag, stored change → watcher, p50 (%d views + %d streams)", v, s), "ms", p50)
	add("lag_p99_ms", fmt.Sprintf("lag, stored change → watcher, p99 (%d views + %d streams)", v, s), "ms", p99)
	add("lag_max_ms", "lag, stored change → watcher, max", "ms", mx)
	add("lag_samples", "changes timed (views and streams)", "changes", samples)
	if v > 0 {
		add("inbox_lag_p50_ms", "inbox views during the fan-out: delivered_at → view, p50", "ms", ip50)
		add("inbox_lag_p99_ms", "inbox views during the fan-out: delivered_at → view, p99", "ms", ip99)
		add("inbox_lag_max_ms", "inbox views during the fan-out: delivered_at → view, max", "ms", imx)
		add("page_lag_p50_ms", "notice pages during the acks: acknowledged_at → view, p50", "ms", pp50)
		add("page_lag_p99_ms", "notice pages during the acks: acknowledged_at → view, p99", "ms", pp99)
		add("page_lag_max_ms", "notice pages during the acks: acknowledged_at → view, max", "ms", pmx)
		add("rss_per_view_bytes", "daemon RSS per inbox view (open before the fan-out)", "bytes", irss)
		add("heap_per_view_bytes", "daemon Go heap per inbox view", "bytes", iheap)
		add("page_rss_per_view_bytes", "daemon RSS per notice page view", "bytes", prss)
		add("page_heap_per_view_bytes", "daemon Go heap per notice page view", "bytes", pheap)
		add("acks_per_s", fmt.Sprintf("acks/s of the %d watched notices under the views", v), "acks/s", ackRate)
		add("ack_p99_ms", "ack latency p99 under the views", "ms", ackP99)
	}
	if s > 0 {
		add("stream_lag_p50_ms", "WatchBreach: summary stored → stream, p50", "ms", sp50)
		add("stream_lag_p99_ms", "WatchBreach: summary stored → stream, p99", "ms", sp99)
		add("stream_lag_max_ms", "WatchBreach: summary stored → stream, max", "ms", smx)
	}
	add("missed", "final states that did not reach their watcher", "count", missed)
	add("duplicates", "changes shown twice", "count", dups)
	add("events", "events received by the watchers", "events", events)
	add("reconnects", "view reconnections (after transient failures)", "count", recon)
	what := "summary only"
	if cfg.WatchIncludeNotices {
		what = "include_notices: every notice (changes of the watched organisations' notices timed)"
	}
	r.rep.notef("watch: %d controller views (own token each; inbox GET /api/events/notices during the fan-out of %d, notice page GET /api/events/notices/{breach}/{org} "+
		"while %d clients acknowledge the %d watched notices) and %d WatchBreach streams (viewer tokens, %s), all in the client process; "+
		"lag from the notice's delivered_at/acknowledged_at, or the summary record's stored time, to the watcher; a change already in a watcher's first event is not timed; "+
		"RSS and heap per view are the daemon process's (daemon and embedded server) with the views open minus before, after a GC",
		v, cfg.WatchOrgs, min(cfg.AckConcurrency, v), v, s, what)
}
