package signing

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/ensure"
	"github.com/cascadehq/cascade/internal/secret"
)

// JetStream layout of the signing keys (part of the operator's contract,
// documented in docs/security.md).
const (
	// BucketKeys holds the private keys, sealed under a key derived from
	// the deployment secret: grant it to the daemons only.
	BucketKeys = "cascade-keys"
	// StreamKeys keeps the published public key sets.
	StreamKeys = "CASCADE_KEYS"
	// SubjectKeys is where the public key set is published; its last
	// message is the current set.
	SubjectKeys = "cascade.keys"

	// recordKey is the bucket's one key: every key, with its sealed
	// private key.
	recordKey = "active"
	// headerKeysRevision on a published set is the bucket revision it was
	// made from, so an older set is never published over a newer one.
	headerKeysRevision = "Cascade-Keys-Revision"
	// publishedHistory is how many published sets CASCADE_KEYS keeps.
	publishedHistory = 100
	// maxAttempts bounds the retries of a write that lost a race.
	maxAttempts = 100
)

// DefaultOverlap is how long a replaced key keeps verifying messages when
// OpenRing is given no overlap: long enough for a controller to verify a
// notice it received before a rotation.
const DefaultOverlap = 90 * 24 * time.Hour

// SealingPurpose is the purpose string of the sealing key derived from the
// deployment secret (secret.Key.Derive).
const SealingPurpose = "cascade signing-key sealing v1"

// Sealing is how a Ring keeps the private keys in bucket cascade-keys:
// each sealed with AES-256-GCM under Key, the key id as additional data.
// A reader of the bucket without the deployment secret cannot sign.
type Sealing struct {
	// Key is the 32-byte sealing key, derived from the deployment secret
	// for SealingPurpose.
	Key []byte
	// MigratePlain seals in place, when OpenRing reads them, the private
	// keys that versions before the deployment secret stored in clear.
	// Without it a private key in clear is refused (OpenRing fails; a
	// running Ring keeps its last good keys and logs an error): after the
	// migration only someone bypassing Cascade writes one, for example to
	// plant a key they know.
	MigratePlain bool
	// Log (nil: none) records the migration and unusable records.
	Log *slog.Logger
}

// Ring is the vendor's signing keys, kept in the JetStream bucket
// cascade-keys and shared by every daemon: exactly one key is active and
// signs new messages; replaced keys verify until they expire. A Ring
// follows the bucket, so a rotation by another daemon is picked up.
type Ring struct {
	kv      jetstream.KeyValue
	js      jetstream.JetStream
	stream  jetstream.Stream
	now     func() time.Time
	overlap time.Duration
	seal    *sealer
	log     *slog.Logger

	mu    sync.RWMutex
	state ringState

	stop context.CancelFunc
	done chan struct{}
}

// ringState is one version of the bucket's record.
type ringState struct {
	keys  []Key // newest first; never modified once stored here
	rev   uint64
	plain int // private keys stored in clear (read during a migration only)
}

// OpenRing creates or opens the bucket and the stream of the signing keys
// (with replicas, 0 meaning 1), makes the first key if there is none yet,
// publishes the public keys and follows the bucket until Close. It is safe
// to call from several daemons at once: they end up with one active key.
// now is the clock (nil: time.Now); overlap is how long a replaced key
// keeps verifying (0: DefaultOverlap); seal is how private keys are
// stored. A stored private key that does not open under seal.Key is an
// error, never skipped.
func OpenRing(ctx context.Context, js jetstream.JetStream, replicas int, now func() time.Time, overlap time.Duration, seal Sealing) (*Ring, error) {
	sl, err := newSealer(seal.Key)
	if err != nil {
		return nil, err
	}
	log := seal.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch {
	case replicas < 0:
		return nil, fmt.Errorf("signing: replicas %d must not be negative", replicas)
	case overlap < 0:
		return nil, fmt.Errorf("signing: overlap %s must not be negative", overlap)
	}
	if replicas == 0 {
		replicas = 1
	}
	if now == nil {
		now = time.Now
	}
	if overlap == 0 {
		overlap = DefaultOverlap
	}
	kv, err := ensure.KeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket:      BucketKeys,
		Description: "Cascade's message signing keys, private keys sealed under the deployment secret",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", BucketKeys, err)
	}
	stream, err := ensure.Stream(ctx, js, jetstream.StreamConfig{
		Name:              StreamKeys,
		Description:       "Public keys that verify Cascade's signatures; the last message is the current set",
		Subjects:          []string{SubjectKeys},
		MaxMsgsPerSubject: publishedHistory,
		AllowDirect:       true,
		Storage:           jetstream.FileStorage,
		Replicas:          replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", StreamKeys, err)
	}
	r := &Ring{kv: kv, js: js, stream: stream, now: now, overlap: overlap, seal: sl, log: log, done: make(chan struct{})}
	// The one read that may find private keys in clear: modify stores
	// them sealed.
	if _, err := r.modify(ctx, seal.MigratePlain, func(keys []Key, at time.Time) ([]Key, bool, error) {
		for _, k := range keys {
			if k.Active {
				return keys, false, nil
			}
		}
		k, err := generate(at)
		if err != nil {
			return nil, false, err
		}
		return append([]Key{k}, keys...), true, nil
	}); err != nil {
		return nil, err
	}
	// The watcher lives until Close, not until ctx ends.
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	w, err := kv.Watch(wctx, recordKey)
	if err != nil {
		stop()
		return nil, fmt.Errorf("watch bucket %s: %w", BucketKeys, err)
	}
	r.stop = stop
	go r.follow(wctx, w)
	if err := r.PublishKeys(ctx); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// follow adopts every newer version of the record until ctx ends.
func (r *Ring) follow(ctx context.Context, w jetstream.KeyWatcher) {
	defer close(r.done)
	defer func() {
		_ = w.Stop()
		go func() { // drain, so the subscription never blocks on a full channel
			for range w.Updates() {
			}
		}()
	}()
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue
			}
			keys, _, err := decodeRecord(e.Value(), r.seal, false)
			if err != nil {
				// Keep signing with the last good keys; a rotation or a
				// restart fails on this record until it is repaired.
				r.log.Error("signing keys in bucket "+BucketKeys+" cannot be used: signing on with the last good keys",
					"revision", e.Revision(), "err", err)
				continue
			}
			r.adopt(ringState{keys: keys, rev: e.Revision()})
		case <-ctx.Done():
			return
		}
	}
}

// adopt makes s the current state unless a newer one is already current.
func (r *Ring) adopt(s ringState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.rev > r.state.rev {
		r.state = s
	}
}

// Close stops following the bucket. The Ring's keys stay readable.
func (r *Ring) Close() {
	if r.stop == nil {
		return
	}
	r.stop()
	<-r.done
	r.stop = nil
}

// Active is the key that signs new messages. The caller must not modify it.
func (r *Ring) Active() *Key {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for i := range r.state.keys {
		if r.state.keys[i].Active {
			return &r.state.keys[i]
		}
	}
	return nil // not reached once OpenRing returned
}

// Public is every key that verifies messages now, newest first, without
// private keys: what ListSigningKeys returns and cascade.keys carries.
func (r *Ring) Public() []PublicKey {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return publicAt(r.state.keys, r.now())
}

func publicAt(keys []Key, now time.Time) []PublicKey {
	out := make([]PublicKey, 0, len(keys))
	for i := range keys {
		if p := keys[i].PublicPart(); p.ValidAt(now) {
			out = append(out, p)
		}
	}
	return out
}

// Rotate makes a new key active. The previous one stops signing and
// verifies messages until now + overlap; keys whose time has passed are
// dropped. The new public key set is published before Rotate returns.
func (r *Ring) Rotate(ctx context.Context) (*Key, error) {
	s, err := r.modify(ctx, false, func(keys []Key, at time.Time) ([]Key, bool, error) {
		k, err := generate(at)
		if err != nil {
			return nil, false, err
		}
		out := []Key{k}
		for _, old := range keys {
			switch {
			case old.Active:
				old.Active, old.ExpiresAt = false, at.Add(r.overlap)
			case !at.Before(old.ExpiresAt):
				continue // expired: drop it
			}
			out = append(out, old)
		}
		return out, true, nil
	})
	if err != nil {
		return nil, err
	}
	if err := r.PublishKeys(ctx); err != nil {
		return nil, fmt.Errorf("rotated to key %s, but: %w", s.keys[0].ID, err)
	}
	k := s.keys[0]
	return &k, nil
}

// modify is the one read-modify-write of the record: it reads the stored
// keys (accepting private keys in clear only with migrate), applies change
// at the clock's time and, if change altered them or some were in clear,
// stores the result, sealed, expecting the revision it read (Create when
// there was none), retrying when another daemon wrote in between. The
// state written (or read, if unchanged) becomes current.
func (r *Ring) modify(ctx context.Context, migrate bool, change func(keys []Key, now time.Time) ([]Key, bool, error)) (ringState, error) {
	for range maxAttempts {
		cur, err := r.read(ctx, migrate)
		if err != nil {
			return ringState{}, err
		}
		keys, changed, err := change(cur.keys, r.now().UTC().Truncate(time.Second))
		if err != nil {
			return ringState{}, err
		}
		if !changed && cur.plain == 0 {
			r.adopt(cur)
			return cur, nil
		}
		data, err := encodeRecord(keys, r.seal)
		if err != nil {
			return ringState{}, err
		}
		var rev uint64
		if cur.rev == 0 {
			rev, err = r.kv.Create(ctx, recordKey, data)
		} else {
			rev, err = r.kv.Update(ctx, recordKey, data, cur.rev)
		}
		if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			continue // another daemon wrote first: start again from its keys
		}
		if err != nil {
			return ringState{}, fmt.Errorf("store signing keys: %w", err)
		}
		if cur.plain > 0 {
			r.log.Info("sealed the private signing keys that an older version stored in clear in bucket "+BucketKeys,
				"keys", cur.plain)
		}
		s := ringState{keys: keys, rev: rev}
		r.adopt(s)
		return s, nil
	}
	return ringState{}, fmt.Errorf("store signing keys: still conflicting after %d attempts", maxAttempts)
}

// read is the stored record; rev 0 when there is none. Private keys in
// clear are an error unless plainOK.
func (r *Ring) read(ctx context.Context, plainOK bool) (ringState, error) {
	e, err := r.kv.Get(ctx, recordKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return ringState{}, nil
	}
	if err != nil {
		return ringState{}, fmt.Errorf("read signing keys: %w", err)
	}
	keys, plain, err := decodeRecord(e.Value(), r.seal, plainOK)
	if err != nil {
		// Never overwrite what cannot be read: it holds private keys.
		return ringState{}, fmt.Errorf("read signing keys from bucket %s: %w", BucketKeys, err)
	}
	return ringState{keys: keys, rev: e.Revision(), plain: plain}, nil
}

// PublishKeys publishes the public keys, {"keys": [...]}, on cascade.keys,
// unless the last set there is as new. Of several daemons publishing at
// once, a set made from an older version of the bucket never ends up last.
func (r *Ring) PublishKeys(ctx context.Context) error {
	for range maxAttempts {
		cur, err := r.read(ctx, false)
		if err != nil {
			return err
		}
		var lastSeq uint64
		last, err := r.stream.GetLastMsgForSubject(ctx, SubjectKeys)
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
		case err != nil:
			return fmt.Errorf("read last %s: %w", SubjectKeys, err)
		default:
			lastSeq = last.Sequence
			if rev, err := strconv.ParseUint(last.Header.Get(headerKeysRevision), 10, 64); err == nil && rev >= cur.rev {
				return nil
			}
		}
		data, err := json.Marshal(KeySet{Keys: publicAt(cur.keys, r.now())})
		if err != nil {
			return err
		}
		m := &nats.Msg{Subject: SubjectKeys, Data: data, Header: nats.Header{}}
		m.Header.Set(headerKeysRevision, strconv.FormatUint(cur.rev, 10))
		m.Header.Set("Content-Type", "application/json")
		_, err = r.js.PublishMsg(ctx, m, jetstream.WithExpectStream(StreamKeys), jetstream.WithExpectLastSequencePerSubject(lastSeq))
		if isWrongLastSequence(err) {
			continue // another daemon published meanwhile: compare again
		}
		if err != nil {
			return fmt.Errorf("publish %s: %w", SubjectKeys, err)
		}
		return nil
	}
	return fmt.Errorf("publish %s: still conflicting after %d attempts", SubjectKeys, maxAttempts)
}

// isWrongLastSequence reports a failed Nats-Expected-Last-Subject-Sequence check.
func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// generate makes a new active key from crypto/rand.
func generate(at time.Time) (Key, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return Key{}, fmt.Errorf("generate signing key: %w", err)
	}
	return newKey(seed, at), nil
}

// storedKey is one key in the bucket: the public fields and the private
// key, its RFC 8032 32-byte seed, sealed (nonce and AES-256-GCM
// ciphertext). Versions before the deployment secret stored the seed in
// clear, as private_key.
type storedKey struct {
	PublicKey
	Sealed []byte `json:"sealed_private_key,omitempty"`
	Seed   []byte `json:"private_key,omitempty"`
}

// record is the bucket's value.
type record struct {
	Keys []storedKey `json:"keys"`
}

func encodeRecord(keys []Key, s *sealer) ([]byte, error) {
	var rec record
	for i := range keys {
		sealed, err := s.seal(keys[i].ID, keys[i].Private.Seed())
		if err != nil {
			return nil, err
		}
		rec.Keys = append(rec.Keys, storedKey{PublicKey: keys[i].PublicPart(), Sealed: sealed})
	}
	return json.Marshal(rec)
}

// decodeRecord reads the bucket's value, opens every private key and
// checks that it is its public key's and that at most one key is active.
// A private key in clear is an error unless plainOK; plain counts them.
func decodeRecord(data []byte, s *sealer, plainOK bool) (keys []Key, plain int, err error) {
	var rec record
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, 0, err
	}
	keys = make([]Key, 0, len(rec.Keys))
	active := 0
	for _, sk := range rec.Keys {
		if err := sk.check(); err != nil {
			return nil, 0, err
		}
		seed := sk.Seed
		switch {
		case sk.Sealed != nil && sk.Seed != nil:
			return nil, 0, fmt.Errorf("key %q: both a sealed private key and one in clear", sk.ID)
		case sk.Sealed != nil:
			if seed, err = s.open(sk.ID, sk.Sealed); err != nil {
				return nil, 0, err
			}
		case sk.Seed == nil:
			return nil, 0, fmt.Errorf("key %q: no private key", sk.ID)
		case !plainOK:
			return nil, 0, fmt.Errorf("key %q: private key in clear, refused: Cascade stores private keys sealed "+
				"under the deployment secret since its first start with one, so this one was written by someone else "+
				"(someone who knows it could sign as the vendor): find out who, then remove it from bucket %s", sk.ID, BucketKeys)
		default:
			plain++
		}
		if len(seed) != ed25519.SeedSize {
			return nil, 0, fmt.Errorf("key %q: private key of %d bytes, want %d", sk.ID, len(seed), ed25519.SeedSize)
		}
		k := newKey(seed, sk.CreatedAt)
		if !k.Public.Equal(sk.Public) {
			return nil, 0, fmt.Errorf("key %q: the private key is not that of the public key", sk.ID)
		}
		k.Active, k.ExpiresAt = sk.Active, sk.ExpiresAt
		if k.Active {
			active++
		}
		keys = append(keys, k)
	}
	if active > 1 {
		return nil, 0, fmt.Errorf("%d active keys, want at most 1", active)
	}
	return keys, plain, nil
}

// sealer seals private keys with AES-256-GCM (secret.Sealer), binding
// each to its key id.
type sealer struct {
	box *secret.Sealer
}

func newSealer(key []byte) (*sealer, error) {
	box, err := secret.NewSealer(key)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return &sealer{box: box}, nil
}

// sealedAD is the additional data of key id's sealed private key: a sealed
// key moved to another key's entry does not open.
func sealedAD(id string) []byte { return []byte("cascade signing-key v1\x00" + id) }

// seal is a random nonce followed by the ciphertext of seed.
func (s *sealer) seal(id string, seed []byte) ([]byte, error) {
	out, err := s.box.Seal(seed, sealedAD(id))
	if err != nil {
		return nil, fmt.Errorf("seal signing key: %w", err)
	}
	return out, nil
}

// open is the seed sealed for key id, or an error if it does not open.
func (s *sealer) open(id string, sealed []byte) ([]byte, error) {
	if len(sealed) < secret.SealOverhead {
		return nil, fmt.Errorf("key %q: sealed private key of %d bytes, too short", id, len(sealed))
	}
	seed, err := s.box.Open(sealed, sealedAD(id))
	if err != nil {
		return nil, fmt.Errorf("key %q: the sealed private key does not open with this deployment secret "+
			"(sealed under another secret, or altered)", id)
	}
	return seed, nil
}
