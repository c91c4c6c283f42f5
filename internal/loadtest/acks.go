package loadtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/metadata"

	"github.com/cascadehq/cascade/internal/store"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// runAcksStatus runs the acks and status scenarios on one daemon: a
// breach of StatusOrgs notices for the status probes, and one breach of
// AckNotices fresh notices per repetition; then per repetition the raw KV
// CAS on the same server at the same concurrency, and the
// acknowledgements with the status probes running beside them.
//
// Every breach is all_customers: a notice message carries the report's
// affected list, so breaches naming thousands of organisations would
// measure that list, not the fan-out. The smaller set of breaches is
// fanned out over the smaller registry first, then the larger registry is
// loaded (an upsert) for the others.
func (r *runner) runAcksStatus(ctx context.Context) error {
	cfg := r.cfg
	doAcks, doStatus := cfg.Has(ScenarioAcks), cfg.Has(ScenarioStatus)
	const statusID = "STATUS"
	type group struct {
		orgs int
		ids  []string
	}
	var groups []group
	if doStatus {
		groups = append(groups, group{cfg.StatusOrgs, []string{statusID}})
	}
	var ackIDs []string
	if doAcks {
		for rep := range cfg.Reps {
			ackIDs = append(ackIDs, fmt.Sprintf("ACK-%d", rep+1))
		}
		switch {
		case len(groups) == 1 && groups[0].orgs == cfg.AckNotices:
			groups[0].ids = append(groups[0].ids, ackIDs...)
		case len(groups) == 1 && groups[0].orgs > cfg.AckNotices:
			groups = append([]group{{cfg.AckNotices, ackIDs}}, groups...)
		default:
			groups = append(groups, group{cfg.AckNotices, ackIDs})
		}
	}
	in, err := r.startFresh(ctx, "acks", groups[0].orgs, nil)
	if err != nil {
		return err
	}
	defer in.discard()
	for gi, g := range groups {
		if gi > 0 { // the larger registry: an upsert over the smaller one
			if err := r.loadRegistry(ctx, in, g.orgs); err != nil {
				return err
			}
		}
		for _, id := range g.ids {
			label := fmt.Sprintf("acks/status: fan-out of %s (%d notices)", id, g.orgs)
			r.progressf("%s", label)
			start := time.Now()
			if err := in.publishReport(ctx, allReport(id)); err != nil {
				return err
			}
			if _, err := in.waitFanout(ctx, id, g.orgs, start, label); err != nil {
				return err
			}
		}
	}
	clients, err := r.startClients(ctx)
	if err != nil {
		return err
	}
	defer clients.stop()
	natsURL, seed := in.natsForClients()
	var acks []ackResult
	var kvs []kvResult
	var probes []statusResult
	for rep := range cfg.Reps {
		if doAcks {
			r.progressf("acks rep %d/%d: raw KV CAS at concurrency %d for %s on the same server, from the client process", rep+1, cfg.Reps, cfg.AckConcurrency, cfg.kvDuration())
			a, err := clients.do(ctx, job{Kind: "kv_cas", NATSURL: natsURL, NATSSeed: seed, Concurrency: cfg.AckConcurrency, Duration: cfg.kvDuration(), MsgSize: cfg.MsgSize})
			if err != nil {
				return err
			}
			kvs = append(kvs, a.KV.result())
		}
		j := job{Kind: "acks", GRPCAddr: in.d.GRPCAddr(), NATSURL: natsURL, NATSSeed: seed, Concurrency: cfg.AckConcurrency, Duration: cfg.AckDuration}
		if doStatus {
			j.Status = &statusJob{Breach: statusID, Interval: cfg.StatusInterval, Bucket: store.BucketSummaries}
		}
		if doAcks {
			j.Breach, j.Count = ackIDs[rep], cfg.AckNotices
			r.progressf("acks rep %d/%d: %d gRPC clients (client process) acknowledging up to %d distinct notices for %s", rep+1, cfg.Reps, cfg.AckConcurrency, cfg.AckNotices, cfg.AckDuration)
		} else {
			r.progressf("status rep %d/%d: probing for %s without load (acks not selected)", rep+1, cfg.Reps, cfg.AckDuration)
		}
		cpu := startCPU()
		ans, err := clients.do(ctx, j)
		if err != nil {
			return err
		}
		if doAcks {
			a := ans.Acks.result()
			a.cores = cpu.cores()
			r.progressf("acks rep %d/%d: %d acks in %.1fs (%.0f/s), p50 %.2f ms, p99 %.2f ms, %d errors", rep+1, cfg.Reps, a.acks, a.elapsed.Seconds(),
				rate(a.acks, a.elapsed), a.lat.P50ms, a.lat.P99ms, a.errors)
			if a.exhausted {
				r.rep.notef("acks rep %d: all %d notices were acknowledged after %.1fs, before --ack-duration %s ended; the rate is over that time", rep+1, cfg.AckNotices, a.elapsed.Seconds(), cfg.AckDuration)
			}
			if a.firstErr != nil {
				r.rep.notef("acks rep %d: %d errors, first: %v", rep+1, a.errors, a.firstErr)
			}
			if err := checkAcknowledged(ctx, in, ackIDs[rep:rep+1], a.acks); err != nil {
				r.rep.Errors = append(r.rep.Errors, fmt.Sprintf("acks rep %d: %v", rep+1, err))
			}
			acks = append(acks, a)
		}
		if doStatus {
			if ans.Status == nil {
				return errors.New("status: the client process returned no probes")
			}
			if ans.Status.Err != "" {
				return errors.New(ans.Status.Err)
			}
			probes = append(probes, statusResult{summary: LatencyOf(fromNanos(ans.Status.Summary)), list: LatencyOf(fromNanos(ans.Status.List)),
				kvGet: LatencyOf(fromNanos(ans.Status.KVGet))})
		}
	}
	if doAcks {
		r.kvFigures(ScenarioRaw, "raw.kv_cas_fsync", "(fsync, acks server)", kvs)
		var rates, p50, p99, n, secs, pct, cores []float64
		for i, a := range acks {
			rates = append(rates, rate(a.acks, a.elapsed))
			p50, p99 = append(p50, a.lat.P50ms), append(p99, a.lat.P99ms)
			n, secs = append(n, float64(a.acks)), append(secs, a.elapsed.Seconds())
			cores = append(cores, a.cores)
			if kr := rate(kvs[i].ops, kvs[i].elapsed); kr > 0 {
				pct = append(pct, 100*rates[i]/kr)
			}
		}
		c := cfg.AckConcurrency
		r.rep.add(ScenarioAcks, "acks.acks_per_s", fmt.Sprintf("%d clients, acks/s", c), "acks/s", rates)
		r.rep.add(ScenarioAcks, "acks.p50_ms", "ack latency p50", "ms", p50)
		r.rep.add(ScenarioAcks, "acks.p99_ms", "ack latency p99", "ms", p99)
		r.rep.add(ScenarioAcks, "acks.count", "acks done", "acks", n)
		r.rep.add(ScenarioAcks, "acks.seconds", "acks run time", "s", secs)
		r.rep.add(ScenarioAcks, "acks.cpu_cores", "daemon process CPU while acking (daemon, embedded server; the clients run in their own process)", "cores", cores)
		f := r.rep.add(ScenarioAcks, "acks.pct_of_kv_cas", fmt.Sprintf("acks/s as %% of raw KV CAS C=%d (fsync)", c), "%", pct)
		if kv := r.rep.Figure("raw.kv_cas_fsync.ops_per_s"); kv != nil && kv.Median > 0 && len(pct) > 0 {
			f.Median = 100 * Summarize(rates).Median / kv.Median // ratio of the medians
			f.Min, f.Max = min(f.Min, f.Median), max(f.Max, f.Median)
		}
	}
	if doStatus {
		load := fmt.Sprintf("under %d acking clients", cfg.AckConcurrency)
		if !doAcks {
			load = "without load"
		}
		var sp50, sp99, lp50, lp99, sn, ln, kp50, kp99 []float64
		for _, p := range probes {
			kp50, kp99 = append(kp50, p.kvGet.P50ms), append(kp99, p.kvGet.P99ms)
			sp50, sp99, sn = append(sp50, p.summary.P50ms), append(sp99, p.summary.P99ms), append(sn, float64(p.summary.Count))
			lp50, lp99, ln = append(lp50, p.list.P50ms), append(lp99, p.list.P99ms), append(ln, float64(p.list.Count))
		}
		name := func(what string) string { return fmt.Sprintf("%s (%d notices) %s", what, cfg.StatusOrgs, load) }
		r.rep.add(ScenarioStatus, "status.summary_p50_ms", name("GetBreachSummary p50"), "ms", sp50)
		r.rep.add(ScenarioStatus, "status.summary_p99_ms", name("GetBreachSummary p99"), "ms", sp99)
		r.rep.add(ScenarioStatus, "status.summary_calls", name("GetBreachSummary calls"), "calls", sn)
		r.rep.add(ScenarioStatus, "status.list_p50_ms", name("ListNotices page of 100 p50"), "ms", lp50)
		r.rep.add(ScenarioStatus, "status.list_p99_ms", name("ListNotices page of 100 p99"), "ms", lp99)
		r.rep.add(ScenarioStatus, "status.list_calls", name("ListNotices calls"), "calls", ln)
		r.rep.add(ScenarioStatus, "status.raw_kv_get_p50_ms", name("raw KV get of the summary record p50"), "ms", kp50)
		r.rep.add(ScenarioStatus, "status.raw_kv_get_p99_ms", name("raw KV get of the summary record p99"), "ms", kp99)
		r.rep.notef("status: one prober per RPC, %s pause between calls; ListNotices walks the breach's pages of 100 in order and starts over; "+
			"the raw KV get reads the breach's record in %s from the client process's own NATS connection (GetBreachSummary reads it and the breach record)", cfg.StatusInterval, store.BucketSummaries)
	}
	return nil
}

// ackResult is one repetition of the acknowledgements.
type ackResult struct {
	acks      int
	elapsed   time.Duration
	lat       Latency
	lats      []time.Duration // every successful acknowledgement's latency (client side)
	errors    int
	firstErr  error
	exhausted bool    // every notice acknowledged before the duration ended
	cores     float64 // daemon process CPU while the acks ran
}

// result summarises what the client process measured.
func (w *ackWire) result() ackResult {
	a := ackResult{elapsed: time.Duration(w.Elapsed), errors: w.Errors, exhausted: w.Exhausted}
	if w.FirstErr != "" {
		a.firstErr = errors.New(w.FirstErr)
	}
	a.lats = fromNanos(w.Lat)
	a.acks = len(a.lats)
	a.lat = LatencyOf(slices.Clone(a.lats))
	return a
}

// runAcks runs conc clients, each on its own gRPC connection, for dur:
// client w acknowledges notices w, w+conc, w+2·conc, ... (each once),
// with tokens[i] as the bearer token of ids[i] if tokens is not nil.
func runAcks(ctx context.Context, addr string, ids, tokens []string, conc int, dur time.Duration) (ackResult, error) {
	conns := make([]*grpc.ClientConn, conc)
	for w := range conc {
		cc, err := dialGRPC(addr)
		if err != nil {
			return ackResult{}, err
		}
		defer cc.Close()
		conns[w] = cc
		if err := waitReady(ctx, cc); err != nil {
			return ackResult{}, err
		}
	}
	lats := make([][]time.Duration, conc)
	errs := make([]int, conc)
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(dur)
	for w := range conc {
		wg.Go(func() {
			c := cascadev1.NewNoticeServiceClient(conns[w])
			for i := w; i < len(ids) && time.Now().Before(end) && ctx.Err() == nil; i += conc {
				t0 := time.Now()
				rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				if tokens != nil {
					rctx = withToken(rctx, tokens[i])
				}
				_, err := c.AcknowledgeNotice(rctx, &cascadev1.AcknowledgeNoticeRequest{NoticeId: ids[i], AcknowledgedBy: "dpo@loadtest.example.org"})
				cancel()
				if err != nil {
					errs[w]++
					once.Do(func() { firstErr = fmt.Errorf("%s: %w", ids[i], err) })
					continue
				}
				lats[w] = append(lats[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	res := ackResult{elapsed: time.Since(start), firstErr: firstErr, exhausted: time.Now().Before(end)}
	for w := range conc {
		res.lats = append(res.lats, lats[w]...)
		res.errors += errs[w]
	}
	res.acks = len(res.lats)
	res.lat = LatencyOf(slices.Clone(res.lats))
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	if res.acks == 0 && firstErr != nil {
		return res, fmt.Errorf("no acknowledgement succeeded: %w", firstErr)
	}
	return res, nil
}

// withToken sends token as the call's bearer token.
func withToken(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// waitReady connects cc and waits until it is ready, so that connection
// setup is not timed as part of the first call.
func waitReady(ctx context.Context, cc *grpc.ClientConn) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cc.Connect()
	for {
		s := cc.GetState()
		if s == connectivity.Ready {
			return nil
		}
		if !cc.WaitForStateChange(ctx, s) {
			return fmt.Errorf("gRPC connection to %s not ready: %s", cc.Target(), s)
		}
	}
}

// checkAcknowledged waits (briefly) until the summaries of breaches count
// want acknowledgements: every acknowledgement the API confirmed is in
// the ledger and folded.
func checkAcknowledged(ctx context.Context, in *instance, breaches []string, want int) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := int64(0)
		for _, b := range breaches {
			s, err := in.bc.GetBreachSummary(ctx, &cascadev1.GetBreachSummaryRequest{BreachId: b})
			if err != nil {
				return err
			}
			got += s.GetSummary().GetAcknowledged()
		}
		if got == int64(want) {
			return nil
		}
		if time.Now().After(deadline) || got > int64(want) {
			return fmt.Errorf("summaries count %d acknowledged, the API confirmed %d", got, want)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// statusResult is one repetition of the status probes.
type statusResult struct {
	summary, list Latency
	kvGet         Latency // raw: KV get of the breach's summary record, on the client process's own NATS connection
}

// probed is what the probes measured (every call's latency).
type probed struct {
	summary, list, kvGet []time.Duration
	err                  error
}

// probeStatus calls GetBreachSummary and ListNotices (pages of 100, in
// order, starting over at the end) on the breach, and reads its summary
// record from the KV bucket, one prober each with the interval between
// calls, until ctx ends.
func probeStatus(ctx context.Context, addr string, js jetstream.JetStream, sj statusJob) probed {
	id, interval := sj.Breach, sj.Interval
	cc, err := dialGRPC(addr)
	if err != nil {
		return probed{err: err}
	}
	defer cc.Close()
	if err := waitReady(ctx, cc); err != nil {
		return probed{err: err}
	}
	bc, nc := cascadev1.NewBreachServiceClient(cc), cascadev1.NewNoticeServiceClient(cc)
	summaries, err := js.KeyValue(ctx, sj.Bucket)
	if err != nil {
		return probed{err: err}
	}
	var sum, list, kvGet []time.Duration
	var sumErr, listErr, kvErr error
	pause := func() bool {
		if interval <= 0 {
			return ctx.Err() == nil
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(interval):
			return true
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			t0 := time.Now()
			_, err := bc.GetBreachSummary(ctx, &cascadev1.GetBreachSummaryRequest{BreachId: id})
			if err != nil {
				if ctx.Err() == nil {
					sumErr = fmt.Errorf("GetBreachSummary: %w", err)
				}
				return
			}
			sum = append(sum, time.Since(t0))
			if !pause() {
				return
			}
		}
	})
	wg.Go(func() {
		token := ""
		for ctx.Err() == nil {
			t0 := time.Now()
			res, err := nc.ListNotices(ctx, &cascadev1.ListNoticesRequest{BreachId: id, PageSize: 100, PageToken: token})
			if err != nil {
				if ctx.Err() == nil {
					listErr = fmt.Errorf("ListNotices: %w", err)
				}
				return
			}
			list = append(list, time.Since(t0))
			token = res.GetNextPageToken()
			if !pause() {
				return
			}
		}
	})
	wg.Go(func() {
		for ctx.Err() == nil {
			t0 := time.Now()
			if _, err := summaries.Get(ctx, id); err != nil {
				if ctx.Err() == nil {
					kvErr = fmt.Errorf("KV get %s: %w", id, err)
				}
				return
			}
			kvGet = append(kvGet, time.Since(t0))
			if !pause() {
				return
			}
		}
	})
	wg.Wait()
	return probed{summary: sum, list: list, kvGet: kvGet, err: errors.Join(sumErr, listErr, kvErr)}
}
