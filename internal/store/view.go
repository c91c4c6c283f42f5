package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
)

// View keeps the latest breach and summary records in memory, fed by
// watches on their buckets, for the status reads that dashboards repeat
// many times a second: they are answered without a round trip to
// JetStream, so they stay fast while acknowledgements keep the disk busy.
// It holds nothing that is not in the buckets, lags them by the watch's
// delivery time, and answers only while both watches are caught up and
// running; callers read the buckets otherwise.
type View struct {
	s *Store

	mu        sync.RWMutex
	ready     bool
	breaches  map[breach.BreachID]*breach.Breach
	summaries map[breach.BreachID]breach.Summary
}

// NewView returns a view of s; it answers once Run has caught up.
func (s *Store) NewView() *View { return &View{s: s} }

// Summary returns breach id's record and summary, or ok false when the view
// cannot answer (not caught up, or the breach or its summary not seen yet).
// The breach is shared: callers must not change it.
func (v *View) Summary(id breach.BreachID) (b *breach.Breach, sum breach.Summary, ok bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if !v.ready {
		return nil, breach.Summary{}, false
	}
	b, okB := v.breaches[id]
	sum, okS := v.summaries[id]
	return b, sum, okB && okS
}

// Run keeps the view current until ctx ends, restarting its watches after
// an error (the view does not answer meanwhile).
func (v *View) Run(ctx context.Context) error {
	for {
		err := v.run(ctx)
		v.mu.Lock()
		v.ready = false
		v.mu.Unlock()
		if ctx.Err() != nil {
			return nil
		}
		v.s.log.Warn("status view interrupted; restarting in 1s", "err", err)
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return nil
		}
	}
}

func (v *View) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bw, err := v.s.breaches.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watch breaches: %w", err)
	}
	defer func() { _ = bw.Stop() }()
	sw, err := v.s.summaries.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watch summaries: %w", err)
	}
	defer func() { _ = sw.Stop() }()
	v.mu.Lock()
	v.breaches = map[breach.BreachID]*breach.Breach{}
	v.summaries = map[breach.BreachID]breach.Summary{}
	v.mu.Unlock()
	var bCaught, sCaught bool
	caughtUp := func() {
		if bCaught && sCaught {
			v.mu.Lock()
			v.ready = true
			v.mu.Unlock()
		}
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, open := <-bw.Updates():
			if !open {
				return errors.New("breach watch closed")
			}
			if e == nil {
				bCaught = true
				caughtUp()
				continue
			}
			v.applyBreach(e)
		case e, open := <-sw.Updates():
			if !open {
				return errors.New("summary watch closed")
			}
			if e == nil {
				sCaught = true
				caughtUp()
				continue
			}
			v.applySummary(e)
		}
	}
}

func (v *View) applyBreach(e jetstream.KeyValueEntry) {
	id := breach.BreachID(e.Key())
	if e.Operation() != jetstream.KeyValuePut {
		v.mu.Lock()
		delete(v.breaches, id)
		v.mu.Unlock()
		return
	}
	var b breach.Breach
	if err := json.Unmarshal(e.Value(), &b); err != nil {
		v.s.log.Warn("status view: undecodable breach record", "key", e.Key(), "err", err)
		return
	}
	v.mu.Lock()
	v.breaches[id] = &b
	v.mu.Unlock()
}

func (v *View) applySummary(e jetstream.KeyValueEntry) {
	if e.Key() == checkpointKey {
		return
	}
	id := breach.BreachID(e.Key())
	if e.Operation() != jetstream.KeyValuePut {
		v.mu.Lock()
		delete(v.summaries, id)
		v.mu.Unlock()
		return
	}
	sv, err := decodeSummary(e)
	if err != nil {
		v.s.log.Warn("status view: undecodable summary record", "key", e.Key(), "err", err)
		return
	}
	v.mu.Lock()
	v.summaries[id] = sv.Summary
	v.mu.Unlock()
}

// Summaries returns up to limit summaries (in no order) and whether there
// were more, or ok false when the view cannot answer (not caught up).
func (v *View) Summaries(limit int) (sums []breach.Summary, more, ok bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if !v.ready {
		return nil, false, false
	}
	sums = make([]breach.Summary, 0, min(limit, len(v.summaries)))
	for _, s := range v.summaries {
		if len(sums) == limit {
			return sums, true, true
		}
		sums = append(sums, s)
	}
	return sums, false, true
}

// CountBreaches counts the breaches for which match is true, or ok false
// when the view cannot answer. The breaches are shared: match must not
// change them.
func (v *View) CountBreaches(match func(*breach.Breach) bool) (n int, ok bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if !v.ready {
		return 0, false
	}
	for _, b := range v.breaches {
		if match(b) {
			n++
		}
	}
	return n, true
}
