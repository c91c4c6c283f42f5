package consume_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/consume"
	"github.com/cascadehq/cascade/internal/natstest"
	"github.com/cascadehq/cascade/internal/testkit"
)

const stream, durable = "TEST", "test-consumer"

// setup runs a server with stream TEST on subject test.> and returns its
// JetStream context.
func setup(t *testing.T) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(natstest.Start(t).Connect())
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{"test.>"}}); err != nil {
		t.Fatal(err)
	}
	return js
}

func createConsumer(js jetstream.JetStream) func(context.Context) (jetstream.Consumer, error) {
	return func(ctx context.Context) (jetstream.Consumer, error) {
		return js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{Durable: durable, AckPolicy: jetstream.AckExplicitPolicy})
	}
}

// waits records the loop's pauses and returns at once.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) wait(ctx context.Context, d time.Duration) bool {
	w.mu.Lock()
	w.d = append(w.d, d)
	w.mu.Unlock()
	return ctx.Err() == nil
}

func (w *waits) get() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.d)
}

// run runs l until the test ends and returns a channel closed when Run returned.
func run(t *testing.T, ctx context.Context, l consume.Loop) <-chan struct{} {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := l.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return done
}

func publish(t *testing.T, js jetstream.JetStream, data string) {
	t.Helper()
	if _, err := js.Publish(t.Context(), "test.x", []byte(data)); err != nil {
		t.Fatal(err)
	}
}

// deleteConsumer deletes the consumer once a pull request is waiting on
// it, so that the server tells the client of the deletion at once.
func deleteConsumer(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, func() error {
		c, err := js.Consumer(t.Context(), stream, durable)
		if err != nil {
			return err
		}
		info, err := c.Info(t.Context())
		if err != nil {
			return err
		}
		if info.NumWaiting == 0 || info.NumAckPending > 0 {
			return fmt.Errorf("%d pull requests waiting, %d messages pending", info.NumWaiting, info.NumAckPending)
		}
		return nil
	})
	if err := js.DeleteConsumer(t.Context(), stream, durable); err != nil {
		t.Fatal(err)
	}
}

// TestRestartsAfterConsumerDeleted: a deleted consumer is created again and
// the messages published meanwhile are handled.
func TestRestartsAfterConsumerDeleted(t *testing.T) {
	js := setup(t)
	var created atomic.Int32
	var mu sync.Mutex
	var got []string
	w := &waits{}
	newConsumer := createConsumer(js)
	run(t, t.Context(), consume.Loop{
		Name: "test",
		Consumer: func(ctx context.Context) (jetstream.Consumer, error) {
			created.Add(1)
			return newConsumer(ctx)
		},
		Handle: func(_ context.Context, m jetstream.Msg) {
			mu.Lock()
			got = append(got, string(m.Data()))
			mu.Unlock()
			_ = m.Ack()
		},
		Outstanding: 2,
		Wait:        w.wait,
	})
	publish(t, js, "one")
	testkit.Eventually(t, 5*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(got, []string{"one"}) {
			return fmt.Errorf("handled %q, want [one]", got)
		}
		return nil
	})
	deleteConsumer(t, js)
	testkit.Eventually(t, 10*time.Second, func() error {
		if n := created.Load(); n < 2 {
			return fmt.Errorf("consumer created %d times", n)
		}
		return nil
	})
	publish(t, js, "two")
	testkit.Eventually(t, 5*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if !slices.Contains(got, "two") {
			return fmt.Errorf("handled %q, want two among them", got)
		}
		return nil
	})
	if d := w.get(); !slices.Contains(d, consume.FirstDelay) {
		t.Errorf("pauses %v, want a restart after %v", d, consume.FirstDelay)
	}
}

// TestBacksOffOnErrors: each failure in a row doubles the pause up to
// MaxDelay, and a consumer that consumed starts the sequence again.
func TestBacksOffOnErrors(t *testing.T) {
	js := setup(t)
	var attempts atomic.Int32
	w := &waits{}
	newConsumer := createConsumer(js)
	handled := make(chan string, 10)
	run(t, t.Context(), consume.Loop{
		Name: "test",
		Consumer: func(ctx context.Context) (jetstream.Consumer, error) {
			if n := attempts.Add(1); n <= 6 {
				return nil, errors.New("refused")
			}
			return newConsumer(ctx)
		},
		Handle: func(_ context.Context, m jetstream.Msg) { handled <- string(m.Data()); _ = m.Ack() },
		Wait:   w.wait,
	})
	publish(t, js, "one")
	select {
	case <-handled:
	case <-time.After(10 * time.Second):
		t.Fatal("no message handled")
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second}
	if got := w.get(); !slices.Equal(got, want) {
		t.Fatalf("pauses %v, want %v", got, want)
	}
	if n := attempts.Load(); n != 7 {
		t.Errorf("%d attempts, want 7", n)
	}
	// Once consuming, a failure starts again from the first delay.
	deleteConsumer(t, js)
	testkit.Eventually(t, 10*time.Second, func() error {
		if got := w.get()[len(want):]; !slices.Contains(got, consume.FirstDelay) {
			return fmt.Errorf("pauses after consuming %v, want a restart after %v", got, consume.FirstDelay)
		}
		return nil
	})
	for _, d := range w.get()[len(want):] {
		if d >= consume.FirstDelay { // not a pause between fetches
			if d != consume.FirstDelay {
				t.Errorf("first restart after consuming: %v, want %v", d, consume.FirstDelay)
			}
			break
		}
	}
}

func TestBackoff(t *testing.T) {
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 5 * time.Second, 100: 5 * time.Second} {
		if got := consume.Backoff(attempt); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", attempt, got, want)
		}
	}
}

// TestStopsPromptly: Run returns soon after ctx ends, whether it is
// handling messages (the handlers end with ctx) or waiting to restart.
func TestStopsPromptly(t *testing.T) {
	js := setup(t)
	t.Run("handling", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		started := make(chan struct{}, 4)
		done := run(t, ctx, consume.Loop{
			Name:     "test",
			Consumer: createConsumer(js),
			Handle: func(ctx context.Context, _ jetstream.Msg) {
				started <- struct{}{}
				<-ctx.Done()
			},
			Outstanding: 2,
		})
		publish(t, js, "one")
		publish(t, js, "two")
		publish(t, js, "three")
		for range 2 {
			select {
			case <-started:
			case <-time.After(10 * time.Second):
				t.Fatal("handlers not started")
			}
		}
		select {
		case <-started:
			t.Fatal("more handlers than Outstanding")
		default:
		}
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after ctx ended")
		}
	})
	t.Run("restarting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		var attempts atomic.Int32
		done := run(t, ctx, consume.Loop{
			Name: "test",
			Consumer: func(context.Context) (jetstream.Consumer, error) {
				attempts.Add(1)
				return nil, errors.New("refused")
			},
			Handle:  func(context.Context, jetstream.Msg) {},
			Backoff: func(int) time.Duration { return time.Hour },
		})
		testkit.Eventually(t, 5*time.Second, func() error {
			if attempts.Load() == 0 {
				return errors.New("no attempt")
			}
			return nil
		})
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after ctx ended")
		}
	})
}
