package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/ensure"
	"github.com/cascadehq/cascade/internal/secret"
)

// JetStream layout of the webhook and e-mail channels (documented in
// docs/operations.md with the rest).
const (
	StreamDeadLetters    = "CASCADE_DEADLETTER"      // cascade.deadletter.<breach_id>.<org_id>
	SubjectDeadLetter    = "cascade.deadletter"      // + ".<breach_id>.<org_id>"
	BucketWebhookSecrets = "cascade-webhook-secrets" // org id -> WebhookSecret
	BucketDispatch       = "cascade-dispatch"        // CASCADE_NOTICES sequence -> channels done
	dispatchProgressTTL  = 7 * 24 * time.Hour        // far beyond the longest retry schedule
	maxDeadLetterBytes   = 64 << 10                  // one dead-letter record
)

// WebhookSecret is an organisation's webhook signing secret. After a
// rotation the previous secret keeps signing, beside the new one, until
// PreviousUntil, so a receiver can switch without losing messages.
type WebhookSecret struct {
	Org           breach.OrgID `json:"org_id"`
	Secret        string       `json:"secret"`
	CreatedAt     time.Time    `json:"created_at"`
	Previous      string       `json:"previous,omitempty"`
	PreviousUntil time.Time    `json:"previous_until,omitzero"`
	// IssuedBy is who issued the secret through the API; nil when not
	// recorded.
	IssuedBy *breach.Principal `json:"issued_by,omitempty"`
}

// Valid are the secrets that sign at now: the current one first.
func (w *WebhookSecret) Valid(now time.Time) []string {
	out := []string{w.Secret}
	if w.Previous != "" && now.Before(w.PreviousUntil) {
		out = append(out, w.Previous)
	}
	return out
}

// String never shows the secrets.
func (w WebhookSecret) String() string { return "webhook secret of " + string(w.Org) + " (redacted)" }

// DeadLetterEntry is a dead letter with its position in CASCADE_DEADLETTER.
type DeadLetterEntry struct {
	Seq uint64
	breach.DeadLetter
}

// Channels is the state of the webhook and e-mail channels: dead letters,
// webhook secrets, and which channels a message has reached so far.
type Channels struct {
	deadLetters jetstream.Stream
	js          jetstream.JetStream
	secrets     jetstream.KeyValue
	progress    jetstream.KeyValue
	seal        *secret.Sealer
	log         *slog.Logger
}

// OpenChannels creates or updates the stream and buckets of the webhook
// and e-mail channels; seal is how the webhook secrets are stored. It is
// safe to call from several daemons at once.
func (s *Store) OpenChannels(ctx context.Context, seal WebhookSealing) (*Channels, error) {
	box, err := secret.NewSealer(seal.Key)
	if err != nil {
		return nil, fmt.Errorf("webhook secrets: %w", err)
	}
	log := seal.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, err := ensure.Stream(ctx, s.js, jetstream.StreamConfig{
		Name:        StreamDeadLetters,
		Description: "Messages given up on after every retry, per channel, for the vendor",
		Subjects:    []string{SubjectDeadLetter + ".>"},
		Duplicates:  24 * time.Hour,
		MaxMsgSize:  maxDeadLetterBytes,
		Storage:     jetstream.FileStorage,
		Replicas:    s.replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", StreamDeadLetters, err)
	}
	c := &Channels{deadLetters: st, js: s.js, seal: box, log: log}
	for _, b := range []struct {
		kv  *jetstream.KeyValue
		cfg jetstream.KeyValueConfig
	}{
		{&c.secrets, jetstream.KeyValueConfig{Bucket: BucketWebhookSecrets, Description: "Webhook signing secrets by organisation id, sealed under the deployment secret (daemons only)", History: 1}},
		{&c.progress, jetstream.KeyValueConfig{Bucket: BucketDispatch, Description: "Channels each message being retried has reached", History: 1, TTL: dispatchProgressTTL}},
	} {
		b.cfg.Storage = jetstream.FileStorage
		b.cfg.Replicas = s.replicas
		kv, err := ensure.KeyValue(ctx, s.js, b.cfg)
		if err != nil {
			return nil, fmt.Errorf("bucket %s: %w", b.cfg.Bucket, err)
		}
		*b.kv = kv
	}
	return c, nil
}

// WebhookSecret returns an organisation's webhook secret, or
// breach.ErrNotFound if none was issued. A record that is not sealed
// under this deployment secret (stored in clear, by an older version
// before the migration or by someone bypassing Cascade, or altered) is an
// error, logged with the organisation.
func (c *Channels) WebhookSecret(ctx context.Context, org breach.OrgID) (*WebhookSecret, error) {
	w, _, err := c.webhookSecret(ctx, org)
	if err != nil && !errors.Is(err, breach.ErrNotFound) && !errors.Is(err, errReadWebhookSecret) {
		c.log.Error("webhook secret refused: the organisation's webhooks fail until the vendor issues a new one",
			"org_id", string(org), "bucket", BucketWebhookSecrets, "err", err)
	}
	return w, err
}

// errReadWebhookSecret marks a failure to read the bucket (not a refused
// record).
var errReadWebhookSecret = errors.New("read webhook secret")

func (c *Channels) webhookSecret(ctx context.Context, org breach.OrgID) (*WebhookSecret, uint64, error) {
	e, err := c.secrets.Get(ctx, string(org))
	if err != nil {
		if isNotFound(err) {
			return nil, 0, fmt.Errorf("webhook secret of %s: %w", org, breach.ErrNotFound)
		}
		return nil, 0, fmt.Errorf("%w of %s: %w", errReadWebhookSecret, org, err)
	}
	w, plain, err := c.openWebhookSecret(org, e.Value())
	if err != nil {
		return nil, e.Revision(), err
	}
	if plain {
		return nil, e.Revision(), fmt.Errorf("webhook secret of %s %w in bucket %s; Cascade stores webhook secrets sealed under "+
			"the deployment secret since its first start with one, so this record was written by someone else (who knows "+
			"the secret and could forge webhook requests to the organisation): find out who, then issue a new secret "+
			"with cascadectl webhook secret --org %s", org, ErrPlainWebhookSecret, BucketWebhookSecrets, org)
	}
	return w, e.Revision(), nil
}

// RotateWebhookSecret makes secret the organisation's current webhook
// secret, created at now; the one it replaces keeps signing until
// now+overlap.
func (c *Channels) RotateWebhookSecret(ctx context.Context, org breach.OrgID, secret string, now time.Time, overlap time.Duration) (*WebhookSecret, error) {
	return c.RotateWebhookSecretBy(ctx, org, secret, now, overlap, nil)
}

// RotateWebhookSecretBy is RotateWebhookSecret recording who issued the
// secret (by, through the API). A stored record that is refused (in clear
// after the migration, or not opening) is replaced and its secret does not
// keep signing: issuing a new secret is how the vendor recovers from one.
func (c *Channels) RotateWebhookSecretBy(ctx context.Context, org breach.OrgID, secret string, now time.Time, overlap time.Duration,
	by *breach.Principal) (*WebhookSecret, error) {
	if secret == "" {
		return nil, fmt.Errorf("webhook secret of %s: empty", org)
	}
	for attempt := 0; ; attempt++ {
		old, rev, err := c.webhookSecret(ctx, org)
		switch {
		case err == nil, errors.Is(err, breach.ErrNotFound):
		case errors.Is(err, errReadWebhookSecret):
			return nil, err
		default:
			c.log.Warn("replacing a refused webhook secret record; its secret does not keep signing",
				"org_id", string(org), "bucket", BucketWebhookSecrets, "err", err)
		}
		w := &WebhookSecret{Org: org, Secret: secret, CreatedAt: now, IssuedBy: by}
		if old != nil && overlap > 0 {
			w.Previous, w.PreviousUntil = old.Secret, now.Add(overlap)
		}
		data, err := c.sealWebhookSecret(w)
		if err != nil {
			return nil, err
		}
		if rev == 0 {
			_, err = c.secrets.Create(ctx, string(org), data)
		} else {
			_, err = c.secrets.Update(ctx, string(org), data, rev)
		}
		if err == nil {
			return w, nil
		}
		if !isConflict(err) && !errors.Is(err, jetstream.ErrKeyExists) || attempt >= 20 {
			return nil, fmt.Errorf("store webhook secret of %s: %w", org, err)
		}
	}
}

func deadLetterSubject(id breach.NoticeID) string {
	return SubjectDeadLetter + "." + string(id.Breach) + "." + string(id.Org)
}

// PutDeadLetter stores a dead letter. The same message on the same
// channel is stored once (a repeat after a crash is a no-op).
func (c *Channels) PutDeadLetter(ctx context.Context, d breach.DeadLetter) error {
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	m := &nats.Msg{Subject: deadLetterSubject(d.NoticeID), Data: data, Header: nats.Header{}}
	m.Header.Set("Content-Type", "application/json")
	_, err = c.js.PublishMsg(ctx, m, jetstream.WithMsgID(d.MessageID+"/"+string(d.Channel)), jetstream.WithExpectStream(StreamDeadLetters))
	if err != nil {
		return fmt.Errorf("store dead letter of %s: %w", d.NoticeID, err)
	}
	return nil
}

// DeadLetters returns up to limit dead letters after stream sequence
// after, oldest first, of one breach and/or one organisation (empty: all),
// and whether more follow.
func (c *Channels) DeadLetters(ctx context.Context, b breach.BreachID, org breach.OrgID, after uint64, limit int) ([]DeadLetterEntry, bool, error) {
	bt, ot := string(b), string(org)
	if bt == "" {
		bt = "*"
	}
	if ot == "" {
		ot = "*"
	}
	filter := SubjectDeadLetter + "." + bt + "." + ot
	cons, err := c.deadLetters.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{filter},
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       after + 1,
		InactiveThreshold: 5 * time.Second,
	})
	if err != nil {
		return nil, false, fmt.Errorf("read dead letters: %w", err)
	}
	info := cons.CachedInfo()
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = c.deadLetters.DeleteConsumer(dctx, info.Name)
	}()
	if info.NumPending == 0 {
		return nil, false, nil
	}
	it, err := cons.Messages()
	if err != nil {
		return nil, false, fmt.Errorf("read dead letters: %w", err)
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	var out []DeadLetterEntry
	for {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return nil, false, ctx.Err()
			}
			return nil, false, fmt.Errorf("read dead letters: %w", err)
		}
		md, err := m.Metadata()
		if err != nil {
			return nil, false, err
		}
		var d breach.DeadLetter
		if err := json.Unmarshal(m.Data(), &d); err != nil {
			return nil, false, fmt.Errorf("decode dead letter %d: %w", md.Sequence.Stream, err)
		}
		out = append(out, DeadLetterEntry{Seq: md.Sequence.Stream, DeadLetter: d})
		if md.NumPending == 0 {
			return out, false, nil
		}
		if len(out) >= limit {
			return out, true, nil
		}
	}
}

func progressKey(seq uint64) string { return strconv.FormatUint(seq, 10) }

// Progress returns the channels that message seq of CASCADE_NOTICES has
// reached so far (recorded while other channels are retried).
func (c *Channels) Progress(ctx context.Context, seq uint64) ([]breach.Channel, error) {
	e, err := c.progress.Get(ctx, progressKey(seq))
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read delivery progress of message %d: %w", seq, err)
	}
	var done []breach.Channel
	if err := json.Unmarshal(e.Value(), &done); err != nil {
		return nil, fmt.Errorf("decode delivery progress of message %d: %w", seq, err)
	}
	return done, nil
}

// PutProgress records the channels message seq has reached.
func (c *Channels) PutProgress(ctx context.Context, seq uint64, done []breach.Channel) error {
	data, err := json.Marshal(slices.Compact(slices.Sorted(slices.Values(done))))
	if err != nil {
		return err
	}
	if _, err := c.progress.Put(ctx, progressKey(seq), data); err != nil {
		return fmt.Errorf("store delivery progress of message %d: %w", seq, err)
	}
	return nil
}

// DeleteProgress forgets message seq's progress once it is settled.
func (c *Channels) DeleteProgress(ctx context.Context, seq uint64) error {
	if err := c.progress.Purge(ctx, progressKey(seq)); err != nil && !isNotFound(err) {
		return fmt.Errorf("forget delivery progress of message %d: %w", seq, err)
	}
	return nil
}

// WatchOrgs calls fn with every organisation of the registry, then ready
// once, then with every change (deleted: the organisation was removed; at:
// when the entry was written, by the server's clock)
// until ctx ends or the watch fails.
func (s *Store) WatchOrgs(ctx context.Context, fn func(o breach.Org, deleted bool, at time.Time), ready func()) error {
	w, err := s.orgs.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watch registry: %w", err)
	}
	defer stopWatcher(w)
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("watch registry: stopped")
			}
			if e == nil {
				ready()
				continue
			}
			if e.Operation() != jetstream.KeyValuePut {
				fn(breach.Org{ID: breach.OrgID(e.Key())}, true, e.Created())
				continue
			}
			var o breach.Org
			if err := json.Unmarshal(e.Value(), &o); err != nil {
				return fmt.Errorf("decode organisation %s: %w", e.Key(), err)
			}
			fn(o, false, e.Created())
		case <-ctx.Done():
			return nil
		}
	}
}
