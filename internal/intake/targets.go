package intake

import (
	"context"
	"fmt"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/delivery"
	"github.com/cascadehq/cascade/internal/store"
)

// This file holds what an update does to organisations notified before:
// corrected numbers (correct_affected), withdrawals (withdraw) and a
// withdrawn organisation named affected again (add_affected).

// targets checks that every organisation u corrects or withdraws has a
// notice of b, and that none it corrects is withdrawn: otherwise an
// *breach.InvalidError naming each such entry (reason not_notified or
// withdrawn). It returns how many organisations u corrects, newly
// withdraws (withdrawing a withdrawn one again changes nothing) and
// names again after a withdrawal.
func (in *Intake) targets(ctx context.Context, b *breach.Breach, u *breach.Update) (corrected, withdrawn, renotified int, err error) {
	var ids []breach.NoticeID
	for _, a := range u.CorrectAffected {
		ids = append(ids, breach.NewNoticeID(b.ID, a.Org))
	}
	for _, w := range u.Withdraw {
		ids = append(ids, breach.NewNoticeID(b.ID, w.Org))
	}
	for _, a := range u.AddAffected {
		ids = append(ids, breach.NewNoticeID(b.ID, a.Org))
	}
	if len(ids) == 0 {
		return 0, 0, 0, nil
	}
	vs, err := in.st.GetNotices(ctx, ids)
	if err != nil {
		return 0, 0, 0, err
	}
	var bad []breach.FieldViolation
	i := 0
	for j, a := range u.CorrectAffected {
		n := vs[i].Notice
		i++
		field := fmt.Sprintf("correct_affected[%d].org_id", j)
		switch {
		case n == nil:
			bad = append(bad, breach.FieldViolation{Field: field, Reason: "not_notified",
				Detail: fmt.Sprintf("organisation %q has no notice of breach %s; name a newly affected organisation in add_affected", a.Org, b.ID)})
		case n.State == breach.StateWithdrawn:
			bad = append(bad, breach.FieldViolation{Field: field, Reason: "withdrawn",
				Detail: fmt.Sprintf("the notice of organisation %q was withdrawn; name it in add_affected to notify it again", a.Org)})
		default:
			corrected++
		}
	}
	for j, w := range u.Withdraw {
		n := vs[i].Notice
		i++
		switch {
		case n == nil:
			bad = append(bad, breach.FieldViolation{Field: fmt.Sprintf("withdraw[%d].org_id", j), Reason: "not_notified",
				Detail: fmt.Sprintf("organisation %q has no notice of breach %s; only a notified organisation can be withdrawn", w.Org, b.ID)})
		case n.State != breach.StateWithdrawn:
			withdrawn++
		}
	}
	for range u.AddAffected {
		if n := vs[i].Notice; n != nil && n.State == breach.StateWithdrawn {
			renotified++
		}
		i++
	}
	if len(bad) > 0 {
		return 0, 0, 0, capViolations(&breach.InvalidError{Violations: bad})
	}
	return corrected, withdrawn, renotified, nil
}

// planned is what revision rev does to one notice that exists already.
type planned int

const (
	planSkip     planned = iota // nothing: delivered already, withdrawn, or not named by a targeted revision
	planDeliver                 // deliver rev (a first delivery if PENDING)
	planWithdraw                // send the withdrawal and record it
)

// plan decides what revision rev of b does to notice v and records, first,
// what must hold before the delivery: corrected numbers (event
// counts_corrected) or a withdrawn notice made PENDING again (renotified).
// Both go through the CAS helper and are idempotent, so a fan-out resumed
// after a crash finds them recorded and goes on with the delivery.
func (in *Intake) plan(ctx context.Context, b *breach.Breach, rev int, v store.Version) (planned, store.Version, error) {
	n := v.Notice
	var u *breach.Update
	if r := b.RevisionNumber(rev); r != nil {
		u = &r.Update
	}
	if u == nil { // revision 1
		if n.State == breach.StatePending || n.Revision < rev {
			return planDeliver, v, nil
		}
		return planSkip, v, nil
	}
	if _, ok := u.Withdrawal(n.ID.Org); ok {
		if n.State == breach.StateWithdrawn {
			return planSkip, v, nil
		}
		return planWithdraw, v, nil
	}
	if n.State == breach.StateWithdrawn {
		a, ok := u.Adds(n.ID.Org)
		if !ok || n.RenotifiedRevision >= rev {
			return planSkip, v, nil
		}
		now := in.now()
		_, err := in.st.UpdateNoticeDetail(ctx, n.ID, actorSystem, now, fmt.Sprintf("revision %d names the organisation affected again; a new clock starts at its next delivery", rev),
			func(n *breach.Notice) (breach.Event, error) {
				if n.State != breach.StateWithdrawn {
					return "", nil
				}
				return n.Renotify(a, rev), nil
			})
		if err != nil {
			return 0, v, err
		}
		if v, err = in.st.GetNotice(ctx, n.ID); err != nil {
			return 0, v, err
		}
		return planDeliver, v, nil
	}
	if c, ok := u.Correction(n.ID.Org); ok && n.Revision < rev {
		probe := *n
		ev, detail, err := probe.Correct(c, rev)
		if err != nil {
			return planSkip, v, nil // withdrawn meanwhile: nothing to correct or deliver
		}
		if ev != "" {
			if _, err := in.st.UpdateNoticeDetail(ctx, n.ID, actorSystem, in.now(), detail, func(n *breach.Notice) (breach.Event, error) {
				ev, _, err := n.Correct(c, rev)
				return ev, err
			}); err != nil {
				return 0, v, err
			}
			if v, err = in.st.GetNotice(ctx, n.ID); err != nil {
				return 0, v, err
			}
		}
		return planDeliver, v, nil
	}
	if u.Targeted() {
		return planSkip, v, nil // a revision that only corrects or withdraws goes to the organisations it names
	}
	if n.State == breach.StatePending || n.Revision < rev {
		return planDeliver, v, nil
	}
	return planSkip, v, nil
}

// withdraw sends revision rev's withdrawal to each of ns, then records it
// on each through the CAS helper (a notice withdrawn meanwhile records
// nothing: idempotent). The message ids are stable, so a resumed fan-out
// stores each message once and records the time of the first copy.
func (in *Intake) withdraw(ctx context.Context, b *breach.Breach, rev int, ns []*breach.Notice) error {
	if len(ns) == 0 {
		return nil
	}
	r := b.RevisionNumber(rev)
	at := in.now()
	out := make([]delivery.Outgoing, len(ns))
	for i, n := range ns {
		w, _ := r.Update.Withdrawal(n.ID.Org)
		out[i] = delivery.WithdrawalMessage(b, n, rev, w.Statement, at)
	}
	res, err := in.pub.Send(ctx, out)
	if err != nil {
		return err
	}
	for i, n := range ns {
		w, _ := r.Update.Withdrawal(n.ID.Org)
		sent := res[i].SentAt
		cur, err := in.st.UpdateNoticeDetail(ctx, n.ID, actorSystem, sent, fmt.Sprintf("revision %d: %s", rev, w.Statement),
			func(n *breach.Notice) (breach.Event, error) { return n.Withdraw(sent, w.Statement, rev), nil })
		if err != nil {
			return err
		}
		*ns[i] = *cur
	}
	return nil
}
