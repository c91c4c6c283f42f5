package dispatch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/delivery"
	"github.com/cascadehq/cascade/internal/store"
)

// The shared consumer is filtered to the organisations the dispatcher has
// work for (a webhook, or e-mail), so the server does not hand it, and it
// does not acknowledge, the messages of every other organisation: at a
// fan-out and for reminders that is usually almost every message. With
// more than maxFilterOrgs such organisations it takes every message and
// settles the others itself.
//
// A newly added channel is not sent the organisation's history: an
// organisation that gains work while the daemons run gets the messages
// stored after its registry entry changed; one that a daemon finds with
// work when it starts, but not in the consumer's filter, gets the messages
// stored after the daemon started. Older ones are settled undelivered.
const maxFilterOrgs = 1000

var (
	allSubject = store.SubjectNotice + ".*"
	// noneSubject matches no organisation's subject (organisation ids
	// never start with "_"): the filter when none has work.
	noneSubject = store.SubjectNotice + "._none"
)

// filterFor is the consumer filter for the organisations in active.
func filterFor(active map[breach.OrgID]from) []string {
	switch {
	case len(active) == 0:
		return []string{noneSubject}
	case len(active) > maxFilterOrgs:
		return []string{allSubject}
	}
	out := make([]string, 0, len(active))
	for o := range active {
		out = append(out, delivery.Subject(o))
	}
	slices.Sort(out)
	return out
}

// routed reports whether a filter delivers org's messages.
func routed(filter []string, org breach.OrgID) bool {
	return slices.Contains(filter, allSubject) || slices.Contains(filter, delivery.Subject(org))
}

func (d *Dispatcher) consumerConfig(filter []string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:        ConsumerName,
		Description:    "Cascade daemons delivering to organisations' webhooks and e-mail",
		DeliverPolicy:  jetstream.DeliverNewPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        d.cfg.AckWait,
		MaxDeliver:     -1,
		MaxAckPending:  -1, // messages waiting for a retry must not hold back the others
		FilterSubjects: filter,
	}
}

// Prepare creates the shared consumer if there is none. Call it before
// anything publishes to organisations: the consumer starts with the
// messages published after it was first created (an existing deployment
// does not send its history to newly added channels). A new consumer takes
// every organisation's messages until the registry has been read; an
// existing one keeps its filter until then.
func (d *Dispatcher) Prepare(ctx context.Context) error {
	js := d.st.JetStream()
	s, err := js.Stream(ctx, store.StreamNotices)
	if err != nil {
		return fmt.Errorf("dispatch consumer: %w", err)
	}
	d.startSeq = s.CachedInfo().State.LastSeq
	c, err := js.Consumer(ctx, store.StreamNotices, ConsumerName)
	switch {
	case err == nil:
		cfg := c.CachedInfo().Config
		d.startFilter = cfg.FilterSubjects
		if cfg.FilterSubject != "" {
			d.startFilter = append(d.startFilter, cfg.FilterSubject)
		}
		if len(d.startFilter) == 0 {
			d.startFilter = []string{allSubject}
		}
		return nil
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		d.startFilter = []string{allSubject}
		if _, err := js.CreateOrUpdateConsumer(ctx, store.StreamNotices, d.consumerConfig(d.startFilter)); err != nil {
			return fmt.Errorf("dispatch consumer: %w", err)
		}
		return nil
	default:
		return fmt.Errorf("dispatch consumer: %w", err)
	}
}

// consumer sets the shared consumer's filter to the organisations with
// work (see filterFor).
func (d *Dispatcher) consumer(ctx context.Context) (jetstream.Consumer, error) {
	d.filterMu.Lock()
	defer d.filterMu.Unlock()
	d.mu.RLock()
	filter := filterFor(d.active)
	d.mu.RUnlock()
	c, err := d.st.JetStream().CreateOrUpdateConsumer(ctx, store.StreamNotices, d.consumerConfig(filter))
	if err != nil {
		return nil, fmt.Errorf("dispatch consumer: %w", err)
	}
	if applied := strings.Join(filter, " "); applied != d.applied {
		d.log.Debug("dispatch: consumer filter set", "subjects", len(filter), "filter", truncate(applied, 200))
		d.applied = applied
	}
	return c, nil
}

// from is where an organisation's messages start for the dispatcher: the
// ones stored up to stream sequence seq, or before time at (the server's
// clock), are not delivered to its channels.
type from struct {
	seq uint64
	at  time.Time
}

func (f from) excludes(md *jetstream.MsgMetadata) bool {
	return md.Sequence.Stream <= f.seq || md.Timestamp.Before(f.at)
}

// refilter applies the filter whenever the set of organisations with work
// changes, until ctx ends. Changes are coalesced: a registry import of many
// organisations updates the consumer a few times, not once per organisation.
func (d *Dispatcher) refilter(ctx context.Context) {
	for {
		select {
		case <-d.changed:
		case <-ctx.Done():
			return
		}
		if _, err := d.consumer(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("dispatch: cannot update the consumer's filter; retrying in 1s", "err", err)
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return
			}
			d.signalChanged()
		}
	}
}

func (d *Dispatcher) signalChanged() {
	select {
	case d.changed <- struct{}{}:
	default:
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
