package loadtest

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Scenario names, in the order they run.
const (
	ScenarioRaw     = "raw"
	ScenarioFanout  = "fanout"
	ScenarioAcks    = "acks"
	ScenarioStatus  = "status"
	ScenarioWatch   = "watch"
	ScenarioRestart = "restart"
	ScenarioTimers  = "timers"
)

// AllScenarios in the order they run.
var AllScenarios = []string{ScenarioRaw, ScenarioFanout, ScenarioAcks, ScenarioStatus, ScenarioWatch, ScenarioRestart, ScenarioTimers}

// Config says what cascade-load measures. Every count and duration is
// bounded (see validate).
type Config struct {
	Scenarios []string // subset of AllScenarios
	Reps      int      // repetitions of each scenario

	OrgsList []int // fan-out sizes; raw publish uses the same sizes
	MsgSize  int   // raw publish payload and KV value size (a notice's size)

	AckNotices     int           // notices acknowledged per repetition (at most this many)
	AckConcurrency int           // concurrent gRPC clients, and the raw KV CAS concurrency
	AckDuration    time.Duration // how long the acks (and the status probes) run
	KVDuration     time.Duration // raw KV CAS duration; 0 means AckDuration

	StatusOrgs     int           // notices of the breach probed by the status scenario
	StatusInterval time.Duration // pause between two status calls of one prober

	// Watch: live views and WatchBreach streams open during a fan-out of
	// WatchOrgs organisations and then during the acknowledgement of the
	// watched notices (see runWatch).
	WatchOrgs           int  // organisations of the watched breach
	WatchViews          int  // dashboard live views, one controller organisation each
	WatchStreams        int  // gRPC WatchBreach streams (viewer tokens)
	WatchIncludeNotices bool // the streams ask for every notice, not only the summary

	RestartNotices  int // notices stored before the restart (created by fan-outs)
	RestartBreaches int // all_customers breaches those notices come from
	TimerNotices    int // pending reminders (reusing the restart scenario's notices)
	// TimerLead is how long after the timers daemon starts the first
	// reminder falls due; 0 picks 5s + 100µs per pending reminder.
	TimerLead time.Duration

	// DaemonSyncInterval is a diagnostic: the embedded server's fsync
	// interval for the daemons (0, the default and the daemon's own
	// default, fsyncs every write). The raw baselines are unaffected.
	DaemonSyncInterval time.Duration
	CPUProfile         string // write a CPU profile of the whole run here
	BlockProfile       string // write a blocking profile (events ≥ ~100µs) of the whole run here
	StallTrace         string // timers: write an execution trace of each stall (no reminder sent for 1s) into this directory

	NATSURL      string // external NATS (loopback only); empty embeds the server
	WipeExternal bool   // allow deleting Cascade's streams on the external server
	JSONPath     string // write the JSON report here; empty: none
	MaxTime      time.Duration
	Verbose      bool // daemon warnings and errors to stderr
}

// DefaultConfig is what `make bench` runs.
func DefaultConfig() Config {
	return Config{
		Scenarios:       slices.Clone(AllScenarios),
		Reps:            3,
		OrgsList:        []int{1_000, 10_000, 100_000},
		MsgSize:         2048,
		AckNotices:      10_000,
		AckConcurrency:  64,
		AckDuration:     20 * time.Second,
		StatusOrgs:      100_000,
		StatusInterval:  10 * time.Millisecond,
		WatchOrgs:       100_000,
		WatchViews:      1_000,
		WatchStreams:    64,
		RestartNotices:  1_000_000,
		RestartBreaches: 10,
		TimerNotices:    1_000_000,
		MaxTime:         4 * time.Hour,
	}
}

// SmokeConfig runs every scenario with tiny sizes, once: what
// `make bench-smoke` runs to check that the tool works (well under a minute).
func SmokeConfig() Config {
	c := DefaultConfig()
	c.Reps = 1
	c.OrgsList = []int{200}
	c.AckNotices = 200
	c.AckDuration = 2 * time.Second
	c.StatusOrgs = 200
	c.WatchOrgs = 200
	c.WatchViews = 20
	c.WatchStreams = 4
	c.RestartNotices = 1_000
	c.TimerNotices = 1_000
	c.TimerLead = 3 * time.Second
	c.MaxTime = 5 * time.Minute
	return c
}

// Has reports whether scenario s is selected.
func (c Config) Has(s string) bool { return slices.Contains(c.Scenarios, s) }

func (c Config) kvDuration() time.Duration {
	if c.KVDuration > 0 {
		return c.KVDuration
	}
	return c.AckDuration
}

// Upper bounds: the tool is bounded in time and count.
const (
	maxOrgs        = 1_000_000
	maxNotices     = 10_000_000
	maxConcurrency = 1024
	maxDuration    = 10 * time.Minute
	maxReps        = 20
	maxWatchers    = 10_000
)

func (c Config) validate() error {
	var errs []error
	if len(c.Scenarios) == 0 {
		errs = append(errs, errors.New("--scenarios: none selected"))
	}
	for _, s := range c.Scenarios {
		if !slices.Contains(AllScenarios, s) {
			errs = append(errs, fmt.Errorf("--scenarios: unknown scenario %q (have %s)", s, strings.Join(AllScenarios, ",")))
		}
	}
	if c.Reps < 1 || c.Reps > maxReps {
		errs = append(errs, fmt.Errorf("--reps must be between 1 and %d", maxReps))
	}
	if len(c.OrgsList) == 0 && (c.Has(ScenarioFanout) || c.Has(ScenarioRaw)) {
		errs = append(errs, errors.New("--orgs-list is empty"))
	}
	for _, n := range c.OrgsList {
		if n < 1 || n > maxOrgs {
			errs = append(errs, fmt.Errorf("--orgs-list: %d is not between 1 and %d", n, maxOrgs))
		}
	}
	checkRange := func(name string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("%s must be between %d and %d, got %d", name, lo, hi, v))
		}
	}
	checkRange("--msg-size", c.MsgSize, 1, 1<<20)
	checkRange("--ack-notices", c.AckNotices, 1, maxOrgs)
	checkRange("--ack-concurrency", c.AckConcurrency, 1, maxConcurrency)
	checkRange("--status-orgs", c.StatusOrgs, 1, maxOrgs)
	checkRange("--watch-orgs", c.WatchOrgs, 1, maxOrgs)
	checkRange("--watch-views", c.WatchViews, 0, min(c.WatchOrgs, maxWatchers))
	checkRange("--watch-streams", c.WatchStreams, 0, maxWatchers)
	if c.Has(ScenarioWatch) && c.WatchViews+c.WatchStreams == 0 {
		errs = append(errs, errors.New("--watch-views and --watch-streams: the watch scenario needs at least one watcher"))
	}
	checkRange("--restart-notices", c.RestartNotices, 1, maxNotices)
	checkRange("--restart-breaches", c.RestartBreaches, 1, 1000)
	checkRange("--timer-notices", c.TimerNotices, 1, maxNotices)
	if c.RestartNotices/c.RestartBreaches > maxOrgs {
		errs = append(errs, fmt.Errorf("--restart-notices / --restart-breaches must be at most %d organisations", maxOrgs))
	}
	for name, d := range map[string]time.Duration{"--ack-duration": c.AckDuration, "--kv-duration": c.kvDuration()} {
		if d <= 0 || d > maxDuration {
			errs = append(errs, fmt.Errorf("%s must be positive and at most %s", name, maxDuration))
		}
	}
	if c.StatusInterval < 0 || c.StatusInterval > time.Minute {
		errs = append(errs, errors.New("--status-interval must be between 0 and 1m"))
	}
	if c.TimerLead < 0 || c.TimerLead > time.Hour {
		errs = append(errs, errors.New("--timer-lead must be between 0 (auto) and 1h"))
	}
	if c.DaemonSyncInterval < 0 || (c.DaemonSyncInterval > 0 && c.NATSURL != "") {
		errs = append(errs, errors.New("--daemon-sync-interval must not be negative, and applies only to the embedded server"))
	}
	if c.MaxTime <= 0 || c.MaxTime > 24*time.Hour {
		errs = append(errs, errors.New("--max-time must be positive and at most 24h"))
	}
	if c.NATSURL != "" {
		if err := loopbackURLs(c.NATSURL); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// loopbackURLs checks that every comma-separated NATS URL is on a loopback address.
func loopbackURLs(s string) error {
	for _, raw := range strings.Split(s, ",") {
		raw = strings.TrimSpace(raw)
		if !strings.Contains(raw, "://") {
			raw = "nats://" + raw
		}
		u, err := url.Parse(raw)
		if err != nil {
			return fmt.Errorf("--nats-url %q: %w", raw, err)
		}
		host := u.Hostname()
		if host == "localhost" {
			continue
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("--nats-url %q: only loopback addresses are allowed (127.0.0.0/8, ::1, localhost)", raw)
		}
	}
	return nil
}

// ParseFlags parses cascade-load's command line. --smoke makes the smoke
// configuration the defaults; flags given explicitly override them.
func ParseFlags(args []string, stderr io.Writer) (Config, error) {
	c := DefaultConfig()
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-smoke" || a == "--smoke" || a == "-smoke=true" || a == "--smoke=true" {
			c = SmokeConfig()
		}
	}
	fs := flag.NewFlagSet("cascade-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: cascade-load [flags]\n\n"+
			"Measures Cascade (embedded daemon, fsync on every write) beside the raw JetStream limits of the same\n"+
			"server, in one run; each scenario is repeated --reps times and reported as median [min, max].\n"+
			"Scenarios: raw, fanout, acks, status, watch, restart, timers (raw publish also runs with fanout, raw KV CAS\n"+
			"with acks: they are their baselines). The acknowledging, probing and watching clients and the raw KV CAS\n"+
			"run in a second process (this binary again), the daemon and its server in this one. Progress goes to\n"+
			"stderr, the table to stdout.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	scen := fs.String("scenarios", strings.Join(c.Scenarios, ","), "comma-separated scenarios to run: "+strings.Join(AllScenarios, ","))
	fs.Bool("smoke", false, "tiny sizes for a quick check (N=200, 1,000 notices, 2s durations, reps 1); flags given explicitly override it")
	fs.IntVar(&c.Reps, "reps", c.Reps, "repetitions of each scenario (median, min, max are reported)")
	orgs := fs.String("orgs-list", joinInts(c.OrgsList), "fan-out sizes (organisations), comma-separated; raw publish uses the same sizes")
	fs.IntVar(&c.MsgSize, "msg-size", c.MsgSize, "raw publish payload and KV value size in bytes (about a notice)")
	fs.IntVar(&c.AckNotices, "ack-notices", c.AckNotices, "notices fanned out per repetition for the acknowledgements")
	fs.IntVar(&c.AckConcurrency, "ack-concurrency", c.AckConcurrency, "concurrent gRPC clients acknowledging, and the raw KV CAS concurrency")
	fs.DurationVar(&c.AckDuration, "ack-duration", c.AckDuration, "how long the acknowledgements (and status probes) run")
	fs.DurationVar(&c.KVDuration, "kv-duration", c.KVDuration, "raw KV compare-and-set duration (0: --ack-duration)")
	fs.IntVar(&c.StatusOrgs, "status-orgs", c.StatusOrgs, "notices of the breach whose status is probed under load")
	fs.DurationVar(&c.StatusInterval, "status-interval", c.StatusInterval, "pause between two calls of one status prober (a polling dashboard)")
	fs.IntVar(&c.WatchOrgs, "watch-orgs", c.WatchOrgs, "watch: organisations of the breach fanned out while the views and streams are open")
	fs.IntVar(&c.WatchViews, "watch-views", c.WatchViews, "watch: dashboard live views (server-sent events), one controller organisation and token each: its inbox during the fan-out, its notice page during the acknowledgements")
	fs.IntVar(&c.WatchStreams, "watch-streams", c.WatchStreams, "watch: gRPC WatchBreach streams of the breach (viewer tokens), open through the fan-out and the acknowledgements")
	fs.BoolVar(&c.WatchIncludeNotices, "watch-include-notices", c.WatchIncludeNotices, "watch: the WatchBreach streams ask for every notice (include_notices), not only the summary")
	fs.IntVar(&c.RestartNotices, "restart-notices", c.RestartNotices, "notices stored before the restart (created by all_customers fan-outs)")
	fs.IntVar(&c.RestartBreaches, "restart-breaches", c.RestartBreaches, "breaches the restart notices come from (registry = notices / breaches)")
	fs.IntVar(&c.TimerNotices, "timer-notices", c.TimerNotices, "pending reminders (reusing the restart scenario's notices)")
	fs.DurationVar(&c.TimerLead, "timer-lead", c.TimerLead, "first reminder falls due this long after the timers daemon starts (0: 5s + 60µs per reminder)")
	fs.StringVar(&c.NATSURL, "nats-url", "", "external NATS URL(s) on loopback; the daemon runs against it (default: embedded server)")
	fs.BoolVar(&c.WipeExternal, "wipe-external", false, "with --nats-url: allow deleting Cascade's streams and buckets on that server (they are deleted between scenarios)")
	fs.StringVar(&c.JSONPath, "json", "", "write every figure as JSON to this file")
	fs.DurationVar(&c.MaxTime, "max-time", c.MaxTime, "give up after this long")
	fs.DurationVar(&c.DaemonSyncInterval, "daemon-sync-interval", 0, "diagnostic only: run the daemons' embedded server with this fsync interval instead of fsync on every write (0)")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write a CPU profile of the whole run (daemon and server included) to this file")
	fs.StringVar(&c.BlockProfile, "blockprofile", "", "write a profile of goroutine blocking (sampled, events of about 100µs and more) of the whole run to this file")
	fs.StringVar(&c.StallTrace, "stall-trace", "", "timers: keep a flight recorder running and write the execution trace around each stall (no reminder sent for 1s while some are due; at most 3) into this directory (go tool trace FILE)")
	fs.BoolVar(&c.Verbose, "v", false, "daemon warnings and errors to stderr")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	var err error
	if c.OrgsList, err = parseInts(*orgs); err != nil {
		return Config{}, fmt.Errorf("--orgs-list: %w", err)
	}
	c.Scenarios = nil
	for _, s := range strings.Split(*scen, ",") {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(c.Scenarios, s) {
			c.Scenarios = append(c.Scenarios, s)
		}
	}
	if err := c.validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.ReplaceAll(strings.TrimSpace(f), "_", "")
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func joinInts(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}
