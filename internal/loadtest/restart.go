package loadtest

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/deadline"
	"github.com/cascadehq/cascade/internal/store"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// bigStore is the store the restart and timers scenarios share: Breaches
// all_customers breaches over a registry of PerBreach organisations.
type bigStore struct {
	in             *instance
	breaches       []string
	perBreach      int
	firstDelivered time.Time // of the first notice of the first breach
	createdEnd     time.Time // every delivery of every breach durable
}

func (b *bigStore) total() int { return len(b.breaches) * b.perBreach }

// setupBig creates the notices of the restart and timers scenarios by
// fan-outs, one breach after another.
func (r *runner) setupBig(ctx context.Context) (*bigStore, error) {
	cfg := r.cfg
	total := 0
	if cfg.Has(ScenarioRestart) {
		total = cfg.RestartNotices
	}
	if cfg.Has(ScenarioTimers) {
		total = max(total, cfg.TimerNotices)
	}
	nb := min(cfg.RestartBreaches, total)
	per := (total + nb - 1) / nb
	in, err := r.startFresh(ctx, "store", per, nil)
	if err != nil {
		return nil, err
	}
	b := &bigStore{in: in, perBreach: per}
	r.progressf("store: creating %d notices: %d all_customers breaches over %d organisations", nb*per, nb, per)
	start := time.Now()
	for i := range nb {
		id := fmt.Sprintf("BIG-%02d", i+1)
		label := fmt.Sprintf("store: breach %d/%d", i+1, nb)
		t0 := time.Now()
		if err := in.publishReport(ctx, allReport(id)); err != nil {
			in.stop()
			return nil, err
		}
		if _, err := in.waitFanout(ctx, id, per, t0, label); err != nil {
			in.stop()
			return nil, err
		}
		b.breaches = append(b.breaches, id)
		done := (i + 1) * per
		r.progressf("store: %d/%d notices stored and delivered (%.0f notices/s overall)", done, nb*per, rate(done, time.Since(start)))
	}
	b.createdEnd = time.Now()
	r.storeRates = append(r.storeRates, rate(nb*per, b.createdEnd.Sub(start)))
	if f := r.rep.Figure("restart.setup_notices_per_s"); f != nil {
		f.Stat = Summarize(r.storeRates)
	} else {
		r.rep.add(ScenarioRestart, "restart.setup_notices_per_s", fmt.Sprintf("creating the store: %d fan-outs of %d, notices/s", nb, per), "notices/s", r.storeRates)
	}
	n, err := in.ncl.GetNotice(ctx, &cascadev1.GetNoticeRequest{NoticeId: b.breaches[0] + "/" + orgID(0)})
	if err != nil {
		in.stop()
		return nil, err
	}
	b.firstDelivered = n.GetNotice().GetDeliveredAt().AsTime()
	return b, nil
}

// runRestart stops and starts the daemon Reps times on the big store and
// times each start until the last breach's summary shows every notice
// delivered; then reads the process's RSS.
func (r *runner) runRestart(ctx context.Context, b *bigStore) error {
	cfg := r.cfg
	last := b.breaches[len(b.breaches)-1]
	var secs, rssMiB, heapMiB, notices []float64
	for rep := range cfg.Reps {
		r.progressf("restart rep %d/%d: stopping and starting the daemon with %d notices stored", rep+1, cfg.Reps, b.total())
		start, err := b.in.restart(ctx, nil)
		if err != nil {
			return err
		}
		if err := waitDelivered(ctx, b.in, last, b.perBreach, 5*time.Minute); err != nil {
			return fmt.Errorf("restart rep %d: %w", rep+1, err)
		}
		d := time.Since(start)
		rs := rss()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		r.progressf("restart rep %d/%d: correct summary after %.2fs; RSS %.0f MiB", rep+1, cfg.Reps, d.Seconds(), float64(rs)/(1<<20))
		secs = append(secs, d.Seconds())
		rssMiB = append(rssMiB, float64(rs)/(1<<20))
		heapMiB = append(heapMiB, float64(ms.HeapInuse)/(1<<20))
		notices = append(notices, float64(b.total()))
		// Every breach, not only the last, must be whole.
		for _, id := range b.breaches {
			if err := waitDelivered(ctx, b.in, id, b.perBreach, time.Minute); err != nil {
				r.rep.Errors = append(r.rep.Errors, fmt.Sprintf("restart rep %d: %v", rep+1, err))
			}
		}
	}
	r.rep.add(ScenarioRestart, "restart.notices", "notices stored", "notices", notices)
	r.rep.add(ScenarioRestart, "restart.seconds", fmt.Sprintf("Start → correct summary (%d notices)", b.total()), "s", secs)
	r.rep.add(ScenarioRestart, "restart.rss_mib", "RSS after restart (daemon + server + tool, one process)", "MiB", rssMiB)
	r.rep.add(ScenarioRestart, "restart.go_heap_mib", "Go heap in use after restart (same process)", "MiB", heapMiB)
	where := "the daemon and the embedded NATS server run in this process"
	if r.external() {
		where = "the daemon runs in this process; the external NATS server is not included"
	}
	r.rep.notef("restart: RSS is this process's VmRSS from /proc/self/status: %s, beside the tool's own memory; "+
		"read right after the correct summary was served (garbage of earlier steps collected before the start); the registry is not reloaded on restart", where)
	return nil
}

// waitDelivered polls GetBreachSummary until it shows n notices delivered.
func waitDelivered(ctx context.Context, in *instance, id string, n int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last *cascadev1.BreachSummary
	for {
		s, err := in.bc.GetBreachSummary(ctx, &cascadev1.GetBreachSummaryRequest{BreachId: id})
		if err == nil {
			if last = s.GetSummary(); last.GetDelivered() == int64(n) && last.GetTotal() == int64(n) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("summary of %s: want %d delivered, have %v (%v)", id, n, last, err)
		case <-time.After(time.Millisecond):
		}
	}
}

// chunkRef is one fan-out chunk of the big store.
type chunkRef struct {
	breach   string
	chunk    int
	from, to int // organisations
}

// runTimers measures reminder lateness Reps times: on the big store, then
// on a fresh one of the same size for each further repetition. Each
// restarts the daemon with one reminder threshold chosen so that the
// reminders of TimerNotices notices fall due during it, the first one
// TimerLead after the start, the others spread as their deliveries were.
// The daemon arms a chunk's timer when the chunk is fanned out and
// whenever it fires, never at start, so a changed policy applies to a
// chunk from its next firing: the tool fires each chunk once (publishing
// on cascade.timer.fire.<breach>.<chunk>, what the server does when a
// schedule falls due), and the daemon arms it for the new threshold. Then
// it waits until every reminder is sent and reads sent_at - due_at from
// the notices.
func (r *runner) runTimers(ctx context.Context, b *bigStore) error {
	cfg := r.cfg
	var chunks []chunkRef
	pending := 0
	for _, id := range b.breaches {
		for lo := 0; lo < b.perBreach && pending < cfg.TimerNotices; lo += store.MembersChunk {
			hi := min(lo+store.MembersChunk, b.perBreach)
			chunks = append(chunks, chunkRef{breach: id, chunk: lo / store.MembersChunk, from: lo, to: hi})
			pending += hi - lo
		}
	}
	stalls, err := r.newStallTracer()
	if err != nil {
		return err
	}
	defer stalls.stop()
	var reps []timersRep
	for rep := range cfg.Reps {
		if rep > 0 {
			// Each repetition on a store as fresh as the first one's: a
			// repetition sends as many messages as the store holds, and
			// the server keeps every message id it stored within the
			// streams' 24-hour duplicate window in memory.
			b.in.discard()
			r.progressf("timers rep %d/%d: a fresh store", rep+1, cfg.Reps)
			var err error
			if b, err = r.setupBig(ctx); err != nil {
				return fmt.Errorf("rep %d: %w", rep+1, err)
			}
			r.big = b
		}
		t, err := r.timersRep(ctx, b, chunks, pending, rep, stalls)
		if err != nil {
			return fmt.Errorf("rep %d: %w", rep+1, err)
		}
		reps = append(reps, t)
	}
	col := func(f func(t timersRep) float64) []float64 {
		v := make([]float64, len(reps))
		for i, t := range reps {
			v[i] = f(t)
		}
		return v
	}
	r.rep.add(ScenarioTimers, "timers.pending", "pending reminders when armed", "reminders", col(func(t timersRep) float64 { return float64(pending) }))
	r.rep.add(ScenarioTimers, "timers.lateness_p50_ms", "reminder lateness p50 (sent_at - due_at)", "ms", col(func(t timersRep) float64 { return t.lat.P50ms }))
	r.rep.add(ScenarioTimers, "timers.lateness_p99_ms", "reminder lateness p99", "ms", col(func(t timersRep) float64 { return t.lat.P99ms }))
	r.rep.add(ScenarioTimers, "timers.lateness_max_ms", "reminder lateness max", "ms", col(func(t timersRep) float64 { return t.lat.Maxms }))
	r.rep.add(ScenarioTimers, "timers.measured", "reminders measured", "reminders", col(func(t timersRep) float64 { return float64(t.lat.Count) }))
	r.rep.add(ScenarioTimers, "timers.fire_late_p50_ms", "server: schedule fired after the chunk's first due time, p50 over chunks", "ms", col(func(t timersRep) float64 { return t.fired.P50ms }))
	r.rep.add(ScenarioTimers, "timers.fire_late_p99_ms", "server: schedule fired after the chunk's first due time, p99", "ms", col(func(t timersRep) float64 { return t.fired.P99ms }))
	r.rep.add(ScenarioTimers, "timers.fire_late_max_ms", "server: schedule fired after the chunk's first due time, max", "ms", col(func(t timersRep) float64 { return t.fired.Maxms }))
	r.rep.add(ScenarioTimers, "timers.handled_p50_ms", "daemon: sent_at after the firing (a schedule fires 250 ms early: the wait for the due time is in it), p50 over chunks", "ms", col(func(t timersRep) float64 { return t.handled.P50ms }))
	r.rep.add(ScenarioTimers, "timers.handled_p99_ms", "daemon: sent_at after the firing, p99", "ms", col(func(t timersRep) float64 { return t.handled.P99ms }))
	r.rep.add(ScenarioTimers, "timers.lateness_first_tenth_p50_ms", "lateness p50, first tenth by due time", "ms", col(func(t timersRep) float64 { return t.firstTenth }))
	r.rep.add(ScenarioTimers, "timers.lateness_last_tenth_p50_ms", "lateness p50, last tenth by due time", "ms", col(func(t timersRep) float64 { return t.lastTenth }))
	r.rep.add(ScenarioTimers, "timers.due_spread_s", "first to last due (the fan-outs' duration)", "s", col(func(t timersRep) float64 { return t.spread.Seconds() }))
	r.rep.add(ScenarioTimers, "timers.arm_s", fmt.Sprintf("arming %d chunks for the new threshold", len(chunks)), "s", col(func(t timersRep) float64 { return t.arm.Seconds() }))
	r.rep.add(ScenarioTimers, "timers.schedules", "message schedules held (cascade.timer.at.>)", "schedules", col(func(t timersRep) float64 { return float64(t.schedules) }))
	r.rep.add(ScenarioTimers, "timers.firings", "timer firings handled while the reminders fell due", "firings", col(func(t timersRep) float64 { return float64(t.firings) }))
	r.rep.add(ScenarioTimers, "timers.cpu_cores", "process CPU from the first due time until every reminder was sent", "cores", col(func(t timersRep) float64 { return t.cores }))
	r.rep.add(ScenarioTimers, "timers.rss_before_mib", "RSS before arming", "MiB", col(func(t timersRep) float64 { return float64(t.rssBefore) / (1 << 20) }))
	r.rep.add(ScenarioTimers, "timers.rss_after_mib", "RSS with every reminder armed", "MiB", col(func(t timersRep) float64 { return float64(t.rssAfter) / (1 << 20) }))
	r.rep.add(ScenarioTimers, "timers.rss_per_pending_bytes", "RSS delta / pending reminders", "bytes", col(func(t timersRep) float64 { return float64(t.rssAfter-t.rssBefore) / float64(pending) }))
	var early, missing []float64
	for _, t := range reps {
		early, missing = append(early, float64(t.early)), append(missing, float64(t.missing))
		if t.missing > 0 {
			r.rep.Errors = append(r.rep.Errors, fmt.Sprintf("timers: %d notices did not get their reminder", t.missing))
		}
	}
	if slices.Max(early) > 0 || slices.Max(missing) > 0 {
		r.rep.add(ScenarioTimers, "timers.excluded_early", "reminders due before arming finished (excluded)", "reminders", early)
		r.rep.add(ScenarioTimers, "timers.missing", "notices without their reminder", "notices", missing)
	}
	r.rep.notef("timers: each repetition on a fresh store of the same size, the daemon restarted with one reminder threshold; reminders fall due spread over the store's fan-out time, as they would 72h minus the threshold after a real fan-out; "+
		"the daemon holds no timer in memory, the server holds one schedule per chunk of %d notices; RSS readings after a GC, in-process (daemon + server + tool)", store.MembersChunk)
	r.rep.notef("timers: a --remind changed at restart applies to a chunk only from its next firing (timers are armed at fan-out and when they fire): the tool fired each chunk once to arm it")
	return nil
}

// timersRep is what one repetition of the timers scenario measured.
type timersRep struct {
	lat, fired, handled   Latency
	firstTenth, lastTenth float64 // ms
	spread, arm           time.Duration
	schedules, firings    int
	cores                 float64
	rssBefore, rssAfter   int64
	early, missing        int
}

func (r *runner) timersRep(ctx context.Context, b *bigStore, chunks []chunkRef, pending, rep int, stalls *stallTracer) (timersRep, error) {
	var out timersRep
	lead := r.cfg.TimerLead
	if lead == 0 {
		lead = autoTimerLead(pending)
	}
	window := b.in.opts.Deadline
	firstDue := time.Now().Add(lead)
	offset := firstDue.Sub(b.firstDelivered) // due = delivered + offset
	threshold := (window - offset).Truncate(time.Millisecond)
	if threshold <= 0 {
		return out, fmt.Errorf("timers: the store is older than the deadline (%s); cannot place a reminder", window)
	}
	r.progressf("timers rep %d/%d: restarting with one reminder at %s remaining: %d reminders fall due from %s on", rep+1, r.cfg.Reps, threshold, pending, lead)
	if _, err := b.in.restart(ctx, func(o *daemon.Options) { o.Remind = []time.Duration{threshold} }); err != nil {
		return out, err
	}
	in := b.in
	freeMemory()
	out.rssBefore = rss()
	fired0, err := timerDeliveries(ctx, in.js)
	if err != nil {
		return out, err
	}
	sent0, err := streamMsgs(ctx, in.js, store.StreamNotices)
	if err != nil {
		return out, err
	}

	// Fire each chunk once so that the daemon arms it for the new policy.
	t0 := time.Now()
	msgs := make([]*nats.Msg, len(chunks))
	for i, c := range chunks {
		msgs[i] = &nats.Msg{Subject: fmt.Sprintf("%s.%s.%d", store.SubjectTimerFire, c.breach, c.chunk), Data: []byte(`{"fired_by":"cascade-load"}`)}
	}
	acks, err := store.PublishAll(ctx, in.js, msgs)
	if err != nil {
		return out, fmt.Errorf("timers: fire chunks: %w", err)
	}
	first, last := uint64(math.MaxUint64), uint64(0)
	for _, a := range acks {
		if a.Err != nil {
			return out, fmt.Errorf("timers: fire chunks: %w", a.Err)
		}
		first, last = min(first, a.Sequence), max(last, a.Sequence)
	}
	if err := waitFiringsHandled(ctx, r, in.js, first, last, lead+10*time.Minute); err != nil {
		return out, err
	}
	rearmed := time.Now()
	out.arm = rearmed.Sub(t0)
	r.progressf("timers: %d chunks armed for the new threshold in %.1fs", len(chunks), out.arm.Seconds())
	if rearmed.After(firstDue) {
		r.rep.notef("timers rep %d: arming finished %.1fs after the first reminder fell due; reminders due before it are excluded from the lateness (raise --timer-lead)",
			rep+1, rearmed.Sub(firstDue).Seconds())
	}
	freeMemory()
	out.rssAfter = rss()
	if out.schedules, err = countSubjects(ctx, in.js, store.StreamTimers, store.SubjectTimerAt+".>"); err != nil {
		return out, err
	}

	// Wait until every reminder is sent (each is a message in CASCADE_NOTICES;
	// nothing else is sent meanwhile: redelivery is off, no deadline passes).
	// CPU is measured from the first due time: before it the daemon waits.
	var cpu *cpuMeter
	lastDue := b.createdEnd.Add(offset)
	limit := lastDue.Add(2*time.Minute + time.Duration(pending)*100*time.Microsecond)
	var tk ticker
	stalls.reset()
	for {
		all, err := streamMsgs(ctx, in.js, store.StreamNotices)
		if err != nil {
			return out, err
		}
		sent := all - sent0
		if cpu == nil && !time.Now().Before(firstDue) {
			m := startCPU()
			cpu = &m
		}
		stalls.observe(sent, time.Now().After(firstDue) && sent < uint64(pending))
		if sent >= uint64(pending) {
			break
		}
		if time.Now().After(limit) {
			r.rep.Errors = append(r.rep.Errors, fmt.Sprintf("timers rep %d: only %d of %d reminders sent %.0fs after the last fell due", rep+1, sent, pending, time.Since(lastDue).Seconds()))
			break
		}
		if tk.due() {
			r.progressf("timers: %d/%d reminders sent (the last falls due in %.0fs)", sent, pending, time.Until(lastDue).Seconds())
		}
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	if cpu != nil {
		out.cores = cpu.cores()
	}
	fired1, err := timerDeliveries(ctx, in.js)
	if err != nil {
		return out, err
	}
	out.firings = int(fired1-fired0) - len(chunks)
	r.progressf("timers: reading the reminders of %d notices", pending)
	sent, early, missing, err := reminderLateness(ctx, r, in, chunks, threshold, rearmed)
	if err != nil {
		return out, err
	}
	out.early, out.missing = early, missing
	stalls.explain(sent)
	// By due time: does the lateness grow (the timers fall behind) or not?
	slices.SortFunc(sent, func(a, b sentReminder) int { return a.due.Compare(b.due) })
	tenth := func(part []sentReminder) float64 {
		ds := make([]time.Duration, len(part))
		for i, s := range part {
			ds[i] = s.late
		}
		return LatencyOf(ds).P50ms
	}
	out.firstTenth, out.lastTenth = tenth(sent[:len(sent)/10]), tenth(sent[len(sent)-len(sent)/10:])
	late := make([]time.Duration, len(sent))
	for i, s := range sent {
		late[i] = s.late
	}
	out.lat = LatencyOf(late)
	out.spread = lastDue.Sub(firstDue)
	if out.fired, out.handled, err = fireLateness(ctx, in.js, sent, rearmed); err != nil {
		return out, err
	}
	r.progressf("timers rep %d/%d: lateness p50 %.0f ms, p99 %.0f ms, max %.0f ms over %d reminders", rep+1, r.cfg.Reps, out.lat.P50ms, out.lat.P99ms, out.lat.Maxms, out.lat.Count)
	return out, nil
}

// autoTimerLead is the default --timer-lead: time for arming every chunk
// (18 to 35 s for 1,000,000 reminders: each firing reads its chunk's
// notices) before the first falls due.
func autoTimerLead(pending int) time.Duration {
	return 5*time.Second + time.Duration(pending)*60*time.Microsecond
}

// fireLateness splits the lateness per chunk: from the chunk's first due
// time to the server storing its fired timer message (the last on
// cascade.timer.fire.<breach>.<chunk>, stored after armed), and from there
// to the reminders' sent_at (one per chunk firing).
func fireLateness(ctx context.Context, js jetstream.JetStream, sent []sentReminder, armed time.Time) (fired, handled Latency, err error) {
	type chunkTimes struct{ due, sentAt time.Time }
	chunks := map[chunkRef]*chunkTimes{}
	for _, s := range sent {
		c := chunks[s.chunk]
		if c == nil {
			c = &chunkTimes{due: s.due, sentAt: s.due.Add(s.late)}
			chunks[s.chunk] = c
		}
		if s.due.Before(c.due) {
			c.due = s.due
		}
		if at := s.due.Add(s.late); at.Before(c.sentAt) {
			c.sentAt = at
		}
	}
	st, err := js.Stream(ctx, store.StreamTimers)
	if err != nil {
		return Latency{}, Latency{}, err
	}
	var f, h []time.Duration
	for ref, c := range chunks {
		m, err := st.GetLastMsgForSubject(ctx, fmt.Sprintf("%s.%s.%d", store.SubjectTimerFire, ref.breach, ref.chunk))
		if err != nil {
			return Latency{}, Latency{}, fmt.Errorf("timers: fired message of %s chunk %d: %w", ref.breach, ref.chunk, err)
		}
		if m.Time.Before(armed) {
			continue // only the tool's own firing: the schedule fired before arming finished
		}
		f = append(f, m.Time.Sub(c.due))
		h = append(h, c.sentAt.Sub(m.Time))
	}
	return LatencyOf(f), LatencyOf(h), nil
}

// waitFiringsHandled waits until the daemons' timer consumer has handled
// every fired message up to stream sequence last (its acknowledgement floor
// has reached it): the tool's own firings, whatever the schedules fire
// meanwhile.
func waitFiringsHandled(ctx context.Context, r *runner, js jetstream.JetStream, first, last uint64, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var tk ticker
	for {
		c, err := js.Consumer(ctx, store.StreamTimers, deadline.ConsumerName)
		if err == nil {
			info, err := c.Info(ctx)
			if err == nil && info.AckFloor.Stream >= last {
				return nil
			}
			if err == nil && tk.due() {
				done := uint64(0)
				if info.AckFloor.Stream >= first {
					done = info.AckFloor.Stream - first + 1
				}
				r.progressf("timers: arming: %d/%d fired chunks handled, %d in progress", done, last-first+1, info.NumAckPending)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timers: the daemon did not handle the fired chunks: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func countSubjects(ctx context.Context, js jetstream.JetStream, stream, filter string) (int, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return 0, err
	}
	return len(info.State.Subjects), nil
}

// timerDeliveries is how many fired timer messages the daemons' timer
// consumer has been given so far.
func timerDeliveries(ctx context.Context, js jetstream.JetStream) (uint64, error) {
	c, err := js.Consumer(ctx, store.StreamTimers, deadline.ConsumerName)
	if err != nil {
		return 0, err
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.Delivered.Consumer, nil
}

func streamMsgs(ctx context.Context, js jetstream.JetStream, stream string) (uint64, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}

// sentReminder is one reminder read back from its notice.
type sentReminder struct {
	chunk chunkRef
	due   time.Time
	late  time.Duration // sent_at - due_at
}

// reminderLateness reads the notices of chunks and returns every reminder
// at threshold due after armed (with sent_at - due_at), the number due
// before it, and the number of notices without one.
func reminderLateness(ctx context.Context, r *runner, in *instance, chunks []chunkRef, threshold time.Duration, armed time.Time) (sent []sentReminder, early, missing int, err error) {
	upto := map[string]int{} // breach → organisations covered (chunks are a prefix)
	var order []string
	for _, c := range chunks {
		if _, ok := upto[c.breach]; !ok {
			order = append(order, c.breach)
		}
		upto[c.breach] = max(upto[c.breach], c.to)
	}
	var tk ticker
	for _, id := range order {
		seen := 0
		req := &cascadev1.ListNoticesRequest{BreachId: id, PageSize: 1000}
		for seen < upto[id] {
			res, err := in.ncl.ListNotices(ctx, req)
			if err != nil {
				return nil, 0, 0, fmt.Errorf("ListNotices %s: %w", id, err)
			}
			for _, n := range res.GetNotices() {
				if seen >= upto[id] {
					break
				}
				chunk := chunkRef{breach: id, chunk: seen / store.MembersChunk}
				seen++
				var rm *cascadev1.Reminder
				for _, x := range n.GetReminders() {
					if x.GetRemaining().AsDuration() == threshold {
						rm = x
					}
				}
				if rm == nil {
					missing++
					continue
				}
				due := rm.GetDueAt().AsTime()
				if due.Before(armed) {
					early++
					continue
				}
				sent = append(sent, sentReminder{chunk: chunk, due: due, late: rm.GetSentAt().AsTime().Sub(due)})
			}
			if req.PageToken = res.GetNextPageToken(); req.PageToken == "" {
				break
			}
			if tk.due() {
				r.progressf("timers: read %s: %d/%d notices", id, seen, upto[id])
			}
		}
	}
	return sent, early, missing, nil
}
