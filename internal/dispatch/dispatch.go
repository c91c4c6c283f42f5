// Package dispatch delivers every message Cascade sends to an organisation
// to the organisation's webhook and e-mail channels. Its source is the
// durable NATS channel itself: stream CASCADE_NOTICES, read through one
// durable consumer that every daemon shares (each message is handled by
// one daemon), filtered to the organisations that have a webhook or
// e-mail (filter.go). The fan-out never waits for it. It is the channels
// only: what a message says is internal/message, and publishing it on
// NATS is internal/delivery; the channels themselves are
// internal/webhook and internal/email.
//
// A message that fails on a channel is retried by JetStream redelivery
// (NakWithDelay, on the Backoff schedule), so retries survive restarts and
// crashes of any daemon; when a message has several channels, the ones it
// has reached are kept in a bucket so a retry repeats only the failed
// ones. A message given up on becomes a dead letter (stream
// CASCADE_DEADLETTER) that the vendor lists. Every attempt is recorded on
// the notice (per channel: attempts, last error, delivered time) through
// the store's CAS helper, so it is part of the notice's history. For an
// organisation without the NATS channel the first successful delivery on
// another channel is the delivery that starts its clock.
package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/consume"
	"github.com/cascadehq/cascade/internal/email"
	"github.com/cascadehq/cascade/internal/message"
	"github.com/cascadehq/cascade/internal/store"
	"github.com/cascadehq/cascade/internal/webhook"
)

// ConsumerName is the durable consumer of CASCADE_NOTICES every daemon
// shares.
const ConsumerName = "cascade-dispatch"

// actor of the changes the dispatcher records.
const actor = "cascade"

// Defaults.
const (
	DefaultWorkers    = 16
	DefaultAckWait    = 5 * time.Minute
	DefaultRecordWait = 5 * time.Second
)

// Config configures a Dispatcher.
type Config struct {
	// Window is the controller deadline after delivery (--deadline), for
	// organisations whose clock a webhook or e-mail delivery starts.
	Window  time.Duration
	Backoff Backoff // zero fields: DefaultBackoff's
	// Webhook posts to webhooks; nil means webhook.NewClient with defaults,
	// which refuses non-global addresses. A refused address (an error
	// wrapping webhook.ErrNotAllowed) is dead-lettered at once.
	Webhook *webhook.Client
	// Relay is the SMTP relay; nil means e-mail is not configured: the
	// channel is recorded as not configured on the notices of
	// organisations whose channels column names email, and skipped for
	// those that have it only by default.
	Relay *email.Relay
	// Workers is how many messages are handled at once; 0 means
	// DefaultWorkers.
	Workers int
	// AckWait: a message being handled by a daemon that died is taken
	// over after this long; 0 means DefaultAckWait.
	AckWait time.Duration
	// RecordWait bounds how long a delivery's record waits for the
	// publisher's own record of the message (so the two do not collide on
	// the notice's ledger); 0 means DefaultRecordWait.
	RecordWait time.Duration
	// OnDelivered is called after a webhook or e-mail delivery of a notice
	// or revision whose clock starts on a channel (Notice.ClockOnChannel:
	// its organisation takes no notices over NATS), with the notice as
	// stored: its first such delivery started the clock. It may be called
	// more than once for one notice and must be idempotent (the daemon
	// passes deadline.Timers.ArmNotice). An error is retried (the message is
	// redelivered; channels already reached are not repeated).
	OnDelivered func(ctx context.Context, n *breach.Notice) error
	Now         func() time.Time // nil: time.Now
	Log         *slog.Logger
	// Metrics counts each attempt's result per channel; nil counts nothing.
	Metrics DeliveryCounter
}

// DeliveryCounter counts delivery results by channel and result
// (delivered, failed, dead_lettered); metrics.Metrics implements it.
type DeliveryCounter interface {
	Delivery(channel, result string)
}

type noCount struct{}

func (noCount) Delivery(string, string) {}

// Dispatcher delivers messages to webhooks and e-mail.
type Dispatcher struct {
	st   *store.Store
	ch   *store.Channels
	cfg  Config
	back Backoff
	hook *webhook.Client
	log  *slog.Logger
	now  func() time.Time

	// The organisations the dispatcher has work for, kept from a watch of
	// the registry, each with where its messages start (filter.go). The
	// consumer is filtered to them; messages of any other organisation that
	// still arrive are settled without reading the registry.
	mu        sync.RWMutex
	active    map[breach.OrgID]from
	isReady   bool
	ready     chan struct{} // closed once the registry was read
	readyOnce sync.Once
	changed   chan struct{} // the set of active organisations changed

	filterMu    sync.Mutex // serialises consumer updates
	startFilter []string   // the consumer's filter when this dispatcher started
	startSeq    uint64     // the stream's last sequence then
	applied     string     // the filter last applied
}

// New returns a dispatcher over the store and the channel state.
func New(st *store.Store, ch *store.Channels, cfg Config) *Dispatcher {
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = DefaultAckWait
	}
	if cfg.RecordWait <= 0 {
		cfg.RecordWait = DefaultRecordWait
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Webhook == nil {
		cfg.Webhook = webhook.NewClient(webhook.Config{Now: cfg.Now})
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noCount{}
	}
	return &Dispatcher{st: st, ch: ch, cfg: cfg, back: cfg.Backoff.withDefaults(), hook: cfg.Webhook, log: cfg.Log, now: cfg.Now,
		active: map[breach.OrgID]from{}, ready: make(chan struct{}), changed: make(chan struct{}, 1)}
}

// Run delivers messages until ctx ends. If the consumer fails it is set
// up again.
func (d *Dispatcher) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if d.startFilter == nil {
		if err := d.Prepare(ctx); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() { defer wg.Done(); d.watchRegistry(ctx) }()
	select {
	case <-d.ready:
	case <-ctx.Done():
		return nil
	}
	wg.Add(1)
	go func() { defer wg.Done(); d.refilter(ctx) }()
	return consume.Loop{
		Name:        "dispatch",
		Consumer:    d.consumer,
		Handle:      d.handle,
		Outstanding: d.cfg.Workers,
		Log:         d.log,
	}.Run(ctx)
}

// hasWork reports whether the dispatcher has anything to do for o: a
// webhook, or e-mail (sent with a relay; without one recorded as not
// configured where the registry names the channel).
func (d *Dispatcher) hasWork(o breach.Org) bool {
	return o.HasChannel(breach.ChannelWebhook) ||
		o.HasChannel(breach.ChannelEmail) && (d.cfg.Relay != nil || slices.Contains(o.Channels, breach.ChannelEmail)) ||
		len(o.EscalationAddresses()) > 0 && d.cfg.Relay != nil
}

// watchRegistry keeps the set of organisations with work up to date until
// ctx ends. Once the registry has been read it warns, once, when
// organisations have e-mail but no relay is configured.
func (d *Dispatcher) watchRegistry(ctx context.Context) {
	var named, byDefault int
	for {
		err := d.st.WatchOrgs(ctx, func(o breach.Org, deleted bool, changed time.Time) {
			work := !deleted && d.hasWork(o)
			d.mu.Lock()
			_, was := d.active[o.ID]
			switch {
			case work && !was:
				f := from{at: changed} // gained work now
				if !d.isReady {
					f = from{seq: d.startSeq} // had it when this daemon started
					if routed(d.startFilter, o.ID) {
						f = from{} // and was routed before: its backlog is its own
					}
				}
				d.active[o.ID] = f
			case !work && was:
				delete(d.active, o.ID)
			}
			signal := d.isReady && work != was
			d.mu.Unlock()
			if signal {
				d.signalChanged()
			}
			if d.cfg.Relay == nil && !deleted {
				switch {
				case slices.Contains(o.Channels, breach.ChannelEmail):
					named++
				case o.HasChannel(breach.ChannelEmail):
					byDefault++
				}
			}
		}, func() {
			d.readyOnce.Do(func() {
				d.mu.Lock()
				d.isReady = true
				d.mu.Unlock()
				if named+byDefault > 0 {
					// A warning only when the registry asks for e-mail by
					// name; e-mail addresses alone are normal without a relay.
					level := slog.LevelInfo
					if named > 0 {
						level = slog.LevelWarn
					}
					d.log.Log(ctx, level, "no SMTP relay configured (--smtp-addr): e-mail is not sent; organisations whose channels column names email have it recorded as not configured on their notices",
						"orgs_naming_email", named, "orgs_with_email_by_default", byDefault)
				}
				close(d.ready)
			})
		})
		if ctx.Err() != nil {
			return
		}
		d.log.Warn("dispatch: registry watch interrupted; restarting in 1s", "err", err)
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return
		}
	}
}

// errNotConfigured: the channel cannot deliver at all (no relay).
var errNotConfigured = errors.New("no SMTP relay is configured (cascaded --smtp-addr)")

// job is one message being handled.
type job struct {
	m       jetstream.Msg
	md      *jetstream.MsgMetadata
	org     breach.Org
	body    message.Message
	id      breach.NoticeID
	msgID   string
	attempt int
	log     *slog.Logger // with the message's ids and attempt
	// escalated are the escalation addresses the e-mail of this attempt
	// went to (set when it was sent), to record on the notice.
	escalated []string
}

// aboutNotice reports whether x is about a notice, whose history records
// its deliveries; a token message (message.Token: a token issued or
// revoked for the organisation) is not: it is delivered like any other,
// with no notice to record on, and no dead letter (which names a notice)
// when given up on.
func (x *job) aboutNotice() bool { return !message.IsTokenEvent(x.body.Event) }

// carriesNotice reports whether x delivers the notice (first delivery or
// a revision), which for a notice whose clock starts on a channel
// (Notice.ClockOnChannel) starts the clock.
func (x *job) carriesNotice() bool {
	return x.body.Event == message.EventNotice || x.body.Event == message.EventRevision
}

// channels are the message's channels besides NATS: the organisation's,
// and e-mail for a message that escalates (the last reminder, the overdue
// message) to an organisation with an escalation address, when e-mail can
// be sent, even if e-mail is not one of its channels.
func (d *Dispatcher) channels(o breach.Org, b *message.Message) []breach.Channel {
	var out []breach.Channel
	for _, c := range o.DeliveryChannels() {
		if c != breach.ChannelNATS {
			out = append(out, c)
		}
	}
	if b.Escalation && len(o.EscalationAddresses()) > 0 && d.cfg.Relay != nil && !slices.Contains(out, breach.ChannelEmail) {
		out = append(out, breach.ChannelEmail)
	}
	return out
}

// handle takes one message of CASCADE_NOTICES to the organisation's
// channels: it claims the message if there is work in it, sends it on each
// channel it has not yet reached, starts the notice's clock if that
// delivered it, and then settles the message, gives it up or has it
// retried. Every path that returns early has already acknowledged,
// terminated or given back the message.
func (d *Dispatcher) handle(ctx context.Context, m jetstream.Msg) {
	x, chans, ok := d.claim(ctx, m)
	if !ok {
		return
	}
	r, ok := d.sendAll(ctx, x, chans)
	if !ok {
		return
	}
	if !d.startClock(ctx, x, r) {
		return
	}
	d.conclude(ctx, x, r)
}

// claim decodes m into a job and the channels to send it on; false when
// there is nothing to do (m is then acknowledged, terminated, or given
// back to be retried).
func (d *Dispatcher) claim(ctx context.Context, m jetstream.Msg) (*job, []breach.Channel, bool) {
	md, err := m.Metadata()
	if err != nil {
		d.log.Error("dispatch: message without metadata", "subject", m.Subject(), "err", err)
		_ = m.Term()
		return nil, nil, false
	}
	orgID := breach.OrgID(strings.TrimPrefix(m.Subject(), store.SubjectNotice+"."))
	d.mu.RLock()
	f, work := d.active[orgID]
	d.mu.RUnlock()
	if !work || f.excludes(md) {
		_ = m.Ack()
		return nil, nil, false
	}
	o, err := d.st.GetOrg(ctx, orgID)
	if errors.Is(err, breach.ErrNotFound) {
		_ = m.Ack() // no longer in the registry: nothing else to deliver to
		return nil, nil, false
	}
	if err != nil {
		d.retryLater(m, "read organisation", err)
		return nil, nil, false
	}
	x := &job{m: m, md: md, org: *o, attempt: int(md.NumDelivered), msgID: m.Headers().Get(jetstream.MsgIDHeader)}
	if err := json.Unmarshal(m.Data(), &x.body); err != nil {
		d.log.Error("dispatch: undecodable message; not delivered", "subject", m.Subject(), "seq", md.Sequence.Stream, "err", err)
		_ = m.Term()
		return nil, nil, false
	}
	chans := d.channels(*o, &x.body)
	if len(chans) == 0 {
		_ = m.Ack()
		return nil, nil, false
	}
	if x.id, err = breach.ParseNoticeID(m.Headers().Get(message.HeaderNoticeID)); err != nil {
		x.id = x.body.NoticeID
	}
	if x.msgID == "" {
		x.msgID = fmt.Sprintf("%s/seq/%d", x.id, md.Sequence.Stream)
	}
	x.log = d.log.With("breach_id", string(x.id.Breach), "notice_id", x.id.String(), "org_id", string(orgID), "message_id", x.msgID, "attempt", x.attempt)
	return x, chans, true
}

// failure is a channel's failed attempt.
type failure struct {
	c   breach.Channel
	err error
}

// outcome is what one handling of a message achieved on its channels.
type outcome struct {
	done       []breach.Channel // reached, on this attempt or an earlier one
	failed     []failure        // failed on this attempt
	progressed bool             // a channel was reached on this attempt
}

// permanent reports whether every failure is one no retry can cure (a
// webhook address that is not allowed).
func (r *outcome) permanent() bool {
	return !slices.ContainsFunc(r.failed, func(f failure) bool { return !errors.Is(f.err, webhook.ErrNotAllowed) })
}

// sendAll makes one attempt on each of chans not reached before and
// records each on the notice; false when the message was given back
// (shutting down, or its progress could not be read).
func (d *Dispatcher) sendAll(ctx context.Context, x *job, chans []breach.Channel) (*outcome, bool) {
	r := &outcome{}
	if x.attempt > 1 {
		var err error
		if r.done, err = d.ch.Progress(ctx, x.md.Sequence.Stream); err != nil {
			d.retryLater(x.m, "read delivery progress", err)
			return nil, false
		}
	}
	for _, c := range chans {
		if slices.Contains(r.done, c) {
			continue
		}
		_ = x.m.InProgress()
		err := d.send(ctx, c, x)
		at := d.now()
		if errors.Is(err, errNotConfigured) {
			d.noteNotConfigured(ctx, c, x, at, err)
			continue // nothing to retry
		}
		if ctx.Err() != nil {
			_ = x.m.Nak() // shutting down: another daemon (or the next start) takes it over at once
			return nil, false
		}
		if x.aboutNotice() {
			err = d.recordAttempt(ctx, c, x, at, err)
		}
		if err != nil {
			d.cfg.Metrics.Delivery(string(c), "failed")
			r.failed = append(r.failed, failure{c, err})
			continue
		}
		d.cfg.Metrics.Delivery(string(c), "delivered")
		r.done, r.progressed = append(r.done, c), true
		x.log.Debug("delivered", "channel", c)
	}
	return r, true
}

// noteNotConfigured records on the notice, once, that channel c, named
// by the registry, cannot deliver (err): a dead letter.
func (d *Dispatcher) noteNotConfigured(ctx context.Context, c breach.Channel, x *job, at time.Time, err error) {
	if !slices.Contains(x.org.Channels, c) || !x.aboutNotice() {
		return
	}
	switch first, rerr := d.recordNotConfigured(ctx, c, x, at, err); {
	case rerr != nil:
		x.log.Warn("dispatch: cannot record an unconfigured channel", "channel", c, "err", rerr)
	case first:
		x.log.Warn("message given up on: dead-lettered", "channel", c, "err", err, "published", x.md.Timestamp)
	}
}

// recordAttempt records the attempt on c (sendErr: its failure, if any)
// on the notice and returns the attempt's error: sendErr, or, for a
// delivery that could not be recorded, an error saying so, so that it is
// tried again (a webhook receiver deduplicates by Idempotency-Key).
func (d *Dispatcher) recordAttempt(ctx context.Context, c breach.Channel, x *job, at time.Time, sendErr error) error {
	rerr := d.record(ctx, c, x, at, sendErr)
	if rerr == nil {
		return sendErr
	}
	x.log.Warn("dispatch: cannot record a delivery attempt", "channel", c, "err", rerr)
	if sendErr == nil {
		return fmt.Errorf("delivered, but not recorded: %w", rerr)
	}
	return sendErr
}

// startClock starts the timers of a notice that a channel has delivered
// (OnDelivered); false when that failed and the message was given back.
func (d *Dispatcher) startClock(ctx context.Context, x *job, r *outcome) bool {
	if !x.carriesNotice() || len(r.done) == 0 || d.cfg.OnDelivered == nil {
		return true
	}
	if err := d.onDelivered(ctx, x); err != nil {
		d.keepProgress(ctx, x, r)
		d.retryLater(x.m, "start the timers of a notice delivered on "+string(r.done[0]), err)
		return false
	}
	return true
}

// conclude ends the handling of a message: acknowledged when nothing
// failed, given up on when the failures are permanent or the retries are
// exhausted, else retried after the backoff's delay.
func (d *Dispatcher) conclude(ctx context.Context, x *job, r *outcome) {
	if len(r.failed) == 0 {
		d.settle(ctx, x)
		return
	}
	age := d.now().Sub(x.md.Timestamp)
	if r.permanent() || d.back.Exhausted(x.attempt, age) {
		d.giveUp(ctx, x, r)
		return
	}
	d.keepProgress(ctx, x, r)
	delay := d.back.Delay(x.attempt, jitter())
	for _, f := range r.failed {
		x.log.Info("delivery failed; will retry", "channel", f.c, "err", f.err, "retry_in", delay.Round(time.Second))
	}
	_ = x.m.NakWithDelay(delay)
}

// giveUp dead-letters each failed channel of a notice's message (a token
// message's are only logged) and settles the message; if a dead letter
// cannot be stored, the message is given back to be retried.
func (d *Dispatcher) giveUp(ctx context.Context, x *job, r *outcome) {
	for _, f := range r.failed {
		if !x.aboutNotice() {
			x.log.Warn("token message given up on", "channel", f.c, "event", x.body.Event, "err", f.err, "published", x.md.Timestamp)
			continue
		}
		if err := d.deadLetter(ctx, f.c, x, f.err); err != nil {
			d.keepProgress(ctx, x, r)
			d.retryLater(x.m, "store a dead letter", err)
			return
		}
		d.cfg.Metrics.Delivery(string(f.c), "dead_lettered")
		x.log.Warn("message given up on: dead-lettered", "channel", f.c, "err", f.err, "published", x.md.Timestamp)
	}
	d.settle(ctx, x)
}

// keepProgress saves the channels reached, if this attempt reached one,
// so that a retry repeats only the others.
func (d *Dispatcher) keepProgress(ctx context.Context, x *job, r *outcome) {
	if r.progressed {
		d.saveProgress(ctx, x, r.done)
	}
}

// settle acknowledges a message that needs nothing more and forgets its
// progress.
func (d *Dispatcher) settle(ctx context.Context, x *job) {
	if x.attempt > 1 {
		if err := d.ch.DeleteProgress(ctx, x.md.Sequence.Stream); err != nil {
			d.log.Debug("dispatch: progress not forgotten (it expires)", "err", err)
		}
	}
	_ = x.m.Ack()
}

func (d *Dispatcher) saveProgress(ctx context.Context, x *job, done []breach.Channel) {
	if err := d.ch.PutProgress(ctx, x.md.Sequence.Stream, done); err != nil {
		d.log.Warn("dispatch: progress not stored; reached channels will be tried again", "notice_id", x.id.String(), "err", err)
	}
}

// retryLater redelivers a message after a failure of Cascade's own (not a
// channel's), without waiting for the channel schedule.
func (d *Dispatcher) retryLater(m jetstream.Msg, what string, err error) {
	d.log.Warn("dispatch: cannot "+what+"; retrying", "subject", m.Subject(), "err", err)
	_ = m.NakWithDelay(d.back.Initial)
}

// send makes one attempt on channel c.
func (d *Dispatcher) send(ctx context.Context, c breach.Channel, x *job) error {
	switch c {
	case breach.ChannelWebhook:
		return d.sendWebhook(ctx, x)
	case breach.ChannelEmail:
		return d.sendEmail(ctx, x)
	}
	return fmt.Errorf("unknown channel %q", c)
}

func (d *Dispatcher) sendWebhook(ctx context.Context, x *job) error {
	if _, err := webhook.CheckURL(x.org.WebhookURL); err != nil {
		return err
	}
	sec, err := d.ch.WebhookSecret(ctx, x.org.ID)
	if errors.Is(err, breach.ErrNotFound) {
		return fmt.Errorf("no webhook secret issued for %s: the vendor issues one with cascadectl webhook secret --org %s", x.org.ID, x.org.ID)
	}
	if err != nil {
		return err
	}
	h := http.Header{}
	for k, vs := range message.ForOrganisation(x.m.Headers()) {
		if strings.HasPrefix(http.CanonicalHeaderKey(k), "Cascade-") {
			h[http.CanonicalHeaderKey(k)] = vs
		}
	}
	h.Set(webhook.HeaderIdempotencyKey, x.msgID)
	h.Set(webhook.HeaderSubject, x.m.Subject())
	return d.hook.Post(ctx, webhook.Request{URL: x.org.WebhookURL, Body: x.m.Data(), Header: h,
		Secrets: sec.Valid(d.now()), Attempt: x.attempt})
}

func (d *Dispatcher) sendEmail(ctx context.Context, x *job) error {
	if d.cfg.Relay == nil {
		return errNotConfigured
	}
	at := d.now()
	deliveredAt, deadline := x.body.DeliveredAt, x.body.Deadline
	if x.aboutNotice() {
		if v, err := d.st.GetNotice(ctx, x.id); err == nil && v.Notice.ClockOnChannel {
			// The body's clock is that of the NATS publish; this notice's
			// starts with its first delivery here or on another channel.
			deliveredAt, deadline = at, at.Add(d.cfg.Window)
			if v.Notice.State >= breach.StateDelivered {
				deliveredAt, deadline = v.Notice.DeliveredAt, v.Notice.Deadline
			}
		}
	}
	to := x.org.EmailAddresses()
	if !x.org.HasChannel(breach.ChannelEmail) {
		to = nil // e-mail only for the escalation (channels)
	}
	var esc []string
	if x.body.Escalation && x.aboutNotice() {
		esc = x.org.EscalationAddresses()
	}
	err := d.cfg.Relay.Send(ctx, &email.Message{
		Msg: x.body, Subject: x.m.Subject(), Header: message.ForOrganisation(x.m.Headers()), Body: x.m.Data(), MessageID: x.msgID,
		Locale: x.org.Locale, To: append(to, esc...), Escalation: esc, Date: at, DeliveredAt: deliveredAt, Deadline: deadline,
	})
	if err == nil {
		x.escalated = esc
	}
	return err
}

// detail is the history entry's text of an attempt.
func detail(c breach.Channel, x *job, err error) string {
	s := fmt.Sprintf("%s: message %s, attempt %d", c, x.msgID, x.attempt)
	if err != nil {
		s += ": " + err.Error()
	}
	return s
}

// record stores an attempt on the notice; a successful one delivers a
// notice that waits for its first channel delivery (ClockOnChannel: its
// clock starts at at).
func (d *Dispatcher) record(ctx context.Context, c breach.Channel, x *job, at time.Time, sendErr error) error {
	d.awaitPublisherRecord(ctx, x)
	_, err := d.st.UpdateNoticeDetail(ctx, x.id, actor, at, detail(c, x, sendErr), func(n *breach.Notice) (breach.Event, error) {
		if sendErr != nil {
			return n.RecordChannelAttempt(c, at, sendErr.Error()), nil
		}
		ev := n.RecordChannelAttempt(c, at, "")
		if x.carriesNotice() && n.ClockOnChannel && n.State == breach.StatePending {
			return n.Deliver(at, d.cfg.Window, x.body.Revision), nil
		}
		return ev, nil
	})
	if errors.Is(err, breach.ErrNotFound) {
		return nil // no notice to record on (never happens: notices precede their messages)
	}
	if err != nil || sendErr != nil || c != breach.ChannelEmail {
		return err
	}
	return d.recordEscalation(ctx, x, at)
}

// recordEscalation records on the notice the escalation addresses the
// e-mail of x went to (Notice.EscalatedTo, event escalated), once per
// message and address: a repeat after a crash records nothing new.
func (d *Dispatcher) recordEscalation(ctx context.Context, x *job, at time.Time) error {
	for _, addr := range x.escalated {
		e := breach.Escalation{Email: addr, Phone: x.org.EscalationPhone, Event: x.body.Event, Obligation: x.body.Obligation, MessageID: x.msgID, SentAt: at}
		if x.body.Event == message.EventReminder {
			e.Remaining = x.body.Remaining
		}
		_, err := d.st.UpdateNoticeDetail(ctx, x.id, actor, at, breach.EscalationDetail(e), func(n *breach.Notice) (breach.Event, error) {
			return n.RecordEscalation(e), nil
		})
		if err != nil && !errors.Is(err, breach.ErrNotFound) {
			return fmt.Errorf("record the escalation to %s: %w", addr, err)
		}
	}
	return nil
}

// recordNotConfigured records, once per notice, that channel c cannot
// deliver at all, and leaves a dead letter for the vendor: an organisation
// that takes notices by e-mail only is otherwise never told (its notice
// stays PENDING, its clock not started) and the vendor must reach it
// another way. The dead letter goes first: it is stored once per message
// and channel, so a crash between the two leaves neither missing.
func (d *Dispatcher) recordNotConfigured(ctx context.Context, c breach.Channel, x *job, at time.Time, why error) (first bool, _ error) {
	v, err := d.st.GetNotice(ctx, x.id)
	if err != nil {
		if errors.Is(err, breach.ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	if r := v.Notice.ChannelDelivery(c); r != nil && r.NotConfigured != "" {
		return false, nil
	}
	if err := d.ch.PutDeadLetter(ctx, d.deadLetterOf(c, x, at, why)); err != nil {
		return false, err
	}
	d.awaitPublisherRecord(ctx, x)
	_, err = d.st.UpdateNoticeDetail(ctx, x.id, actor, at, string(c)+": "+why.Error()+"; not sent: dead-lettered (cascadectl deadletter list)",
		func(n *breach.Notice) (breach.Event, error) {
			ev := n.RecordNotConfigured(c, at, why.Error())
			first = ev != ""
			return ev, nil
		})
	if errors.Is(err, breach.ErrNotFound) {
		return false, nil
	}
	return first && err == nil, err
}

// awaitPublisherRecord waits, for at most RecordWait, until the notice's
// ledger shows the publisher's own record of x (delivery, reminder,
// escalation), which follows the NATS publish by a moment. Writing before
// it would make the publisher's batched write conflict and be redone one
// by one.
func (d *Dispatcher) awaitPublisherRecord(ctx context.Context, x *job) {
	deadline := time.Now().Add(d.cfg.RecordWait)
	for {
		v, err := d.st.GetNotice(ctx, x.id)
		if err != nil || recorded(v.Notice, &x.body) || time.Now().After(deadline) {
			return
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return
		}
	}
}

// recorded reports whether n shows the publisher's record of message b
// (or whether there is none to wait for).
func recorded(n *breach.Notice, b *message.Message) bool {
	if n.ClockOnChannel && n.State == breach.StatePending {
		return true // the dispatcher records this notice's delivery
	}
	if b.Obligation != "" && (b.Event == message.EventReminder || b.Event == message.EventOverdue) {
		o := n.Obligation(breach.ObligationKind(b.Obligation))
		if o == nil {
			return true
		}
		if b.Event == message.EventOverdue {
			return !o.OverdueAt.IsZero()
		}
		r, err := time.ParseDuration(b.Remaining)
		return err != nil || o.Reminded(r)
	}
	switch b.Event {
	case message.EventReminder:
		r, err := time.ParseDuration(b.Remaining)
		return err != nil || n.Reminded(r)
	case message.EventOverdue:
		return !n.OverdueAt.IsZero()
	case message.EventAnswer:
		return true // recorded before it was published
	case message.EventWithdrawal:
		return n.State == breach.StateWithdrawn || n.RenotifiedRevision > b.Revision
	}
	return n.State >= breach.StateDelivered && !n.LastDeliveryAt.Before(b.SentAt)
}

func (d *Dispatcher) onDelivered(ctx context.Context, x *job) error {
	v, err := d.st.GetNotice(ctx, x.id)
	if err != nil {
		return err
	}
	if !v.Notice.ClockOnChannel || v.Notice.State < breach.StateDelivered {
		return nil
	}
	return d.cfg.OnDelivered(ctx, v.Notice)
}

// destination is where channel c delivers for o, fit to show.
func destination(c breach.Channel, o breach.Org) string {
	if c == breach.ChannelWebhook {
		if u, err := webhook.CheckURL(o.WebhookURL); err == nil {
			return webhook.Redact(u)
		}
		return "(webhook URL not allowed)"
	}
	return strings.Join(o.EmailAddresses(), ", ")
}

// attempts is "1 attempt" or "n attempts".
func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return strconv.Itoa(n) + " attempts"
}

// deadLetterOf is the dead letter of x on channel c, given up at at.
func (d *Dispatcher) deadLetterOf(c breach.Channel, x *job, at time.Time, cause error) breach.DeadLetter {
	dl := breach.DeadLetter{NoticeID: x.id, Channel: c, Event: x.body.Event, Revision: x.body.Revision, MessageID: x.msgID,
		NoticeSeq: x.md.Sequence.Stream, Destination: destination(c, x.org), Attempts: x.attempt, PublishedAt: x.md.Timestamp,
		At: at, LastError: cause.Error()}
	if r := []rune(dl.LastError); len(r) > breach.MaxChannelError {
		dl.LastError = string(r[:breach.MaxChannelError]) + "…"
	}
	return dl
}

// deadLetter gives up on x on channel c: a dead letter for the vendor and
// a record on the notice.
func (d *Dispatcher) deadLetter(ctx context.Context, c breach.Channel, x *job, cause error) error {
	at := d.now()
	if err := d.ch.PutDeadLetter(ctx, d.deadLetterOf(c, x, at, cause)); err != nil {
		return err
	}
	_, err := d.st.UpdateNoticeDetail(ctx, x.id, actor, at, detail(c, x, cause)+"; given up after "+attempts(x.attempt)+": dead-lettered (cascadectl deadletter list)",
		func(n *breach.Notice) (breach.Event, error) { return n.RecordDeadLetter(c, at, cause.Error()), nil })
	if errors.Is(err, breach.ErrNotFound) {
		return nil
	}
	return err
}
