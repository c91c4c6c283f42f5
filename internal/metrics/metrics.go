// Package metrics is Cascade's Prometheus instrumentation: the counters
// and histograms the daemon's components add to as they work (rounds,
// channel deliveries, intake results, fan-out durations, gRPC calls), and
// a collector (state.go) that reads the notices' state from the store at
// scrape time. Everything is registered on a registry the caller passes,
// never on the global default one.
//
// Components do not import this package: each declares the small
// interface it needs (deadline.RoundCounter, dispatch.DeliveryCounter,
// intake.Metrics, delivery.DeliveryCounter), which *Metrics implements.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Label values of cascade_channel_deliveries_total{result}.
const (
	ResultDelivered    = "delivered"
	ResultFailed       = "failed"
	ResultDeadLettered = "dead_lettered"
)

// Label values of cascade_intake_reports_total{result}.
const (
	IntakeRecorded     = "recorded"
	IntakeRejected     = "rejected"
	IntakeRetried      = "retried"
	IntakeDeadLettered = "dead_lettered"
)

// Metrics holds Cascade's counters and histograms.
type Metrics struct {
	reg        *prometheus.Registry
	rounds     *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	intake     *prometheus.CounterVec
	fanout     prometheus.Histogram
	grpcCalls  *prometheus.CounterVec
	grpcTime   *prometheus.HistogramVec
}

// New registers Cascade's metrics, and the Go runtime and process
// collectors, on reg.
func New(reg *prometheus.Registry) *Metrics {
	m := &Metrics{
		reg: reg,
		rounds: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cascade_rounds_total",
			Help: "Rounds the timers published, by kind (reminder, overdue, redelivery)."}, []string{"kind"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cascade_channel_deliveries_total",
			Help: "Message deliveries by channel (nats, webhook, email) and result (delivered, failed, dead_lettered)."},
			[]string{"channel", "result"}),
		intake: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cascade_intake_reports_total",
			Help: "Reports and updates taken from the intake stream, by result (recorded, rejected, retried, dead_lettered)."},
			[]string{"result"}),
		fanout: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cascade_fanout_duration_seconds",
			Help:    "Time to fan a recorded report out into its notices.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}}),
		grpcCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cascade_grpc_server_handled_total",
			Help: "gRPC calls completed, by full method and status code."}, []string{"method", "code"}),
		grpcTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cascade_grpc_server_handling_seconds",
			Help: "Time to handle a unary gRPC call (streams: until they end), by full method.", Buckets: prometheus.DefBuckets},
			[]string{"method"}),
	}
	// Every label value is known: the series exist (at 0) from the start,
	// so rate() and increase() see the first event.
	for _, k := range []string{"reminder", "overdue", "redelivery"} {
		m.rounds.WithLabelValues(k)
	}
	for _, c := range []string{"nats", "webhook", "email"} {
		for _, r := range []string{ResultDelivered, ResultFailed, ResultDeadLettered} {
			m.deliveries.WithLabelValues(c, r)
		}
	}
	for _, r := range []string{IntakeRecorded, IntakeRejected, IntakeRetried, IntakeDeadLettered} {
		m.intake.WithLabelValues(r)
	}
	reg.MustRegister(m.rounds, m.deliveries, m.intake, m.fanout, m.grpcCalls, m.grpcTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus exposition format. A
// collector that fails reports its error and the rest is still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, Timeout: 10 * time.Second})
}

// Register adds a collector (such as a StateCollector) to the registry.
func (m *Metrics) Register(c prometheus.Collector) error { return m.reg.Register(c) }

// Round counts one round of kind published by the timers.
func (m *Metrics) Round(kind string) { m.rounds.WithLabelValues(kind).Inc() }

// Delivery counts one delivery attempt's result on channel.
func (m *Metrics) Delivery(channel, result string) {
	m.deliveries.WithLabelValues(channel, result).Inc()
}

// Deliveries counts n delivery results on channel at once.
func (m *Metrics) Deliveries(channel, result string, n int) {
	m.deliveries.WithLabelValues(channel, result).Add(float64(n))
}

// IntakeResult counts one intake message's result.
func (m *Metrics) IntakeResult(result string) { m.intake.WithLabelValues(result).Inc() }

// FanoutStarted starts timing a fan-out; the returned func records it.
func (m *Metrics) FanoutStarted() func() {
	t := prometheus.NewTimer(m.fanout)
	return func() { t.ObserveDuration() }
}
