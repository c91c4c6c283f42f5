package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func breachStatusCmd() *command {
	return &command{
		name:    "breach status",
		args:    "ID",
		summary: "Show the progress of a breach; --watch follows it live",
		details: `Shows the breach and its cumulative counts: notices recorded, delivered,
acknowledged, resolved and overdue, the next deadline, the affected
organisations that are not in the registry, and whether the fan-out is
complete. A breach updated with follow-up information has revisions: the
status shows the latest revision, how many organisations acknowledged it,
and every revision with the number of organisations it added.

With --watch, it follows the breach until interrupted (Ctrl-C); --timeout
does not apply. On a terminal a block is redrawn in place: the counts with
bars, the processor's delay and the organisations with the least time left
(overdue first), counting down every second. Otherwise, or with --display
plain, one line is printed per change (at most ten a second): the time,
then key=value pairs, the same keys on every line. With -o json, one JSON
summary per change. When the connection to cascaded is lost, the watch
says so and reconnects.

The next deadlines come from streaming every notice of the breach once,
then its changes; --deadlines 0 shows only the earliest deadline and
skips that. NO_COLOR turns colours off; TERM=dumb, the redrawing.`,
		examples: `
# The counts and the next deadline, once
cascadectl breach status EXAMPLE-2025-08-23
# Follow it live (Ctrl-C to stop)
cascadectl breach status EXAMPLE-2025-08-23 --watch
# One line per change into a log, whatever stdout is
cascadectl breach status EXAMPLE-2025-08-23 --watch --display plain >> breach.log
# One JSON summary per change, for scripts
cascadectl breach status EXAMPLE-2025-08-23 --watch -o json`,
		setup: func(fs *flag.FlagSet) runFunc {
			watch := fs.Bool("watch", false, "follow the progress live until interrupted")
			display := fs.String("display", displayAuto, "with --watch: `mode` auto (live on a terminal), live (redrawn in place) or plain (a line per change)")
			deadlines := fs.Int("deadlines", defaultDeadlines, "with --watch: list the `n` organisations with the least time left; 0: only the earliest deadline")
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs("breach status", args, 1); err != nil {
					return err
				}
				if !slices.Contains([]string{displayAuto, displayLive, displayPlain}, *display) {
					return usageErrorf("breach status", "--display must be auto, live or plain, not %q", *display)
				}
				if *deadlines < 0 {
					return usageErrorf("breach status", "--deadlines must not be negative")
				}
				if *watch {
					c, err := a.dial(watchConnectParams)
					if err != nil {
						return err
					}
					defer c.Close()
					return a.watchBreach(ctx, c, args[0], *display, *deadlines)
				}
				c, err := a.dial()
				if err != nil {
					return err
				}
				defer c.Close()
				tctx, cancel := a.withTimeout(ctx)
				defer cancel()
				b, s, err := fetchStatus(tctx, c, args[0])
				if err != nil {
					return err
				}
				return a.writeStatus(b, s)
			}
		},
	}
}

// fetchStatus reads a breach and its summary. The summary is read first:
// the breach read after it is at least as new, so the revisions it lists
// include the summary's latest one.
func fetchStatus(ctx context.Context, c *clients, id string) (*cascadev1.Breach, *cascadev1.BreachSummary, error) {
	sr, err := c.breach.GetBreachSummary(ctx, &cascadev1.GetBreachSummaryRequest{BreachId: id})
	if err != nil {
		return nil, nil, err
	}
	br, err := c.breach.GetBreach(ctx, &cascadev1.GetBreachRequest{BreachId: id})
	if err != nil {
		return nil, nil, err
	}
	return br.GetBreach(), sr.GetSummary(), nil
}

// statusJSON is the -o json form of a breach status.
type statusJSON struct {
	Published *publishedJSON  `json:"published,omitempty"`
	Breach    json.RawMessage `json:"breach,omitempty"`
	Summary   json.RawMessage `json:"summary,omitempty"`
	Rejection *rejection      `json:"rejection,omitempty"`
	// PendingChannels (breach publish): organisations without NATS still
	// waiting for their first webhook or e-mail delivery.
	PendingChannels []pendingChannel `json:"pending_channels,omitempty"`
}

// writeStatus prints a breach and its summary in the chosen format.
func (a *app) writeStatus(b *cascadev1.Breach, s *cascadev1.BreachSummary) error {
	if a.g.output == outputJSON {
		var out statusJSON
		var err error
		if out.Breach, err = protoJSON(b); err != nil {
			return err
		}
		if out.Summary, err = protoJSON(s); err != nil {
			return err
		}
		return writeJSON(a.stdout, out)
	}
	return renderBreachStatus(a.stdout, b, s, time.Now())
}

// renderBreachStatus writes the status table of a breach; time left is
// counted from now.
func renderBreachStatus(w io.Writer, b *cascadev1.Breach, s *cascadev1.BreachSummary, now time.Time) error {
	// Revisions may add organisations: the recorded notices count too.
	total := max(b.GetNoticeCount(), s.GetTotal())
	tw := newTable(w)
	row(tw, "ID:", b.GetId())
	row(tw, "Title:", orNone(b.GetReport().GetTitle()))
	row(tw, "Processor:", orNone(b.GetReport().GetProcessor()))
	row(tw, "Latest revision:", fmt.Sprint(max(latestRevision(b), s.GetLatestRevision())))
	row(tw, "Received:", formatTime(b.GetReceivedAt()))
	row(tw, "Notices:", fmt.Sprint(total))
	row(tw, "Delivered:", fmt.Sprintf("%d/%d", s.GetDelivered(), total))
	row(tw, "Acknowledged:", fmt.Sprint(s.GetAcknowledged()))
	row(tw, "Acknowledged latest:", fmt.Sprintf("%d/%d", s.GetAcknowledgedLatest(), total))
	row(tw, "Resolved:", fmt.Sprint(s.GetResolved()))
	row(tw, "Overdue:", fmt.Sprint(s.GetOverdue()))
	if wd := s.GetWithdrawn(); wd > 0 { // shown only when some are, so other breaches read as before
		row(tw, "Withdrawn:", fmt.Sprintf("%d (found not affected; never overdue)", wd))
	}
	row(tw, "Next deadline:", formatDeadline(s.GetNextDeadline(), now))
	if obs := s.GetObligations(); len(obs) > 1 { // shown only when some organisation is under NIS2
		for i, o := range obs {
			label := ""
			if i == 0 {
				label = "Obligations:"
			}
			line := fmt.Sprintf("%s: %d resolved, %d open, %d overdue", obligationTitle(o.GetKind()), o.GetResolved(), o.GetOpen(), o.GetOverdue())
			if nd := o.GetNextDeadline(); nd != nil {
				line += ", next deadline " + formatDeadline(nd, now)
			}
			row(tw, label, line)
		}
	}
	promiseRows(tw, b, now)
	unknown := none
	if ids := unknownOrgs(b); len(ids) > 0 {
		unknown = fmt.Sprintf("%d (%s): not in the registry, got no notice", len(ids), strings.Join(ids, ", "))
	}
	row(tw, "Unknown orgs:", unknown)
	complete := b.GetFanoutComplete()
	for _, r := range b.GetRevisions() {
		line := fmt.Sprintf("%s, %s added", formatTime(r.GetReceivedAt()), plural(r.GetAdded(), "organisation", "organisations"))
		if c := r.GetCorrected(); c > 0 {
			line += fmt.Sprintf(", %d corrected", c)
		}
		if wd := r.GetWithdrawn(); wd > 0 {
			line += fmt.Sprintf(", %d withdrawn", wd)
		}
		if rn := r.GetRenotified(); rn > 0 {
			line += fmt.Sprintf(", %d notified again", rn)
		}
		if !r.GetFanoutComplete() {
			line += ", being delivered"
			complete = false
		}
		line += promiseOutcome(r)
		row(tw, fmt.Sprintf("Revision %d:", r.GetNumber()), line+": "+truncate(r.GetUpdate().GetSummary(), 80))
	}
	row(tw, "Fan-out complete:", yesNo(complete))
	return tw.Flush()
}

// unknownOrgs are the organisation ids of the report and of its revisions
// that are not in the registry, each once.
func unknownOrgs(b *cascadev1.Breach) []string {
	ids := slices.Clone(b.GetUnknownOrgIds())
	for _, r := range b.GetRevisions() {
		for _, id := range r.GetUnknownOrgIds() {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// progress draws a breach's delivery progress: redrawn in place on a
// terminal, one line per change (at most one per interval) otherwise.
type progress struct {
	w        io.Writer
	tty      bool
	total    int64         // notices expected
	interval time.Duration // minimum time between lines when not a terminal
	last     string        // last line drawn
	pending  string        // line held back by interval
	lastAt   time.Time
	width    int // of the line on screen
}

func newProgress(w io.Writer, total int64, interval time.Duration) *progress {
	return &progress{w: w, tty: isTerminal(w), total: total, interval: interval}
}

// update draws s if it changed what the line shows.
func (p *progress) update(s *cascadev1.BreachSummary) {
	line := progressLine(s, p.total, 20)
	if line == p.last {
		return
	}
	if !p.tty && p.interval > 0 && time.Since(p.lastAt) < p.interval {
		p.pending = line
		return
	}
	p.draw(line)
}

func (p *progress) draw(line string) {
	p.last, p.pending, p.lastAt = line, "", time.Now()
	if !p.tty {
		fmt.Fprintln(p.w, line)
		return
	}
	pad := ""
	if n := len([]rune(line)); n < p.width {
		pad = strings.Repeat(" ", p.width-n)
	}
	p.width = max(p.width, len([]rune(line)))
	fmt.Fprintf(p.w, "\r%s%s", line, pad)
}

// finish draws a line held back and ends the redrawn line.
func (p *progress) finish() {
	if p.pending != "" {
		p.draw(p.pending)
	}
	if p.tty && p.last != "" {
		fmt.Fprintln(p.w)
	}
}

// progressLine is e.g. "[#####---------------] 1234/3000 delivered  12 acknowledged".
func progressLine(s *cascadev1.BreachSummary, total int64, width int) string {
	total = max(total, s.GetTotal())
	filled := 0
	if total > 0 {
		filled = int(s.GetDelivered() * int64(width) / total)
	}
	filled = min(max(filled, 0), width)
	line := fmt.Sprintf("[%s%s] %d/%d delivered  %d acknowledged",
		strings.Repeat("#", filled), strings.Repeat("-", width-filled), s.GetDelivered(), total, s.GetAcknowledged())
	if r := s.GetResolved(); r > 0 {
		line += fmt.Sprintf("  %d resolved", r)
	}
	if o := s.GetOverdue(); o > 0 {
		line += fmt.Sprintf("  %d OVERDUE", o)
	}
	if s.GetNextUpdateOverdue() {
		line += "  processor's update LATE"
	}
	if wd := s.GetWithdrawn(); wd > 0 {
		line += fmt.Sprintf("  %d withdrawn", wd)
	}
	return line
}
