package intake

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
)

// PromiseTimers arms a breach's promise timer (implemented by
// deadline.Timers): the processor's own clock.
type PromiseTimers interface {
	// ArmPromise arms b's promise timer from its stored promise.
	ArmPromise(ctx context.Context, b *breach.Breach) error
}

// withPromise adds to err (nil or an *breach.InvalidError from Validate)
// the violation of a next_update_by received at received, if any.
func withPromise(err error, next, received time.Time) error {
	perr := breach.ValidatePromise(next, received)
	if perr == nil {
		return err
	}
	var inv, pinv *breach.InvalidError
	errors.As(perr, &pinv)
	if !errors.As(err, &inv) {
		return perr
	}
	return &breach.InvalidError{Violations: append(inv.Violations, pinv.Violations...)}
}

// invalidPromise rejects a message of breach id whose next_update_by is
// outside the bounds around its receipt (the intake timestamp, stable
// across redeliveries).
func invalidPromise(id breach.BreachID, next, received time.Time) error {
	err := breach.ValidatePromise(next, received)
	if err == nil {
		return nil
	}
	var inv *breach.InvalidError
	errors.As(err, &inv)
	return &rejectErr{Rejection{Reason: "invalid", Detail: err.Error(), BreachID: id, Violations: inv.Violations, Field: inv.Violations[0].Field}}
}

// promised records evs in b's promise history and arms b's promise timer;
// a breach whose processor never promised anything is left alone.
func (in *Intake) promised(ctx context.Context, b *breach.Breach, evs ...breach.PromiseEvent) error {
	if b.Promise == (breach.Promise{}) {
		return nil
	}
	for _, ev := range evs {
		if err := in.st.AppendPromiseEvent(ctx, b.ID, ev, fmt.Sprintf("%s/promise/%d/%s", b.ID, ev.Revision, ev.Event)); err != nil {
			return err
		}
	}
	if in.promises == nil {
		return nil
	}
	return in.promises.ArmPromise(ctx, b)
}

// settlePromise applies the update of revision rev, received at received
// (recorded at now), to the breach's promise: the open promise is kept or
// late, and the update's own promise, if any, opens. It returns the
// outcome and the history entries.
func settlePromise(p *breach.Promise, u *breach.Update, rev int, received, now time.Time) (string, []breach.PromiseEvent) {
	var evs []breach.PromiseEvent
	by, overdueSent := p.By, !p.OverdueAt.IsZero()
	out := p.Settle(received)
	if out != "" {
		if out == breach.PromiseKept && overdueSent {
			// Received in time, recorded after the overdue message (it
			// waited for an earlier revision's delivery): kept, not missed.
			p.Missed--
		}
		evs = append(evs, breach.PromiseEvent{Event: out, At: now, By: by, Revision: rev, Detail: breach.PromiseDetail(by, received)})
	}
	if !u.NextUpdateBy.IsZero() {
		p.Make(u.NextUpdateBy, received, rev)
		evs = append(evs, breach.PromiseEvent{Event: breach.PromiseEventPromised, At: now, By: u.NextUpdateBy, Revision: rev})
	}
	return out, evs
}
