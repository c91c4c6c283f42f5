package cli

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// watchView is what a watch knows of a breach: the breach, its latest
// summary and, when tracking, the deadline of every delivered notice that
// is not resolved.
type watchView struct {
	id, title, processor string
	delay                time.Duration // processor's delay: discovered to reported; 0 if unknown
	noticeCount          int64         // from the breach: a floor for the total
	summary              *cascadev1.BreachSummary
	tracking             bool                   // notices are streamed: clocks is complete once caught up
	clocks               map[string]noticeClock // by notice id
	caughtUp             bool                   // the first snapshot is complete
	status               string                 // "" while live; else what went wrong and what happens next
}

// noticeClock is the running clock of one notice.
type noticeClock struct {
	org, name string
	deadline  time.Time
	state     cascadev1.NoticeState
}

func newWatchView(b *cascadev1.Breach, tracking bool) *watchView {
	v := &watchView{
		id: safeText(b.GetId()), title: safeText(b.GetReport().GetTitle()), processor: safeText(b.GetReport().GetProcessor()),
		noticeCount: b.GetNoticeCount(), summary: &cascadev1.BreachSummary{}, tracking: tracking,
		clocks: map[string]noticeClock{},
	}
	if d, r := b.GetReport().GetDiscoveredAt(), b.GetReceivedAt(); d != nil && r != nil {
		v.delay = r.AsTime().Sub(d.AsTime())
	}
	return v
}

// apply records one event of the watch.
func (v *watchView) apply(ev watchEvent) {
	switch {
	case ev.summary != nil:
		v.summary = ev.summary
	case ev.notice != nil:
		n := ev.notice
		if n.GetDeadline() == nil || n.GetState() == cascadev1.NoticeState_NOTICE_STATE_RESOLVED || n.GetState() == cascadev1.NoticeState_NOTICE_STATE_WITHDRAWN {
			delete(v.clocks, n.GetId())
			return
		}
		v.clocks[n.GetId()] = noticeClock{org: safeText(n.GetOrgId()), name: safeText(n.GetOrgName()), deadline: n.GetDeadline().AsTime(), state: n.GetState()}
	case ev.caughtUp:
		v.caughtUp = true
	}
}

// watchCounts are the numbers a watch shows.
type watchCounts struct {
	revision                                          int32
	total, delivered, acknowledged, resolved, overdue int64
}

// counts are the summary's numbers at now: with the notices tracked, the
// overdue count is the clocks' own, so it moves as deadlines pass.
func (v *watchView) counts(now time.Time) watchCounts {
	s := v.summary
	c := watchCounts{revision: max(s.GetLatestRevision(), 1), total: max(v.noticeCount, s.GetTotal()),
		delivered: s.GetDelivered(), acknowledged: s.GetAcknowledged(), resolved: s.GetResolved(), overdue: s.GetOverdue()}
	if v.tracking && v.caughtUp {
		c.overdue = 0
		for _, nc := range v.clocks {
			if !nc.deadline.After(now) {
				c.overdue++
			}
		}
	}
	return c
}

// next returns the n clocks with the least time left (the overdue ones
// first, most overdue first), and how many clocks there are in all.
func (v *watchView) next(n int) ([]noticeClock, int) {
	var first []noticeClock // sorted, at most n: a breach may have 100,000 notices
	for _, nc := range v.clocks {
		i, _ := slices.BinarySearchFunc(first, nc, compareClocks)
		if i < n {
			first = slices.Insert(first, i, nc)
			if len(first) > n {
				first = first[:n]
			}
		}
	}
	return first, len(v.clocks)
}

func compareClocks(a, b noticeClock) int {
	return cmp.Or(a.deadline.Compare(b.deadline), cmp.Compare(a.org, b.org))
}

// formatCountdown is d to the second, e.g. "71h59m59s", "4m05s", "0s".
func formatCountdown(d time.Duration) string {
	d = d.Truncate(time.Second)
	h, m, s := int64(d/time.Hour), int64(d%time.Hour/time.Minute), int64(d%time.Minute/time.Second)
	switch {
	case h > 0:
		return fmt.Sprintf("%dh%02dm%02ds", h, m, s)
	case m > 0:
		return fmt.Sprintf("%dm%02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

// timeLeft is "71h59m59s left" or "OVERDUE 1h02m03s".
func timeLeft(deadline, now time.Time) string {
	if left := deadline.Sub(now); left > 0 {
		return formatCountdown(left) + " left"
	}
	return "OVERDUE " + formatCountdown(now.Sub(deadline))
}

// SGR sequences of the live display.
const (
	sgrRed    = "\x1b[31m"
	sgrYellow = "\x1b[33m"
	sgrDim    = "\x1b[2m"
	sgrReset  = "\x1b[0m"
)

// frame is the live display of v at now, one string per line, each at
// most width runes (before colouring); it lists up to deadlines clocks.
func (v *watchView) frame(now time.Time, width, deadlines int, color bool) []string {
	var lines []string
	add := func(sgr, line string) {
		line = truncate(line, width)
		if color && sgr != "" {
			line = sgr + line + sgrReset
		}
		lines = append(lines, line)
	}
	c := v.counts(now)
	head := "Breach " + v.id
	if v.title != "" {
		head += ": " + v.title
	}
	add("", head)
	about := fmt.Sprintf("Revision %d", c.revision)
	if v.processor != "" {
		about += " · " + v.processor
	}
	if v.delay > 0 {
		about += " · processor delay " + formatDuration(v.delay)
	}
	add("", about)
	add("", "")
	digits := len(fmt.Sprint(c.total))
	barWidth := min(30, max(10, width-32))
	add("", fmt.Sprintf("  %-13s %d", "Notices", c.total))
	for _, r := range []struct {
		label string
		n     int64
		sgr   string
	}{
		{"Delivered", c.delivered, ""},
		{"Acknowledged", c.acknowledged, ""},
		{"Resolved", c.resolved, ""},
		{"Overdue", c.overdue, sgrRed},
	} {
		sgr := ""
		if r.n > 0 {
			sgr = r.sgr
		}
		add(sgr, fmt.Sprintf("  %-13s %s  %*d/%d", r.label, bar(r.n, c.total, barWidth), digits, r.n, c.total))
	}
	add("", "")
	switch {
	case !v.tracking:
		next := none
		if nd := v.summary.GetNextDeadline(); nd != nil {
			next = formatTime(nd) + "  " + timeLeft(nd.AsTime(), now)
		}
		add("", "  Next deadline  "+next)
	case !v.caughtUp:
		add("", "  Next deadlines: reading the notices...")
	default:
		first, all := v.next(deadlines)
		add("", "  Next deadlines")
		if all == 0 {
			add("", "  none: no delivered notice is waiting for its outcome")
		}
		orgWidth := 0
		for _, nc := range first {
			orgWidth = max(orgWidth, len(nc.org))
		}
		for _, nc := range first {
			sgr := ""
			if !nc.deadline.After(now) {
				sgr = sgrRed
			}
			add(sgr, fmt.Sprintf("  %-*s  %-17s  %-12s  %s", orgWidth, nc.org, timeLeft(nc.deadline, now),
				strings.ToLower(stateName(nc.state)), nc.name))
		}
		if more := all - len(first); more > 0 {
			add("", fmt.Sprintf("  … and %d more", more))
		}
	}
	add("", "")
	switch {
	case v.status != "":
		add(sgrYellow, "  "+v.status)
	default:
		add(sgrDim, "  Live at "+now.UTC().Format(time.DateTime)+" UTC · Ctrl-C to stop")
	}
	return lines
}

// bar is n of total as a bar of width cells.
func bar(n, total int64, width int) string {
	filled := 0
	if total > 0 {
		filled = int(min(max(n, 0), total) * int64(width) / total)
	}
	return strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
}

// plainLine is one line of the plain display: the counts and the next
// deadline of v at now, as key=value pairs after the time, e.g.
// "2025-08-24T12:31:02Z breach=B revision=1 total=12 delivered=12 ...".
func (v *watchView) plainLine(now time.Time) (stamp, rest string) {
	c := v.counts(now)
	next, deadline := none, none
	if v.tracking {
		if first, _ := v.next(1); len(first) > 0 {
			next, deadline = first[0].org, first[0].deadline.UTC().Format(time.RFC3339)
		}
	} else if nd := v.summary.GetNextDeadline(); nd != nil {
		deadline = formatTime(nd)
	}
	rest = fmt.Sprintf("breach=%s revision=%d total=%d delivered=%d acknowledged=%d resolved=%d overdue=%d next=%s next_deadline=%s",
		v.id, c.revision, c.total, c.delivered, c.acknowledged, c.resolved, c.overdue, next, deadline)
	if by := v.summary.GetNextUpdateBy(); by != nil { // the processor's promise, when one is open
		rest += fmt.Sprintf(" next_update_by=%s next_update_late=%t", formatTime(by), !now.Before(by.AsTime()))
	}
	return now.UTC().Format(time.RFC3339), rest
}

// watchDisplay draws a watch: redrawn in place on a terminal, as lines
// otherwise.
type watchDisplay interface {
	// show draws v at now; it is called on every change and every second.
	show(v *watchView, now time.Time) error
	// close draws v a last time and leaves the terminal as it was.
	close(v *watchView, now time.Time) error
}

// Cursor control of the live display.
const (
	hideCursor = "\x1b[?25l"
	showCursor = "\x1b[?25h"
	clearLine  = "\x1b[K" // to the end of the line
	clearBelow = "\x1b[J" // to the end of the screen
)

// liveDisplay redraws a block of lines in place: the cursor goes back up
// over the previous frame, every line is rewritten and cleared to its end,
// and what the previous frame had below is cleared.
type liveDisplay struct {
	w         io.Writer
	width     func() int
	deadlines int
	color     bool
	lines     int    // lines of the frame on screen
	last      string // the frame on screen
}

func (d *liveDisplay) show(v *watchView, now time.Time) error {
	return d.draw(v.frame(now, d.lineWidth(), d.deadlines, d.color))
}

// lineWidth leaves the last column free: a line filling it would wrap on
// some terminals and break the count of lines to go back up.
func (d *liveDisplay) lineWidth() int { return max(d.width()-1, 20) }

func (d *liveDisplay) draw(lines []string) error {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l + clearLine + "\n")
	}
	frame := b.String()
	if frame == d.last {
		return nil
	}
	prefix := hideCursor
	if d.lines > 0 {
		prefix = fmt.Sprintf("\r\x1b[%dA", d.lines)
	}
	if _, err := io.WriteString(d.w, prefix+frame+clearBelow); err != nil {
		return err
	}
	d.lines, d.last = len(lines), frame
	return nil
}

// close draws the last frame, saying the watch stopped, and shows the
// cursor again.
func (d *liveDisplay) close(v *watchView, now time.Time) error {
	if d.lines == 0 {
		return nil // nothing drawn, the cursor never hidden
	}
	lines := v.frame(now, d.lineWidth(), d.deadlines, d.color)
	lines[len(lines)-1] = "  Stopped at " + now.UTC().Format(time.DateTime) + " UTC"
	err := d.draw(lines)
	_, werr := io.WriteString(d.w, showCursor)
	return cmp.Or(err, werr)
}

// plainDisplay prints one line per change, with the time.
type plainDisplay struct {
	w    io.Writer
	last string // the last line printed, without its time
}

func (d *plainDisplay) show(v *watchView, now time.Time) error {
	if !v.caughtUp {
		return nil // counts from half a snapshot would be printed as a change
	}
	stamp, rest := v.plainLine(now)
	if rest == d.last {
		return nil
	}
	d.last = rest
	_, err := fmt.Fprintf(d.w, "%s %s\n", stamp, rest)
	return err
}

func (d *plainDisplay) close(*watchView, time.Time) error { return nil }

// Values of --display.
const (
	displayAuto  = "auto"
	displayLive  = "live"
	displayPlain = "plain"
)

// newWatchDisplay is the display --display chooses: auto is live on a
// terminal other than TERM=dumb, plain otherwise. Colours follow
// NO_COLOR.
func (a *app) newWatchDisplay(display string, deadlines int) watchDisplay {
	live := display == displayLive || display == displayAuto && isTerminal(a.stdout) && !a.g.dumbTerm
	if !live {
		return &plainDisplay{w: a.stdout}
	}
	return &liveDisplay{w: a.stdout, width: func() int { return termWidth(a.stdout) }, deadlines: deadlines,
		color: !a.g.noColor && !a.g.dumbTerm}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// termWidth is the width of the terminal w, or 80.
func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if width, _, err := term.GetSize(int(f.Fd())); err == nil && width > 0 {
			return width
		}
	}
	return 80
}
