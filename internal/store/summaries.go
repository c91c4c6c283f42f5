package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
)

// summaryRecord is a stored summary with the ledger sequence of the last
// change folded into it, which makes folding idempotent.
type summaryRecord struct {
	breach.Summary
	Applied uint64 `json:"applied_seq"`
}

const checkpointKey = "_checkpoint"

// SummaryVersion is a summary with what is needed to update it.
type SummaryVersion struct {
	Summary breach.Summary
	Applied uint64 // ledger sequence folded in up to
	rev     uint64 // KV revision, 0 if not stored yet
}

// GetSummary returns the summary of a breach. A breach whose notices were
// not yet folded in has an empty summary (not an error).
func (s *Store) GetSummary(ctx context.Context, id breach.BreachID) (SummaryVersion, error) {
	e, err := s.summaries.Get(ctx, string(id))
	if err != nil {
		if isNotFound(err) {
			return SummaryVersion{Summary: breach.Summary{Breach: id}}, nil
		}
		return SummaryVersion{}, fmt.Errorf("read summary %s: %w", id, err)
	}
	return decodeSummary(e)
}

func decodeSummary(e jetstream.KeyValueEntry) (SummaryVersion, error) {
	var r summaryRecord
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return SummaryVersion{}, fmt.Errorf("decode summary %s: %w", e.Key(), err)
	}
	return SummaryVersion{Summary: r.Summary, Applied: r.Applied, rev: e.Revision()}, nil
}

// PutSummary stores v if the stored summary is still the one v was read
// from. It reports false on a conflict (someone else stored a newer one).
func (s *Store) PutSummary(ctx context.Context, v SummaryVersion) (bool, error) {
	data, err := json.Marshal(summaryRecord{Summary: v.Summary, Applied: v.Applied})
	if err != nil {
		return false, err
	}
	if v.rev == 0 {
		_, err = s.summaries.Create(ctx, string(v.Summary.Breach), data)
	} else {
		_, err = s.summaries.Update(ctx, string(v.Summary.Breach), data, v.rev)
	}
	if isConflict(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store summary %s: %w", v.Summary.Breach, err)
	}
	return true, nil
}

// WatchSummary streams the breach's summary: the current one (if any),
// then nil, then every new version, until ctx ends.
func (s *Store) WatchSummary(ctx context.Context, id breach.BreachID) (<-chan *SummaryVersion, error) {
	w, err := s.summaries.Watch(ctx, string(id))
	if err != nil {
		return nil, fmt.Errorf("watch summary %s: %w", id, err)
	}
	out := make(chan *SummaryVersion)
	go func() {
		defer close(out)
		defer stopWatcher(w)
		for {
			select {
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				var v *SummaryVersion
				if e != nil {
					d, err := decodeSummary(e)
					if err != nil {
						s.log.Warn("skipping undecodable summary", "breach_id", id, "err", err)
						continue
					}
					v = &d
				}
				select {
				case out <- v:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// Checkpoint is the ledger sequence up to which every change is folded into
// the summaries (0 if none).
func (s *Store) Checkpoint(ctx context.Context) (uint64, error) {
	e, err := s.summaries.Get(ctx, checkpointKey)
	if err != nil {
		if isNotFound(err) {
			return 0, nil
		}
		return 0, fmt.Errorf("read summary checkpoint: %w", err)
	}
	return strconv.ParseUint(string(e.Value()), 10, 64)
}

// SetCheckpoint records that every change up to seq is folded in.
func (s *Store) SetCheckpoint(ctx context.Context, seq uint64) error {
	_, err := s.summaries.Put(ctx, checkpointKey, []byte(strconv.FormatUint(seq, 10)))
	if err != nil {
		return fmt.Errorf("store summary checkpoint: %w", err)
	}
	return nil
}

// Ledger is the ledger stream, for consumers that fold its changes.
func (s *Store) Ledger() jetstream.Stream { return s.ledger }

// LedgerNoticeFilter matches every notice change; BreachNoticeFilter one breach's.
const LedgerNoticeFilter = ledgerNotice + ".>"

// BreachNoticeFilter matches the ledger subjects of one breach's notices.
func BreachNoticeFilter(id breach.BreachID) string { return ledgerNotice + "." + string(id) + ".*" }

// Summaries returns up to limit stored summaries (in no order) and whether
// more are stored: one watch of the bucket, for the metrics' gauges.
func (s *Store) Summaries(ctx context.Context, limit int) ([]breach.Summary, bool, error) {
	w, err := s.summaries.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, false, fmt.Errorf("read summaries: %w", err)
	}
	defer stopWatcher(w)
	var out []breach.Summary
	for {
		select {
		case e := <-w.Updates():
			if e == nil {
				return out, false, nil
			}
			if e.Key() == checkpointKey {
				continue
			}
			if len(out) == limit {
				return out, true, nil
			}
			v, err := decodeSummary(e)
			if err != nil {
				s.log.Warn("skipping undecodable summary", "key", e.Key(), "err", err)
				continue
			}
			out = append(out, v.Summary)
		case <-ctx.Done():
			return nil, false, fmt.Errorf("read summaries: %w", ctx.Err())
		}
	}
}
