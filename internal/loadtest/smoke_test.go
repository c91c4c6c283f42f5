package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets Run start this test binary as its client process.
func TestMain(m *testing.M) {
	if IsClientMode() {
		os.Exit(ClientMain(os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestSmokeEndToEnd runs the smoke configuration (every scenario, tiny
// sizes, once) and checks that each scenario produced its figures.
func TestSmokeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts several daemons; skipped under -short")
	}
	cfg := SmokeConfig()
	cfg.JSONPath = filepath.Join(t.TempDir(), "smoke.json")
	var out, progress bytes.Buffer
	var pw io.Writer = &progress
	if testing.Verbose() {
		pw = io.MultiWriter(&progress, os.Stderr)
	}
	rep, err := Run(context.Background(), cfg, &out, pw)
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s\ntable:\n%s", err, progress.String(), out.String())
	}
	for _, key := range []string{
		"raw.publish_fsync_s.n=200", "raw.publish_nofsync_s.n=200", "raw.kv_cas_fsync.ops_per_s", "raw.kv_cas_nofsync.ops_per_s",
		"fanout.notices_s.n=200", "fanout.delivered_s.n=200", "fanout.x_raw_fsync.n=200", "fanout.x_raw_nofsync.n=200",
		"acks.acks_per_s", "acks.p99_ms", "acks.pct_of_kv_cas",
		"status.summary_p99_ms", "status.list_p99_ms",
		"watch.lag_p50_ms", "watch.lag_p99_ms", "watch.lag_max_ms", "watch.inbox_lag_p99_ms", "watch.page_lag_p99_ms", "watch.stream_lag_p99_ms",
		"watch.rss_per_view_bytes", "watch.heap_per_view_bytes", "watch.page_rss_per_view_bytes", "watch.missed", "watch.duplicates",
		"restart.seconds", "restart.rss_mib",
		"timers.lateness_p99_ms", "timers.schedules", "timers.rss_per_pending_bytes",
	} {
		f := rep.Figure(key)
		if f == nil || len(f.Values) != 1 {
			t.Errorf("figure %s: %+v", key, f)
		}
	}
	if f := rep.Figure("acks.count"); f == nil || f.Median != 200 {
		t.Errorf("acks.count = %+v, want all 200 notices acknowledged", f)
	}
	// The watchers: every final state reached its watcher, none twice;
	// every view timed its delivery and its acknowledgement.
	for _, key := range []string{"watch.missed", "watch.duplicates"} {
		if f := rep.Figure(key); f == nil || f.Median != 0 {
			t.Errorf("%s = %+v, want 0", key, f)
		}
	}
	if f := rep.Figure("watch.lag_samples"); f == nil || f.Median < float64(2*cfg.WatchViews) {
		t.Errorf("watch.lag_samples = %+v, want at least %d (every view, both phases)", f, 2*cfg.WatchViews)
	}
	if !rep.Server.ClientsOutOfProcess || !strings.Contains(out.String(), "clients: out of process") {
		t.Errorf("the report does not say that the clients ran out of process: %+v", rep.Server)
	}
	if f := rep.Figure("timers.measured"); f == nil || f.Median != 1000 {
		t.Errorf("timers.measured = %+v, want 1000 reminders", f)
	}
	if f := rep.Figure("timers.schedules"); f == nil || f.Median != 10 {
		t.Errorf("timers.schedules = %+v, want one per chunk of 1000 (10 breaches of 100)", f)
	}
	if !strings.Contains(out.String(), "every delivery durable") || !strings.Contains(out.String(), "targets") {
		t.Errorf("table:\n%s", out.String())
	}
	b, err := os.ReadFile(cfg.JSONPath)
	if err != nil {
		t.Fatal(err)
	}
	var got Report
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("JSON: %v", err)
	}
	if got.Machine.Cores == 0 || got.Machine.GOMAXPROCS == 0 || got.Server.NATSServerVersion == "" || got.Machine.Go == "" ||
		got.Server.Fsync == "" || len(got.Figures) != len(rep.Figures) {
		t.Errorf("JSON header: %+v %+v, %d figures", got.Machine, got.Server, len(got.Figures))
	}
}

// TestTimersRepeated runs the timers scenario three times at tiny size:
// each repetition on a fresh store, with its own figures, every reminder
// of each measured, the stall tracer running.
func TestTimersRepeated(t *testing.T) {
	if testing.Short() {
		t.Skip("starts several daemons; skipped under -short")
	}
	cfg := SmokeConfig()
	cfg.Scenarios = []string{ScenarioTimers}
	cfg.Reps = 3
	cfg.StallTrace = t.TempDir()
	var out, progress bytes.Buffer
	rep, err := Run(context.Background(), cfg, &out, &progress)
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
	}
	for _, key := range []string{"timers.measured", "timers.lateness_p99_ms", "timers.schedules", "timers.fire_late_max_ms"} {
		if f := rep.Figure(key); f == nil || len(f.Values) != 3 {
			t.Errorf("figure %s: %+v, want 3 values", key, f)
		}
	}
	if f := rep.Figure("timers.measured"); f != nil && (f.Min != 1000 || f.Max != 1000) {
		t.Errorf("timers.measured = %+v, want 1000 reminders in every repetition", f)
	}
	if f := rep.Figure("restart.setup_notices_per_s"); f == nil || len(f.Values) != 3 {
		t.Errorf("store creation figure %+v, want one value per fresh store", f)
	}
	if got := strings.Count(progress.String(), "a fresh store"); got != 2 {
		t.Errorf("%d fresh stores, want 2 (repetitions 2 and 3)\n%s", got, progress.String())
	}
}
