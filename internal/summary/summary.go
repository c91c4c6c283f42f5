// Package summary folds the notice ledger into one summary record per
// breach (total, delivered, acknowledged, resolved, deadlines), so that a
// breach's progress is read in O(1) instead of by scanning its notices.
//
// Every ledger message carries the notice's state before and after the
// change, so folding is a pure delta. Each summary remembers the last
// ledger sequence folded into it, which makes folding idempotent: a folder
// restarted from an older checkpoint, or two folders running at once on
// several daemons, skip what is already counted. Summaries lag the ledger
// by one batch (milliseconds).
package summary

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/store"
)

// Folding batches: at most this many changes or this long before a flush.
const (
	maxBatch = 2000
	maxDelay = 50 * time.Millisecond
)

// Folder folds ledger changes into summaries.
type Folder struct {
	st  *store.Store
	log *slog.Logger
}

// NewFolder returns a folder over st.
func NewFolder(st *store.Store, log *slog.Logger) *Folder {
	return &Folder{st: st, log: log}
}

type delta struct {
	seq        uint64
	prev, next *breach.Notice
}

// Run folds changes until ctx ends. It resumes from the stored checkpoint.
func (f *Folder) Run(ctx context.Context) error {
	for {
		err := f.run(ctx)
		if ctx.Err() != nil {
			return nil
		}
		f.log.Warn("summary folding interrupted; resuming", "err", err)
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return nil
		}
	}
}

func (f *Folder) run(ctx context.Context) error {
	cp, err := f.st.Checkpoint(ctx)
	if err != nil {
		return err
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{store.LedgerNoticeFilter}}
	if cp > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = cp + 1
	}
	cons, err := f.st.Ledger().OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("summary consumer: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("summary consumer: %w", err)
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()

	pending := map[breach.BreachID][]delta{}
	var n int
	var last uint64
	var first time.Time
	for {
		wait := time.Minute // idle: nothing buffered
		if n > 0 {
			wait = max(time.Millisecond, maxDelay-time.Since(first))
		}
		m, err := it.Next(jetstream.NextMaxWait(wait))
		switch {
		case errors.Is(err, nats.ErrTimeout):
		case err != nil:
			return err
		default:
			md, err := m.Metadata()
			if err != nil {
				return err
			}
			c, counts, err := store.SummaryChange(m.Headers(), m.Data())
			switch {
			case err != nil:
				f.log.Error("skipping undecodable ledger record", "seq", md.Sequence.Stream, "err", err)
			case counts:
				next := c.Notice
				pending[c.Notice.ID.Breach] = append(pending[c.Notice.ID.Breach], delta{seq: md.Sequence.Stream, prev: c.PrevNotice(), next: &next})
			}
			if n == 0 {
				first = time.Now()
			}
			n++
			last = md.Sequence.Stream
			if md.NumPending > 0 && n < maxBatch && time.Since(first) < maxDelay {
				continue
			}
		}
		if n == 0 {
			continue
		}
		for b, ds := range pending {
			if err := f.fold(ctx, b, ds); err != nil {
				return err
			}
		}
		if err := f.st.SetCheckpoint(ctx, last); err != nil {
			return err
		}
		clear(pending)
		n = 0
	}
}

// fold applies ds (in ledger order) to breach b's summary, skipping what an
// earlier or concurrent folder already applied.
func (f *Folder) fold(ctx context.Context, b breach.BreachID, ds []delta) error {
	for {
		v, err := f.st.GetSummary(ctx, b)
		if err != nil {
			return err
		}
		changed := false
		for _, d := range ds {
			if d.seq <= v.Applied {
				continue
			}
			v.Summary.Apply(d.prev, d.next)
			v.Applied = d.seq
			changed = true
		}
		if !changed {
			return nil
		}
		ok, err := f.st.PutSummary(ctx, v)
		if err != nil || ok {
			return err
		}
	}
}
