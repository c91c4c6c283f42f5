package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
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

With --watch, a progress bar is redrawn as notices are delivered and
acknowledged, until interrupted (Ctrl-C); --timeout does not apply. When
stdout is not a terminal, one line is printed per change instead (with
-o json, one JSON summary per line).`,
		examples: `
# The counts and the next deadline, once
cascadectl breach status EXAMPLE-2025-08-23
# Follow it live (Ctrl-C to stop)
cascadectl breach status EXAMPLE-2025-08-23 --watch
# One JSON summary per change, for scripts
cascadectl breach status EXAMPLE-2025-08-23 --watch -o json`,
		setup: func(fs *flag.FlagSet) runFunc {
			watch := fs.Bool("watch", false, "follow the progress live until interrupted")
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs("breach status", args, 1); err != nil {
					return err
				}
				c, err := a.dial()
				if err != nil {
					return err
				}
				defer c.Close()
				if *watch {
					return a.watchBreach(ctx, c, args[0])
				}
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
	row(tw, "Next deadline:", formatDeadline(s.GetNextDeadline(), now))
	unknown := none
	if ids := unknownOrgs(b); len(ids) > 0 {
		unknown = fmt.Sprintf("%d (%s): not in the registry, got no notice", len(ids), strings.Join(ids, ", "))
	}
	row(tw, "Unknown orgs:", unknown)
	complete := b.GetFanoutComplete()
	for _, r := range b.GetRevisions() {
		line := fmt.Sprintf("%s, %s added", formatTime(r.GetReceivedAt()), plural(r.GetAdded(), "organisation", "organisations"))
		if !r.GetFanoutComplete() {
			line += ", being delivered"
			complete = false
		}
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

// watchBreach streams a breach's summary until ctx ends.
func (a *app) watchBreach(ctx context.Context, c *clients, id string) error {
	tctx, cancel := a.withTimeout(ctx)
	br, err := c.breach.GetBreach(tctx, &cascadev1.GetBreachRequest{BreachId: id})
	cancel()
	if err != nil {
		return err
	}
	events, err := watchSummaries(ctx, c, id)
	if err != nil {
		return err
	}
	p := newProgress(a.stdout, br.GetBreach().GetNoticeCount(), 0)
	defer p.finish()
	for ev := range events {
		switch {
		case ev.err != nil:
			if ctx.Err() != nil {
				return nil // interrupted: the normal end of a watch
			}
			return ev.err
		case ev.summary != nil && a.g.output == outputJSON:
			if err := writeProtoLine(a.stdout, ev.summary); err != nil {
				return err
			}
		case ev.summary != nil:
			p.update(ev.summary)
		}
	}
	return nil
}

// watchEvent is one event of a WatchBreach stream, or the error ending it.
type watchEvent struct {
	summary  *cascadev1.BreachSummary
	caughtUp bool
	err      error
}

// watchSummaries runs WatchBreach and delivers its events on a channel,
// closed after the event carrying the stream's error. Cancel ctx to stop.
func watchSummaries(ctx context.Context, c *clients, id string) (<-chan watchEvent, error) {
	stream, err := c.breach.WatchBreach(ctx, &cascadev1.WatchBreachRequest{BreachId: id})
	if err != nil {
		return nil, err
	}
	ch := make(chan watchEvent)
	go func() {
		defer close(ch)
		for {
			resp, err := stream.Recv()
			var ev watchEvent
			switch {
			case err == io.EOF:
				ev.err = fmt.Errorf("the daemon ended the watch of %s", id)
			case err != nil:
				ev.err = err
			default:
				ev.summary, ev.caughtUp = resp.GetSummary(), resp.GetCaughtUp() != nil
			}
			select {
			case ch <- ev:
			case <-ctx.Done():
				return
			}
			if ev.err != nil {
				return
			}
		}
	}()
	return ch, nil
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
	return line
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
