package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/cascadehq/cascade/internal/breach"
)

// PutResult is what PutOrgs did: organisations written (new or changed)
// and left alone (stored exactly so already).
type PutResult struct {
	Written, Unchanged int
}

// PutOrgs upserts organisations into the registry bucket (see LoadOrgs).
func (s *Store) PutOrgs(ctx context.Context, orgs []breach.Org) error {
	_, err := s.LoadOrgs(ctx, orgs)
	return err
}

// LoadOrgs upserts organisations into the registry bucket and returns once
// every write is persisted. An organisation stored exactly so already is
// not written again (a restart with the same registry writes nothing); the
// others go in atomic batches of up to MaxBatch, one fsync each, instead of
// one fsync per organisation.
func (s *Store) LoadOrgs(ctx context.Context, orgs []breach.Org) (PutResult, error) {
	stored, err := s.orgValues(ctx)
	if err != nil {
		return PutResult{}, err
	}
	var res PutResult
	msgs := make([]*nats.Msg, 0, len(orgs))
	for _, o := range orgs {
		data, err := json.Marshal(o)
		if err != nil {
			return PutResult{}, err
		}
		if old, ok := stored[o.ID]; ok && bytes.Equal(old, data) {
			res.Unchanged++
			continue
		}
		stored[o.ID] = data // a later row of the same id is compared with this one
		msgs = append(msgs, &nats.Msg{Subject: "$KV." + BucketOrgs + "." + string(o.ID), Data: data})
	}
	// loadBatches batches in flight: the server stages the next while it
	// commits one.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(loadBatches)
	for from := 0; from < len(msgs); from += MaxBatch {
		part := msgs[from:min(from+MaxBatch, len(msgs))]
		g.Go(func() error {
			acks, err := s.PublishBatched(gctx, kvStream(BucketOrgs), part)
			if err != nil {
				return fmt.Errorf("store registry: %w", err)
			}
			for i, a := range acks {
				if a.Err != nil {
					return fmt.Errorf("store organisation %s: %w", part[i].Subject[len("$KV."+BucketOrgs+"."):], a.Err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return PutResult{}, err
	}
	res.Written = len(msgs)
	return res, nil
}

// loadBatches is how many of LoadOrgs' batches are in flight at once.
const loadBatches = 4

// kvStream is the stream behind a bucket.
func kvStream(bucket string) string { return "KV_" + bucket }

// orgValues reads the stored form of every organisation in the registry.
func (s *Store) orgValues(ctx context.Context) (map[breach.OrgID][]byte, error) {
	out := map[breach.OrgID][]byte{}
	err := s.scanOrgs(ctx, func(key string, value []byte) error {
		out[breach.OrgID(key)] = value
		return nil
	})
	return out, err
}

// scanOrgs calls fn with every organisation's key and stored value, in
// the bucket's order.
func (s *Store) scanOrgs(ctx context.Context, fn func(key string, value []byte) error) error {
	w, err := s.orgs.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("read registry: %w", err)
	}
	defer stopWatcher(w)
	for {
		select {
		case e := <-w.Updates():
			if e == nil {
				return nil
			}
			if err := fn(e.Key(), e.Value()); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
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
	var out []breach.Org
	err := s.scanOrgs(ctx, func(key string, value []byte) error {
		var o breach.Org
		if err := json.Unmarshal(value, &o); err != nil {
			return fmt.Errorf("decode organisation %s: %w", key, err)
		}
		out = append(out, o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
