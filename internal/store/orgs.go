package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
)

// PutOrgs upserts organisations into the registry bucket. Writes are
// pipelined; it returns once all are persisted.
func (s *Store) PutOrgs(ctx context.Context, orgs []breach.Org) error {
	msgs := make([]*nats.Msg, len(orgs))
	for i, o := range orgs {
		data, err := json.Marshal(o)
		if err != nil {
			return err
		}
		msgs[i] = &nats.Msg{Subject: "$KV." + BucketOrgs + "." + string(o.ID), Data: data}
	}
	acks, err := PublishAll(ctx, s.js, msgs)
	if err != nil {
		return fmt.Errorf("store registry: %w", err)
	}
	for i, a := range acks {
		if a.Err != nil {
			return fmt.Errorf("store organisation %s: %w", orgs[i].ID, a.Err)
		}
	}
	return nil
}

// GetOrg returns one organisation or breach.ErrNotFound.
func (s *Store) GetOrg(ctx context.Context, id breach.OrgID) (*breach.Org, error) {
	e, err := s.orgs.Get(ctx, string(id))
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("organisation %s: %w", id, breach.ErrNotFound)
		}
		return nil, fmt.Errorf("read organisation %s: %w", id, err)
	}
	var o breach.Org
	if err := json.Unmarshal(e.Value(), &o); err != nil {
		return nil, fmt.Errorf("decode organisation %s: %w", id, err)
	}
	return &o, nil
}

// stopWatcher stops a KV watcher and drains what it still delivers, so its
// subscription never blocks on a full channel nobody reads.
func stopWatcher(w jetstream.KeyWatcher) {
	_ = w.Stop()
	go func() {
		for range w.Updates() {
		}
	}()
}

// AllOrgs returns the whole registry.
func (s *Store) AllOrgs(ctx context.Context) ([]breach.Org, error) {
	w, err := s.orgs.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("read registry: %w", err)
	}
	defer stopWatcher(w)
	var out []breach.Org
	for {
		select {
		case e := <-w.Updates():
			if e == nil {
				return out, nil
			}
			var o breach.Org
			if err := json.Unmarshal(e.Value(), &o); err != nil {
				return nil, fmt.Errorf("decode organisation %s: %w", e.Key(), err)
			}
			out = append(out, o)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
