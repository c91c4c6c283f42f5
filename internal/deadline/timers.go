package deadline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/consume"
	"github.com/cascadehq/cascade/internal/delivery"
	"github.com/cascadehq/cascade/internal/store"
)

// ConsumerName is the durable consumer every daemon shares for timers, so
// each firing is handled by one daemon.
const ConsumerName = "cascade-timers"

// timerWorkers is how many fired chunks one daemon handles at once. A
// chunk spends much of its time waiting (for its reads, which wait for
// the batch commit in progress, and for its own commits), so a daemon
// needs many at once to use its cores: with 8, 1,000,000 reminders falling
// due over 96 s kept 1.2 of 2 cores busy and queued at the start (p99
// 905 ms, p50 of the first tenth 608 ms); with 16, p99 627 ms, first
// tenth 64 ms.
const timerWorkers = 16

// firedTTL is how long a fired timer message stays in CASCADE_TIMERS after
// it fires (it is handled within moments; the TTL only keeps the stream small).
const firedTTL = 7 * 24 * time.Hour

// Timers are durable per-chunk timers on JetStream message schedules. Each
// fan-out chunk (up to 1000 notices) has at most one pending schedule, on
// cascade.timer.at.<breach>.<chunk>, set to the earliest time any of its
// notices needs a reminder, an overdue escalation or a redelivery. When it
// fires, the JetStream server stores a message on
// cascade.timer.fire.<breach>.<chunk>; one daemon takes it from the shared
// durable consumer, performs every action due for the chunk's notices
// (deriving them from the stored notices, so nothing is lost if a firing is
// late or repeated), and arms the chunk's next time. Schedules live in the
// stream, so they survive restarts of the daemon and of the server; one
// that fell due while the daemon was down fires (or has fired) and is
// handled on start, its actions marked late.
type Timers struct {
	st     *store.Store
	js     jetstream.JetStream
	pub    *delivery.Publisher
	policy Policy
	now    func() time.Time
	log    *slog.Logger

	mu     sync.Mutex
	timers jetstream.Stream // CASCADE_TIMERS, once looked up
	rounds RoundCounter
}

// RoundCounter counts the rounds the timers publish, by kind (reminder,
// overdue, redelivery); metrics.Metrics implements it.
type RoundCounter interface{ Round(kind string) }

type noRounds struct{}

func (noRounds) Round(string) {}

// CountRounds makes the timers count each round they publish on rc.
func (t *Timers) CountRounds(rc RoundCounter) { t.rounds = rc }

// NewTimers returns the timers over st.
func NewTimers(st *store.Store, pub *delivery.Publisher, p Policy, now func() time.Time, log *slog.Logger) *Timers {
	return &Timers{st: st, js: st.JetStream(), pub: pub, policy: p, now: now, log: log, rounds: noRounds{}}
}

// Next is when any of ns next needs an action (zero if none).
func (t *Timers) Next(ns []*breach.Notice) time.Time { return t.policy.NextOf(ns) }

// Policy is the policy the timers apply.
func (t *Timers) Policy() Policy { return t.policy }

func chunkToken(b breach.BreachID, chunk int) string { return string(b) + "." + strconv.Itoa(chunk) }

// ScheduleLead is how long before a chunk falls due its schedule fires.
// The server runs its message scheduler at most every 250 ms, so a
// schedule fires up to that much after its time; firing this much early
// and waiting out the rest in the daemon (handle) takes that delay off
// every reminder and escalation. Nothing is sent early: what is due is
// decided at the due time.
const ScheduleLead = 250 * time.Millisecond

// Arm sets chunk's timer to fire at `at` (replacing any pending one). A
// zero `at` means the chunk needs nothing more; nothing is armed.
func (t *Timers) Arm(ctx context.Context, b breach.BreachID, chunk int, at time.Time) error {
	if at.IsZero() {
		return nil
	}
	// A schedule in the past fires at once; the server wants it in the future.
	now := t.now()
	if min := now.Add(50 * time.Millisecond); at.Before(min) {
		at = min
	}
	fire := at.Add(-ScheduleLead)
	if min := now.Add(50 * time.Millisecond); fire.Before(min) {
		fire = min
	}
	tok := chunkToken(b, chunk)
	body, _ := json.Marshal(timerBody{Breach: b, Chunk: chunk, Due: at.UTC()})
	m := &nats.Msg{Subject: store.SubjectTimerAt + "." + tok, Data: body, Header: nats.Header{}}
	// The server parses @at as RFC 3339 with fractional seconds; the
	// client's WithScheduleAt would truncate to whole seconds.
	m.Header.Set("Nats-Schedule", ScheduleAt(fire))
	_, err := t.js.PublishMsg(ctx, m,
		jetstream.WithScheduleTarget(store.SubjectTimerFire+"."+tok),
		jetstream.WithScheduleTTL(firedTTL),
		jetstream.WithExpectStream(store.StreamTimers))
	if err != nil {
		return fmt.Errorf("arm timer of %s chunk %d: %w", b, chunk, err)
	}
	return nil
}

// ArmNotice makes sure the timer of n's chunk fires by the time n next
// needs something: it arms the chunk at that time unless a pending schedule
// already fires no later. The webhook and e-mail dispatcher calls it after
// recording the delivery that starts a notice's clock (a notice whose
// organisation takes no notices over NATS).
func (t *Timers) ArmNotice(ctx context.Context, n *breach.Notice) error {
	at := t.policy.Next(n)
	if at.IsZero() {
		return nil
	}
	tok := chunkToken(n.ID.Breach, n.Chunk)
	m, err := t.stream(ctx)
	if err != nil {
		return fmt.Errorf("arm timer of %s: %w", n.ID, err)
	}
	cur, err := m.GetLastMsgForSubject(ctx, store.SubjectTimerAt+"."+tok)
	switch {
	case err == nil:
		var pending timerBody
		if json.Unmarshal(cur.Data, &pending) == nil && !pending.Due.After(at) && pending.Due.After(t.now()) {
			return nil // fires in time, and then re-arms from every notice's state
		}
	case !errors.Is(err, jetstream.ErrMsgNotFound):
		return fmt.Errorf("arm timer of %s: %w", n.ID, err)
	}
	return t.Arm(ctx, n.ID.Breach, n.Chunk, at)
}

// stream is CASCADE_TIMERS, looked up once.
func (t *Timers) stream(ctx context.Context) (jetstream.Stream, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.timers == nil {
		s, err := t.js.Stream(ctx, store.StreamTimers)
		if err != nil {
			return nil, err
		}
		t.timers = s
	}
	return t.timers, nil
}

// timerBody is a chunk's schedule, and what it fires: Due is when the
// chunk next needs something.
type timerBody struct {
	Breach breach.BreachID `json:"breach_id"`
	Chunk  int             `json:"chunk"`
	Due    time.Time       `json:"due"`
}

// ScheduleAt is the Nats-Schedule header value that fires at at.
func ScheduleAt(at time.Time) string { return "@at " + at.UTC().Format(time.RFC3339Nano) }

// Run handles fired timers until ctx ends, recreating the consumer if it fails.
func (t *Timers) Run(ctx context.Context) error {
	// Chunks are independent: handle several at once, so that many timers
	// falling due together share the disk's fsyncs instead of queueing.
	sem := make(chan struct{}, timerWorkers)
	return consume.Loop{
		Name:     "timers",
		Consumer: t.consumer,
		// The consumer hands out at most MaxAckPending firings at once;
		// each waits for its due time, then for one of the workers.
		Handle: func(ctx context.Context, m jetstream.Msg) {
			if !t.waitDue(ctx, m.Data()) {
				return
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			t.handle(ctx, m)
		},
		Outstanding: timerMaxAckPending,
		Batch:       16,
		Log:         t.log,
	}.Run(ctx)
}

// timerMaxAckPending is how many fired timers may be outstanding (waiting
// for their due time or a worker, or being handled).
const timerMaxAckPending = 64

func (t *Timers) consumer(ctx context.Context) (jetstream.Consumer, error) {
	c, err := t.js.CreateOrUpdateConsumer(ctx, store.StreamTimers, jetstream.ConsumerConfig{
		Durable:        ConsumerName,
		Description:    "Cascade daemons handling fired timers",
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        15 * time.Second, // a daemon that died mid-chunk hands it over this soon
		MaxDeliver:     -1,
		MaxAckPending:  timerMaxAckPending,
		FilterSubjects: []string{store.SubjectTimerFire + ".>"},
	})
	if err != nil {
		return nil, fmt.Errorf("timer consumer: %w", err)
	}
	return c, nil
}

// waitDue waits until the due time a fired schedule carries (it fires
// ScheduleLead early); false if ctx ended first. A firing without one (a
// chunk fired by hand) is handled at once.
func (t *Timers) waitDue(ctx context.Context, data []byte) bool {
	var b timerBody
	if json.Unmarshal(data, &b) != nil || b.Due.IsZero() {
		return true
	}
	wait := b.Due.Sub(t.now())
	if wait <= 0 {
		return true
	}
	wait = min(wait, 2*ScheduleLead) // a clock that moved back must not hold a firing
	select {
	case <-time.After(wait):
		return true
	case <-ctx.Done():
		return false
	}
}

func (t *Timers) handle(ctx context.Context, m jetstream.Msg) {
	rest, _ := strings.CutPrefix(m.Subject(), store.SubjectTimerFire+".")
	b, c, ok := strings.Cut(rest, ".")
	if ok && c == promiseToken && breach.BreachID(b).Valid() {
		t.handlePromise(ctx, m, breach.BreachID(b))
		return
	}
	chunk, err := strconv.Atoi(c)
	if !ok || err != nil || !breach.BreachID(b).Valid() {
		t.log.Error("timers: dropping message on an unexpected subject", "subject", m.Subject())
		_ = m.Term()
		return
	}
	if err := t.ProcessChunk(ctx, breach.BreachID(b), chunk); err != nil {
		if ctx.Err() == nil {
			t.log.Warn("timers: chunk failed; will retry", "breach_id", b, "chunk", chunk, "err", err)
			_ = m.NakWithDelay(time.Second)
		}
		return
	}
	if err := m.DoubleAck(ctx); err != nil {
		if ctx.Err() != nil { // stopping: the chunk is handled again on the next start, as designed
			t.log.Debug("timers: stopped before the ack; the chunk will be handled again (idempotently)", "breach_id", b, "chunk", chunk)
			return
		}
		t.log.Warn("timers: ack failed; the chunk will be handled again (idempotently)", "breach_id", b, "chunk", chunk, "err", err)
	}
}

// ProcessChunk performs every action due now for the notices of one
// chunk, records each on its notice, and arms the chunk's next time.
// Messages are published first (stable message ids make a repeat a no-op),
// then the changes are recorded, pipelined across notices with optimistic
// concurrency; a notice changed meanwhile is redone through the CAS helper.
func (t *Timers) ProcessChunk(ctx context.Context, id breach.BreachID, chunk int) error {
	b, vs, err := t.loadChunk(ctx, id, chunk)
	if err != nil || b == nil {
		return err
	}
	now := t.now()
	p := t.plan(b, vs, now)
	if err := t.publish(ctx, p.out); err != nil {
		return err
	}
	if err := t.recordReminders(ctx, id, chunk, now, p.todo); err != nil {
		return err
	}
	if err := t.recordActions(ctx, p.todo, now); err != nil {
		return err
	}
	p.done.log(t.log, id, chunk)
	return t.Arm(ctx, id, chunk, t.policy.NextOf(p.all))
}

// loadChunk reads breach id and the notices of its chunk; a nil breach
// and no error when the breach or the chunk is gone (nothing to do).
func (t *Timers) loadChunk(ctx context.Context, id breach.BreachID, chunk int) (*breach.Breach, []store.Version, error) {
	b, err := t.st.GetBreach(ctx, id)
	if err != nil {
		if errors.Is(err, breach.ErrNotFound) {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	ms, err := t.st.Members(ctx, id, b.Digest, chunk)
	if err != nil {
		if errors.Is(err, breach.ErrNotFound) {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	ids := make([]breach.NoticeID, len(ms))
	for i, m := range ms {
		ids[i] = breach.NewNoticeID(id, m.Org)
	}
	vs, err := t.st.GetNotices(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	return b, vs, nil
}

// chunkPlan is what is due now in a fired chunk.
type chunkPlan struct {
	todo []*work             // the notices with actions due
	out  []delivery.Outgoing // the messages those actions send
	done rounds              // the actions, counted for the log
	all  []*breach.Notice    // every notice of the chunk, for its next time
}

// plan derives from the policy what is due now for each notice of b's
// chunk (vs) and the messages that sends.
func (t *Timers) plan(b *breach.Breach, vs []store.Version, now time.Time) chunkPlan {
	last := t.policy.LastReminder() // the reminder that escalates
	p := chunkPlan{all: make([]*breach.Notice, 0, len(vs))}
	for _, v := range vs {
		if v.Notice == nil {
			continue
		}
		p.all = append(p.all, v.Notice)
		acts := t.policy.Due(v.Notice, now)
		if len(acts) == 0 {
			continue
		}
		p.todo = append(p.todo, &work{n: v.Notice, seq: v.Seq, actions: acts})
		for _, a := range acts {
			p.done.add(a, t.policy.Late(a, now))
			if o := v.Notice.Obligation(a.Obligation); o != nil {
				switch a.Kind {
				case ActRemind:
					p.out = append(p.out, delivery.ObligationReminderMessage(b, v.Notice, o, a.Remaining, now, t.policy.Late(a, now),
						a.Remaining == t.policy.LastObligationReminder(o)))
				case ActOverdue:
					p.out = append(p.out, delivery.ObligationOverdueMessage(b, v.Notice, o, now, t.policy.Late(a, now)))
				}
				continue
			}
			switch a.Kind {
			case ActRemind:
				p.out = append(p.out, delivery.ReminderMessage(b, v.Notice, a.Remaining, now, t.policy.Late(a, now), a.Remaining == last))
			case ActOverdue:
				p.out = append(p.out, delivery.OverdueMessage(b, v.Notice, now, t.policy.Late(a, now)))
			case ActRedeliver:
				p.out = append(p.out, delivery.RedeliveryMessage(b, v.Notice, a.Attempt, now))
			}
		}
	}
	return p
}

// publish sends out (organisations' messages and the vendor's rounds) and
// counts the rounds.
func (t *Timers) publish(ctx context.Context, out []delivery.Outgoing) error {
	if len(out) == 0 {
		return nil
	}
	if _, err := t.pub.Send(ctx, out); err != nil {
		return err
	}
	for _, r := range delivery.Rounds(out) {
		t.rounds.Round(r.Event)
	}
	return nil
}

// recordActions records on the notices the actions of todo that
// recordReminders left: round r appends each notice's r-th change, in one
// pipelined call expecting each notice's last sequence; a notice changed
// meanwhile has this and its remaining actions redone through the CAS
// helper.
func (t *Timers) recordActions(ctx context.Context, todo []*work, now time.Time) error {
	for round := 0; ; round++ {
		var changes []store.Change
		var expect []uint64
		var owners []*work
		for _, w := range todo {
			if w.done || round >= len(w.actions) {
				continue
			}
			a := w.actions[round]
			prev, prevAcked := w.n.State, w.n.RevisionAcked
			ev := t.apply(w.n, a, now)
			if ev == "" {
				continue
			}
			changes = append(changes, store.Change{Event: ev, At: now, Actor: actor, Prev: prev, PrevRevisionAcked: prevAcked,
				Detail: t.detail(a, now), Notice: *w.n})
			expect, owners = append(expect, w.seq), append(owners, w)
		}
		if len(changes) == 0 {
			return nil
		}
		res, err := t.st.AppendChanges(ctx, changes, expect)
		if err != nil {
			return err
		}
		for i, r := range res {
			w := owners[i]
			if !r.Conflict {
				w.seq = r.Seq
				continue
			}
			// Changed meanwhile (an acknowledgement, an outcome): redo this
			// and the remaining actions against the stored state.
			if err := t.redo(ctx, w, w.actions[round:], now); err != nil {
				return err
			}
			w.done = true
		}
	}
}

// redo applies actions to w's notice through the CAS helper, each against
// the stored state, and keeps the result in w.
func (t *Timers) redo(ctx context.Context, w *work, actions []Action, now time.Time) error {
	for _, a := range actions {
		cur, err := t.st.UpdateNoticeDetail(ctx, w.n.ID, actor, now, t.detail(a, now), func(n *breach.Notice) (breach.Event, error) {
			return t.apply(n, a, now), nil
		})
		if err != nil {
			return err
		}
		*w.n = *cur
	}
	return nil
}

// work is what one notice of a fired chunk needs.
type work struct {
	n       *breach.Notice // evolving copy
	seq     uint64
	actions []Action
	done    bool
}

// recordReminders records the reminders due in todo as one round per
// threshold in the chunk's reminder record (store.RecordReminders), applies
// what the record then holds to the notices in memory, and takes those
// reminders off the actions left to record. A round of fewer than
// store.MinRound notices, or a record that would pass its bounds, leaves
// its reminders to be recorded per notice.
func (t *Timers) recordReminders(ctx context.Context, id breach.BreachID, chunk int, now time.Time, todo []*work) error {
	var rounds []store.ReminderRound
	round := func(r time.Duration) *store.ReminderRound {
		for i := range rounds {
			if rounds[i].Remaining == r {
				return &rounds[i]
			}
		}
		rounds = append(rounds, store.ReminderRound{Remaining: r, SentAt: now, Actor: actor})
		return &rounds[len(rounds)-1]
	}
	for _, w := range todo {
		for _, a := range w.actions { // due: not sent yet, the notice not resolved
			if a.Kind != ActRemind || a.Obligation != "" { // an obligation's reminders are recorded on the notice
				continue
			}
			r := round(a.Remaining)
			r.Orgs = append(r.Orgs, w.n.ID.Org)
			if t.policy.Late(a, now) {
				r.Late = append(r.Late, w.n.ID.Org)
			}
		}
	}
	rounds = slices.DeleteFunc(rounds, func(r store.ReminderRound) bool { return len(r.Orgs) < store.MinRound })
	if len(rounds) == 0 {
		return nil
	}
	recorded, err := t.st.RecordReminders(ctx, id, chunk, rounds)
	if errors.Is(err, store.ErrRemindersTooLarge) {
		t.log.Warn("timers: reminders recorded per notice", "breach_id", id, "chunk", chunk, "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	for _, w := range todo {
		store.ApplyReminders(w.n, recorded)
		w.actions = slices.DeleteFunc(w.actions, func(a Action) bool {
			return a.Kind == ActRemind && a.Obligation == "" && w.n.Reminded(a.Remaining)
		})
	}
	return nil
}

// actor of the changes timers make.
const actor = "cascade"

// apply performs action a on n (in memory) and names the event, or ""
// when it is no longer needed.
func (t *Timers) apply(n *breach.Notice, a Action, now time.Time) breach.Event {
	if a.Obligation != "" {
		switch a.Kind {
		case ActRemind:
			return n.RemindObligation(a.Obligation, a.Remaining, a.DueAt, now, t.policy.Late(a, now))
		case ActOverdue:
			return n.MarkObligationOverdue(a.Obligation, now)
		}
		return ""
	}
	switch a.Kind {
	case ActRemind:
		return n.Remind(a.Remaining, a.DueAt, now, t.policy.Late(a, now))
	case ActOverdue:
		return n.MarkOverdue(now)
	default:
		if !n.NeedsAck() || n.Redeliveries+1 != a.Attempt {
			return ""
		}
		return n.Deliver(now, t.policy.Window, n.Revision)
	}
}

func (t *Timers) detail(a Action, now time.Time) string {
	d := string(a.Kind)
	switch a.Kind {
	case ActRemind:
		return breach.ObligationDetail(a.Obligation, breach.ReminderDetail(a.Remaining, a.DueAt, t.policy.Late(a, now)))
	case ActRedeliver:
		d = fmt.Sprintf("redelivery %d", a.Attempt)
	}
	if t.policy.Late(a, now) {
		d += breach.LateDetail(a.DueAt)
	}
	return breach.ObligationDetail(a.Obligation, d)
}

// NextOf is the earliest time any of ns needs an action (zero if none).
func (p Policy) NextOf(ns []*breach.Notice) time.Time {
	var next time.Time
	for _, n := range ns {
		if n == nil {
			continue
		}
		if t := p.Next(n); !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return next
}
