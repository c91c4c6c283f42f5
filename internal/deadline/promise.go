package deadline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/delivery"
	"github.com/cascadehq/cascade/internal/message"
	"github.com/cascadehq/cascade/internal/store"
)

// DefaultUpdateReminder is how long before a promised update
// (next_update_by) the processor is reminded of it.
const DefaultUpdateReminder = time.Hour

// The processor's own clock. A breach's open promise (breach.Promise) has
// one timer of its own, on cascade.timer.at.<breach_id>.promise, armed for
// the reminder and then for the promised time; it fires on
// cascade.timer.fire.<breach_id>.promise and is handled by the same
// consumer as the chunks' timers (ProcessPromise).
const promiseToken = "promise"

// PromiseRemindAt is when the processor is reminded of its open promise:
// UpdateReminder before it, or, for a promise made less than four times
// that before it, a quarter of the time it gave itself before it. Zero when
// no reminder is due (none open, or UpdateReminder is negative).
func (p Policy) PromiseRemindAt(pr *breach.Promise) time.Time {
	if !pr.Open() || p.UpdateReminder < 0 {
		return time.Time{}
	}
	lead := p.UpdateReminder
	if lead == 0 {
		lead = DefaultUpdateReminder
	}
	if span := pr.By.Sub(pr.MadeAt); !pr.MadeAt.IsZero() && span > 0 && span/4 < lead {
		lead = span / 4
	}
	return pr.By.Add(-lead)
}

// PromiseAction is what the processor's clock needs at a time.
type PromiseAction string

// Promise actions.
const (
	PromiseNone    PromiseAction = ""
	PromiseRemind  PromiseAction = message.VendorUpdateDue
	PromiseOverdue PromiseAction = message.VendorUpdateOverdue
)

// PromiseDue is what the open promise needs at now: the overdue message
// once its time passed (the reminder then is skipped), else the reminder
// once its time came, else nothing.
func (p Policy) PromiseDue(pr *breach.Promise, now time.Time) PromiseAction {
	switch {
	case !pr.Open() || !pr.OverdueAt.IsZero():
		return PromiseNone
	case !now.Before(pr.By):
		return PromiseOverdue
	case pr.RemindedAt.IsZero():
		if at := p.PromiseRemindAt(pr); !at.IsZero() && !now.Before(at) {
			return PromiseRemind
		}
	}
	return PromiseNone
}

// PromiseNext is when the open promise next needs an action (zero: never).
func (p Policy) PromiseNext(pr *breach.Promise) time.Time {
	if !pr.Open() || !pr.OverdueAt.IsZero() {
		return time.Time{}
	}
	if at := p.PromiseRemindAt(pr); pr.RemindedAt.IsZero() && !at.IsZero() {
		return at
	}
	return pr.By
}

// ArmPromise arms b's promise timer for when its open promise next needs
// an action, replacing the pending one; with nothing to do (no promise
// open, or the overdue message sent) it removes the pending one. Arming
// the same time again is harmless: the intake arms on every (re)run.
func (t *Timers) ArmPromise(ctx context.Context, b *breach.Breach) error {
	tok := string(b.ID) + "." + promiseToken
	at := t.policy.PromiseNext(&b.Promise)
	if at.IsZero() {
		s, err := t.stream(ctx)
		if err != nil {
			return fmt.Errorf("disarm the promise timer of %s: %w", b.ID, err)
		}
		err = s.Purge(ctx, jetstream.WithPurgeSubject(store.SubjectTimerAt+"."+tok))
		if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("disarm the promise timer of %s: %w", b.ID, err)
		}
		return nil
	}
	now := t.now()
	fire := at.Add(-ScheduleLead)
	if min := now.Add(50 * time.Millisecond); fire.Before(min) {
		fire = min
	}
	body, _ := json.Marshal(timerBody{Breach: b.ID, Due: at.UTC()})
	m := &nats.Msg{Subject: store.SubjectTimerAt + "." + tok, Data: body, Header: nats.Header{}}
	m.Header.Set("Nats-Schedule", ScheduleAt(fire))
	_, err := t.js.PublishMsg(ctx, m,
		jetstream.WithScheduleTarget(store.SubjectTimerFire+"."+tok),
		jetstream.WithScheduleTTL(firedTTL),
		jetstream.WithExpectStream(store.StreamTimers))
	if err != nil {
		return fmt.Errorf("arm the promise timer of %s: %w", b.ID, err)
	}
	return nil
}

// errPromiseMoved: the promise changed (an update arrived) or the action
// was recorded meanwhile; nothing more to record.
var errPromiseMoved = errors.New("promise changed meanwhile")

// ProcessPromise performs what breach id's open promise needs now: the
// reminder (update_due) or the overdue message (update_overdue) to the
// vendor, each sent once (a stable Nats-Msg-Id, and recorded on the
// breach, then in its promise history), and arms the next time. A promise
// replaced or kept meanwhile needs nothing.
func (t *Timers) ProcessPromise(ctx context.Context, id breach.BreachID) error {
	b, err := t.st.GetBreach(ctx, id)
	if errors.Is(err, breach.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	now := t.now()
	pr := b.Promise
	act := t.policy.PromiseDue(&pr, now)
	if act != PromiseNone {
		due := pr.By
		if act == PromiseRemind {
			due = t.policy.PromiseRemindAt(&pr)
		}
		msg := message.Promise{Event: string(act), BreachID: id, Title: b.Report.Title, NextUpdateBy: pr.By,
			PromisedAt: pr.MadeAt, PromisedRevision: pr.Revision, LatestRevision: b.Latest(),
			Late: now.Sub(due) > t.policy.LateAfter, Kept: pr.Kept, Missed: pr.Missed, SentAt: now,
			How: fmt.Sprintf("publish an update on %s (or cascadectl breach update) for breach %s", store.SubjectUpdate, id)}
		if act == PromiseRemind {
			msg.Remaining = pr.By.Sub(now).Round(time.Second).String()
		} else {
			msg.LateBy = now.Sub(pr.By).Round(time.Second).String()
			msg.Missed++
		}
		if err := t.pub.SendPromiseEvent(ctx, msg); err != nil {
			return err
		}
		cur, err := t.st.UpdateBreach(ctx, id, func(cur *breach.Breach) error {
			ok := false
			if act == PromiseRemind {
				ok = cur.Promise.MarkReminded(pr.By, now)
			} else {
				ok = cur.Promise.MarkOverdue(pr.By, now)
			}
			if !ok {
				return errPromiseMoved
			}
			return nil
		})
		switch {
		case errors.Is(err, errPromiseMoved):
			if b, err = t.st.GetBreach(ctx, id); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			b = cur
			ev := breach.PromiseEvent{Event: breach.PromiseEventReminded, At: now, By: pr.By, Detail: msg.Remaining + " left"}
			if act == PromiseOverdue {
				ev.Event, ev.Detail = breach.PromiseEventOverdue, "no update "+msg.LateBy+" after the promised time"
			}
			if msg.Late {
				ev.Detail += breach.LateDetail(due)
			}
			if err := t.st.AppendPromiseEvent(ctx, id, ev, delivery.PromiseMsgID(id, string(act), pr.By)); err != nil {
				return err
			}
			t.log.Info("processor's promise "+ev.Event, "breach_id", id, "next_update_by", pr.By)
		}
	}
	return t.ArmPromise(ctx, b)
}

// handlePromise handles a fired promise timer.
func (t *Timers) handlePromise(ctx context.Context, m jetstream.Msg, b breach.BreachID) {
	if err := t.ProcessPromise(ctx, b); err != nil {
		if ctx.Err() == nil {
			t.log.Warn("timers: promise failed; will retry", "breach_id", b, "err", err)
			_ = m.NakWithDelay(time.Second)
		}
		return
	}
	if err := m.DoubleAck(ctx); err != nil && ctx.Err() == nil { // stopping: handled again on the next start
		t.log.Warn("timers: ack failed; the promise will be handled again (idempotently)", "breach_id", b, "err", err)
	}
}
