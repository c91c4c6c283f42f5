// Package intake consumes breach reports from the CASCADE_INTAKE stream:
// decode → validate → resolve organisations → record the breach → fan out
// one notice per organisation → ack. The intake message is acknowledged
// only after all its effects are persisted, so a crash at any point leads
// to redelivery and an idempotent re-run, never to a lost notice.
package intake

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/consume"
	"github.com/cascadehq/cascade/internal/delivery"
	"github.com/cascadehq/cascade/internal/protoconv"
	"github.com/cascadehq/cascade/internal/signing"
	"github.com/cascadehq/cascade/internal/store"
	"github.com/cascadehq/cascade/internal/verify"
)

// ConsumerName is the durable consumer every daemon shares, so each
// published report is processed by one of them.
const ConsumerName = "cascade-intake"

// DefaultMaxAttempts is how often a message whose processing keeps failing
// is delivered before it is dead-lettered: 8 attempts 1, 2, 4, 8, 16, 30,
// 30 s apart, about 1.5 minutes in all.
const DefaultMaxAttempts = 8

// maxAckPending is how many intake messages may be outstanding (being
// processed, or waiting for their next attempt).
const maxAckPending = 1024

// Config configures the intake.
type Config struct {
	Deadline time.Duration // controller deadline after delivery
	// NIS2 are the clocks of the NIS2 obligations of the notices of
	// organisations under NIS2 (zero: breach.DefaultNIS2Clocks).
	NIS2    breach.NIS2Clocks
	Now     func() time.Time // clock
	Workers int              // reports processed at once
	AckWait time.Duration    // redelivery after a crash; extended while a fan-out progresses
	// MaxAttempts bounds the deliveries of a message whose processing
	// keeps failing (default 8); then it is dead-lettered.
	MaxAttempts int
	// RetryDelay is the wait after a first failed attempt (default 1 s),
	// doubling per attempt up to 30 s.
	RetryDelay time.Duration
	// BusyLimit is how long an update may wait for an earlier revision's
	// delivery before its waits count as failed attempts (default 1 h).
	BusyLimit time.Duration
	Timers    Timers
	// Promises arms the processor's own clock (nil: no promise timers).
	Promises PromiseTimers
	Log      *slog.Logger

	// UpstreamKeys are the keys whose signatures a forwarded breach's
	// upstream notice may carry: the deployment's own and those of
	// --upstream-keys (nil: no breach may be forwarded).
	UpstreamKeys func() signing.KeySet

	// Metrics counts results and times fan-outs (nil: nothing is counted).
	Metrics Metrics
}

// Metrics counts what intake does (metrics.Metrics implements it).
type Metrics interface {
	// IntakeResult counts one message's result: recorded, rejected,
	// retried or dead_lettered.
	IntakeResult(result string)
	// FanoutStarted starts timing a fan-out; the func it returns ends it.
	FanoutStarted() func()
}

type noMetrics struct{}

func (noMetrics) IntakeResult(string)   {}
func (noMetrics) FanoutStarted() func() { return func() {} }

// Timers arms the durable per-chunk timers (implemented by deadline.Timers).
type Timers interface {
	// Arm sets chunk's timer to at (zero: nothing to arm).
	Arm(ctx context.Context, b breach.BreachID, chunk int, at time.Time) error
	// Next is when any of ns next needs a reminder, escalation or redelivery.
	Next(ns []*breach.Notice) time.Time
}

// Intake processes published reports.
type Intake struct {
	st      *store.Store
	pub     *delivery.Publisher
	now     func() time.Time
	window  time.Duration
	nis2    breach.NIS2Clocks
	workers int
	ackWait time.Duration
	timers  Timers

	promises    PromiseTimers
	keys        func() signing.KeySet // which upstream signatures to trust
	metrics     Metrics
	maxAttempts int
	retryDelay  time.Duration
	busyLimit   time.Duration
	log         *slog.Logger
}

// New returns an intake over st.
func New(st *store.Store, pub *delivery.Publisher, cfg Config) *Intake {
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	if cfg.NIS2 == (breach.NIS2Clocks{}) {
		cfg.NIS2 = breach.DefaultNIS2Clocks
	}
	return &Intake{st: st, pub: pub, now: cfg.Now, window: cfg.Deadline, nis2: cfg.NIS2, workers: cfg.Workers, ackWait: cfg.AckWait, timers: cfg.Timers, log: cfg.Log, promises: cfg.Promises,
		keys:        cfg.UpstreamKeys,
		metrics:     cfg.Metrics,
		maxAttempts: cmp.Or(cfg.MaxAttempts, DefaultMaxAttempts), retryDelay: cmp.Or(cfg.RetryDelay, time.Second), busyLimit: cmp.Or(cfg.BusyLimit, time.Hour)}
}

// Run consumes reports until ctx ends. If the consumer fails (the NATS
// server lost it, the stream was recreated), it is set up again.
func (in *Intake) Run(ctx context.Context) error {
	return consume.Loop{
		Name:        "intake",
		Consumer:    in.consumer,
		Handle:      in.handle,
		Outstanding: in.workers,
		Log:         in.log,
	}.Run(ctx)
}

func (in *Intake) consumer(ctx context.Context) (jetstream.Consumer, error) {
	c, err := in.st.JetStream().CreateOrUpdateConsumer(ctx, store.StreamIntake, jetstream.ConsumerConfig{
		Durable:     ConsumerName,
		Description: "Cascade daemons processing breach reports",
		AckPolicy:   jetstream.AckExplicitPolicy,
		AckWait:     in.ackWait,
		// Deliveries are bounded by handle (MaxAttempts, from the
		// message's delivery count), not by the server: a server-side
		// MaxDeliver drops the message silently when the give-up could not
		// be recorded; handle records it first.
		MaxDeliver: -1,
		// Messages waiting for a retry count as pending: room for many, so
		// failing ones never keep a valid report from being delivered.
		MaxAckPending: max(in.workers*4, maxAckPending),
		FilterSubjects: []string{store.SubjectReport, store.SubjectUpdate,
			store.SubjectProcessor + ".*.breach.report", store.SubjectProcessor + ".*.breach.update"},
	})
	if err != nil {
		return nil, fmt.Errorf("intake consumer: %w", err)
	}
	return c, nil
}

// rejectErr is an error that rejects the report instead of retrying it.
type rejectErr struct{ r Rejection }

func (e *rejectErr) Error() string { return e.r.Reason + ": " + e.r.Detail }

// handle processes one intake message and ends it one of three ways:
// acknowledged (recorded, or rejected with the rejection published),
// retried with a growing delay (a transient failure, up to MaxAttempts
// deliveries), or dead-lettered: after MaxAttempts failed deliveries a
// rejection with reason dead_lettered is published and the message is
// terminated. Nothing is retried forever, and a message being retried
// waits outside the workers, so it holds back no other message.
func (in *Intake) handle(ctx context.Context, m jetstream.Msg) {
	md, err := m.Metadata()
	if err != nil {
		in.log.Error("intake: message without metadata; terminated", "err", err)
		_ = m.Term()
		return
	}
	seq := md.Sequence.Stream
	log := in.log.With("stream_seq", seq, "subject", m.Subject(), "attempt", md.NumDelivered)
	err = in.process(ctx, m, md)
	// A transient failure (a NATS node, stream leader or the consumer's
	// leader lost in the middle of a fan-out) is first retried in place: the
	// work is idempotent and resumes as soon as the cluster has new leaders,
	// where a nak sent during the election could be lost and the report
	// would wait out AckWait (30 s) before anyone took it up again.
	for _, wait := range in.inPlaceRetries() {
		if err == nil || !in.transient(ctx, err) {
			break
		}
		log.Warn("intake: processing failed; retrying in place", "err", err, "in", wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return // shutting down: the message is redelivered after AckWait
		}
		_ = m.InProgress()
		err = in.process(ctx, m, md)
	}
	var rej *rejectErr
	if err != nil && !errors.As(err, &rej) && ctx.Err() == nil {
		if r, ok := permanent(err); ok {
			r.BreachID = cmp.Or(r.BreachID, in.breachOf(m, md))
			rej = &rejectErr{r}
		}
	}
	switch {
	case err == nil:
		in.metrics.IntakeResult("recorded")
	case rej != nil:
		rej.r.Subject, rej.r.StreamSeq, rej.r.At = m.Subject(), seq, in.now()
		if perr := publishRejection(ctx, in.st.JetStream(), rej.r, fmt.Sprintf("rejected/%d", seq)); perr != nil {
			in.retry(ctx, m, md, log, fmt.Errorf("publish rejection (%s): %w", rej.r.Reason, perr))
			return
		}
		in.metrics.IntakeResult("rejected")
		log.Warn("breach report rejected", "reason", rej.r.Reason, "detail", clip(rej.r.Detail, 500), "breach_id", rej.r.BreachID)
	case ctx.Err() != nil:
		return // shutting down: the message is redelivered after AckWait
	default:
		in.retry(ctx, m, md, log, err)
		return
	}
	// The acknowledgement is confirmed, and repeated while the consumer
	// has no leader, so a finished report is not processed again.
	for _, wait := range in.inPlaceRetries() {
		if err = m.DoubleAck(ctx); err == nil || ctx.Err() != nil {
			return
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
	}
	if err = m.DoubleAck(ctx); err != nil && ctx.Err() == nil { // stopping: processed again on the next start
		log.Warn("intake: ack failed; the report will be processed again (idempotently)", "err", err)
	}
}

// inPlaceRetries are the waits before each retry of a transiently failed
// message (or its acknowledgement) within one delivery: a quarter of
// RetryDelay doubling five times (about 8 s by default), then up to three
// more of the longest while they add up to at most two thirds of AckWait
// (about 20 s by default). That is long enough for a NATS cluster to elect
// new leaders on a loaded machine, and within AckWait: the message goes on
// in the same delivery instead of waiting out AckWait because the nak that
// would retry it was lost with the consumer's leader.
func (in *Intake) inPlaceRetries() []time.Duration {
	var waits []time.Duration
	var total time.Duration
	d := in.retryDelay / 4
	for i := 0; i < 5; i, d = i+1, d*2 {
		waits = append(waits, d)
		total += d
	}
	last := waits[len(waits)-1]
	for i := 0; i < 3 && total+last <= in.ackWait*2/3; i++ {
		waits = append(waits, last)
		total += last
	}
	return waits
}

// transient reports whether err may go away by trying again soon: not a
// rejection, not a permanent error, not a wait for an earlier revision.
func (in *Intake) transient(ctx context.Context, err error) bool {
	var rej *rejectErr
	if ctx.Err() != nil || errors.As(err, &rej) || errors.Is(err, errBusy) {
		return false
	}
	_, perm := permanent(err)
	return !perm
}

// retry naks a message whose processing failed with err, or, once it has
// been delivered MaxAttempts times, dead-letters it: the give-up is
// published on cascade.breach.rejected (reason dead_lettered) before the
// message is terminated, so it is never lost silently. If even that
// publish fails, the message is retried once more later.
func (in *Intake) retry(ctx context.Context, m jetstream.Msg, md *jetstream.MsgMetadata, log *slog.Logger, err error) {
	if errors.Is(err, errBusy) && in.now().Sub(md.Timestamp) < in.busyLimit {
		// Waiting for an earlier revision is no failure: it does not count.
		_ = m.NakWithDelay(in.delay(1))
		return
	}
	if md.NumDelivered < uint64(in.maxAttempts) {
		in.metrics.IntakeResult("retried")
		log.Warn("intake: processing failed; will retry", "err", err, "max_attempts", in.maxAttempts)
		_ = m.NakWithDelay(in.delay(md.NumDelivered))
		return
	}
	seq := md.Sequence.Stream
	r := Rejection{Reason: "dead_lettered", BreachID: in.breachOf(m, md), Attempts: int(md.NumDelivered),
		Detail: fmt.Sprintf("gave up after %d attempts; the last failed with: %v. Nothing more is retried: publish the report again to resume it (a breach already recorded is completed, never duplicated)",
			md.NumDelivered, err),
		Subject: m.Subject(), StreamSeq: seq, At: in.now()}
	if perr := publishRejection(ctx, in.st.JetStream(), r, fmt.Sprintf("dead/%d", seq)); perr != nil {
		log.Error("intake: giving up on the message, but could not record it; will retry", "err", err, "publish_err", perr)
		_ = m.NakWithDelay(in.delay(md.NumDelivered))
		return
	}
	in.metrics.IntakeResult("dead_lettered")
	log.Error("intake: gave up on the message (dead-lettered on "+store.SubjectRejected+")", "err", err, "breach_id", r.BreachID)
	if terr := m.TermWithReason("dead_lettered"); terr != nil {
		log.Warn("intake: terminating a dead-lettered message failed; it may be tried once more", "err", terr)
	}
}

// delay is the wait after the n-th failed delivery: RetryDelay doubling
// per attempt, at most 30 s.
func (in *Intake) delay(n uint64) time.Duration {
	d := in.retryDelay
	for i := uint64(1); i < n && d < 30*time.Second; i++ {
		d *= 2
	}
	return min(d, 30*time.Second)
}

// breachOf is the breach id a message names, for a rejection that has
// none: the report's or update's id, or the id generated for the message.
func (in *Intake) breachOf(m jetstream.Msg, md *jetstream.MsgMetadata) breach.BreachID {
	if m.Subject() == store.SubjectUpdate {
		if u, err := protoconv.DecodeUpdate(m.Data(), m.Headers().Get("Content-Type")); err == nil {
			return breach.BreachID(clip(u.GetBreachId(), 64))
		}
		return ""
	}
	wire, err := protoconv.DecodeReport(m.Data(), m.Headers().Get("Content-Type"))
	if err != nil {
		return ""
	}
	if wire.GetId() == "" {
		return GeneratedID(md.Timestamp, md.Sequence.Stream)
	}
	return breach.BreachID(clip(wire.GetId(), 64))
}

func (in *Intake) process(ctx context.Context, m jetstream.Msg, md *jetstream.MsgMetadata) error {
	p, isUpdate, ok := store.IntakeSubject(m.Subject())
	if !ok {
		return &rejectErr{Rejection{Reason: "malformed", Detail: fmt.Sprintf("%s is not an intake subject", m.Subject())}}
	}
	if isUpdate {
		wire, err := protoconv.DecodeUpdate(m.Data(), m.Headers().Get("Content-Type"))
		if err != nil {
			return &rejectErr{Rejection{Reason: "malformed", Detail: err.Error()}}
		}
		u := protoconv.Update(wire)
		// The breach is the publishing processor's: its own id, or its
		// qualified id; another processor's is a breach it does not have.
		q, mine := breach.Qualify(p, u.Breach)
		if !mine {
			return &rejectErr{Rejection{Reason: "unknown_breach", BreachID: u.Breach, Field: "breach_id",
				Detail: fmt.Sprintf("breach %s does not exist; report it on %s first", u.Breach, store.ReportSubject(p))}}
		}
		u.Breach = q
		if err := invalidPromise(u.Breach, u.NextUpdateBy, md.Timestamp); err != nil {
			return err
		}
		_, _, err = in.acceptUpdate(ctx, &u, md.Sequence.Stream, md.Timestamp, func() { _ = m.InProgress() })
		return err
	}
	wire, err := protoconv.DecodeReport(m.Data(), m.Headers().Get("Content-Type"))
	if err != nil {
		return &rejectErr{Rejection{Reason: "malformed", Detail: err.Error()}}
	}
	r := protoconv.Report(wire)
	if r.ID == "" {
		r.ID = GeneratedID(md.Timestamp, md.Sequence.Stream)
	}
	if err := invalidPromise(r.ID, r.NextUpdateBy, md.Timestamp); err != nil {
		return err
	}
	_, _, err = in.accept(ctx, p, &r, md.Sequence.Stream, func() { _ = m.InProgress() })
	return err
}

// GeneratedID is the id of a report published without one: a UUIDv7 whose
// time is the intake timestamp and whose random bits come from the intake
// sequence, so a redelivered message gets the same id.
func GeneratedID(at time.Time, seq uint64) breach.BreachID {
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], seq)
	h := sha256.Sum256(append([]byte("cascade-intake/"), seed[:]...))
	var u uuid.UUID
	ms := uint64(at.UnixMilli())
	u[0], u[1], u[2], u[3], u[4], u[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	copy(u[6:], h[:10])
	u[6] = (u[6] & 0x0f) | 0x70 // version 7
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 4122 variant
	return breach.BreachID(u.String())
}

// accept validates r (intake message seq), records the breach and fans it
// out, calling progress after each chunk. Rejections are *rejectErr; other
// errors are transient. It is idempotent: accepting the same report again
// completes an interrupted fan-out and creates nothing twice.
func (in *Intake) accept(ctx context.Context, p breach.ProcessorID, r *breach.Report, seq uint64, progress func()) (*breach.Breach, bool, error) {
	now := in.now()
	err := r.Validate(now)
	if err == nil {
		err = r.Qualify(p)
	}
	if err != nil {
		var inv *breach.InvalidError
		errors.As(err, &inv)
		rej := Rejection{Reason: "invalid", Detail: err.Error(), BreachID: r.ID, Violations: inv.Violations}
		if len(inv.Violations) > 0 {
			rej.Field = inv.Violations[0].Field
		}
		return nil, false, &rejectErr{rej}
	}
	if err := in.checkUpstream(ctx, r); err != nil {
		return nil, false, err
	}
	digest := r.Digest()
	if cur, err := in.st.GetBreach(ctx, r.ID); err == nil {
		return in.resume(ctx, cur, r, digest, seq, progress)
	} else if !errors.Is(err, breach.ErrNotFound) {
		return nil, false, err
	}
	known, unknown, err := in.resolve(ctx, r)
	if err != nil {
		return nil, false, err
	}
	if len(known) == 0 {
		return nil, false, &rejectErr{Rejection{Reason: "unknown_organisations", BreachID: r.ID, UnknownOrgIDs: unknown, Field: "affected",
			Detail: fmt.Sprintf("none of the %d affected organisations is in the registry; nothing was recorded", len(unknown))}}
	}
	// The membership is written before the breach record: once the breach
	// exists, who it covers is fixed, and a resumed fan-out never
	// recomputes it from a registry that may have changed meanwhile.
	chunks, count, err := in.writeMembership(ctx, r.ID, digest, 0, members(r, known))
	if err != nil {
		return nil, false, err
	}
	b := &breach.Breach{
		ID: r.ID, Revision: 1, Report: *r, ReceivedAt: now, Digest: digest,
		NoticeCount: count, UnknownOrgs: unknown, Chunks: chunks,
	}
	b.Promise.Make(r.NextUpdateBy, now, 1)
	cur, existed, err := in.st.CreateBreach(ctx, b)
	if err != nil {
		return nil, false, err
	}
	if existed { // created concurrently by another daemon
		return in.resume(ctx, cur, r, digest, seq, progress)
	}
	in.log.Info("breach recorded", "breach_id", b.ID, "notices", b.NoticeCount, "unknown_orgs", len(unknown))
	if err := in.promised(ctx, b, breach.PromiseEvent{Event: breach.PromiseEventPromised, At: now, By: r.NextUpdateBy, Revision: 1}); err != nil {
		return nil, false, err
	}
	if len(unknown) > 0 {
		if err := in.rejectUnknown(ctx, b, seq); err != nil {
			return nil, false, err
		}
	}
	done := in.metrics.FanoutStarted()
	if err := in.fanout(ctx, b, true, progress); err != nil {
		return nil, false, err
	}
	done()
	return b, false, nil
}

// Check is what ReportBreach verifies before it enqueues a report: that it is
// valid, that at least one affected organisation is known, and that its id
// is not taken by different content. It returns the existing breach when
// the same report was accepted before. Errors are domain errors
// (*breach.InvalidError, breach.ErrConflict).
func (in *Intake) Check(ctx context.Context, r *breach.Report) (*breach.Breach, error) {
	if err := withPromise(r.Validate(in.now()), r.NextUpdateBy, in.now()); err != nil {
		return nil, capViolations(err)
	}
	if err := in.checkUpstream(ctx, r); err != nil {
		return nil, invalidUpstream(err)
	}
	if cur, err := in.st.GetBreach(ctx, r.ID); err == nil {
		if cur.Digest != r.Digest() {
			return nil, fmt.Errorf("%w: breach %s was already reported with different content; send follow-up facts as an update", breach.ErrConflict, r.ID)
		}
		return cur, nil
	} else if !errors.Is(err, breach.ErrNotFound) {
		return nil, err
	}
	known, _, err := in.resolve(ctx, r) // unknown ones are reported on the breach, not refused
	if err != nil {
		return nil, err
	}
	if len(known) == 0 {
		// At most MaxListed violations, then one that counts the rest: a
		// status with 20,000 details would not reach the caller.
		var vs []breach.FieldViolation
		for i, a := range r.Affected[:min(len(r.Affected), MaxListed)] {
			vs = append(vs, breach.FieldViolation{Field: fmt.Sprintf("affected[%d].org_id", i), Reason: "unknown_organisation",
				Detail: fmt.Sprintf("organisation %q is not in the registry%s", a.Org, customersOf(r.ID))})
		}
		if n := len(r.Affected) - MaxListed; n > 0 {
			vs = append(vs, breach.FieldViolation{Field: "affected", Reason: "unknown_organisation",
				Detail: fmt.Sprintf("%d more organisations (of %d) are not in the registry either; none is", n, len(r.Affected))})
		}
		if len(vs) == 0 {
			vs = append(vs, breach.FieldViolation{Field: "all_customers", Reason: "empty_registry", Detail: "the registry has no organisations"})
		}
		return nil, &breach.InvalidError{Violations: vs}
	}
	return nil, nil
}

// resume handles a report whose breach id is already recorded.
func (in *Intake) resume(ctx context.Context, cur *breach.Breach, r *breach.Report, digest string, seq uint64, progress func()) (*breach.Breach, bool, error) {
	if cur.Digest != digest {
		return nil, false, &rejectErr{Rejection{Reason: "conflict", BreachID: r.ID, Field: "id",
			Detail: fmt.Sprintf("breach %s was already reported with different content; publish follow-up facts on %s", r.ID, store.SubjectUpdate)}}
	}
	if err := in.promised(ctx, cur); err != nil { // armed again: a crash may have come first
		return nil, false, err
	}
	if cur.FanoutComplete {
		return cur, true, nil
	}
	in.log.Info("resuming fan-out", "breach_id", cur.ID)
	if len(cur.UnknownOrgs) > 0 {
		if err := in.rejectUnknown(ctx, cur, seq); err != nil {
			return nil, false, err
		}
	}
	if err := in.fanout(ctx, cur, false, progress); err != nil {
		return nil, false, err
	}
	return cur, true, nil
}

// writeMembership stores ms (sorted by org id) as write-once chunks of the
// breach's fan-out and returns the number of chunks and members. Chunks a
// crashed earlier attempt wrote are kept as they are; only organisations
// after the last stored one are added, so chunks stay contiguous and no
// member of the first attempt is lost or counted twice.
func (in *Intake) writeMembership(ctx context.Context, id breach.BreachID, digest string, first int, ms []store.Member) (int, int, error) {
	chunks, count := first, 0
	var last breach.OrgID
	for {
		got, err := in.st.Members(ctx, id, digest, chunks)
		if errors.Is(err, breach.ErrNotFound) {
			break
		}
		if err != nil {
			return 0, 0, err
		}
		if len(got) > 0 {
			last = got[len(got)-1].Org
		}
		count += len(got)
		chunks++
	}
	rest := ms
	if chunks > first {
		i, _ := slices.BinarySearchFunc(ms, last, func(m store.Member, o breach.OrgID) int { return compare(m.Org, o) })
		for i < len(ms) && ms[i].Org <= last {
			i++
		}
		rest = ms[i:]
	}
	for lo := 0; lo < len(rest); lo += store.MembersChunk {
		chunk := rest[lo:min(lo+store.MembersChunk, len(rest))]
		got, err := in.st.PutMembers(ctx, id, digest, chunks, chunk)
		if err != nil {
			return 0, 0, err
		}
		if len(got) != len(chunk) || got[0].Org != chunk[0].Org {
			return 0, 0, fmt.Errorf("fan-out membership of %s is being written concurrently; retrying", id)
		}
		count += len(got)
		chunks++
	}
	return chunks - first, count, nil
}

// rejectUnknown reports, loudly and once, the affected ids not in the registry.
func (in *Intake) rejectUnknown(ctx context.Context, b *breach.Breach, seq uint64) error {
	in.log.Warn("breach names organisations that are not in the registry; they get no notice",
		"breach_id", b.ID, "unknown_orgs", len(b.UnknownOrgs), "first_unknown_org_ids", b.UnknownOrgs[:min(len(b.UnknownOrgs), MaxListed)])
	return publishRejection(ctx, in.st.JetStream(), Rejection{
		Reason: "unknown_organisations", Partial: true, BreachID: b.ID, UnknownOrgIDs: b.UnknownOrgs, Field: "affected",
		Detail: fmt.Sprintf("%d affected organisations are not in the registry%s and got no notice; the %d known ones were notified",
			len(b.UnknownOrgs), customersOf(b.ID), b.NoticeCount),
		Subject: store.ReportSubject(b.ID.Processor()), StreamSeq: seq, At: in.now(),
	}, "unknown/"+string(b.ID))
}

// checkUpstream verifies the upstream notice a forwarded report carries
// (verify.Upstream): a registered processor with an organisation id
// forwards a notice sent to that organisation, signed by a trusted key.
// It fills in the upstream's fields from its message. A report that fails
// is rejected (invalid_upstream).
func (in *Intake) checkUpstream(ctx context.Context, r *breach.Report) error {
	if r.Upstream == nil {
		return nil
	}
	reject := func(format string, args ...any) error {
		return &rejectErr{Rejection{Reason: "invalid_upstream", BreachID: r.ID, Field: "upstream", Detail: fmt.Sprintf(format, args...)}}
	}
	p := r.ID.Processor()
	if p == "" {
		return reject("only a registered processor forwards a notice it received as a customer (the default processor receives none)")
	}
	proc, err := in.st.GetProcessor(ctx, p)
	if errors.Is(err, breach.ErrNotFound) {
		return reject("processor %s is not in the processor registry", p)
	}
	if err != nil {
		return err
	}
	if proc.OrgID == "" {
		return reject("processor %s has no org_id in the processor registry: it receives no notices it could forward", p)
	}
	if in.keys == nil {
		return reject("this deployment trusts no upstream signatures")
	}
	if _, err := verify.Upstream(r.Upstream, in.keys(), proc.OrgID, in.now()); err != nil {
		return reject("%v", err)
	}
	return nil
}

// customersOf is what "in the registry" means for breach id's processor:
// among a registered processor's customers.
func customersOf(id breach.BreachID) string {
	if p := id.Processor(); p != "" {
		return " among processor " + string(p) + "'s customers"
	}
	return ""
}

// resolve looks up the affected organisations in the registry. A
// registered processor's report (r.ID says whose it is) reaches its own
// customers only: an organisation that is not one is unknown to it, as one
// not in the registry, and all_customers means every customer of it.
func (in *Intake) resolve(ctx context.Context, r *breach.Report) (map[breach.OrgID]breach.Org, []breach.OrgID, error) {
	known, unknown, err := in.resolveAll(ctx, r)
	if err != nil || r.ID.Processor() == "" {
		return known, unknown, err
	}
	p, err := in.st.GetProcessor(ctx, r.ID.Processor())
	if errors.Is(err, breach.ErrNotFound) {
		return nil, nil, &rejectErr{Rejection{Reason: "unknown_processor", BreachID: r.ID,
			Detail: fmt.Sprintf("processor %s is not in the processor registry", r.ID.Processor())}}
	}
	if err != nil {
		return nil, nil, err
	}
	if p.AllCustomers {
		return known, unknown, nil
	}
	for id := range known {
		if !p.HasCustomer(id) {
			delete(known, id)
			if !r.AllCustomers || slices.ContainsFunc(r.Affected, func(a breach.Affected) bool { return a.Org == id }) {
				unknown = append(unknown, id)
			}
		}
	}
	slices.Sort(unknown)
	return known, slices.Compact(unknown), nil
}

// resolveAll looks up the affected organisations in the whole registry.
func (in *Intake) resolveAll(ctx context.Context, r *breach.Report) (map[breach.OrgID]breach.Org, []breach.OrgID, error) {
	known := map[breach.OrgID]breach.Org{}
	var unknown []breach.OrgID
	// Beyond a few hundred ids, one pass over the registry beats a lookup each.
	if r.AllCustomers || len(r.Affected) > 200 {
		all, err := in.st.AllOrgs(ctx)
		if err != nil {
			return nil, nil, err
		}
		registry := make(map[breach.OrgID]breach.Org, len(all))
		for _, o := range all {
			registry[o.ID] = o
		}
		if r.AllCustomers {
			known = registry
		}
		for _, a := range r.Affected {
			if o, ok := registry[a.Org]; ok {
				known[a.Org] = o
			} else {
				unknown = append(unknown, a.Org)
			}
		}
		return known, unknown, nil
	}
	for _, a := range r.Affected {
		o, err := in.st.GetOrg(ctx, a.Org)
		switch {
		case err == nil:
			known[a.Org] = *o
		case errors.Is(err, breach.ErrNotFound):
			unknown = append(unknown, a.Org)
		default:
			return nil, nil, err
		}
	}
	return known, unknown, nil
}

// capViolations bounds an *breach.InvalidError to MaxListed violations and
// one that counts the rest; other errors are returned as they are.
func capViolations(err error) error {
	var inv *breach.InvalidError
	if !errors.As(err, &inv) || len(inv.Violations) <= MaxListed {
		return err
	}
	vs := append(slices.Clip(inv.Violations[:MaxListed]), breach.FieldViolation{Field: inv.Violations[MaxListed].Field, Reason: "too_many_violations",
		Detail: fmt.Sprintf("%d more violations, from this field on, are not listed (%d in all)", len(inv.Violations)-MaxListed, len(inv.Violations))})
	return &breach.InvalidError{Violations: vs}
}
