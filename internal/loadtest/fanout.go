package loadtest

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/store"
)

// runFanout: for each N, each repetition on a fresh daemon with a registry
// of N organisations (loaded before timing): one all_customers breach,
// timed from its publish until every notice and every delivery is
// durable; then, on the same server, the raw async publish of N messages.
func (r *runner) runFanout(ctx context.Context) error {
	cfg := r.cfg
	for _, n := range cfg.OrgsList {
		var notices, delivered, raw, noticeBytes, ledgerBytes, cores []float64
		// Completed repetitions are recorded even if a later one fails.
		record := func() {
			if len(delivered) == 0 {
				return
			}
			r.rawPublishFigures(n, "fsync", raw)
			k := func(s string) string { return fmt.Sprintf("fanout.%s.n=%d", s, n) }
			r.rep.add(ScenarioFanout, k("notices_s"), fmt.Sprintf("N=%d every notice durable", n), "s", notices)
			r.rep.add(ScenarioFanout, k("delivered_s"), fmt.Sprintf("N=%d every delivery durable", n), "s", delivered)
			rates := make([]float64, len(delivered))
			for i, s := range delivered {
				rates[i] = float64(n) / s
			}
			r.rep.add(ScenarioFanout, k("notices_per_s"), fmt.Sprintf("N=%d notices/s (delivered)", n), "notices/s", rates)
			r.ratio(k("x_raw_fsync"), fmt.Sprintf("N=%d / raw publish (fsync)", n), delivered, raw)
			if f := r.rep.Figure(fmt.Sprintf("raw.publish_nofsync_s.n=%d", n)); f != nil {
				r.ratio(k("x_raw_nofsync"), fmt.Sprintf("N=%d / raw publish (no fsync)", n), delivered, f.Values)
			}
			r.rep.add(ScenarioFanout, k("cpu_cores"), fmt.Sprintf("N=%d process CPU during the fan-out", n), "cores", cores)
			if len(noticeBytes) > 0 {
				r.rep.add(ScenarioFanout, k("notice_msg_bytes"), fmt.Sprintf("N=%d stored bytes per notice message", n), "bytes", noticeBytes)
				r.rep.add(ScenarioFanout, k("ledger_msg_bytes"), fmt.Sprintf("N=%d stored bytes per ledger message", n), "bytes", ledgerBytes)
			}
		}
		for rep := range cfg.Reps {
			f, err := r.fanoutOnce(ctx, n, rep)
			if err != nil {
				record()
				return err
			}
			notices, delivered, raw = append(notices, f.notices), append(delivered, f.delivered), append(raw, f.raw)
			cores = append(cores, f.cores)
			if f.noticeBytes > 0 {
				noticeBytes, ledgerBytes = append(noticeBytes, f.noticeBytes), append(ledgerBytes, f.ledgerBytes)
			}
		}
		record()
	}
	return nil
}

// fanoutRep is one repetition of one fan-out size (seconds, cores, bytes).
type fanoutRep struct {
	notices, delivered, raw  float64
	cores                    float64
	noticeBytes, ledgerBytes float64
}

func (r *runner) fanoutOnce(ctx context.Context, n, rep int) (fanoutRep, error) {
	var f fanoutRep
	in, err := r.startFresh(ctx, fmt.Sprintf("fanout-%d", n), n, nil)
	if err != nil {
		return f, err
	}
	defer in.discard()
	id := fmt.Sprintf("FAN-%d-%d", n, rep+1)
	label := fmt.Sprintf("fanout N=%d rep %d/%d", n, rep+1, r.cfg.Reps)
	r.progressf("%s: publishing one all_customers breach", label)
	cpu := startCPU()
	start := time.Now()
	if err := in.publishReport(ctx, allReport(id)); err != nil {
		return f, fmt.Errorf("%s: publish: %w", label, err)
	}
	ft, err := in.waitFanout(ctx, id, n, start, label)
	if err != nil {
		return f, err
	}
	f.cores = cpu.cores()
	f.notices, f.delivered = ft.notices.Seconds(), ft.delivered.Seconds()
	r.progressf("%s: notices durable %.2fs, deliveries durable %.2fs (%.0f notices/s)", label, f.notices, f.delivered, rate(n, ft.delivered))
	if nb, lb, err := storedSizes(ctx, in.js); err == nil {
		f.noticeBytes, f.ledgerBytes = nb, lb
	}
	r.progressf("%s: raw async publish of %d messages on the same server", label, n)
	d, err := rawPublish(ctx, in.js, n, r.cfg.MsgSize)
	if err != nil {
		return f, err
	}
	f.raw = d.Seconds()
	return f, nil
}

// ratio records a / b per repetition (the i-th of each) as the values, and
// the ratio of the medians as the figure's median, so that it matches the
// medians in the table (min and max include it).
func (r *runner) ratio(key, name string, a, b []float64) {
	var vs []float64
	for i := range min(len(a), len(b)) {
		if b[i] > 0 {
			vs = append(vs, a[i]/b[i])
		}
	}
	f := r.rep.add(ScenarioFanout, key, name, "x", vs)
	if mb := Median(b); mb > 0 && len(vs) > 0 {
		f.Median = Median(a) / mb
		f.Min, f.Max = min(f.Min, f.Median), max(f.Max, f.Median)
	}
}

// storedSizes is the average stored size of a message in CASCADE_NOTICES
// and CASCADE_LEDGER.
func storedSizes(ctx context.Context, js jetstream.JetStream) (notice, ledger float64, err error) {
	avg := func(name string) (float64, error) {
		s, err := js.Stream(ctx, name)
		if err != nil {
			return 0, err
		}
		st := s.CachedInfo().State
		if st.Msgs == 0 {
			return 0, nil
		}
		return float64(st.Bytes) / float64(st.Msgs), nil
	}
	if notice, err = avg(store.StreamNotices); err != nil {
		return 0, 0, err
	}
	ledger, err = avg(store.StreamLedger)
	return notice, ledger, err
}
