package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/store"
)

// metricsSource is what the metrics' StateCollector reads at scrape time:
// the status view's summaries and breaches while it is caught up (memory
// only), else the store's buckets; the questions and streams from
// JetStream.
type metricsSource struct {
	st   *store.Store
	view *store.View
	nc   *nats.Conn
}

func (s metricsSource) Summaries(ctx context.Context, limit int) ([]breach.Summary, bool, error) {
	if sums, more, ok := s.view.Summaries(limit); ok {
		return sums, more, nil
	}
	return s.st.Summaries(ctx, limit)
}

func (s metricsSource) UnansweredQuestions(ctx context.Context) (int, error) {
	qs, err := s.st.ListQuestions(ctx, "", "")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, q := range qs {
		if !q.Answered() {
			n++
		}
	}
	return n, nil
}

func (s metricsSource) LatePromises(ctx context.Context, now time.Time, limit int) (int, error) {
	late := func(b *breach.Breach) bool { return b.Promise.Overdue(now) }
	if n, ok := s.view.CountBreaches(late); ok {
		return n, nil
	}
	bs, _, err := s.st.ListBreaches(ctx, "", limit, nil)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, b := range bs {
		if late(b) {
			n++
		}
	}
	return n, nil
}

func (s metricsSource) DeadLetters(ctx context.Context) (uint64, error) {
	return s.streamMsgs(ctx, store.StreamDeadLetters)
}

func (s metricsSource) StreamMessages(ctx context.Context) (map[string]uint64, error) {
	out := map[string]uint64{}
	for _, name := range []string{store.StreamIntake, store.StreamRejected, store.StreamNotices, store.StreamLedger, store.StreamEvents, store.StreamDeadLetters} {
		n, err := s.streamMsgs(ctx, name)
		if err != nil {
			return nil, err
		}
		out[name] = n
	}
	return out, nil
}

func (s metricsSource) streamMsgs(ctx context.Context, name string) (uint64, error) {
	st, err := s.st.JetStream().Stream(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", name, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", name, err)
	}
	return info.State.Msgs, nil
}

func (s metricsSource) Connected() bool { return s.nc.IsConnected() }
