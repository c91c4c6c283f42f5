package loadtest

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFlagsDefaults(t *testing.T) {
	c, err := ParseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Reps != 3 || !slices.Equal(c.OrgsList, []int{1000, 10000, 100000}) || c.AckNotices != 10000 || c.AckConcurrency != 64 ||
		c.AckDuration != 20*time.Second || c.StatusOrgs != 100000 || c.RestartNotices != 1_000_000 || c.TimerNotices != 1_000_000 ||
		!slices.Equal(c.Scenarios, AllScenarios) {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestParseFlagsSmokeAndOverrides(t *testing.T) {
	c, err := ParseFlags([]string{"--smoke", "--scenarios", "raw, fanout,raw", "--orgs-list", "300,1_000", "--reps", "2"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.AckDuration != 2*time.Second || c.RestartNotices != 1000 || c.Reps != 2 || !slices.Equal(c.OrgsList, []int{300, 1000}) ||
		!slices.Equal(c.Scenarios, []string{"raw", "fanout"}) {
		t.Fatalf("smoke with overrides = %+v", c)
	}
}

func TestParseFlagsRejects(t *testing.T) {
	for _, args := range [][]string{
		{"--scenarios", "raw,nope"},
		{"--reps", "0"},
		{"--orgs-list", "0"},
		{"--ack-duration", "1h"},
		{"--nats-url", "nats://10.0.0.1:4222"},
		{"--nats-url", "nats://127.0.0.1:4222,nats://example.org:4222"},
		{"extra"},
	} {
		if _, err := ParseFlags(args, io.Discard); err == nil {
			t.Errorf("ParseFlags(%v) accepted", args)
		}
	}
	for _, u := range []string{"nats://127.0.0.1:4222", "localhost:4222", "nats://[::1]:4222"} {
		if err := loopbackURLs(u); err != nil {
			t.Errorf("loopbackURLs(%q) = %v", u, err)
		}
	}
}

func TestTargetsNeedFullSize(t *testing.T) {
	r := &Report{}
	r.add(ScenarioRestart, "restart.notices", "", "", []float64{1000})
	r.add(ScenarioRestart, "restart.seconds", "", "", []float64{0.1})
	r.add(ScenarioAcks, "acks.p99_ms", "", "", []float64{30})
	r.checkTargets()
	byFig := map[string]Target{}
	for _, tg := range r.Targets {
		byFig[tg.Figure] = tg
	}
	if s := byFig["restart.seconds"].Status; !strings.HasPrefix(s, "met (smaller size)") {
		t.Errorf("restart target with 1,000 notices: %q", s)
	}
	if s := byFig["acks.p99_ms"].Status; s != "NOT MET" {
		t.Errorf("ack p99 30 ms: %q", s)
	}
	if s := byFig["status.summary_p99_ms"].Status; s != "not measured" {
		t.Errorf("summary target without a figure: %q", s)
	}
}
