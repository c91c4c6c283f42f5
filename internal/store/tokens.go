package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
)

// BucketTokens holds API tokens, by id, as hashes only.
const BucketTokens = "cascade-tokens"

// Token is a stored API token: never the secret, only its SHA-256.
type Token struct {
	ID        string       `json:"id"`
	Hash      string       `json:"sha256"` // hex SHA-256 of the secret
	Org       breach.OrgID `json:"org_id,omitempty"`
	Role      string       `json:"role"`
	Label     string       `json:"label,omitempty"`
	IssuedAt  time.Time    `json:"issued_at"`
	RevokedAt time.Time    `json:"revoked_at,omitzero"`
	// IssuedBy and RevokedBy are who issued and revoked the token through
	// the API; nil for the bootstrap token and tokens stored before this
	// was recorded.
	IssuedBy  *breach.Principal `json:"issued_by,omitempty"`
	RevokedBy *breach.Principal `json:"revoked_by,omitempty"`
}

func (s *Store) tokens(ctx context.Context) (jetstream.KeyValue, error) {
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	if s.tok != nil {
		return s.tok, nil
	}
	kv, err := s.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: BucketTokens, Description: "API tokens (hashes only)",
		History: 1, Storage: jetstream.FileStorage, Replicas: s.replicas})
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", BucketTokens, err)
	}
	s.tok = kv
	return kv, nil
}

// PutToken stores a new token; an existing id is ErrConflict.
func (s *Store) PutToken(ctx context.Context, t Token) error {
	kv, err := s.tokens(ctx)
	if err != nil {
		return err
	}
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if _, err := kv.Create(ctx, t.ID, data); err != nil {
		if isConflict(err) {
			return fmt.Errorf("token %s: %w", t.ID, breach.ErrConflict)
		}
		return fmt.Errorf("store token: %w", err)
	}
	return nil
}

// GetToken returns a token by id, or breach.ErrNotFound.
func (s *Store) GetToken(ctx context.Context, id string) (*Token, uint64, error) {
	kv, err := s.tokens(ctx)
	if err != nil {
		return nil, 0, err
	}
	e, err := kv.Get(ctx, id)
	if err != nil {
		if isNotFound(err) {
			return nil, 0, fmt.Errorf("token %s: %w", id, breach.ErrNotFound)
		}
		return nil, 0, fmt.Errorf("read token: %w", err)
	}
	var t Token
	if err := json.Unmarshal(e.Value(), &t); err != nil {
		return nil, 0, fmt.Errorf("decode token %s: %w", id, err)
	}
	return &t, e.Revision(), nil
}

// RevokeToken marks a token revoked at now by by (nil: not recorded);
// revoking a revoked token changes nothing and returns it.
func (s *Store) RevokeToken(ctx context.Context, id string, now time.Time, by *breach.Principal) (*Token, error) {
	kv, err := s.tokens(ctx)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		t, rev, err := s.GetToken(ctx, id)
		if err != nil {
			return nil, err
		}
		if !t.RevokedAt.IsZero() {
			return t, nil
		}
		t.RevokedAt, t.RevokedBy = now, by
		data, err := json.Marshal(t)
		if err != nil {
			return nil, err
		}
		if _, err = kv.Update(ctx, id, data, rev); err == nil {
			return t, nil
		}
		if !isConflict(err) || attempt > 20 {
			return nil, fmt.Errorf("revoke token %s: %w", id, err)
		}
	}
}

// ListTokens returns every token, by issue time.
func (s *Store) ListTokens(ctx context.Context) ([]Token, error) {
	kv, err := s.tokens(ctx)
	if err != nil {
		return nil, err
	}
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer stopWatcher(w)
	var out []Token
	for {
		select {
		case e := <-w.Updates():
			if e == nil {
				slices.SortFunc(out, func(a, b Token) int { return a.IssuedAt.Compare(b.IssuedAt) })
				return out, nil
			}
			var t Token
			if err := json.Unmarshal(e.Value(), &t); err != nil {
				return nil, fmt.Errorf("decode token %s: %w", e.Key(), err)
			}
			out = append(out, t)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
