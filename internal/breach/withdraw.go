package breach

import (
	"fmt"
	"time"
)

// This file holds what lets a processor's facts about one organisation
// change after it was notified: its status (AffectedStatus), corrected
// numbers (Update.CorrectAffected) and withdrawal (Update.Withdraw).

// AffectedStatus is what the processor says of one organisation. The
// empty status reads as StatusConfirmed (reports sent before statuses
// existed, and reports that do not say).
type AffectedStatus string

// Affected statuses.
const (
	StatusConfirmed          AffectedStatus = "CONFIRMED"
	StatusUnderInvestigation AffectedStatus = "UNDER_INVESTIGATION"
	StatusNotAffected        AffectedStatus = "NOT_AFFECTED"
)

// Or is s, or StatusConfirmed when s is empty.
func (s AffectedStatus) Or() AffectedStatus {
	if s == "" {
		return StatusConfirmed
	}
	return s
}

// Events of corrections and withdrawals.
const (
	// EventCountsCorrected: a revision corrected the organisation's
	// numbers or status (detail: before → after).
	EventCountsCorrected Event = "counts_corrected"
	// EventWithdrawn: the processor found the organisation not affected.
	EventWithdrawn Event = "withdrawn"
	// EventRenotified: a withdrawn organisation was named affected again;
	// the notice waits for its new first delivery, which starts a new clock.
	EventRenotified Event = "renotified"
)

// MaxStatement bounds a withdrawal statement.
const MaxStatement = 2000

// WithdrawOrganisation retracts one organisation from a breach.
type WithdrawOrganisation struct {
	Org       OrgID  `json:"org_id"`
	Statement string `json:"statement"`
}

// Targeted reports whether the update only corrects or withdraws named
// organisations: it changes no shared fact and adds no one, so it is
// delivered only to the organisations it names.
func (u *Update) Targeted() bool {
	return (len(u.CorrectAffected) > 0 || len(u.Withdraw) > 0) && len(u.AddAffected) == 0 &&
		u.Nature == "" && u.OccurredFrom.IsZero() && u.OccurredTo.IsZero() && u.DataCategories == nil &&
		u.SubjectCategories == nil && u.LikelyConsequences == "" && u.MeasuresTaken == "" &&
		u.MeasuresProposed == "" && u.AdviceToControllers == "" && u.Contact == nil
}

// Correction is the corrected entry for org in the update, if any.
func (u *Update) Correction(org OrgID) (Affected, bool) {
	for _, a := range u.CorrectAffected {
		if a.Org == org {
			return a, true
		}
	}
	return Affected{}, false
}

// Withdrawal is the withdrawal of org in the update, if any.
func (u *Update) Withdrawal(org OrgID) (WithdrawOrganisation, bool) {
	for _, w := range u.Withdraw {
		if w.Org == org {
			return w, true
		}
	}
	return WithdrawOrganisation{}, false
}

// Adds is the add_affected entry for org in the update, if any.
func (u *Update) Adds(org OrgID) (Affected, bool) {
	for _, a := range u.AddAffected {
		if a.Org == org {
			return a, true
		}
	}
	return Affected{}, false
}

// statusField checks a status in a report or update: NOT_AFFECTED is
// refused (withdraw retracts an organisation, with a statement).
func statusField(vs *violations, field string, s AffectedStatus) {
	switch s {
	case "", StatusConfirmed, StatusUnderInvestigation:
	case StatusNotAffected:
		vs.add(field+".status", "not_affected", "status NOT_AFFECTED cannot be given here; retract the organisation with withdraw (and a statement) in an update")
	default:
		vs.add(field+".status", "enum", "status %q is not a known status", truncate(string(s)))
	}
}

// validateTargets checks correct_affected and withdraw: valid ids, each
// organisation named once across add_affected, correct_affected and
// withdraw, numbers in range, a statement with each withdrawal.
func (u *Update) validateTargets(vs *violations) {
	if len(u.CorrectAffected) > MaxAffected {
		vs.add("correct_affected", "too_many", "correct_affected has %d entries; at most %d", len(u.CorrectAffected), MaxAffected)
	}
	if len(u.Withdraw) > MaxAffected {
		vs.add("withdraw", "too_many", "withdraw has %d entries; at most %d", len(u.Withdraw), MaxAffected)
	}
	named := map[OrgID]string{}
	for i, a := range u.AddAffected {
		if _, dup := named[a.Org]; !dup {
			named[a.Org] = fmt.Sprintf("add_affected[%d]", i)
		}
	}
	name := func(field string, org OrgID) {
		switch {
		case !org.Valid():
			vs.add(field+".org_id", "pattern", "organisation id %q does not match %s", truncate(string(org)), OrgIDPattern)
		case named[org] != "":
			vs.add(field+".org_id", "duplicate", "organisation %q is also named in %s; name each organisation once per update", org, named[org])
		default:
			named[org] = field
		}
	}
	for i, a := range u.CorrectAffected {
		field := fmt.Sprintf("correct_affected[%d]", i)
		name(field, a.Org)
		approxRange(vs, field, a)
		statusField(vs, field, a.Status)
	}
	for i, w := range u.Withdraw {
		field := fmt.Sprintf("withdraw[%d]", i)
		name(field, w.Org)
		textField(vs, field+".statement", w.Statement, true, MaxStatement)
	}
}

// Status is the notice's affected status (StatusConfirmed when unset).
func (n *Notice) Status() AffectedStatus {
	if n.State == StateWithdrawn {
		return StatusNotAffected
	}
	return n.AffectedStatus.Or()
}

// Correct records the corrected numbers and status of a (which names n's
// organisation) from revision rev, and returns EventCountsCorrected with
// a detail "before → after", or "" when nothing changes (idempotent). A
// withdrawn notice is not corrected (ErrIllegalTransition).
func (n *Notice) Correct(a Affected, rev int) (Event, string, error) {
	if n.State == StateWithdrawn {
		return "", "", fmt.Errorf("%w: notice %s was withdrawn; name the organisation in add_affected to notify it again", ErrIllegalTransition, n.ID)
	}
	st := a.Status.Or()
	if n.ApproxSubjects == a.ApproxSubjects && n.ApproxRecords == a.ApproxRecords && n.AffectedStatus.Or() == st {
		return "", "", nil
	}
	detail := fmt.Sprintf("revision %d: %s → %s", rev, countsText(n.ApproxSubjects, n.ApproxRecords, n.AffectedStatus.Or()),
		countsText(a.ApproxSubjects, a.ApproxRecords, st))
	n.ApproxSubjects, n.ApproxRecords = a.ApproxSubjects, a.ApproxRecords
	n.AffectedStatus = a.Status
	if st == StatusConfirmed {
		n.AffectedStatus = ""
	}
	return EventCountsCorrected, detail, nil
}

func countsText(subjects, records int64, s AffectedStatus) string {
	num := func(v int64) string {
		if v == 0 {
			return "unknown"
		}
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("subjects %s, records %s, %s", num(subjects), num(records), s)
}

// Withdraw records that revision rev of the breach found the organisation
// not affected, at at (when the withdrawal message was sent). The clock
// stops: no reminders, redeliveries or escalation follow and the notice is
// never overdue. Its history, acknowledgement and any outcome stay; an
// outcome may still be recorded. Withdrawing a withdrawn notice returns ""
// (idempotent).
func (n *Notice) Withdraw(at time.Time, statement string, rev int) Event {
	if n.State == StateWithdrawn {
		return ""
	}
	n.State = StateWithdrawn
	n.WithdrawnAt = at
	n.WithdrawalStatement = statement
	n.AffectedStatus = StatusNotAffected
	if rev > n.Revision {
		n.Revision = rev // the withdrawal message is revision rev; it may be acknowledged
	}
	return EventWithdrawn
}

// Renotify makes a withdrawn notice PENDING again for revision rev, which
// names the organisation affected again (a, from add_affected): its
// obligation starts over, with a new clock from its next delivery. The
// earlier delivery, acknowledgement, reminders, escalation and outcome
// stay in its history, not in its current state. It returns "" when the
// notice is not withdrawn (idempotent).
func (n *Notice) Renotify(a Affected, rev int) Event {
	if n.State != StateWithdrawn {
		return ""
	}
	n.State = StatePending
	n.DeliveredAt, n.Deadline = time.Time{}, time.Time{}
	n.AcknowledgedAt, n.AcknowledgedBy, n.AckNote = time.Time{}, "", ""
	n.RevisionAcked, n.Redeliveries = 0, 0
	n.Reminders, n.OverdueAt = nil, time.Time{}
	n.ResolvedAt, n.Outcome, n.SubjectComm = time.Time{}, nil, nil
	n.WithdrawnAt, n.WithdrawalStatement = time.Time{}, ""
	n.resetObligations()
	n.ApproxSubjects, n.ApproxRecords = a.ApproxSubjects, a.ApproxRecords
	n.AffectedStatus = a.Status
	if n.AffectedStatus == StatusConfirmed {
		n.AffectedStatus = ""
	}
	n.RenotifiedRevision = rev
	return EventRenotified
}
