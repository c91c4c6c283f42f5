package daemon

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/auth"
	"github.com/cascadehq/cascade/internal/ensure"
	"github.com/cascadehq/cascade/internal/secret"
	"github.com/cascadehq/cascade/internal/signing"
	"github.com/cascadehq/cascade/internal/store"
)

// BucketSecret holds the fingerprint of the deployment secret (never the
// secret): the first daemon with a secret records it, and a daemon with
// another one refuses to start.
const BucketSecret = "cascade-secret"

// DefaultSecretFile is the deployment secret's file in the data dir when
// no --secret-file is given.
const DefaultSecretFile = "secret.key"

// PageTokenPurpose derives the key of the List RPCs' page tokens from the
// deployment secret.
const PageTokenPurpose = "cascade page token v1"

// secretClaimKey is the bucket's one key.
const secretClaimKey = "fingerprint"

// secretClaim is the value of BucketSecret's key.
type secretClaim struct {
	Fingerprint string `json:"fingerprint"`
	// Migrated: the records of versions before the deployment secret
	// (private keys in clear, tokens without a MAC) have been sealed or
	// signed. Until then a daemon with the secret migrates them; after,
	// such records are refused.
	Migrated bool `json:"migrated"`
	// MAC is the hex HMAC-SHA256 of the claim under a key derived from the
	// secret: a claim a writer of the store changed or wrote is refused.
	MAC string `json:"mac"`
}

// claimPurpose derives the key of the claim's MAC.
const claimPurpose = "cascade secret claim v1"

func (c secretClaim) mac(key *secret.Key) string {
	m := hmac.New(sha256.New, key.Derive(claimPurpose))
	fmt.Fprintf(m, "%s\n%t", c.Fingerprint, c.Migrated)
	return hex.EncodeToString(m.Sum(nil))
}

func newClaim(key *secret.Key, migrated bool) secretClaim {
	c := secretClaim{Fingerprint: key.Fingerprint(), Migrated: migrated}
	c.MAC = c.mac(key)
	return c
}

// openTrust loads the deployment secret, checks that it is the store's
// and opens what it protects: the signing keys (sealed with a key derived
// from it), the tokens (their records carry a MAC under another) and the
// webhook secrets (sealed under a third, d.webhookSeal).
func (d *Daemon) openTrust(ctx context.Context) (_ *signing.Ring, _ *auth.Tokens, err error) {
	path, create := d.opts.SecretFile, false
	if path == "" {
		path, create = filepath.Join(d.opts.DataDir, DefaultSecretFile), true
	}
	// Records stored in clear by a version before the deployment secret
	// are migrated (sealed, given a MAC) only when this start creates the
	// secret (an embedded deployment upgrading) or the operator says so
	// (--migrate-unsealed): never because of anything a writer of the store
	// could have put there, such as a deleted claim.
	_, statErr := os.Stat(path)
	fresh := create && errors.Is(statErr, fs.ErrNotExist)
	key, err := secret.Load(path, create)
	if err != nil {
		return nil, nil, fmt.Errorf("deployment secret (--secret-file): %w", err)
	}
	if create && d.opts.NATSURL != "" {
		d.log.Warn("deployment secret kept in "+path+": every daemon on this NATS store must use the same secret; "+
			"copy the file (mode 0600) to the others and give it with --secret-file", "fingerprint", key.Fingerprint())
	}
	js := d.st.JetStream()
	pending, rev, err := claimSecret(ctx, js, d.opts.Replicas, key, path)
	if err != nil {
		return nil, nil, err
	}
	migrate := d.opts.MigrateUnsealed || (fresh && pending)
	if d.opts.MigrateUnsealed {
		d.log.Warn("--migrate-unsealed: records stored in clear (signing keys, token records, webhook secrets) are sealed and signed now; " +
			"use it once, when upgrading from a version before the deployment secret, on a store only Cascade wrote")
	}
	ring, err := signing.OpenRing(ctx, js, d.opts.Replicas, d.opts.Now, d.opts.KeyOverlap, signing.Sealing{
		Key: key.Derive(signing.SealingPurpose), MigratePlain: migrate, Log: d.log.With("component", "signing")})
	if err != nil {
		return nil, nil, fmt.Errorf("signing keys: %w", err)
	}
	defer func() {
		if err != nil {
			ring.Close()
		}
	}()
	tokens, err := auth.NewTokens(d.st, d.opts.Now, key.Derive(store.TokenMACPurpose), d.log.With("component", "auth"))
	if err != nil {
		return nil, nil, err
	}
	d.webhookSeal = store.WebhookSealing{Key: key.Derive(store.WebhookSealingPurpose), Log: d.log.With("component", "webhook-secrets")}
	if migrate || pending {
		if err := d.migrate(ctx, migrate, tokens, key, rev); err != nil {
			return nil, nil, err
		}
	}
	// Page tokens are encrypted under a third key, so any daemon on the
	// store can continue a listing another one started.
	d.pageKey = key.Derive(PageTokenPurpose)
	d.log.Info("deployment secret loaded", "file", path, "fingerprint", key.Fingerprint())
	return ring, tokens, nil
}

// migrate seals and signs the records an older version stored in clear
// (when migrating) and records that the store is migrated: from then on
// such records are refused.
func (d *Daemon) migrate(ctx context.Context, migrating bool, tokens *auth.Tokens, key *secret.Key, rev uint64) error {
	if migrating {
		chans, err := d.st.OpenChannels(ctx, d.webhookSeal)
		if err != nil {
			return err
		}
		if _, err := chans.SealPlainWebhookSecrets(ctx); err != nil {
			return fmt.Errorf("webhook secrets: %w", err)
		}
		n, err := tokens.SignUnsigned(ctx)
		if err != nil {
			return fmt.Errorf("tokens: %w", err)
		}
		if n > 0 {
			d.log.Info("gave a MAC to the token records that an older version stored without one", "tokens", n)
		}
	}
	return markMigrated(ctx, d.st.JetStream(), key, rev)
}

// claimSecret records key's fingerprint in BucketSecret if none is there
// yet, or refuses a different one. It returns whether the records of
// older versions are still to be migrated, and the claim's revision.
func claimSecret(ctx context.Context, js jetstream.JetStream, replicas int, key *secret.Key, path string) (migrate bool, rev uint64, err error) {
	if replicas == 0 {
		replicas = 1
	}
	kv, err := ensure.KeyValue(ctx, js, jetstream.KeyValueConfig{Bucket: BucketSecret,
		Description: "Fingerprint of Cascade's deployment secret (not the secret)", History: 1,
		Storage: jetstream.FileStorage, Replicas: replicas})
	if err != nil {
		return false, 0, fmt.Errorf("bucket %s: %w", BucketSecret, err)
	}
	for range 10 {
		e, err := getSettled(ctx, kv, secretClaimKey)
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			data, err := json.Marshal(newClaim(key, false))
			if err != nil {
				return false, 0, err
			}
			rev, err := kv.Create(ctx, secretClaimKey, data)
			if errors.Is(err, jetstream.ErrKeyExists) {
				continue // another daemon claimed it first: compare with its claim
			}
			if err != nil {
				return false, 0, fmt.Errorf("record the deployment secret's fingerprint: %w", err)
			}
			return true, rev, nil
		}
		if err != nil {
			return false, 0, fmt.Errorf("read the deployment secret's fingerprint: %w", err)
		}
		var c secretClaim
		if err := json.Unmarshal(e.Value(), &c); err != nil {
			return false, 0, fmt.Errorf("bucket %s: %w", BucketSecret, err)
		}
		if c.Fingerprint != key.Fingerprint() {
			return false, 0, fmt.Errorf("the deployment secret in %s (fingerprint %s) is not the one this NATS store was set up with "+
				"(fingerprint %s): every daemon on one store must use the same secret file (--secret-file); "+
				"without the store's secret its signing keys and tokens cannot be used", path, key.Fingerprint(), c.Fingerprint)
		}
		if !hmac.Equal([]byte(c.MAC), []byte(c.mac(key))) {
			return false, 0, fmt.Errorf("the claim of the deployment secret in bucket %s was changed by someone other than Cascade "+
				"(its MAC does not match): refusing to start; restore the store from a backup or remove the key %q of that bucket "+
				"and start again (nothing stored in clear will be trusted)", BucketSecret, secretClaimKey)
		}
		return !c.Migrated, e.Revision(), nil
	}
	return false, 0, fmt.Errorf("bucket %s: still conflicting", BucketSecret)
}

// getSettled reads key, waiting while a new replicated bucket has no
// leader yet (no responders, timeouts) until ctx ends.
func getSettled(ctx context.Context, kv jetstream.KeyValue, key string) (jetstream.KeyValueEntry, error) {
	for {
		e, err := kv.Get(ctx, key)
		if !errors.Is(err, nats.ErrNoResponders) && !errors.Is(err, nats.ErrTimeout) {
			return e, err
		}
		select {
		case <-time.After(250 * time.Millisecond):
		case <-ctx.Done():
			return nil, err
		}
	}
}

// markMigrated records that the records of older versions are migrated.
// Another daemon doing the same meanwhile is fine.
func markMigrated(ctx context.Context, js jetstream.JetStream, key *secret.Key, rev uint64) error {
	kv, err := js.KeyValue(ctx, BucketSecret)
	if err != nil {
		return fmt.Errorf("bucket %s: %w", BucketSecret, err)
	}
	data, err := json.Marshal(newClaim(key, true))
	if err != nil {
		return err
	}
	_, err = kv.Update(ctx, secretClaimKey, data, rev)
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return nil // another daemon marked it (a different claim is refused at its next start)
	}
	if err != nil {
		return fmt.Errorf("record the migration: %w", err)
	}
	return nil
}
