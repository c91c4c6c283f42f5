package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
)

// WatchBreachNotices streams the current state of every notice of breach
// b, then nil (caught up), then every later change, until ctx ends or the
// channel is closed after an error. A chunk's reminder round is a change of
// each notice it names: those notices are read and streamed again.
func (s *Store) WatchBreachNotices(ctx context.Context, b breach.BreachID) (<-chan *breach.Notice, error) {
	cons, err := s.ledger.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{BreachNoticeFilter(b), ledgerReminders + "." + string(b) + ".*"},
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
	rounds := &watchRounds{s: s, known: map[chunkKey][]ReminderRound{}}
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
			ns, err := rounds.notices(ctx, m)
			if err != nil {
				s.log.Warn("skipping a notice record", "breach_id", b, "subject", m.Subject(), "err", err)
			}
			for _, n := range ns {
				if !send(n) {
					return
				}
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

// watchRounds keeps, for one watch, the reminder rounds of the chunks it
// saw last (a bounded number: a watch over a large breach must not hold
// every chunk's rounds).
type watchRounds struct {
	s     *Store
	known map[chunkKey][]ReminderRound
}

const watchRoundsKept = 64

// notices are the notices that ledger message m changed, as they are now.
func (w *watchRounds) notices(ctx context.Context, m jetstream.Msg) ([]*breach.Notice, error) {
	md, err := m.Metadata()
	if err != nil {
		return nil, err
	}
	if k, ok := parseRemindersSubject(m.Subject()); ok {
		rs, err := decodeReminders(m.Data(), md.Sequence.Stream)
		if err != nil {
			return nil, err
		}
		prev, seen := w.known[k]
		w.keep(k, rs)
		var ids []breach.NoticeID
		for _, r := range rs {
			if seen && slices.ContainsFunc(prev, func(p ReminderRound) bool { return p.Seq == r.Seq }) {
				continue // streamed before
			}
			for _, o := range r.Orgs {
				ids = append(ids, breach.NewNoticeID(k.b, o))
			}
		}
		slices.SortFunc(ids, func(a, b breach.NoticeID) int { return strings.Compare(string(a.Org), string(b.Org)) })
		vs, err := w.s.GetNotices(ctx, slices.Compact(ids))
		if err != nil {
			return nil, err
		}
		out := make([]*breach.Notice, 0, len(vs))
		for _, v := range vs {
			if v.Notice != nil {
				out = append(out, v.Notice)
			}
		}
		return out, nil
	}
	c, err := DecodeChange(m.Data())
	if err != nil {
		return nil, err
	}
	if c.Notice.State >= breach.StateDelivered {
		k := chunkKey{c.Notice.ID.Breach, c.Notice.Chunk}
		rs, ok := w.known[k]
		if !ok {
			if rs, _, err = w.s.ChunkReminders(ctx, k.b, k.chunk); err != nil {
				return nil, err
			}
			w.keep(k, rs)
		}
		applyRounds(&c.Notice, rs)
	}
	return []*breach.Notice{&c.Notice}, nil
}

func (w *watchRounds) keep(k chunkKey, rs []ReminderRound) {
	if _, ok := w.known[k]; !ok && len(w.known) >= watchRoundsKept {
		clear(w.known)
	}
	w.known[k] = rs
}
