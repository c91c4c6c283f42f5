package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// defaultDeadlines is how many organisations --watch lists by default.
const defaultDeadlines = 5

// Reconnection of a watch: waits double from the first to the last.
const (
	watchRetryFirst = time.Second
	watchRetryMax   = 30 * time.Second
)

// watchConnectParams keep gRPC's own reconnection attempts frequent, so a
// watch resumes soon after cascaded is back (gRPC waits up to 2 minutes by
// default).
var watchConnectParams = grpc.WithConnectParams(grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: watchRetryFirst, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 5 * time.Second},
	MinConnectTimeout: 5 * time.Second,
})

// clock is the time of the watch display: the system's, or a fake one that
// tests advance.
type clock interface {
	Now() time.Time
	// Tick delivers the time every d until stop is called.
	Tick(d time.Duration) (ticks <-chan time.Time, stop func())
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) Tick(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// clock is the app's clock, the system's unless a test set one.
func (a *app) clock() clock {
	if a.clk != nil {
		return a.clk
	}
	return systemClock{}
}

// watchBreach follows breach id until ctx ends: on display (see
// newWatchDisplay), or as JSON summaries with -o json. A lost stream is
// reopened, with growing waits, once the watch has worked; an error of
// the first attempt, or one that retrying cannot mend, ends it.
//
// The display is drawn every second, and after changes at most every
// minRedraw: drawing looks at every notice, and a fan-out or a snapshot
// brings thousands of changes a second.
func (a *app) watchBreach(ctx context.Context, c *clients, id, display string, deadlines int) (retErr error) {
	tctx, cancel := a.withTimeout(ctx)
	br, err := c.breach.GetBreach(tctx, &cascadev1.GetBreachRequest{BreachId: id})
	cancel()
	if err != nil {
		return err
	}
	jsonOut := a.g.output == outputJSON
	v := newWatchView(br.GetBreach(), deadlines > 0 && !jsonOut)
	var d watchDisplay
	if !jsonOut {
		d = a.newWatchDisplay(display, deadlines)
	}
	_, live := d.(*liveDisplay)
	clk := a.clock()
	ticks, stopTicks := clk.Tick(time.Second)
	defer stopTicks()
	var (
		events   <-chan watchEvent
		stop     = func() {}
		retry    <-chan time.Time
		wait     time.Duration // before the next attempt
		worked   bool          // a stream has caught up
		lost     bool          // the stream was lost, not yet back
		redraw   <-chan time.Time
		lastDraw time.Time // real time, for minRedraw
	)
	defer func() { stop() }()
	if d != nil {
		defer func() { retErr = errors.Join(retErr, d.close(v, clk.Now())) }()
	}
	draw := func(now time.Time) error {
		redraw, lastDraw = nil, time.Now()
		return d.show(v, now)
	}
	connect := func() {
		sctx, cancel := context.WithCancel(ctx)
		stop = cancel
		events = openWatch(sctx, c, id, v.tracking)
	}
	// say tells what happens to the connection: in the block on a
	// terminal, else on stderr, away from the lines of data.
	say := func(msg string) error {
		msg = safeText(msg)
		if live {
			v.status = msg
			return draw(clk.Now())
		}
		fmt.Fprintf(a.stderr, "cascadectl: %s\n", msg)
		return nil
	}
	connect()
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil // interrupted: the normal end of a watch
		case now := <-ticks:
			if d != nil {
				err = draw(now)
			}
		case <-redraw:
			err = draw(clk.Now())
		case <-retry:
			retry = nil
			connect()
		case ev := <-events:
			if ev.err != nil {
				stop()
				events = nil
				if ctx.Err() != nil {
					continue
				}
				if !worked || !retryable(ev.err) {
					return ev.err
				}
				wait = min(max(2*wait, watchRetryFirst), watchRetryMax)
				msg := fmt.Sprintf("watch of %s lost (%s); reconnecting in %s", id, briefError(ev.err), wait)
				if lost {
					msg = fmt.Sprintf("watch of %s: reconnecting failed (%s); next attempt in %s", id, briefError(ev.err), wait)
				}
				retry, lost = time.After(wait), true
				err = say(msg)
				break
			}
			if jsonOut && ev.summary != nil {
				err = writeProtoLine(a.stdout, ev.summary)
			}
			v.apply(ev)
			if ev.caughtUp {
				worked, wait = true, 0
			}
			if ev.caughtUp && lost {
				lost, v.status = false, ""
				if !live {
					err = errors.Join(err, say(fmt.Sprintf("watch of %s resumed", id)))
				}
			}
			if d != nil && redraw == nil {
				redraw = time.After(minRedraw - time.Since(lastDraw))
			}
		}
		if err != nil {
			return err
		}
	}
}

// minRedraw is the least time between two draws for changes.
const minRedraw = 100 * time.Millisecond

// retryable reports whether reopening the watch may mend err: a lost
// connection or a daemon that stopped, not a refusal.
func retryable(err error) bool {
	if errors.Is(err, errWatchEnded) {
		return true
	}
	st, ok := grpcStatus(err)
	if !ok {
		return false
	}
	switch st.Code() {
	case codes.Unavailable, codes.Unknown, codes.Internal, codes.Aborted, codes.ResourceExhausted, codes.DeadlineExceeded, codes.Canceled:
		return true
	}
	return false
}

// briefError is err in one line: a gRPC status as "Code: message".
func briefError(err error) string {
	if st, ok := grpcStatus(err); ok {
		return fmt.Sprintf("%s: %s", st.Code(), st.Message())
	}
	return err.Error()
}

// errWatchEnded is a watch the daemon ended (it stops, say).
var errWatchEnded = errors.New("the daemon ended the watch")

// watchEvent is one event of a WatchBreach stream, or the error ending it.
type watchEvent struct {
	summary  *cascadev1.BreachSummary
	notice   *cascadev1.Notice
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
	return streamEvents(ctx, stream, id), nil
}

// openWatch is watchSummaries, with every notice if notices is set, and an
// error in opening the stream delivered as its only event.
func openWatch(ctx context.Context, c *clients, id string, notices bool) <-chan watchEvent {
	stream, err := c.breach.WatchBreach(ctx, &cascadev1.WatchBreachRequest{BreachId: id, IncludeNotices: notices})
	if err != nil {
		ch := make(chan watchEvent, 1)
		ch <- watchEvent{err: err}
		close(ch)
		return ch
	}
	return streamEvents(ctx, stream, id)
}

func streamEvents(ctx context.Context, stream cascadev1.BreachService_WatchBreachClient, id string) <-chan watchEvent {
	ch := make(chan watchEvent)
	go func() {
		defer close(ch)
		for {
			resp, err := stream.Recv()
			var ev watchEvent
			switch {
			case err == io.EOF:
				ev.err = fmt.Errorf("%w of %s", errWatchEnded, id)
			case err != nil:
				ev.err = err
			default:
				ev.summary, ev.notice, ev.caughtUp = resp.GetSummary(), resp.GetNotice(), resp.GetCaughtUp() != nil
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
	return ch
}
