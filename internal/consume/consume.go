// Package consume runs a JetStream pull consumer for a daemon component:
// it sets the consumer up, hands its messages to a handler with a bounded
// number outstanding, and sets it up again, after a growing pause, when it
// fails (the NATS server lost it, the stream was recreated), until the
// context ends.
package consume

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Restart delays: the first restart after a failure waits FirstDelay, each
// further failure in a row doubles the wait up to MaxDelay. A consumer that
// was set up and consumed resets the sequence.
const (
	FirstDelay = time.Second
	MaxDelay   = 5 * time.Second
)

// nextPause is the pause after a failed fetch of the next message (a
// missed heartbeat, a lost connection) before trying again.
const nextPause = 100 * time.Millisecond

// Loop is one consume-and-restart loop. Consumer and Handle are required.
type Loop struct {
	// Name names the loop in logs ("intake", "dispatch", "timers").
	Name string
	// Consumer creates or looks up the consumer (its errors name it); it
	// is called on every (re)start, so it may apply a changed configuration.
	Consumer func(ctx context.Context) (jetstream.Consumer, error)
	// Handle handles one message and must return soon after ctx ends. Up
	// to Outstanding calls run at once.
	Handle func(ctx context.Context, m jetstream.Msg)
	// Outstanding bounds the messages taken from the consumer and not yet
	// handled (default 1): a message is taken only when one is free.
	Outstanding int
	// Batch is how many messages are pulled at once (default Outstanding).
	Batch int
	// Backoff is the pause before the attempt-th restart in a row,
	// counting from 1 (default Backoff).
	Backoff func(attempt int) time.Duration
	// Wait pauses for d; false if ctx ended first (default: a timer).
	// Tests inject it to count pauses without sleeping.
	Wait func(ctx context.Context, d time.Duration) bool
	Log  *slog.Logger
}

// Backoff is the default restart delay: FirstDelay, doubling per failure
// in a row, at most MaxDelay.
func Backoff(attempt int) time.Duration {
	d := FirstDelay
	for i := 1; i < attempt && d < MaxDelay; i++ {
		d *= 2
	}
	return min(d, MaxDelay)
}

func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Run consumes until ctx ends, then waits for the handlers it started and
// returns nil. Failures are logged and end in a restart, never in Run
// returning.
func (l Loop) Run(ctx context.Context) error {
	if l.Outstanding <= 0 {
		l.Outstanding = 1
	}
	if l.Batch <= 0 {
		l.Batch = l.Outstanding
	}
	if l.Backoff == nil {
		l.Backoff = Backoff
	}
	if l.Wait == nil {
		l.Wait = wait
	}
	if l.Log == nil {
		l.Log = slog.New(slog.DiscardHandler)
	}
	failures := 0
	for {
		consumed, err := l.run(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if consumed {
			failures = 0
		}
		failures++
		delay := l.Backoff(failures)
		l.Log.Error(l.Name+" interrupted; restarting", "in", delay, "attempt", failures, "err", err)
		if !l.Wait(ctx, delay) {
			return nil
		}
	}
}

// run sets the consumer up and consumes until it fails or ctx ends;
// consumed reports whether it got as far as consuming.
func (l Loop) run(ctx context.Context) (consumed bool, err error) {
	cons, err := l.Consumer(ctx)
	if err != nil {
		return false, err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(l.Batch))
	if err != nil {
		return false, fmt.Errorf("%s consumer: %w", l.Name, err)
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, l.Outstanding)
	for {
		select {
		case sem <- struct{}{}: // take a message only when a slot is free
		case <-ctx.Done():
			return true, nil
		}
		m, err := it.Next()
		if err != nil {
			<-sem
			if ctx.Err() != nil {
				return true, nil
			}
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return true, fmt.Errorf("%s consumer closed: %w", l.Name, err)
			}
			l.Log.Warn(l.Name+": next message", "err", err)
			l.Wait(ctx, nextPause)
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			l.Handle(ctx, m)
		}()
	}
}
