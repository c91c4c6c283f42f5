package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// Report is everything one run measured.
type Report struct {
	Tool      string     `json:"tool"`
	StartedAt time.Time  `json:"started_at"`
	Seconds   float64    `json:"duration_seconds"`
	Machine   Machine    `json:"machine"`
	Server    ServerInfo `json:"server"`
	Config    ConfigJSON `json:"config"`
	Figures   []*Figure  `json:"figures"`
	Targets   []Target   `json:"targets"`
	Notes     []string   `json:"notes"`
	Errors    []string   `json:"errors"`
}

// Machine is where the run happened.
type Machine struct {
	Cores         int    `json:"cores"`
	CPUModel      string `json:"cpu_model"`
	GOMAXPROCS    int    `json:"gomaxprocs"`
	MemTotalBytes int64  `json:"mem_total_bytes"`
	OS            string `json:"os"`
	Arch          string `json:"arch"`
	Go            string `json:"go_version"`
}

// ServerInfo is the NATS server measured.
type ServerInfo struct {
	Mode              string `json:"mode"` // "embedded" or "external"
	URL               string `json:"url,omitempty"`
	NATSServerVersion string `json:"nats_server_version"`
	Fsync             string `json:"fsync"`
	NoFsyncBaseline   string `json:"no_fsync_baseline"`
	DaemonInProcess   bool   `json:"daemon_in_process"`
	ServerInProcess   bool   `json:"server_in_process"`
	// ClientsOutOfProcess: the acknowledging, probing and watching
	// clients and the raw KV CAS ran in a second process.
	ClientsOutOfProcess bool   `json:"clients_out_of_process"`
	Clients             string `json:"clients"`
}

const clientsNote = "out of process: the acknowledging gRPC clients, the status probes, the raw KV compare-and-set and the watch scenario's live views and streams run in a second process (this binary in client mode, " + ClientEnv + "=" + ClientEnvValue + "); the daemon and its embedded server in the tool's own"

// ConfigJSON is the configuration, with durations as strings.
type ConfigJSON struct {
	Scenarios       []string `json:"scenarios"`
	DaemonFsync     string   `json:"daemon_sync_interval"`
	Reps            int      `json:"reps"`
	OrgsList        []int    `json:"orgs_list"`
	MsgSize         int      `json:"msg_size"`
	AckNotices      int      `json:"ack_notices"`
	AckConcurrency  int      `json:"ack_concurrency"`
	AckDuration     string   `json:"ack_duration"`
	KVDuration      string   `json:"kv_duration"`
	StatusOrgs      int      `json:"status_orgs"`
	StatusInterval  string   `json:"status_interval"`
	WatchOrgs       int      `json:"watch_orgs"`
	WatchViews      int      `json:"watch_views"`
	WatchStreams    int      `json:"watch_streams"`
	WatchNotices    bool     `json:"watch_include_notices"`
	RestartNotices  int      `json:"restart_notices"`
	RestartBreaches int      `json:"restart_breaches"`
	TimerNotices    int      `json:"timer_notices"`
	TimerLead       string   `json:"timer_lead"`
	DaemonPolicy    string   `json:"daemon_policy"`
}

func configJSON(c Config) ConfigJSON {
	lead := "auto"
	if c.TimerLead > 0 {
		lead = c.TimerLead.String()
	}
	return ConfigJSON{
		Scenarios: c.Scenarios, DaemonFsync: daemonFsync(c), Reps: c.Reps, OrgsList: c.OrgsList, MsgSize: c.MsgSize,
		AckNotices: c.AckNotices, AckConcurrency: c.AckConcurrency, AckDuration: c.AckDuration.String(), KVDuration: c.kvDuration().String(),
		StatusOrgs: c.StatusOrgs, StatusInterval: c.StatusInterval.String(),
		WatchOrgs: c.WatchOrgs, WatchViews: c.WatchViews, WatchStreams: c.WatchStreams, WatchNotices: c.WatchIncludeNotices,
		RestartNotices: c.RestartNotices, RestartBreaches: c.RestartBreaches, TimerNotices: c.TimerNotices, TimerLead: lead,
		DaemonPolicy: "deadline 72h, reminders 48h,24h,6h,1h (timers scenario: one threshold chosen to fall due during the run), redelivery off, registry loaded before timing",
	}
}

func daemonFsync(c Config) string {
	if c.DaemonSyncInterval > 0 {
		return c.DaemonSyncInterval.String()
	}
	return "0 (fsync every write)"
}

// Figure is one measured quantity over the repetitions.
type Figure struct {
	Scenario string `json:"scenario"`
	Key      string `json:"key"`
	Name     string `json:"name"`
	Unit     string `json:"unit"`
	Stat
}

// Target is one of the stated goals, checked against a figure.
type Target struct {
	Name   string  `json:"name"`
	Figure string  `json:"figure"`
	Cmp    string  `json:"cmp"` // "<=" or ">="
	Limit  float64 `json:"limit"`
	Value  float64 `json:"value"`
	Status string  `json:"status"` // met, NOT MET, not measured
	Note   string  `json:"note,omitempty"`
	// Raw JetStream's figure for the same target in the same run, where
	// there is one (shown beside ours when it misses the target too).
	RawFigure string   `json:"raw_figure,omitempty"`
	RawValue  *float64 `json:"raw_value,omitempty"`
	RawStatus string   `json:"raw_status,omitempty"`
}

// add records a figure from per-repetition values and returns it.
func (r *Report) add(scenario, key, name, unit string, values []float64) *Figure {
	f := &Figure{Scenario: scenario, Key: key, Name: name, Unit: unit, Stat: Summarize(values)}
	r.Figures = append(r.Figures, f)
	return f
}

// Figure returns the figure with key, or nil.
func (r *Report) Figure(key string) *Figure {
	for _, f := range r.Figures {
		if f.Key == key {
			return f
		}
	}
	return nil
}

func (r *Report) notef(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// checkTargets evaluates the stated targets (2 cores) against the figures.
func (r *Report) checkTargets() {
	meets := func(v float64, cmp string, limit float64) bool {
		if cmp == ">=" {
			return v >= limit
		}
		return v <= limit
	}
	checkRaw := func(name, key, cmp string, limit float64, note, raw string) {
		t := Target{Name: name, Figure: key, Cmp: cmp, Limit: limit, Note: note, Status: "not measured"}
		if f := r.Figure(key); f != nil && len(f.Values) > 0 {
			t.Value = f.Median
			t.Status = "met"
			if !meets(t.Value, cmp, limit) {
				t.Status = "NOT MET"
			}
		}
		if f := r.Figure(raw); raw != "" && f != nil && len(f.Values) > 0 {
			v := f.Median
			t.RawFigure, t.RawValue, t.RawStatus = raw, &v, "met"
			if !meets(v, cmp, limit) {
				t.RawStatus = "NOT MET"
			}
		}
		r.Targets = append(r.Targets, t)
	}
	check := func(name, key, cmp string, limit float64, note string) { checkRaw(name, key, cmp, limit, note, "") }
	check("fan-out of 100,000 ≤ 3× raw async publish without fsync", "fanout.x_raw_nofsync.n=100000", "<=", 3, "ratio of medians: fan-out until every delivery is durable / raw publish of as many messages on a server without per-write fsync")
	check("acks ≥ 50% of raw KV CAS at the same concurrency", "acks.pct_of_kv_cas", ">=", 50, "")
	checkRaw("ack p99 ≤ 25 ms at 64 clients", "acks.p99_ms", "<=", 25, "", "raw.kv_cas_fsync.p99_ms")
	checkRaw("GetBreachSummary p99 ≤ 2 ms under load", "status.summary_p99_ms", "<=", 2, "", "status.raw_kv_get_p99_ms")
	check("watcher lag p99 ≤ 1 s (views and WatchBreach streams)", "watch.lag_p99_ms", "<=", 1000, "")
	check("watch: no final state missed", "watch.missed", "<=", 0, "")
	check("watch: no change shown twice", "watch.duplicates", "<=", 0, "")
	check("restart with 1,000,000 notices ≤ 30 s", "restart.seconds", "<=", 30, "")
	check("RSS after restart ≤ 1.5 GiB", "restart.rss_mib", "<=", 1536, "in-process: daemon, embedded server and this tool")
	check("reminder lateness p99 ≤ 1 s with 1,000,000 pending", "timers.lateness_p99_ms", "<=", 1000, "")
	// Sizes: a target stated for 1,000,000 notices is not met by a smaller run.
	for i := range r.Targets {
		t := &r.Targets[i]
		if t.Status == "not measured" {
			continue
		}
		var size float64
		switch {
		case strings.HasPrefix(t.Figure, "restart."):
			size = r.value("restart.notices")
		case strings.HasPrefix(t.Figure, "timers."):
			size = r.value("timers.pending")
		default:
			continue
		}
		if size < 1_000_000 {
			t.Note = strings.TrimPrefix(t.Note+fmt.Sprintf("; measured with %.0f, not 1,000,000", size), "; ")
			t.Status += " (smaller size)"
		}
	}
}

func (r *Report) value(key string) float64 {
	if f := r.Figure(key); f != nil {
		return f.Median
	}
	return math.NaN()
}

// WriteJSON writes the report as indented JSON to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// WriteTable writes the figures, the targets and the notes as text tables.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "cascade-load: %d cores (%s), GOMAXPROCS %d, %s, nats-server %s, %s; fsync: %s\n",
		r.Machine.Cores, r.Machine.CPUModel, r.Machine.GOMAXPROCS, r.Machine.Go, r.Server.NATSServerVersion, r.Server.Mode, r.Server.Fsync)
	if r.Server.ClientsOutOfProcess {
		fmt.Fprintf(w, "clients: %s\n", r.Server.Clients)
	}
	rows := [][]string{{"scenario", "figure", "median", "min", "max", "unit", "reps"}}
	for _, f := range r.sortedFigures() {
		rows = append(rows, []string{f.Scenario, f.Name, num(f.Median), num(f.Min), num(f.Max), f.Unit, fmt.Sprint(len(f.Values))})
	}
	writeColumns(w, rows, []bool{false, false, true, true, true, false, true})
	if len(r.Targets) > 0 {
		fmt.Fprintln(w, "\ntargets (2 cores):")
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		for _, t := range r.Targets {
			v := "-"
			if t.Status != "not measured" {
				v = num(t.Value)
			}
			raw := ""
			if t.RawValue != nil {
				raw = fmt.Sprintf("raw JetStream %s (%s)", num(*t.RawValue), t.RawStatus)
			}
			fmt.Fprintf(tw, "  %s\t%s %s %s\t%s\t%s\t%s\n", t.Name, v, t.Cmp, num(t.Limit), t.Status, raw, t.Note)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w, "\nnotes:")
		for _, n := range r.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	if len(r.Errors) > 0 {
		fmt.Fprintln(w, "\nerrors:")
		for _, e := range r.Errors {
			fmt.Fprintf(w, "  - %s\n", e)
		}
	}
	return nil
}

// num formats a figure with about four significant digits.
func num(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v):
		return "-"
	case a >= 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.1f", v)
	case a >= 10:
		return fmt.Sprintf("%.2f", v)
	case a == 0:
		return "0"
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// sortedFigures are the figures in scenario order (then in the order measured).
func (r *Report) sortedFigures() []*Figure {
	out := slices.Clone(r.Figures)
	order := func(s string) int {
		if i := slices.Index(AllScenarios, s); i >= 0 {
			return i
		}
		return len(AllScenarios) // setup figures last
	}
	slices.SortStableFunc(out, func(a, b *Figure) int { return order(a.Scenario) - order(b.Scenario) })
	return out
}

// writeColumns writes rows as aligned columns, numbers right-aligned.
func writeColumns(w io.Writer, rows [][]string, right []bool) {
	width := make([]int, len(right))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if right[i] {
				b.WriteString(pad + c)
			} else {
				b.WriteString(c + pad)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}
