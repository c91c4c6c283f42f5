package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// fixtureWatch is the fixture breach as a watch sees it at tNow: one
// notice overdue, one acknowledged, one pending (no clock yet).
func fixtureWatch(tracking bool) *watchView {
	v := newWatchView(fixtureBreach(), tracking)
	v.apply(watchEvent{summary: fixtureSummary()})
	for _, n := range fixtureNotices() {
		v.apply(watchEvent{notice: n})
	}
	v.apply(watchEvent{caughtUp: true})
	return v
}

// TestWatchGolden renders the watch display of fixtures: live frames,
// plain lines and the escape sequences of a redraw.
func TestWatchGolden(t *testing.T) {
	var b bytes.Buffer
	section := func(name string, lines ...string) {
		b.WriteString("== " + name + "\n")
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
	}
	v := fixtureWatch(true)
	section("live, 80 columns", v.frame(tNow, 79, 5, false)...)
	section("live, 50 columns, 1 deadline", v.frame(tNow, 49, 1, false)...)
	section("live, --deadlines 0", fixtureWatch(false).frame(tNow, 79, 0, false)...)
	v.status = "watch of EXAMPLE-2025-08-23 lost (Unavailable: connection refused); reconnecting in 2s"
	section("live, connection lost", v.frame(tNow, 79, 5, false)...)
	v.status = ""

	var plain bytes.Buffer
	p := &plainDisplay{w: &plain}
	for _, now := range []time.Time{tNow, tNow.Add(time.Second), tNow.Add(2 * time.Second)} { // no change: one line
		if err := p.show(v, now); err != nil {
			t.Fatal(err)
		}
	}
	v.apply(watchEvent{summary: &cascadev1.BreachSummary{BreachId: v.id, Total: 3, Delivered: 3, Acknowledged: 2, Overdue: 1}})
	if err := p.show(v, tNow.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	// The acknowledged notice's deadline passes: a change without an event.
	if err := p.show(v, tDelivered.Add(72*time.Hour+time.Second)); err != nil {
		t.Fatal(err)
	}
	section("plain", strings.TrimSuffix(plain.String(), "\n"))

	var live bytes.Buffer
	d := &liveDisplay{w: &live, width: func() int { return 60 }, deadlines: 2, color: true}
	for _, now := range []time.Time{tNow, tNow, tNow.Add(time.Second)} { // the same frame is not drawn twice
		if err := d.show(v, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.close(v, tNow.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	var writes []string
	for line := range strings.Lines(live.String()) {
		writes = append(writes, strconv.Quote(line))
	}
	section("live redraws, escaped", writes...)
	testkit.Golden(t, "watch.golden", b.String())
}

func TestFormatCountdown(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                              "0s",
		999 * time.Millisecond:         "0s",
		4*time.Minute + 5*time.Second:  "4m05s",
		72*time.Hour - time.Nanosecond: "71h59m59s",
		time.Hour:                      "1h00m00s",
	} {
		if got := formatCountdown(d); got != want {
			t.Errorf("formatCountdown(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestWatchNext(t *testing.T) {
	v := newWatchView(&cascadev1.Breach{Id: "B"}, true)
	base := tNow
	for i, off := range []time.Duration{5, -2, 3, -7, 1, 4} {
		v.apply(watchEvent{notice: &cascadev1.Notice{Id: fmt.Sprint("B/o", i), OrgId: fmt.Sprint("o", i),
			State: cascadev1.NoticeState_NOTICE_STATE_DELIVERED, Deadline: ts(base.Add(off * time.Hour))}})
	}
	// Resolved: its clock stops.
	v.apply(watchEvent{notice: &cascadev1.Notice{Id: "B/o5", OrgId: "o5", State: cascadev1.NoticeState_NOTICE_STATE_RESOLVED, Deadline: ts(base)}})
	first, all := v.next(3)
	var got []string
	for _, nc := range first {
		got = append(got, nc.org)
	}
	if strings.Join(got, " ") != "o3 o1 o4" || all != 5 {
		t.Errorf("next(3) = %v of %d, want [o3 o1 o4] of 5", got, all)
	}
	v.caughtUp = true
	if c := v.counts(base); c.overdue != 2 {
		t.Errorf("overdue %d at base, want 2", c.overdue)
	}
	if c := v.counts(base.Add(2 * time.Hour)); c.overdue != 3 {
		t.Errorf("overdue %d 2h later, want 3 (a deadline passed)", c.overdue)
	}
}

// TestNewWatchDisplay: --display, NO_COLOR and TERM choose the display.
func TestNewWatchDisplay(t *testing.T) {
	for _, tc := range []struct {
		display   string
		env       map[string]string
		live      bool
		wantColor bool
	}{
		{displayAuto, nil, false, false}, // stdout is not a terminal
		{displayPlain, nil, false, false},
		{displayLive, nil, true, true},
		{displayLive, map[string]string{"NO_COLOR": "1"}, true, false},
		{displayLive, map[string]string{"NO_COLOR": ""}, true, true}, // set but empty: ignored
		{displayLive, map[string]string{"TERM": "dumb"}, true, false},
	} {
		a := &app{stdout: &bytes.Buffer{}, g: envGlobals(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })}
		d := a.newWatchDisplay(tc.display, 5)
		ld, live := d.(*liveDisplay)
		if live != tc.live || live && ld.color != tc.wantColor {
			t.Errorf("--display %s with %v: %T %+v", tc.display, tc.env, d, d)
		}
	}
}

// fakeClock is a clock a test sets and ticks.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	ticks chan time.Time
}

func newFakeClock(now time.Time) *fakeClock { return &fakeClock{now: now, ticks: make(chan time.Time)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Tick(time.Duration) (<-chan time.Time, func()) { return c.ticks, func() {} }

// set moves the clock to now and ticks once. It returns when the watch has
// taken the tick; a second tick returns when it has drawn the first.
func (c *fakeClock) set(t *testing.T, now time.Time) {
	t.Helper()
	c.mu.Lock()
	c.now = now
	c.mu.Unlock()
	for range 2 {
		select {
		case c.ticks <- now:
		case <-time.After(10 * time.Second):
			t.Fatal("the watch took no tick for 10s")
		}
	}
}

// watchRun is a breach status --watch running in the background.
type watchRun struct {
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan int
	once           sync.Once
	code           int
}

// startWatch runs cascadectl breach status ID --watch args... with clk,
// and without NO_COLOR or TERM from the environment.
func startWatch(t *testing.T, clk clock, args ...string) *watchRun {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	w := &watchRun{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	a := &app{stdin: strings.NewReader(""), stdout: w.stdout, stderr: w.stderr,
		g: envGlobals(func(string) (string, bool) { return "", false }), clk: clk}
	go func() {
		w.done <- a.exitCode(a.run(ctx, append([]string{"breach", "status", exampleID, "--watch"}, args...)))
	}()
	t.Cleanup(func() { _ = w.stop() })
	return w
}

// stop interrupts the watch, like Ctrl-C, and returns its exit code.
func (w *watchRun) stop() int {
	w.once.Do(func() {
		w.cancel()
		w.code = <-w.done
	})
	return w.code
}

// until polls the watch's stdout until cond accepts it.
func (w *watchRun) until(t *testing.T, what string, cond func(out string) bool) string {
	t.Helper()
	var out string
	testkit.Eventually(t, 15*time.Second, func() error {
		if out = w.stdout.String(); !cond(out) {
			return fmt.Errorf("no %s in stdout:\n%s\nstderr:\n%s", what, visible(out), w.stderr.String())
		}
		return nil
	})
	return out
}

// visible shows escape sequences as \x1b.
func visible(s string) string { return strings.ReplaceAll(s, "\x1b", `\x1b`) }

var (
	redrawRE = regexp.MustCompile(`\r\x1b\[(\d+)A`)
	sgrRE    = regexp.MustCompile(`\x1b\[[0-9;]*m`)
)

// frames splits the output of a live display into its frames, checking
// that each redraw goes up exactly the lines of the frame before it.
func frames(t *testing.T, out string) []string {
	t.Helper()
	if !strings.HasPrefix(out, hideCursor) {
		t.Fatalf("the display does not start by hiding the cursor: %q", truncate(out, 40))
	}
	var fs []string
	rest := strings.TrimPrefix(out, hideCursor)
	for {
		loc := redrawRE.FindStringSubmatchIndex(rest)
		if loc == nil {
			return append(fs, rest)
		}
		frame := rest[:loc[0]]
		up, _ := strconv.Atoi(rest[loc[2]:loc[3]])
		if n := strings.Count(frame, "\n"); n != up {
			t.Errorf("redraw goes up %d lines over a frame of %d", up, n)
		}
		if !strings.HasSuffix(frame, clearBelow) {
			t.Errorf("frame does not clear below itself: %q", frame)
		}
		fs = append(fs, frame)
		rest = rest[loc[1]:]
	}
}

// plainFrame is a frame as the eye sees it: no colours, no clearing.
func plainFrame(frame string) string {
	frame = sgrRE.ReplaceAllString(frame, "")
	return strings.NewReplacer(clearLine, "", clearBelow, "", showCursor, "").Replace(frame)
}

// lastFrame is the last frame drawn so far, as plainFrame.
func lastFrame(t *testing.T, out string) string {
	fs := frames(t, out)
	return plainFrame(fs[len(fs)-1])
}

// countRow matches a row of counts, e.g. "Acknowledged  ███░░  1/12".
func countRow(label string, n, total int) *regexp.Regexp {
	return regexp.MustCompile(fmt.Sprintf(`(?m)^  %s +[█░]+ +%d/%d$`, label, n, total))
}

// noticeDeadlines are the deadlines of the example breach's notices.
func noticeDeadlines(t *testing.T, c *cluster) map[string]time.Time {
	t.Helper()
	var list []json.RawMessage
	if err := json.Unmarshal([]byte(c.must("notice", "list", "--breach", exampleID, "-o", "json").stdout), &list); err != nil {
		t.Fatal(err)
	}
	m := map[string]time.Time{}
	for _, raw := range list {
		var n cascadev1.Notice
		if err := protojson.Unmarshal(raw, &n); err != nil {
			t.Fatal(err)
		}
		m[n.GetOrgId()] = n.GetDeadline().AsTime()
	}
	return m
}

// TestWatchDisplay follows the example breach against a real daemon while
// it is acknowledged and resolved and its deadlines pass on a fake clock:
// as plain lines, redrawn in place, as JSON, and across a lost connection.
func TestWatchDisplay(t *testing.T) {
	c := startDaemon(t)
	c.must("breach", "publish", exampleBreach)
	deadlines := noticeDeadlines(t, c)
	var latest time.Time
	for _, d := range deadlines {
		if d.After(latest) {
			latest = d
		}
	}
	start := time.Now().UTC().Truncate(time.Second)
	conn := c.args(nil)

	t.Run("plain", func(t *testing.T) {
		clk := newFakeClock(start)
		w := startWatch(t, clk, append([]string{"--display", "plain"}, conn...)...)
		lineRE := regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) breach=` + exampleID +
			` revision=1 total=12 delivered=12 acknowledged=(\d+) resolved=0 overdue=(\d+) next=se-kommun-\d{4} next_deadline=\d{4}-\S+Z$`)
		lines := func(out string) []string { return strings.Split(strings.TrimSuffix(out, "\n"), "\n") }
		out := w.until(t, "first line", func(out string) bool { return strings.HasSuffix(out, "\n") })
		if l := lines(out); len(l) != 1 || !lineRE.MatchString(l[0]) || lineRE.FindStringSubmatch(l[0])[1] != start.Format(time.RFC3339) {
			t.Fatalf("first line %q, want the format of %s at the clock's time", out, lineRE)
		}
		clk.set(t, start.Add(time.Second)) // nothing changed: no line
		if out := w.stdout.String(); len(lines(out)) != 1 {
			t.Errorf("a tick without a change printed a line:\n%s", out)
		}
		c.must("notice", "ack", exampleID+"/se-kommun-1480", "--by", "dpo@x")
		out = w.until(t, "acknowledged=1", func(out string) bool { return strings.Contains(out, " acknowledged=1 ") })
		// The deadlines pass: a change with no event, seen at the next tick.
		clk.set(t, latest.Add(time.Minute))
		out = w.until(t, "overdue=12", func(out string) bool { return strings.Contains(out, " overdue=12 ") })
		for _, l := range lines(out) {
			if !lineRE.MatchString(l) {
				t.Errorf("line %q is not of the format %s", l, lineRE)
			}
		}
		if n := len(lines(out)); n != 3 {
			t.Errorf("%d lines for 3 states:\n%s", n, out)
		}
		if strings.Contains(out, "\x1b") || strings.Contains(out, "\r") {
			t.Errorf("plain output has escape sequences: %q", out)
		}
		if code := w.stop(); code != 0 || w.stderr.String() != "" {
			t.Errorf("exit %d, stderr %q", code, w.stderr.String())
		}
	})

	t.Run("live", func(t *testing.T) {
		clk := newFakeClock(start)
		w := startWatch(t, clk, append([]string{"--display", "live", "--deadlines", "3"}, conn...)...)
		out := w.until(t, "a frame with the counts", func(out string) bool { return strings.Contains(out, "Next deadlines\x1b[K\n  se-kommun") })
		frame := lastFrame(t, out)
		for _, want := range []*regexp.Regexp{countRow("Delivered", 12, 12), countRow("Acknowledged", 1, 12),
			countRow("Overdue", 0, 12), regexp.MustCompile(`(?m)^Breach ` + exampleID + `: Intrusion`),
			regexp.MustCompile(`(?m)^Revision 1 · Exempel HR-system AB · processor delay \d+h\d\dm$`),
			regexp.MustCompile(`(?m)^  … and 9 more$`), regexp.MustCompile(`(?m)^  Live at ` + start.Format(time.DateTime) + ` UTC · Ctrl-C to stop$`)} {
			if !want.MatchString(frame) {
				t.Errorf("frame lacks %s:\n%s", want, frame)
			}
		}
		// The countdown of the first organisation listed, a second later,
		// with no event in between.
		first := regexp.MustCompile(`(?m)^  (se-kommun-\d{4}) `).FindStringSubmatch(frame)[1]
		for _, now := range []time.Time{start, start.Add(time.Second)} {
			clk.set(t, now)
			want := first + "  " // org, then its name
			left := timeLeft(deadlines[first], now)
			frame = lastFrame(t, w.until(t, left, func(out string) bool { return strings.Contains(lastFrame(t, out), left) }))
			if row := regexp.MustCompile(`(?m)^  ` + first + `.*$`).FindString(frame); !strings.HasPrefix(row, "  "+want) || !strings.Contains(row, left) {
				t.Errorf("row of %s: %q, want %q", first, row, left)
			}
		}
		c.must("notice", "ack", exampleID+"/se-kommun-0180", "--by", "dpo@x")
		w.until(t, "2 acknowledged", func(out string) bool { return countRow("Acknowledged", 2, 12).MatchString(lastFrame(t, out)) })
		// Every deadline passes: all overdue, in red, counting up.
		clk.set(t, latest.Add(time.Hour))
		out = w.until(t, "12 overdue", func(out string) bool { return countRow("Overdue", 12, 12).MatchString(lastFrame(t, out)) })
		if fs := frames(t, out); !strings.Contains(fs[len(fs)-1], sgrRed+"  Overdue") || !strings.Contains(fs[len(fs)-1], sgrRed+"  se-kommun-") {
			t.Errorf("overdue rows are not red: %q", fs[len(fs)-1])
		}
		if !regexp.MustCompile(`(?m)^  se-kommun-\d{4}  OVERDUE 1h00m\d\ds `).MatchString(lastFrame(t, out)) {
			t.Errorf("no overdue countdown:\n%s", lastFrame(t, out))
		}
		// Resolving stops a clock.
		c.must("notice", "record-not-reportable", exampleID+"/se-kommun-0180", "--justification", "encrypted", "--by", "dpo@x")
		out = w.until(t, "1 resolved", func(out string) bool {
			f := lastFrame(t, out)
			return countRow("Resolved", 1, 12).MatchString(f) && countRow("Overdue", 11, 12).MatchString(f) && strings.Contains(f, "  … and 8 more")
		})
		if strings.Contains(lastFrame(t, out), "se-kommun-0180") {
			t.Errorf("the resolved notice is still listed:\n%s", lastFrame(t, out))
		}
		if code := w.stop(); code != 0 || w.stderr.String() != "" {
			t.Errorf("exit %d, stderr %q", code, w.stderr.String())
		}
		out = w.stdout.String()
		if !strings.HasSuffix(out, showCursor) {
			t.Errorf("the cursor is not shown again at the end: %q", out[max(0, len(out)-60):])
		}
		if f := lastFrame(t, out); !strings.Contains(f, "\n  Stopped at ") {
			t.Errorf("last frame:\n%s", f)
		}
		t.Logf("a frame of the live display:\n%s", lastFrame(t, out))
	})

	t.Run("json", func(t *testing.T) {
		w := startWatch(t, newFakeClock(start), append([]string{"-o", "json", "--display", "live"}, conn...)...)
		out := w.until(t, "a summary", func(out string) bool { return strings.HasSuffix(out, "\n") })
		var s cascadev1.BreachSummary
		if err := protojson.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &s); err != nil || s.GetDelivered() != 12 || s.GetResolved() != 1 {
			t.Errorf("summary %v (%v) from %q", &s, err, out)
		}
		c.must("notice", "ack", exampleID+"/se-kommun-0380", "--by", "dpo@x")
		w.until(t, "a second summary", func(out string) bool { return strings.Count(out, "\n") >= 2 })
		if code := w.stop(); code != 0 || strings.Contains(w.stdout.String(), "\x1b") {
			t.Errorf("exit %d, stdout %q", code, w.stdout.String())
		}
	})

	t.Run("reconnect", func(t *testing.T) {
		p := newProxy(t, c.d.GRPCAddr())
		w := startWatch(t, newFakeClock(start), slices.Concat([]string{"--display", "plain"}, conn, []string{"--grpc-addr", p.addr()})...)
		w.until(t, "first line", func(out string) bool { return strings.Contains(out, " acknowledged=3 ") })
		p.setDown(true)
		testkit.Eventually(t, 15*time.Second, func() error {
			if !strings.Contains(w.stderr.String(), "cascadectl: watch of "+exampleID+" lost (") ||
				!strings.Contains(w.stderr.String(), "; reconnecting in 1s\n") {
				return fmt.Errorf("stderr %q", w.stderr.String())
			}
			return nil
		})
		p.setDown(false)
		testkit.Eventually(t, 30*time.Second, func() error {
			if !strings.HasSuffix(w.stderr.String(), "cascadectl: watch of "+exampleID+" resumed\n") {
				return fmt.Errorf("stderr %q", w.stderr.String())
			}
			return nil
		})
		c.must("notice", "ack", exampleID+"/se-kommun-0580", "--by", "dpo@x")
		w.until(t, "the acknowledgement after the reconnection", func(out string) bool { return strings.Contains(out, " acknowledged=4 ") })
		if code := w.stop(); code != 0 {
			t.Errorf("exit %d", code)
		}
	})

	t.Run("first attempt fails", func(t *testing.T) {
		r := runCLI(t.Context(), "breach", "status", "NOPE", "--watch", "--grpc-addr", c.d.GRPCAddr())
		if r.code != 1 || !strings.Contains(r.stderr, "NotFound") || !strings.Contains(r.stderr, "'cascadectl breach list'") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

// proxy forwards TCP connections to a target; while down it cuts every
// connection and refuses new ones, like a daemon gone away.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	t.Cleanup(func() {
		ln.Close()
		p.setDown(true)
	})
	go p.serve()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			in.Close()
			continue
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			in.Close()
			continue
		}
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(out, in); out.Close() }()
		go func() { _, _ = io.Copy(in, out); in.Close() }()
	}
}

// setDown cuts every connection and refuses new ones, or admits them again.
func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}
