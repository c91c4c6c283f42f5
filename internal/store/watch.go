package store

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
)

// WatchBreachNotices streams the current state of every notice of breach
// b, then nil (caught up), then every later change, until ctx ends or the
// channel is closed after an error.
func (s *Store) WatchBreachNotices(ctx context.Context, b breach.BreachID) (<-chan *breach.Notice, error) {
	cons, err := s.ledger.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{BreachNoticeFilter(b)},
		DeliverPolicy:  jetstream.DeliverLastPerSubjectPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("watch notices of %s: %w", b, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return nil, fmt.Errorf("watch notices of %s: %w", b, err)
	}
	out := make(chan *breach.Notice, 64)
	caughtUp := cons.CachedInfo().NumPending == 0
	go func() {
		defer close(out)
		defer it.Stop()
		stop := context.AfterFunc(ctx, it.Stop)
		defer stop()
		send := func(n *breach.Notice) bool {
			select {
			case out <- n:
				return true
			case <-ctx.Done():
				return false
			}
		}
		if caughtUp && !send(nil) {
			return
		}
		for {
			m, err := it.Next()
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("notice watch ended", "breach_id", b, "err", err)
				}
				return
			}
			c, err := DecodeChange(m.Data())
			if err != nil {
				s.log.Warn("skipping undecodable notice record", "breach_id", b, "err", err)
				continue
			}
			if !send(&c.Notice) {
				return
			}
			if !caughtUp {
				if md, err := m.Metadata(); err == nil && md.NumPending == 0 {
					caughtUp = true
					if !send(nil) {
						return
					}
				}
			}
		}
	}()
	return out, nil
}
