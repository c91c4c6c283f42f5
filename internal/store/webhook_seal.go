package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
)

// WebhookSealingPurpose is the purpose string of the key, derived from the
// deployment secret (secret.Key.Derive), that seals the webhook secrets.
const WebhookSealingPurpose = "cascade webhook secret sealing v1"

// WebhookSealing is how Channels keeps the webhook secrets in bucket
// cascade-webhook-secrets: each organisation's record sealed with
// AES-256-GCM under Key, its organisation id as additional data. A reader
// of the bucket without the deployment secret cannot sign a webhook
// request, and a sealed record moved to another organisation's key does
// not open.
type WebhookSealing struct {
	// Key is the 32-byte sealing key, derived from the deployment secret
	// for WebhookSealingPurpose.
	Key []byte
	// Log (nil: none) records the migration and refused records (with the
	// organisation, never a secret).
	Log *slog.Logger
}

// ErrPlainWebhookSecret is the error of a webhook secret record stored in
// clear, which only SealPlainWebhookSecrets (the migration) accepts.
var ErrPlainWebhookSecret = errors.New("refused: stored in clear")

// sealedWebhookSecret is a record of the bucket: the WebhookSecret's JSON,
// sealed (nonce and AES-256-GCM ciphertext). Versions before the
// deployment secret stored the WebhookSecret's JSON itself, in clear.
type sealedWebhookSecret struct {
	Sealed []byte `json:"sealed"`
}

// webhookSecretAD is the additional data of org's sealed record.
func webhookSecretAD(org breach.OrgID) []byte {
	return []byte("cascade webhook secret v1\x00" + string(org))
}

// sealWebhookSecret is w's record.
func (c *Channels) sealWebhookSecret(w *WebhookSecret) ([]byte, error) {
	plain, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	sealed, err := c.seal.Seal(plain, webhookSecretAD(w.Org))
	if err != nil {
		return nil, fmt.Errorf("seal webhook secret of %s: %w", w.Org, err)
	}
	return json.Marshal(sealedWebhookSecret{Sealed: sealed})
}

// openWebhookSecret reads org's record: the secret and false if it is
// sealed, or the secret and true if it is in clear (for the migration to
// seal, for anything else to refuse). An error never holds a secret.
func (c *Channels) openWebhookSecret(org breach.OrgID, data []byte) (*WebhookSecret, bool, error) {
	var rec struct {
		Sealed []byte  `json:"sealed"`
		Secret *string `json:"secret"`
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, false, fmt.Errorf("decode webhook secret of %s: %w", org, err)
	}
	var w WebhookSecret
	switch {
	case rec.Sealed != nil && rec.Secret != nil:
		return nil, false, fmt.Errorf("webhook secret of %s: both sealed and in clear", org)
	case rec.Sealed != nil:
		plain, err := c.seal.Open(rec.Sealed, webhookSecretAD(org))
		if err != nil {
			return nil, false, fmt.Errorf("the sealed webhook secret of %s does not open with this deployment secret "+
				"(sealed under another secret, for another organisation, or altered)", org)
		}
		if err := json.Unmarshal(plain, &w); err != nil || w.Org != org || w.Secret == "" {
			return nil, false, fmt.Errorf("the sealed webhook secret of %s is not a webhook secret of %s", org, org)
		}
		return &w, false, nil
	case rec.Secret != nil:
		if err := json.Unmarshal(data, &w); err != nil {
			return nil, false, fmt.Errorf("decode webhook secret of %s: %w", org, err)
		}
		if w.Secret == "" {
			return nil, false, fmt.Errorf("webhook secret of %s: empty", org)
		}
		w.Org = org
		return &w, true, nil
	}
	return nil, false, fmt.Errorf("webhook secret of %s: neither sealed nor a secret", org)
}

// SealPlainWebhookSecrets seals in place the webhook secrets that versions
// before the deployment secret stored in clear, and returns how many. The
// daemon calls it once, at its first start with the secret, before
// recording the migration; afterwards a record in clear is refused. A
// record that is neither (unreadable, or not opening) is an error: it is
// never overwritten. It is safe to call from several daemons at once.
func (c *Channels) SealPlainWebhookSecrets(ctx context.Context) (int, error) {
	listCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	lister, err := c.secrets.ListKeys(listCtx)
	if err != nil {
		return 0, fmt.Errorf("list bucket %s: %w", BucketWebhookSecrets, err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	if err := ctx.Err(); err != nil { // the listing stopped short
		return 0, fmt.Errorf("list bucket %s: %w", BucketWebhookSecrets, err)
	}
	sealed := 0
	for _, k := range keys {
		org := breach.OrgID(k)
		for attempt := 0; ; attempt++ {
			e, err := c.secrets.Get(ctx, k)
			if isNotFound(err) {
				break
			}
			if err != nil {
				return sealed, fmt.Errorf("read webhook secret of %s: %w", org, err)
			}
			w, plain, err := c.openWebhookSecret(org, e.Value())
			if err != nil {
				return sealed, fmt.Errorf("bucket %s: %w", BucketWebhookSecrets, err)
			}
			if !plain {
				break
			}
			data, err := c.sealWebhookSecret(w)
			if err != nil {
				return sealed, err
			}
			_, err = c.secrets.Update(ctx, k, data, e.Revision())
			if err == nil {
				sealed++
				break
			}
			if !isConflict(err) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) || attempt >= 20 {
				return sealed, fmt.Errorf("seal webhook secret of %s: %w", org, err)
			}
		}
	}
	if sealed > 0 {
		c.log.Info("sealed the webhook secrets that an older version stored in clear in bucket "+BucketWebhookSecrets,
			"organisations", sealed)
	}
	return sealed, nil
}
