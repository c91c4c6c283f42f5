package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/cascadehq/cascade/internal/dispatch"
	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// scrape reads /metrics as Prometheus would and parses it.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("/metrics = %d\n%s", resp.StatusCode, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value is the value of the series of family name whose labels include
// labels ("k", "v", ...); ok false when there is none.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue(), true
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), true
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// TestMetrics: a small fan-out with short clocks on a real daemon, scraped
// over HTTP: the notices by state, the overdue count and the next
// deadline, the rounds, the deliveries per channel (a webhook retried, one
// dead-lettered), the intake results, the fan-out histogram, the gRPC
// calls, the late promise, and the Go and process collectors.
func TestMetrics(t *testing.T) {
	hook := newHookServer(t, func(n int) int {
		if n == 0 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	down := newHookServer(t, func(int) int { return http.StatusBadGateway })
	orgs := filepath.Join(t.TempDir(), "orgs.csv")
	if err := os.WriteFile(orgs, []byte("id,name,webhook_url,channels\n"+
		"org-hook,Webhook only,"+hook.URL+"/cascade,webhook\n"+
		"org-down,NATS and a broken webhook,"+down.URL+"/cascade,\n"+
		"org-nats,NATS only,,\n"+
		"org-ack,NATS only,,\n"+
		"org-done,NATS only,,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := options(t)
	opts.OrgsFile = orgs
	opts.HTTPAddr = "127.0.0.1:0"
	opts.Deadline = 6 * time.Second
	opts.Remind = []time.Duration{3 * time.Second}
	opts.Redeliver = []time.Duration{}
	opts.DispatchBackoff = dispatch.Backoff{Initial: 50 * time.Millisecond, Max: 100 * time.Millisecond, GiveUp: time.Second, MinAttempts: 3}
	opts.WebhookAllowPrivate = true // the receivers listen on loopback
	opts.Registry = prometheus.NewRegistry()
	e := start(t, opts)
	addr := e.d.HTTPAddr()
	ds := cascadev1.NewDeliveryServiceClient(grpcConn(t, e.d.GRPCAddr()))
	for _, org := range []string{"org-hook", "org-down"} {
		if _, err := ds.RotateWebhookSecret(ctx(t), &cascadev1.RotateWebhookSecretRequest{OrgId: org}); err != nil {
			t.Fatalf("webhook secret for %s: %v", org, err)
		}
	}

	fams := scrape(t, addr)
	for _, name := range []string{"cascade_nats_connected", "cascade_notices_overdue", "cascade_questions_unanswered",
		"cascade_processor_updates_late", "cascade_dead_letters", "go_goroutines", "process_cpu_seconds_total"} {
		if _, ok := value(fams, name); !ok {
			t.Errorf("no %s before any report", name)
		}
	}
	if v, _ := value(fams, "cascade_nats_connected"); v != 1 {
		t.Errorf("cascade_nats_connected = %v", v)
	}
	if _, ok := value(fams, "cascade_next_deadline_seconds"); ok {
		t.Error("cascade_next_deadline_seconds with no deadline")
	}

	// A malformed report, then the breach, promising an update in 2s.
	e.publish([]byte(`{"id":`))
	body := strings.Replace(string(report("MET-1", "org-hook", "org-down", "org-nats", "org-ack", "org-done")),
		`"nature"`, fmt.Sprintf(`"next_update_by":%q,"nature"`, time.Now().Add(2*time.Second).UTC().Format(time.RFC3339Nano)), 1)
	e.publish([]byte(body))
	e.waitSummary("MET-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 5 })
	if _, err := e.noticeC.AcknowledgeNotice(ctx(t), &cascadev1.AcknowledgeNoticeRequest{NoticeId: "MET-1/org-ack", AcknowledgedBy: "dpo"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.noticeC.RecordNotReportable(ctx(t), &cascadev1.RecordNotReportableRequest{
		NoticeId: "MET-1/org-done", Justification: "no personal data of ours in the copied files", RecordedBy: "dpo"}); err != nil {
		t.Fatal(err)
	}
	// Before the deadline: the notices by state and the next deadline.
	testkit.Eventually(t, 10*time.Second, func() error {
		fams = scrape(t, addr)
		for state, want := range map[string]float64{"pending": 0, "delivered": 3, "acknowledged": 1, "resolved": 1, "withdrawn": 0} {
			if v, ok := value(fams, "cascade_notices", "state", state); !ok || v != want {
				return fmt.Errorf("cascade_notices{state=%q} = %v (%v), want %v", state, v, ok, want)
			}
		}
		return nil
	})
	if v, ok := value(fams, "cascade_next_deadline_seconds"); ok && (v <= 0 || v > 7) {
		t.Errorf("cascade_next_deadline_seconds = %v, want within the 6s deadline (rounded up to the second)", v)
	}

	// Past the deadline: four notices overdue, a reminder and an overdue
	// round, the webhook retried and the broken one dead-lettered, the
	// promise late.
	want := []struct {
		name   string
		labels []string
		min    float64
		exact  bool
	}{
		{"cascade_notices_overdue", nil, 4, true},
		{"cascade_rounds_total", []string{"kind", "reminder"}, 1, false},
		{"cascade_rounds_total", []string{"kind", "overdue"}, 1, false},
		{"cascade_rounds_total", []string{"kind", "redelivery"}, 0, true},
		{"cascade_channel_deliveries_total", []string{"channel", "nats", "result", "delivered"}, 5 + 4 + 4, false},
		{"cascade_channel_deliveries_total", []string{"channel", "webhook", "result", "delivered"}, 1, false},
		{"cascade_channel_deliveries_total", []string{"channel", "webhook", "result", "failed"}, 2, false},
		{"cascade_channel_deliveries_total", []string{"channel", "webhook", "result", "dead_lettered"}, 1, false},
		{"cascade_dead_letters", nil, 1, false},
		{"cascade_intake_reports_total", []string{"result", "recorded"}, 1, true},
		{"cascade_intake_reports_total", []string{"result", "rejected"}, 1, true},
		{"cascade_fanout_duration_seconds", nil, 1, true},
		{"cascade_processor_updates_late", nil, 1, true},
		{"cascade_questions_unanswered", nil, 0, true},
		{"cascade_grpc_server_handled_total", []string{"method", "/cascade.v1.NoticeService/AcknowledgeNotice", "code", "OK"}, 1, true},
		{"cascade_stream_messages", []string{"stream", "CASCADE_NOTICES"}, 13, false},
	}
	testkit.Eventually(t, 30*time.Second, func() error {
		fams = scrape(t, addr)
		for _, w := range want {
			v, ok := value(fams, w.name, w.labels...)
			if !ok || v < w.min || (w.exact && v != w.min) {
				return fmt.Errorf("%s%v = %v (present %v), want %v (exact %v)", w.name, w.labels, v, ok, w.min, w.exact)
			}
		}
		return nil
	})
	if _, ok := value(fams, "cascade_next_deadline_seconds"); ok {
		t.Error("cascade_next_deadline_seconds with every deadline passed")
	}
	// No family names an organisation or a breach.
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), "org-") || strings.Contains(l.GetValue(), "MET-1") {
					t.Errorf("%s has label %s=%q", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}
