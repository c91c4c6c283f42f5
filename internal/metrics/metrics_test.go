package metrics_test

import (
	"context"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/metrics"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestTally(t *testing.T) {
	a := breach.Summary{Breach: "A", Total: 10, Delivered: 8, Acknowledged: 5, Resolved: 2, Withdrawn: 1,
		Deadlines: map[int64]int64{now.Add(-time.Minute).Unix(): 2, now.Add(time.Hour).Unix(): 4}}
	b := breach.Summary{Breach: "B", Total: 3, Delivered: 3, Acknowledged: 0,
		Deadlines: map[int64]int64{now.Add(10 * time.Minute).Unix(): 3}}
	got := metrics.Tally([]breach.Summary{a, b}, now)
	want := metrics.Totals{Pending: 1, Delivered: 3 + 3, Acknowledged: 3, Resolved: 2, Withdrawn: 1, Overdue: 2,
		NextDeadline: now.Add(10 * time.Minute)}
	if got != want {
		t.Fatalf("Tally = %+v, want %+v", got, want)
	}
	if z := metrics.Tally(nil, now); z != (metrics.Totals{}) {
		t.Fatalf("Tally(nil) = %+v", z)
	}
}

func TestTallyObligations(t *testing.T) {
	a := breach.Summary{Breach: "A", Total: 3, Delivered: 3, Deadlines: map[int64]int64{now.Add(time.Hour).Unix(): 3},
		Obligations: map[breach.ObligationKind]breach.ObligationTally{
			breach.ObligationNIS2EarlyWarning: {Resolved: 1, Deadlines: map[int64]int64{now.Add(-time.Minute).Unix(): 2}},
		}}
	b := breach.Summary{Breach: "B", Total: 1, Delivered: 1, Deadlines: map[int64]int64{now.Add(-time.Hour).Unix(): 1}}
	got := map[breach.ObligationKind][2]int64{}
	for _, o := range metrics.TallyObligations([]breach.Summary{a, b}, now) {
		got[o.Kind] = [2]int64{o.Open, o.Overdue}
	}
	want := map[breach.ObligationKind][2]int64{
		breach.ObligationGDPR: {4, 1}, breach.ObligationNIS2EarlyWarning: {2, 2},
		breach.ObligationNIS2IncidentNotification: {0, 0}, breach.ObligationNIS2FinalReport: {0, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("kinds %v", got)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: open, overdue %v, want %v", k, got[k], w)
		}
	}
}

// source is a fixed Source.
type source struct {
	sums []breach.Summary
	more bool
}

func (s source) Summaries(context.Context, int) ([]breach.Summary, bool, error) {
	return s.sums, s.more, nil
}
func (source) UnansweredQuestions(context.Context) (int, error)          { return 2, nil }
func (source) LatePromises(context.Context, time.Time, int) (int, error) { return 1, nil }
func (source) DeadLetters(context.Context) (uint64, error)               { return 5, nil }
func (source) StreamMessages(context.Context) (map[string]uint64, error) {
	return map[string]uint64{"CASCADE_NOTICES": 7}, nil
}
func (source) Connected() bool { return true }

func registry(t *testing.T) (*prometheus.Registry, *metrics.Metrics) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	src := source{sums: []breach.Summary{{Breach: "A", Total: 2, Delivered: 2, Deadlines: map[int64]int64{now.Add(90 * time.Second).Unix(): 2}}}}
	if err := m.Register(metrics.NewStateCollector(src, metrics.StateConfig{Now: func() time.Time { return now }})); err != nil {
		t.Fatal(err)
	}
	return reg, m
}

func TestStateCollector(t *testing.T) {
	reg, m := registry(t)
	m.Round("reminder")
	m.Delivery("webhook", metrics.ResultDeadLettered)
	m.Deliveries("nats", metrics.ResultDelivered, 3)
	m.IntakeResult(metrics.IntakeRejected)
	m.FanoutStarted()()
	for name, want := range map[string]float64{
		"cascade_notices_overdue": 0, "cascade_next_deadline_seconds": 90, "cascade_questions_unanswered": 2,
		"cascade_processor_updates_late": 1, "cascade_dead_letters": 5, "cascade_nats_connected": 1,
		"cascade_metrics_breaches_truncated": 0,
	} {
		if n := testutil.CollectAndCount(reg, name); n != 1 {
			t.Errorf("%s: %d series", name, n)
		}
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() == name {
				if v := f.GetMetric()[0].GetGauge().GetValue(); v != want {
					t.Errorf("%s = %v, want %v", name, v, want)
				}
			}
		}
	}
	if n := testutil.CollectAndCount(reg, "cascade_obligations_overdue"); n != 4 {
		t.Errorf("cascade_obligations_overdue: %d series, want one per obligation kind", n)
	}
	if n := testutil.CollectAndCount(reg, "cascade_notices"); n != 5 {
		t.Errorf("cascade_notices: %d series, want one per state", n)
	}
	if n := testutil.CollectAndCount(reg, "cascade_channel_deliveries_total"); n != 9 {
		t.Errorf("cascade_channel_deliveries_total: %d series, want 3 channels x 3 results", n)
	}
}

// TestDeployedNamesExist: every cascade_ metric the alert rules and the
// dashboard use is one the daemon exposes.
func TestDeployedNamesExist(t *testing.T) {
	reg, m := registry(t)
	call := m.UnaryServerInterceptor()
	if _, err := call(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/cascade.v1.NoticeService/GetNotice"},
		func(context.Context, any) (any, error) { return nil, status.Error(codes.NotFound, "no") }); status.Code(err) != codes.NotFound {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "cascade_grpc_server_handled_total"); n != 1 {
		t.Fatalf("cascade_grpc_server_handled_total: %d series", n)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, f := range fams {
		known[f.GetName()] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				known[f.GetName()+s] = true
			}
		}
	}
	name := regexp.MustCompile(`\b(cascade_[a-z_]+|go_[a-z_]+|process_[a-z_]+)\b`)
	for _, file := range []string{"../../deploy/prometheus/alerts.yml", "../../deploy/grafana/cascade.json"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range name.FindAllString(string(b), -1) {
			if !known[n] {
				t.Errorf("%s uses %s, which the daemon does not expose", file, n)
			}
		}
	}
}
