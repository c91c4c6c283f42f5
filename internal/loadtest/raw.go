package loadtest

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/natsembed"
	"github.com/cascadehq/cascade/internal/store"
)

const (
	rawStream = "LOADTEST_RAW"
	rawBucket = "loadtest-cas"
)

// rawPublish times JetStream async publishes of n messages of size bytes,
// each on its own subject (as notices are), to a fresh file stream, with
// the pipelining the daemon uses (store.PublishAll), until every PubAck
// is in. The stream is deleted afterwards.
func rawPublish(ctx context.Context, js jetstream.JetStream, n, size int) (time.Duration, error) {
	_ = js.DeleteStream(ctx, rawStream)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: rawStream, Subjects: []string{"loadtest.raw.>"}, Storage: jetstream.FileStorage}); err != nil {
		return 0, fmt.Errorf("create %s: %w", rawStream, err)
	}
	defer js.DeleteStream(context.WithoutCancel(ctx), rawStream)
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = 'a' + byte(i%26)
	}
	msgs := make([]*nats.Msg, n)
	for i := range msgs {
		msgs[i] = &nats.Msg{Subject: fmt.Sprintf("loadtest.raw.%d", i), Data: payload}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute+time.Duration(n)*5*time.Millisecond)
	defer cancel()
	start := time.Now()
	acks, err := store.PublishAll(ctx, js, msgs)
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	for i, a := range acks {
		if a.Err != nil {
			return 0, fmt.Errorf("raw publish %d: %w", i, a.Err)
		}
	}
	return d, nil
}

// kvResult is one run of concurrent KV compare-and-set updates.
type kvResult struct {
	ops      int
	elapsed  time.Duration
	lat      Latency
	lats     []time.Duration // every successful update's latency
	errors   int
	firstErr error
}

// result summarises what the client process measured.
func (w *kvWire) result() kvResult {
	k := kvResult{elapsed: time.Duration(w.Elapsed), errors: w.Errors, lats: fromNanos(w.Lat)}
	if w.FirstErr != "" {
		k.firstErr = errors.New(w.FirstErr)
	}
	k.ops = len(k.lats)
	k.lat = LatencyOf(slices.Clone(k.lats))
	return k
}

// kvCAS runs conc workers for dur, each updating its own key of a fresh
// file-backed KV bucket with kv.Update at the revision it last wrote
// (compare-and-set, as a notice change expects the sequence it read).
func kvCAS(ctx context.Context, js jetstream.JetStream, conc int, dur time.Duration, size int) (kvResult, error) {
	_ = js.DeleteKeyValue(ctx, rawBucket)
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: rawBucket, Storage: jetstream.FileStorage, History: 1})
	if err != nil {
		return kvResult{}, fmt.Errorf("create bucket %s: %w", rawBucket, err)
	}
	defer js.DeleteKeyValue(context.WithoutCancel(ctx), rawBucket)
	val := make([]byte, size)
	for i := range val {
		val[i] = 'a' + byte(i%26)
	}
	revs := make([]uint64, conc)
	for w := range conc {
		if revs[w], err = kv.Put(ctx, fmt.Sprintf("k%04d", w), val); err != nil {
			return kvResult{}, fmt.Errorf("put: %w", err)
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
			key := fmt.Sprintf("k%04d", w)
			for time.Now().Before(end) && ctx.Err() == nil {
				t0 := time.Now()
				rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				rev, err := kv.Update(rctx, key, val, revs[w])
				cancel()
				if err != nil {
					errs[w]++
					once.Do(func() { firstErr = err })
					if e, err := kv.Get(ctx, key); err == nil {
						revs[w] = e.Revision()
					}
					continue
				}
				lats[w] = append(lats[w], time.Since(t0))
				revs[w] = rev
			}
		})
	}
	wg.Wait()
	res := kvResult{elapsed: time.Since(start), firstErr: firstErr}
	for w := range conc {
		res.lats = append(res.lats, lats[w]...)
		res.errors += errs[w]
	}
	res.ops = len(res.lats)
	res.lat = LatencyOf(slices.Clone(res.lats))
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	if res.ops == 0 && firstErr != nil {
		return res, fmt.Errorf("kv update: %w", firstErr)
	}
	return res, nil
}

// noFsyncServer is an embedded server like the daemon's but with
// sync_interval 2m (JetStream's own default): no fsync per write.
type noFsyncServer struct {
	s  *server.Server
	nc *nats.Conn
	js jetstream.JetStream
}

func (r *runner) startNoFsync() (*noFsyncServer, error) {
	s, err := natsembed.Start(natsembed.Config{StoreDir: filepath.Join(r.tmp, "nofsync"), Listen: "127.0.0.1:-1",
		SyncInterval: 2 * time.Minute, ServerName: "nofsync"})
	if err != nil {
		return nil, err
	}
	r.afterServerStart()
	nc, err := nats.Connect(s.ClientURL(), nats.Name("cascade-load"))
	if err != nil {
		s.Shutdown()
		return nil, err
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		nc.Close()
		s.Shutdown()
		return nil, err
	}
	return &noFsyncServer{s: s, nc: nc, js: js}, nil
}

func (n *noFsyncServer) stop() {
	n.nc.Close()
	n.s.Shutdown()
	n.s.WaitForShutdown()
}

// kvFigures records one KV CAS measurement series.
func (r *runner) kvFigures(scenario, key, label string, res []kvResult) {
	var ops, p50, p99, errs []float64
	for _, k := range res {
		ops = append(ops, rate(k.ops, k.elapsed))
		p50 = append(p50, k.lat.P50ms)
		p99 = append(p99, k.lat.P99ms)
		errs = append(errs, float64(k.errors))
	}
	c := r.cfg.AckConcurrency
	r.rep.add(scenario, key+".ops_per_s", fmt.Sprintf("KV CAS C=%d %s", c, label), "ops/s", ops)
	r.rep.add(scenario, key+".p50_ms", fmt.Sprintf("KV CAS C=%d %s p50", c, label), "ms", p50)
	r.rep.add(scenario, key+".p99_ms", fmt.Sprintf("KV CAS C=%d %s p99", c, label), "ms", p99)
	if f := Summarize(errs); f.Max > 0 {
		r.rep.add(scenario, key+".errors", fmt.Sprintf("KV CAS C=%d %s errors", c, label), "count", errs)
	}
}

// runRaw measures the raw limits that fan-out and acks do not already
// measure on their own servers: async publish of each N (when fanout is
// not selected: on a daemon's server; with fanout the publishes run on
// each fan-out's server right after it), the publish and KV CAS without
// fsync (embedded only), and KV CAS with the daemon's fsync (when acks are
// not selected: acks measure it on their own server).
func (r *runner) runRaw(ctx context.Context) error {
	cfg := r.cfg
	doPublish := cfg.Has(ScenarioRaw) && !cfg.Has(ScenarioFanout)
	doKV := cfg.Has(ScenarioRaw) && !cfg.Has(ScenarioAcks)
	if doPublish || doKV {
		in, err := r.startFresh(ctx, "raw", 0, nil)
		if err != nil {
			return err
		}
		defer in.discard()
		if doPublish {
			for _, n := range cfg.OrgsList {
				var ds []float64
				for rep := range cfg.Reps {
					r.progressf("raw: async publish of %d messages (fsync as the daemon), rep %d/%d", n, rep+1, cfg.Reps)
					d, err := rawPublish(ctx, in.js, n, cfg.MsgSize)
					if err != nil {
						return err
					}
					ds = append(ds, d.Seconds())
				}
				r.rawPublishFigures(n, "fsync", ds)
			}
		}
		if doKV {
			url, seed := in.natsForClients()
			var res []kvResult
			for rep := range cfg.Reps {
				r.progressf("raw: KV CAS at concurrency %d for %s (fsync as the daemon), rep %d/%d, from the client process", cfg.AckConcurrency, cfg.kvDuration(), rep+1, cfg.Reps)
				k, err := r.kvCASClients(ctx, url, seed)
				if err != nil {
					return err
				}
				res = append(res, k)
			}
			r.kvFigures(ScenarioRaw, "raw.kv_cas_fsync", "(fsync)", res)
		}
	}
	if r.external() {
		r.rep.notef("raw: no baseline without fsync: the external server's fsync setting is its own configuration")
		return nil
	}
	// Without per-write fsync: the baseline the fan-out target is stated against.
	nf, err := r.startNoFsync()
	if err != nil {
		return err
	}
	defer nf.stop()
	for _, n := range cfg.OrgsList {
		var ds []float64
		for rep := range cfg.Reps {
			r.progressf("raw: async publish of %d messages WITHOUT fsync (sync_interval 2m), rep %d/%d", n, rep+1, cfg.Reps)
			d, err := rawPublish(ctx, nf.js, n, cfg.MsgSize)
			if err != nil {
				return err
			}
			ds = append(ds, d.Seconds())
		}
		r.rawPublishFigures(n, "nofsync", ds)
	}
	if cfg.Has(ScenarioRaw) {
		var res []kvResult
		for rep := range cfg.Reps {
			r.progressf("raw: KV CAS at concurrency %d for %s WITHOUT fsync, rep %d/%d, from the client process", cfg.AckConcurrency, cfg.kvDuration(), rep+1, cfg.Reps)
			k, err := r.kvCASClients(ctx, nf.s.ClientURL(), "")
			if err != nil {
				return err
			}
			res = append(res, k)
		}
		r.kvFigures(ScenarioRaw, "raw.kv_cas_nofsync", "(no fsync)", res)
	}
	return nil
}

// kvCASClients runs kvCAS in a client process of its own against the
// server at url (as the daemon's user if seed is not empty).
func (r *runner) kvCASClients(ctx context.Context, url, seed string) (kvResult, error) {
	p, err := r.startClients(ctx)
	if err != nil {
		return kvResult{}, err
	}
	defer p.stop()
	a, err := p.do(ctx, job{Kind: "kv_cas", NATSURL: url, NATSSeed: seed, Concurrency: r.cfg.AckConcurrency, Duration: r.cfg.kvDuration(), MsgSize: r.cfg.MsgSize})
	if err != nil {
		return kvResult{}, err
	}
	return a.KV.result(), nil
}

// rawPublishFigures records the raw publish times of n messages (seconds per rep).
func (r *runner) rawPublishFigures(n int, sync string, secs []float64) {
	label := "fsync"
	if sync == "nofsync" {
		label = "no fsync"
	}
	r.rep.add(ScenarioRaw, fmt.Sprintf("raw.publish_%s_s.n=%d", sync, n), fmt.Sprintf("async publish %d msgs (%s)", n, label), "s", secs)
	rates := make([]float64, len(secs))
	for i, s := range secs {
		rates[i] = float64(n) / s
	}
	r.rep.add(ScenarioRaw, fmt.Sprintf("raw.publish_%s_msgs_per_s.n=%d", sync, n), fmt.Sprintf("async publish %d msgs (%s) rate", n, label), "msgs/s", rates)
}
