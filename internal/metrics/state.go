package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cascadehq/cascade/internal/breach"
)

// Source is what the StateCollector reads at scrape time (the daemon
// implements it over the store). Every read is bounded: limit caps the
// records read, and the context carries the scrape's timeout.
type Source interface {
	// Summaries returns up to limit breach summaries, and whether there
	// were more.
	Summaries(ctx context.Context, limit int) ([]breach.Summary, bool, error)
	// UnansweredQuestions counts the questions not answered yet.
	UnansweredQuestions(ctx context.Context) (int, error)
	// LatePromises counts, among up to limit breaches, those whose
	// processor's promised update is overdue at now.
	LatePromises(ctx context.Context, now time.Time, limit int) (int, error)
	// DeadLetters is the number of messages in the dead-letter stream.
	DeadLetters(ctx context.Context) (uint64, error)
	// StreamMessages is the number of messages in each of Cascade's streams.
	StreamMessages(ctx context.Context) (map[string]uint64, error)
	// Connected reports whether the daemon is connected to NATS.
	Connected() bool
}

// StateConfig bounds what one scrape reads.
type StateConfig struct {
	Now         func() time.Time
	Timeout     time.Duration // per scrape; 0: 5s
	MaxBreaches int           // summaries and breaches read per scrape; 0: 10,000
}

// StateCollector derives the notice gauges from the stored summaries at
// scrape time: no state is kept beside the store.
type StateCollector struct {
	src Source
	cfg StateConfig

	notices, overdue, next, truncated   *prometheus.Desc
	obligationsOpen, obligationsOverdue *prometheus.Desc
	questions, late, dead, streams      *prometheus.Desc
	connected                           *prometheus.Desc
}

// NewStateCollector returns a collector over src.
func NewStateCollector(src Source, cfg StateConfig) *StateCollector {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MaxBreaches <= 0 {
		cfg.MaxBreaches = 10_000
	}
	return &StateCollector{src: src, cfg: cfg,
		notices: prometheus.NewDesc("cascade_notices", "Notices of every breach together, by state (pending, delivered, acknowledged, resolved, withdrawn).",
			[]string{"state"}, nil),
		overdue: prometheus.NewDesc("cascade_notices_overdue", "Delivered notices not resolved by their deadline.", nil, nil),
		obligationsOpen: prometheus.NewDesc("cascade_obligations_open",
			"Open obligations of delivered notices, by kind (gdpr_art33, nis2_early_warning, nis2_incident_notification, nis2_final_report).",
			[]string{"obligation"}, nil),
		obligationsOverdue: prometheus.NewDesc("cascade_obligations_overdue",
			"Obligations of delivered notices past their deadline and not resolved, by kind (gdpr_art33 is cascade_notices_overdue).",
			[]string{"obligation"}, nil),
		next: prometheus.NewDesc("cascade_next_deadline_seconds",
			"Seconds until the nearest deadline of an unresolved delivered notice (absent when there is none).", nil, nil),
		truncated: prometheus.NewDesc("cascade_metrics_breaches_truncated",
			"1 when there are more breaches than one scrape reads (the notice gauges then count only the first ones).", nil, nil),
		questions: prometheus.NewDesc("cascade_questions_unanswered", "Questions from organisations not answered yet.", nil, nil),
		late: prometheus.NewDesc("cascade_processor_updates_late",
			"Breaches whose processor's promised update is past its promised time.", nil, nil),
		dead:      prometheus.NewDesc("cascade_dead_letters", "Messages in the dead-letter stream (deliveries given up on).", nil, nil),
		streams:   prometheus.NewDesc("cascade_stream_messages", "Messages stored in each Cascade stream.", []string{"stream"}, nil),
		connected: prometheus.NewDesc("cascade_nats_connected", "1 while the daemon is connected to NATS, else 0.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *StateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.notices, c.overdue, c.next, c.truncated, c.questions, c.late, c.dead, c.streams, c.connected,
		c.obligationsOpen, c.obligationsOverdue} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A read that fails is reported
// as an invalid metric; the others are still collected.
func (c *StateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	now := c.cfg.Now()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	up := 0.0
	if c.src.Connected() {
		up = 1
	}
	gauge(c.connected, up)

	if sums, more, err := c.src.Summaries(ctx, c.cfg.MaxBreaches); err != nil {
		ch <- prometheus.NewInvalidMetric(c.notices, err)
	} else {
		t := Tally(sums, now)
		for _, s := range []struct {
			state string
			n     int64
		}{{"pending", t.Pending}, {"delivered", t.Delivered}, {"acknowledged", t.Acknowledged}, {"resolved", t.Resolved}, {"withdrawn", t.Withdrawn}} {
			gauge(c.notices, float64(s.n), s.state)
		}
		gauge(c.overdue, float64(t.Overdue))
		for _, o := range TallyObligations(sums, now) {
			gauge(c.obligationsOpen, float64(o.Open), string(o.Kind))
			gauge(c.obligationsOverdue, float64(o.Overdue), string(o.Kind))
		}
		if !t.NextDeadline.IsZero() {
			gauge(c.next, t.NextDeadline.Sub(now).Seconds())
		}
		trunc := 0.0
		if more {
			trunc = 1
		}
		gauge(c.truncated, trunc)
	}
	if n, err := c.src.UnansweredQuestions(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(c.questions, err)
	} else {
		gauge(c.questions, float64(n))
	}
	if n, err := c.src.LatePromises(ctx, now, c.cfg.MaxBreaches); err != nil {
		ch <- prometheus.NewInvalidMetric(c.late, err)
	} else {
		gauge(c.late, float64(n))
	}
	if n, err := c.src.DeadLetters(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(c.dead, err)
	} else {
		gauge(c.dead, float64(n))
	}
	if ms, err := c.src.StreamMessages(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(c.streams, err)
	} else {
		for name, n := range ms {
			gauge(c.streams, float64(n), name)
		}
	}
}

// Totals is the state of every breach's notices together.
type Totals struct {
	Pending, Delivered, Acknowledged, Resolved, Withdrawn int64
	Overdue                                               int64
	NextDeadline                                          time.Time // zero: none ahead
}

// TallyObligations adds up summaries' obligations at now: one entry per
// kind, GDPR's first, every kind present (zero when no notice carries it),
// so that alerts on a kind always have a series.
func TallyObligations(sums []breach.Summary, now time.Time) []breach.ObligationCounts {
	out := []breach.ObligationCounts{{Kind: breach.ObligationGDPR}}
	for _, k := range breach.NIS2Kinds {
		out = append(out, breach.ObligationCounts{Kind: k})
	}
	for i := range sums {
		for _, c := range sums[i].ObligationCounts(now) {
			for j := range out {
				if out[j].Kind == c.Kind {
					out[j].Open += c.Open
					out[j].Overdue += c.Overdue
				}
			}
		}
	}
	return out
}

// Tally adds up summaries at now. A notice is counted in its own state
// only (a summary's Delivered counts every notice delivered or further).
func Tally(sums []breach.Summary, now time.Time) Totals {
	var t Totals
	for i := range sums {
		s := &sums[i]
		t.Pending += s.Total - s.Delivered - s.Withdrawn
		t.Delivered += s.Delivered - s.Acknowledged
		t.Acknowledged += s.Acknowledged - s.Resolved
		t.Resolved += s.Resolved
		t.Withdrawn += s.Withdrawn
		t.Overdue += s.Overdue(now)
		if n := s.NextDeadline(now); !n.IsZero() && (t.NextDeadline.IsZero() || n.Before(t.NextDeadline)) {
			t.NextDeadline = n
		}
	}
	return t
}
