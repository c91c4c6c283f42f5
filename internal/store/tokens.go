package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/ensure"
)

// BucketTokens holds API tokens, by id, as hashes only.
const BucketTokens = "cascade-tokens"

// TokenMACPurpose is the purpose string of the token MAC key derived from
// the deployment secret (secret.Key.Derive).
const TokenMACPurpose = "cascade token mac v1"

// Token is a stored API token: never the secret, only its SHA-256. MAC
// binds every field, and the bucket revision the record is stored at,
// under a key derived from the deployment secret: a record written or
// changed by anyone but Cascade does not authenticate, nor does an older
// record of a token put back (a revoked token's record from before its
// revocation).
type Token struct {
	ID   string       `json:"id"`
	Hash string       `json:"sha256"` // hex SHA-256 of the secret
	Org  breach.OrgID `json:"org_id,omitempty"`
	// Processor is the registered processor a vendor or viewer token acts
	// for; empty for the default processor (and for controllers).
	Processor breach.ProcessorID `json:"processor_id,omitempty"`
	Role      string             `json:"role"`
	Label     string             `json:"label,omitempty"`
	IssuedAt  time.Time          `json:"issued_at"`
	RevokedAt time.Time          `json:"revoked_at,omitzero"`
	// IssuedBy and RevokedBy are who issued and revoked the token through
	// the API; nil for the bootstrap token and tokens stored before this
	// was recorded.
	IssuedBy  *breach.Principal `json:"issued_by,omitempty"`
	RevokedBy *breach.Principal `json:"revoked_by,omitempty"`
	// Rev is the bucket revision the record was written at, and MAC the
	// hex HMAC-SHA256 of all the fields above (see canonical). Both are
	// empty in records of versions before the deployment secret.
	Rev uint64 `json:"rev,omitempty"`
	MAC string `json:"mac,omitempty"`
}

// canonical is what the MAC covers: every field that grants or limits
// power, each length-prefixed, times in UTC to the nanosecond (zero:
// empty), and the revision. A field added to Token that grants or limits
// power must be added here.
func (t *Token) canonical() []byte {
	var b []byte
	put := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	at := func(x time.Time) string {
		if x.IsZero() {
			return ""
		}
		return x.UTC().Format(time.RFC3339Nano)
	}
	put("cascade token record v1")
	put(t.ID)
	put(t.Hash)
	put(string(t.Org))
	put(t.Role)
	put(t.Label)
	put(at(t.IssuedAt))
	put(at(t.RevokedAt))
	// Who issued and revoked it is evidence: bound too (empty when not
	// recorded).
	for _, p := range []*breach.Principal{t.IssuedBy, t.RevokedBy} {
		if p == nil {
			put("")
			continue
		}
		b, _ := json.Marshal(p)
		put(string(b))
	}
	put(strconv.FormatUint(t.Rev, 10))
	// The processor is bound after the rest, and only when set, so that
	// the records of the default processor's tokens (and every record
	// written before processors) keep their MAC.
	if t.Processor != "" {
		put("processor")
		put(string(t.Processor))
	}
	return b
}

func (t *Token) mac(key []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(t.canonical())
	return m.Sum(nil)
}

// Token MAC check failures: the record was written or changed by someone
// other than Cascade, put back from an earlier revision, or written by a
// daemon with another deployment secret.
var (
	ErrTokenMACMissing = errors.New("token record has no MAC")
	ErrTokenMACWrong   = errors.New("token record's MAC does not match its content")
	ErrTokenMoved      = errors.New("token record is not at the revision it was written at")
)

// CheckMAC reports whether t, read at bucket revision rev, carries the MAC
// Cascade gave it under key (compared in constant time): nil,
// ErrTokenMACMissing, ErrTokenMACWrong or ErrTokenMoved.
func (t *Token) CheckMAC(key []byte, rev uint64) error {
	if t.MAC == "" {
		return ErrTokenMACMissing
	}
	got, err := hex.DecodeString(t.MAC)
	if err != nil || !hmac.Equal(got, t.mac(key)) {
		return ErrTokenMACWrong
	}
	if t.Rev != rev {
		return ErrTokenMoved
	}
	return nil
}

func (s *Store) tokens(ctx context.Context) (jetstream.KeyValue, error) {
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	if s.tok != nil {
		return s.tok, nil
	}
	kv, err := ensure.KeyValue(ctx, s.js, jetstream.KeyValueConfig{Bucket: BucketTokens, Description: "API tokens (hashes only)",
		History: 1, Storage: jetstream.FileStorage, Replicas: s.replicas})
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", BucketTokens, err)
	}
	s.tok = kv
	return kv, nil
}

// writeToken stores t, with its MAC under key for the revision it gets,
// if its key's revision is still prev (0: no record). It returns false if
// another writer changed the key first. The revision is known before the
// write because the write expects the bucket's last revision too; when
// another key was written meanwhile it tries again.
func (s *Store) writeToken(ctx context.Context, kv jetstream.KeyValue, t *Token, prev uint64, key []byte) (bool, error) {
	subject := "$KV." + BucketTokens + "." + t.ID
	for range 100 {
		st, err := kv.Status(ctx)
		if err != nil {
			return false, fmt.Errorf("store token %s: %w", t.ID, err)
		}
		bs, ok := st.(*jetstream.KeyValueBucketStatus)
		if !ok {
			return false, fmt.Errorf("store token %s: bucket status of type %T", t.ID, st)
		}
		last := bs.StreamInfo().State.LastSeq
		t.Rev = last + 1
		t.MAC = hex.EncodeToString(t.mac(key))
		data, err := json.Marshal(t)
		if err != nil {
			return false, err
		}
		_, err = s.js.PublishMsg(ctx, &nats.Msg{Subject: subject, Data: data},
			jetstream.WithExpectLastSequence(last), jetstream.WithExpectLastSequencePerSubject(prev))
		if err == nil {
			return true, nil
		}
		if !isConflict(err) {
			return false, fmt.Errorf("store token %s: %w", t.ID, err)
		}
		// The bucket or this key moved on: which?
		cur, err := kv.Get(ctx, t.ID)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			if prev != 0 {
				return false, nil
			}
		case errors.Is(err, jetstream.ErrKeyDeleted):
			return false, nil
		case err != nil:
			return false, fmt.Errorf("store token %s: %w", t.ID, err)
		case cur.Revision() != prev:
			return false, nil
		}
	}
	return false, fmt.Errorf("store token %s: bucket %s kept changing", t.ID, BucketTokens)
}

// PutToken stores a new token with its MAC under key (setting t.Rev and
// t.MAC); an existing id is ErrConflict.
func (s *Store) PutToken(ctx context.Context, t *Token, key []byte) error {
	kv, err := s.tokens(ctx)
	if err != nil {
		return err
	}
	ok, err := s.writeToken(ctx, kv, t, 0, key)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("token %s: %w", t.ID, breach.ErrConflict)
	}
	return nil
}

// GetToken returns a token by id, or breach.ErrNotFound, as stored, with
// the revision it was read at: the caller checks its MAC.
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

// RevokeToken marks a token revoked at now by by (nil: not recorded;
// idempotent) and stores it with its MAC under key. A record whose MAC
// does not check is revoked too (and then never authenticates, whatever
// it says).
func (s *Store) RevokeToken(ctx context.Context, id string, now time.Time, by *breach.Principal, key []byte) (*Token, error) {
	kv, err := s.tokens(ctx)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		t, rev, err := s.GetToken(ctx, id)
		if err != nil {
			return nil, err
		}
		if !t.RevokedAt.IsZero() && t.CheckMAC(key, rev) == nil {
			return t, nil
		}
		if t.RevokedAt.IsZero() {
			t.RevokedAt, t.RevokedBy = now, by
		}
		t.ID = id // the record's key is the token's id, whatever it says
		ok, err := s.writeToken(ctx, kv, t, rev, key)
		if err != nil {
			return nil, fmt.Errorf("revoke token %s: %w", id, err)
		}
		if ok {
			return t, nil
		}
		if attempt > 20 {
			return nil, fmt.Errorf("revoke token %s: still conflicting after %d attempts", id, attempt)
		}
	}
}

// ListTokens returns every token as stored, by issue time, then id (an
// order that pages can resume: CompareTokens).
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
				slices.SortFunc(out, func(a, b Token) int { return CompareTokens(a.IssuedAt, a.ID, b.IssuedAt, b.ID) })
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

// SignUnsignedTokens gives a MAC under key to every token record without
// one (records of versions before the deployment secret) and returns how
// many it signed. A record with a MAC, right or wrong, is left as it is.
// Run it only at the first start with a secret: afterwards a record
// without a MAC was written by someone else.
func (s *Store) SignUnsignedTokens(ctx context.Context, key []byte) (int, error) {
	kv, err := s.tokens(ctx)
	if err != nil {
		return 0, err
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		return 0, fmt.Errorf("list tokens: %w", err)
	}
	defer keys.Stop()
	var ids []string
	for id := range keys.Keys() {
		ids = append(ids, id)
	}
	signed := 0
	for _, id := range ids {
		for attempt := 0; ; attempt++ {
			t, rev, err := s.GetToken(ctx, id)
			if errors.Is(err, breach.ErrNotFound) {
				break
			}
			if err != nil {
				return signed, err
			}
			if t.MAC != "" {
				break // signed already, or by another daemon meanwhile
			}
			t.ID = id
			ok, err := s.writeToken(ctx, kv, t, rev, key)
			if err != nil {
				return signed, err
			}
			if ok {
				signed++
				break
			}
			if attempt > 20 {
				return signed, fmt.Errorf("sign token %s: still conflicting after %d attempts", id, attempt)
			}
		}
	}
	return signed, nil
}

// CompareTokens orders tokens as ListTokens does: by issue time, then id.
func CompareTokens(aIssued time.Time, aID string, bIssued time.Time, bID string) int {
	if c := aIssued.Compare(bIssued); c != 0 {
		return c
	}
	return strings.Compare(aID, bID)
}
