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
	rounds := &watchRounds{s: s, known: map[chunkKey][]ReminderRound{}, streamed: map[chunkKey]uint64{}}
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
// met last (for the notices it streams) and, per chunk, the last reminder
// record it streamed (so a round's notices are streamed again once). Both
// are bounded: a watch over a large breach must not hold every chunk.
type watchRounds struct {
	s        *Store
	known    map[chunkKey][]ReminderRound
	streamed map[chunkKey]uint64
}

const watchRoundsKept = 64

// notices are the notices that ledger message m changed, as they are now.
func (w *watchRounds) notices(ctx context.Context, m jetstream.Msg) ([]*breach.Notice, error) {
	md, err := m.Metadata()
	if err != nil {
		return nil, err
	}
	seq := md.Sequence.Stream
	if k, ok := parseRemindersSubject(m.Subject()); ok {
		rs, err := decodeReminders(m.Data(), seq)
		if err != nil {
			return nil, err
		}
		keep(w.known, k, rs)
		var ids []breach.NoticeID
		for _, r := range rs {
			if r.Seq <= w.streamed[k] {
				continue // its notices were streamed with it before
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
		keep(w.streamed, k, seq)
		out := make([]*breach.Notice, 0, len(vs))
		for _, v := range vs {
			// A notice changed after this record is streamed when the
			// watch reaches that change (with this round): streaming its
			// newer state now would go back in time then.
			if v.Notice != nil && v.Seq < seq {
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
				w.s.log.Warn("notice watch: reminders not read; the notice is streamed without them", "notice_id", c.Notice.ID.String(), "err", err)
				return []*breach.Notice{&c.Notice}, nil
			}
			keep(w.known, k, rs)
		}
		ApplyReminders(&c.Notice, rs)
	}
	return []*breach.Notice{&c.Notice}, nil
}

// keep sets m[k] = v, first emptying m when it holds watchRoundsKept
// other chunks.
func keep[V any](m map[chunkKey]V, k chunkKey, v V) {
	if _, ok := m[k]; !ok && len(m) >= watchRoundsKept {
		clear(m)
	}
	m[k] = v
}
