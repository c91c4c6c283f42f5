package breach

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// The transition matrix: every operation on a notice in every state.
//
// Fixture times, all relative to t1 (the first delivery):
var (
	mxAck1     = t1.Add(time.Hour)                    // ACKNOWLEDGED / RESOLVED(not reportable): revision 1 acknowledged
	mxRev2     = t1.Add(2 * time.Hour)                // DELIVERED / ACKNOWLEDGED: revision 2 delivered
	mxRedeliv  = t1.Add(3 * time.Hour)                // DELIVERED: revision 2 redelivered once
	mxResolved = t1.Add(4 * time.Hour)                // RESOLVED: the outcome was recorded
	mxRev2Late = t1.Add(4*time.Hour + 30*time.Minute) // RESOLVED: revision 2 delivered after the outcome
	mxReported = t1.Add(3*time.Hour + 30*time.Minute) // when the authority was notified (on time)
	mxOp       = t1.Add(5 * time.Hour)                // when the operation under test happens
	mxDeadline = t1.Add(window)                       // every delivered fixture's deadline
	mxLateRep  = mxDeadline.Add(time.Hour)            // a report after the deadline
	mxLateNow  = mxDeadline.Add(2 * time.Hour)        // when a late report is recorded
	mxCommAt   = t1.Add(3 * time.Hour)                // when the data subjects were informed
	mxNewDL    = mxOp.Add(2 * window)                 // the deadline of a first delivery by the matrix
	mxRemind   = mxDeadline.Add(-48 * time.Hour)      // the 48h reminder's due time
	mxOverdue  = mxDeadline.Add(10 * time.Minute)     // when the overdue escalation is sent
	mxWithdrew = t1.Add(2 * time.Hour)                // WITHDRAWN: revision 2 withdrew the organisation
)

const (
	mxActor         = "ctrl@acme.example"
	mxJustification = "the data was encrypted with a key that was not compromised"
	mxStatement     = "the export job never read this customer's tenant"
)

func mxComm() SubjectCommunication {
	return SubjectCommunication{Kind: CommCommunicated, CommunicatedAt: mxCommAt, How: "e-mail"}
}

// The six states of the matrix. Every delivered fixture has revision 2
// delivered, so "older revision" and "newer revision" both exist.
const (
	sU   = "UNSPECIFIED"
	sP   = "PENDING"
	sD   = "DELIVERED"
	sA   = "ACKNOWLEDGED"
	sRR  = "RESOLVED(reported)"
	sRNR = "RESOLVED(not reportable)"
	sW   = "WITHDRAWN"
)

var mxStates = []struct {
	name  string
	build func() Notice
}{
	{sU, func() Notice { n := pendingNotice(); n.State = StateUnspecified; return n }},
	{sP, pendingNotice},
	// Revision 1 at t1, revision 2 at mxRev2, redelivered at mxRedeliv; nothing acknowledged.
	{sD, func() Notice {
		n := deliveredNotice()
		n.Deliver(mxRev2, window, 2)
		n.Deliver(mxRedeliv, window, 2)
		return n
	}},
	// Revision 1 acknowledged, then revision 2 delivered (not acknowledged).
	{sA, func() Notice {
		n := deliveredNotice()
		must(n.Acknowledge(mxAck1, "alice", "first", 0))
		n.Deliver(mxRev2, window, 2)
		return n
	}},
	// Never acknowledged explicitly: reported on time (which acknowledges
	// revision 1), data subjects informed, then revision 2 delivered.
	{sRR, func() Notice {
		n := deliveredNotice()
		must(n.RecordAuthorityReport(mxResolved, mxActor, "IMY", "IMY-1", mxReported, ""))
		must(n.RecordSubjectCommunication(mxResolved, mxActor, mxComm()))
		n.Deliver(mxRev2Late, window, 2)
		return n
	}},
	// Revision 1 acknowledged, documented not reportable, then revision 2 delivered.
	{sRNR, func() Notice {
		n := deliveredNotice()
		must(n.Acknowledge(mxAck1, "alice", "first", 0))
		must(n.RecordNotReportable(mxResolved, mxActor, mxJustification))
		n.Deliver(mxRev2Late, window, 2)
		return n
	}},
	// Revision 1 acknowledged, then revision 2 withdrew the organisation
	// (the processor found it not affected).
	{sW, func() Notice {
		n := deliveredNotice()
		must(n.Acknowledge(mxAck1, "alice", "first", 0))
		n.Withdraw(mxWithdrew, mxStatement, 2)
		return n
	}},
}

// cell is the expected outcome of one operation on one state.
type cell struct {
	ev      Event
	err     error  // matched with errors.Is
	invalid string // the field of the expected *InvalidError
	state   State
	want    func(n *Notice) // the expected changes to the fixture; nil: unchanged
	bug     string          // non-empty: a known bug; the cell is skipped
}

func illegal(s State) cell           { return cell{err: ErrIllegalTransition, state: s} }
func invalid(f string, s State) cell { return cell{invalid: f, state: s} }
func noop(s State) cell              { return cell{state: s} }

// Expected changes.

func firstDelivery(rev int) func(*Notice) {
	return func(n *Notice) {
		n.State = StateDelivered
		n.DeliveredAt = mxOp
		n.Deadline = mxNewDL
		n.Revision = rev
		n.DeliveryCount++
		n.LastDeliveryAt = mxOp
	}
}

func redelivery(n *Notice) {
	n.DeliveryCount++
	n.LastDeliveryAt = mxOp
	n.Redeliveries++
}

func revisionDelivery(rev int) func(*Notice) {
	return func(n *Notice) {
		n.DeliveryCount++
		n.LastDeliveryAt = mxOp
		n.Revision = rev
		n.Redeliveries = 0
	}
}

// firstAck: the first acknowledgement of a DELIVERED notice.
func firstAck(rev int) func(*Notice) {
	return func(n *Notice) {
		n.State = StateAcknowledged
		n.AcknowledgedAt = mxOp
		n.AcknowledgedBy = "bob"
		n.AckNote = "second"
		n.RevisionAcked = rev
	}
}

// laterAck: a later revision acknowledged; the first acknowledgement stays.
func laterAck(rev int) func(*Notice) {
	return func(n *Notice) { n.RevisionAcked = rev }
}

// resolved: an outcome recorded at now. ackNow: the notice had not been
// acknowledged, so resolving acknowledges it at now (revision revAcked).
func resolved(now time.Time, o Outcome, ackNow bool, revAcked int) func(*Notice) {
	return func(n *Notice) {
		if ackNow {
			n.AcknowledgedAt = now
			n.AcknowledgedBy = mxActor
		}
		n.RevisionAcked = revAcked
		n.State = StateResolved
		n.ResolvedAt = now
		o.RecordedAt, o.RecordedBy = now, mxActor
		n.Outcome = &o
	}
}

// outcomeKept: an outcome recorded on a WITHDRAWN notice, which stays
// WITHDRAWN (its acknowledgement was recorded before).
func outcomeKept(now time.Time, o Outcome) func(*Notice) {
	return func(n *Notice) {
		n.ResolvedAt = now
		o.RecordedAt, o.RecordedBy = now, mxActor
		n.Outcome = &o
	}
}

// withdrawnBy: withdrawn at mxOp by revision rev.
func withdrawnBy(rev int) func(*Notice) {
	return func(n *Notice) {
		n.State = StateWithdrawn
		n.WithdrawnAt = mxOp
		n.WithdrawalStatement = mxStatement
		n.AffectedStatus = StatusNotAffected
		n.Revision = max(n.Revision, rev)
	}
}

// mxCorrection are the corrected numbers the matrix applies.
var mxCorrection = Affected{Org: "acme", ApproxSubjects: 500, ApproxRecords: 9000, Status: StatusUnderInvestigation}

func corrected(n *Notice) {
	n.ApproxSubjects, n.ApproxRecords, n.AffectedStatus = 500, 9000, StatusUnderInvestigation
}

// renotified: a withdrawn notice named again by revision 3 is PENDING,
// its obligation (clock, acknowledgement, outcome) starting over.
func renotified(n *Notice) {
	n.State = StatePending
	n.DeliveredAt, n.Deadline = time.Time{}, time.Time{}
	n.AcknowledgedAt, n.AcknowledgedBy, n.AckNote = time.Time{}, "", ""
	n.RevisionAcked, n.Redeliveries = 0, 0
	n.Reminders, n.OverdueAt = nil, time.Time{}
	n.ResolvedAt, n.Outcome, n.SubjectComm = time.Time{}, nil, nil
	n.WithdrawnAt, n.WithdrawalStatement = time.Time{}, ""
	n.ApproxSubjects, n.ApproxRecords, n.AffectedStatus = 42, 0, ""
	n.RenotifiedRevision = 3
}

func commRecorded(sc SubjectCommunication) func(*Notice) {
	return func(n *Notice) {
		sc.RecordedAt, sc.RecordedBy = mxOp, mxActor
		n.SubjectComm = &sc
	}
}

func reminded(n *Notice) {
	n.Reminders = append(n.Reminders, Reminder{Remaining: 48 * time.Hour, DueAt: mxRemind, SentAt: mxOp})
}

func overdue(n *Notice) { n.OverdueAt = mxOverdue }

// Outcomes the operations record.
var (
	onTimeReport  = Outcome{Kind: OutcomeReported, Authority: "IMY", Reference: "IMY-1", ReportedAt: mxReported}
	otherRefRep   = Outcome{Kind: OutcomeReported, Authority: "IMY", Reference: "IMY-2", ReportedAt: mxReported}
	lateReport    = Outcome{Kind: OutcomeReported, Authority: "IMY", Reference: "IMY-2", ReportedAt: mxLateRep, DelayReason: "forensics took four days", Late: true}
	notReportable = Outcome{Kind: OutcomeNotReportable, Justification: mxJustification}
	otherJustif   = Outcome{Kind: OutcomeNotReportable, Justification: "only public data"}
)

// Data-subject communications the operations record.
var (
	commNotRequired = SubjectCommunication{Kind: CommNotRequired, Justification: "no high risk: salaries of a public body"}
	commExemptA     = SubjectCommunication{Kind: CommExempt, Exemption: ExemptUnintelligible}
	commExemptB     = SubjectCommunication{Kind: CommExempt, Exemption: ExemptRiskRemoved}
	commExemptC     = SubjectCommunication{Kind: CommExempt, Exemption: ExemptDisproportion, PublicCommunication: "notice on acme.example/breach"}
)

// validComm is the row of a valid data-subject communication other than
// the one RESOLVED(reported) already has.
func validComm(sc SubjectCommunication) map[string]cell {
	return map[string]cell{
		sU:   illegal(StateUnspecified),
		sP:   illegal(StatePending),
		sD:   {ev: EventSubjectCommRecorded, state: StateDelivered, want: commRecorded(sc)},
		sA:   {ev: EventSubjectCommRecorded, state: StateAcknowledged, want: commRecorded(sc)},
		sRR:  illegal(StateResolved), // a different decision was recorded
		sRNR: {ev: EventSubjectCommRecorded, state: StateResolved, want: commRecorded(sc)},
		sW:   {ev: EventSubjectCommRecorded, state: StateWithdrawn, want: commRecorded(sc)},
	}
}

// invalidEverywhere: validation comes before the state check.
func invalidEverywhere(field string) map[string]cell {
	return map[string]cell{
		sU: invalid(field, StateUnspecified), sP: invalid(field, StatePending),
		sD: invalid(field, StateDelivered), sA: invalid(field, StateAcknowledged),
		sRR: invalid(field, StateResolved), sRNR: invalid(field, StateResolved),
		sW: invalid(field, StateWithdrawn),
	}
}

func comm(sc SubjectCommunication) func(*Notice) (Event, error) {
	return func(n *Notice) (Event, error) { return n.RecordSubjectCommunication(mxOp, mxActor, sc) }
}

const remindOnUndelivered = "notice.go Remind: on an UNSPECIFIED or PENDING notice (no deadline) Remind(48h, ...) returns EventReminded and " +
	"records the reminder, so Reminded(48h) is true and the real 48h reminder is never sent after delivery; " +
	`want "" and no change, as MarkOverdue does for undelivered notices`

var mxOps = []struct {
	name string
	do   func(n *Notice) (Event, error)
	want map[string]cell
}{
	{"deliver same revision", func(n *Notice) (Event, error) { return n.Deliver(mxOp, 2*window, max(n.Revision, 1)), nil }, map[string]cell{
		sU:   {ev: EventDelivered, state: StateDelivered, want: firstDelivery(1)},
		sP:   {ev: EventDelivered, state: StateDelivered, want: firstDelivery(1)},
		sD:   {ev: EventRedelivered, state: StateDelivered, want: redelivery},
		sA:   {ev: EventRedelivered, state: StateAcknowledged, want: redelivery},
		sRR:  {ev: EventRedelivered, state: StateResolved, want: redelivery},
		sRNR: {ev: EventRedelivered, state: StateResolved, want: redelivery},
		sW:   noop(StateWithdrawn),
	}},
	{"deliver newer revision", func(n *Notice) (Event, error) { return n.Deliver(mxOp, 2*window, max(n.Revision, 1)+1), nil }, map[string]cell{
		sU:   {ev: EventDelivered, state: StateDelivered, want: firstDelivery(2)},
		sP:   {ev: EventDelivered, state: StateDelivered, want: firstDelivery(2)},
		sD:   {ev: EventRevisionDelivered, state: StateDelivered, want: revisionDelivery(3)},
		sA:   {ev: EventRevisionDelivered, state: StateAcknowledged, want: revisionDelivery(3)},
		sRR:  {ev: EventRevisionDelivered, state: StateResolved, want: revisionDelivery(3)},
		sRNR: {ev: EventRevisionDelivered, state: StateResolved, want: revisionDelivery(3)},
		sW:   noop(StateWithdrawn),
	}},
	{"acknowledge latest (0)", func(n *Notice) (Event, error) { return n.Acknowledge(mxOp, "bob", "second", 0) }, map[string]cell{
		sU:   illegal(StateUnspecified),
		sP:   illegal(StatePending),
		sD:   {ev: EventAcknowledged, state: StateAcknowledged, want: firstAck(2)},
		sA:   {ev: EventRevisionAcknowledged, state: StateAcknowledged, want: laterAck(2)},
		sRR:  {ev: EventRevisionAcknowledged, state: StateResolved, want: laterAck(2)},
		sRNR: {ev: EventRevisionAcknowledged, state: StateResolved, want: laterAck(2)},
		sW:   {ev: EventRevisionAcknowledged, state: StateWithdrawn, want: laterAck(2)},
	}},
	{"acknowledge latest by number", func(n *Notice) (Event, error) { return n.Acknowledge(mxOp, "bob", "second", max(n.Revision, 1)) }, map[string]cell{
		sU:   illegal(StateUnspecified),
		sP:   illegal(StatePending),
		sD:   {ev: EventAcknowledged, state: StateAcknowledged, want: firstAck(2)},
		sA:   {ev: EventRevisionAcknowledged, state: StateAcknowledged, want: laterAck(2)},
		sRR:  {ev: EventRevisionAcknowledged, state: StateResolved, want: laterAck(2)},
		sRNR: {ev: EventRevisionAcknowledged, state: StateResolved, want: laterAck(2)},
		sW:   {ev: EventRevisionAcknowledged, state: StateWithdrawn, want: laterAck(2)},
	}},
	{"acknowledge older revision", func(n *Notice) (Event, error) { return n.Acknowledge(mxOp, "bob", "second", 1) }, map[string]cell{
		sU:   illegal(StateUnspecified),
		sP:   illegal(StatePending),
		sD:   {ev: EventAcknowledged, state: StateAcknowledged, want: firstAck(1)},
		sA:   noop(StateAcknowledged),
		sRR:  noop(StateResolved),
		sRNR: noop(StateResolved),
		sW:   noop(StateWithdrawn),
	}},
	{"acknowledge undelivered revision", func(n *Notice) (Event, error) { return n.Acknowledge(mxOp, "bob", "second", n.Revision+1) }, map[string]cell{
		sU: illegal(StateUnspecified), sP: illegal(StatePending),
		sD: illegal(StateDelivered), sA: illegal(StateAcknowledged),
		sRR: illegal(StateResolved), sRNR: illegal(StateResolved),
		sW: illegal(StateWithdrawn),
	}},
	{"acknowledge with invalid actor", func(n *Notice) (Event, error) { return n.Acknowledge(mxOp, "", "", 0) },
		invalidEverywhere("acknowledged_by")},

	// Authority reports.
	{"report on time (the same as RESOLVED(reported)'s)", func(n *Notice) (Event, error) {
		return n.RecordAuthorityReport(mxOp, mxActor, "IMY", "IMY-1", mxReported, "")
	}, map[string]cell{
		sU:   illegal(StateUnspecified),
		sP:   illegal(StatePending),
		sD:   {ev: EventOutcomeRecorded, state: StateResolved, want: resolved(mxOp, onTimeReport, true, 2)},
		sA:   {ev: EventOutcomeRecorded, state: StateResolved, want: resolved(mxOp, onTimeReport, false, 1)},
		sRR:  noop(StateResolved), // the same report again
		sRNR: illegal(StateResolved),
		sW:   {ev: EventOutcomeRecorded, state: StateWithdrawn, want: outcomeKept(mxOp, onTimeReport)},
	}},
	{"report on time with a different reference", func(n *Notice) (Event, error) {
		return n.RecordAuthorityReport(mxOp, mxActor, "IMY", "IMY-2", mxReported, "")
	}, map[string]cell{
		sU:   illegal(StateUnspecified),
		sP:   illegal(StatePending),
		sD:   {ev: EventOutcomeRecorded, state: StateResolved, want: resolved(mxOp, otherRefRep, true, 2)},
		sA:   {ev: EventOutcomeRecorded, state: StateResolved, want: resolved(mxOp, otherRefRep, false, 1)},
		sRR:  illegal(StateResolved),
		sRNR: illegal(StateResolved),
		sW:   {ev: EventOutcomeRecorded, state: StateWithdrawn, want: outcomeKept(mxOp, otherRefRep)},
	}},
	{"report late without a reason", func(n *Notice) (Event, error) {
		return n.RecordAuthorityReport(mxLateNow, mxActor, "IMY", "IMY-2", mxLateRep, "")
	}, map[string]cell{
		sU:   illegal(StateUnspecified),
		sP:   illegal(StatePending),
		sD:   invalid("delay_reason", StateDelivered),
		sA:   invalid("delay_reason", StateAcknowledged),
		sRR:  illegal(StateResolved),
		sRNR: illegal(StateResolved),
		sW:   invalid("delay_reason", StateWithdrawn),
	}},
	{"report late with a reason", func(n *Notice) (Event, error) {
		return n.RecordAuthorityReport(mxLateNow, mxActor, "IMY", "IMY-2", mxLateRep, "forensics took four days")
	}, map[string]cell{
		sU:   illegal(StateUnspecified),
		sP:   illegal(StatePending),
		sD:   {ev: EventOutcomeRecorded, state: StateResolved, want: resolved(mxLateNow, lateReport, true, 2)},
		sA:   {ev: EventOutcomeRecorded, state: StateResolved, want: resolved(mxLateNow, lateReport, false, 1)},
		sRR:  illegal(StateResolved),
		sRNR: illegal(StateResolved),
		sW:   {ev: EventOutcomeRecorded, state: StateWithdrawn, want: outcomeKept(mxLateNow, lateReport)},
	}},
	{"report without authority", func(n *Notice) (Event, error) {
		return n.RecordAuthorityReport(mxOp, mxActor, "", "IMY-1", mxReported, "")
	}, invalidEverywhere("authority")},

	// Not reportable.
	{"not reportable (the same as RESOLVED(not reportable)'s)", func(n *Notice) (Event, error) {
		return n.RecordNotReportable(mxOp, mxActor, mxJustification)
	}, map[string]cell{
		sU:   illegal(StateUnspecified),
		sP:   illegal(StatePending),
		sD:   {ev: EventOutcomeRecorded, state: StateResolved, want: resolved(mxOp, notReportable, true, 2)},
		sA:   {ev: EventOutcomeRecorded, state: StateResolved, want: resolved(mxOp, notReportable, false, 1)},
		sRR:  illegal(StateResolved), // no changing a report into not reportable
		sRNR: noop(StateResolved),    // the same again
		sW:   {ev: EventOutcomeRecorded, state: StateWithdrawn, want: outcomeKept(mxOp, notReportable)},
	}},
	{"not reportable with a different justification", func(n *Notice) (Event, error) {
		return n.RecordNotReportable(mxOp, mxActor, "only public data")
	}, map[string]cell{
		sU:   illegal(StateUnspecified),
		sP:   illegal(StatePending),
		sD:   {ev: EventOutcomeRecorded, state: StateResolved, want: resolved(mxOp, otherJustif, true, 2)},
		sA:   {ev: EventOutcomeRecorded, state: StateResolved, want: resolved(mxOp, otherJustif, false, 1)},
		sRR:  illegal(StateResolved),
		sRNR: illegal(StateResolved),
		sW:   {ev: EventOutcomeRecorded, state: StateWithdrawn, want: outcomeKept(mxOp, otherJustif)},
	}},
	{"not reportable without justification", func(n *Notice) (Event, error) {
		return n.RecordNotReportable(mxOp, mxActor, "")
	}, invalidEverywhere("justification")},

	// Data-subject communication (it never changes the state).
	{"communicated (the same as RESOLVED(reported)'s)", comm(mxComm()), map[string]cell{
		sU:   illegal(StateUnspecified),
		sP:   illegal(StatePending),
		sD:   {ev: EventSubjectCommRecorded, state: StateDelivered, want: commRecorded(mxComm())},
		sA:   {ev: EventSubjectCommRecorded, state: StateAcknowledged, want: commRecorded(mxComm())},
		sRR:  noop(StateResolved), // the same again
		sRNR: {ev: EventSubjectCommRecorded, state: StateResolved, want: commRecorded(mxComm())},
		sW:   {ev: EventSubjectCommRecorded, state: StateWithdrawn, want: commRecorded(mxComm())},
	}},
	{"communicated through another channel", comm(SubjectCommunication{Kind: CommCommunicated, CommunicatedAt: mxCommAt, How: "letter"}),
		validComm(SubjectCommunication{Kind: CommCommunicated, CommunicatedAt: mxCommAt, How: "letter"})},
	{"communicated without communicated_at", comm(SubjectCommunication{Kind: CommCommunicated, How: "e-mail"}), invalidEverywhere("communicated_at")},
	{"communicated without how", comm(SubjectCommunication{Kind: CommCommunicated, CommunicatedAt: mxCommAt}), invalidEverywhere("how")},
	{"communicated in the future", comm(SubjectCommunication{Kind: CommCommunicated, CommunicatedAt: mxOp.Add(time.Hour), How: "e-mail"}), invalidEverywhere("communicated_at")},
	{"not required", comm(commNotRequired), validComm(commNotRequired)},
	{"not required without justification", comm(SubjectCommunication{Kind: CommNotRequired}), invalidEverywhere("justification")},
	{"exempt (a)", comm(commExemptA), validComm(commExemptA)},
	{"exempt (b)", comm(commExemptB), validComm(commExemptB)},
	{"exempt (c) with a public communication", comm(commExemptC), validComm(commExemptC)},
	{"exempt (c) without a public communication", comm(SubjectCommunication{Kind: CommExempt, Exemption: ExemptDisproportion}), invalidEverywhere("public_communication")},
	{"exempt without exemption", comm(SubjectCommunication{Kind: CommExempt}), invalidEverywhere("exemption")},
	{"unknown kind", comm(SubjectCommunication{Kind: "MAYBE"}), invalidEverywhere("kind")},

	// Reminders and the overdue escalation.
	{"remind 48h", func(n *Notice) (Event, error) { return n.Remind(48*time.Hour, mxRemind, mxOp, false), nil }, map[string]cell{
		sU:   {state: StateUnspecified},
		sP:   {state: StatePending},
		sD:   {ev: EventReminded, state: StateDelivered, want: reminded},
		sA:   {ev: EventReminded, state: StateAcknowledged, want: reminded},
		sRR:  noop(StateResolved),
		sRNR: noop(StateResolved),
		sW:   noop(StateWithdrawn),
	}},
	{"remind 48h twice", func(n *Notice) (Event, error) {
		n.Remind(48*time.Hour, mxRemind, mxOp, false)
		return n.Remind(48*time.Hour, mxRemind, mxOp.Add(time.Hour), true), nil
	}, map[string]cell{
		sU:   {state: StateUnspecified},
		sP:   {state: StatePending},
		sD:   {state: StateDelivered, want: reminded},
		sA:   {state: StateAcknowledged, want: reminded},
		sRR:  noop(StateResolved),
		sRNR: noop(StateResolved),
		sW:   noop(StateWithdrawn),
	}},
	{"mark overdue", func(n *Notice) (Event, error) { return n.MarkOverdue(mxOverdue), nil }, map[string]cell{
		sU:   noop(StateUnspecified),
		sP:   noop(StatePending),
		sD:   {ev: EventOverdue, state: StateDelivered, want: overdue},
		sA:   {ev: EventOverdue, state: StateAcknowledged, want: overdue},
		sRR:  noop(StateResolved),
		sRNR: noop(StateResolved),
		sW:   noop(StateWithdrawn),
	}},
	{"mark overdue twice", func(n *Notice) (Event, error) {
		n.MarkOverdue(mxOverdue)
		return n.MarkOverdue(mxOverdue.Add(time.Hour)), nil
	}, map[string]cell{
		sU:   noop(StateUnspecified),
		sP:   noop(StatePending),
		sD:   {state: StateDelivered, want: overdue},
		sA:   {state: StateAcknowledged, want: overdue},
		sRR:  noop(StateResolved),
		sRNR: noop(StateResolved),
		sW:   noop(StateWithdrawn),
	}},
}

// Corrections, withdrawals and a withdrawn organisation named again
// (withdraw.go).
var mxFactOps = []struct {
	name string
	do   func(n *Notice) (Event, error)
	want map[string]cell
}{
	{"withdraw (revision 3)", func(n *Notice) (Event, error) { return n.Withdraw(mxOp, mxStatement, 3), nil }, map[string]cell{
		sU:   {ev: EventWithdrawn, state: StateWithdrawn, want: withdrawnBy(3)},
		sP:   {ev: EventWithdrawn, state: StateWithdrawn, want: withdrawnBy(3)},
		sD:   {ev: EventWithdrawn, state: StateWithdrawn, want: withdrawnBy(3)},
		sA:   {ev: EventWithdrawn, state: StateWithdrawn, want: withdrawnBy(3)},
		sRR:  {ev: EventWithdrawn, state: StateWithdrawn, want: withdrawnBy(3)},
		sRNR: {ev: EventWithdrawn, state: StateWithdrawn, want: withdrawnBy(3)},
		sW:   noop(StateWithdrawn), // withdrawing twice changes nothing
	}},
	{"correct the numbers", func(n *Notice) (Event, error) { ev, _, err := n.Correct(mxCorrection, 3); return ev, err }, map[string]cell{
		sU:   {ev: EventCountsCorrected, state: StateUnspecified, want: corrected},
		sP:   {ev: EventCountsCorrected, state: StatePending, want: corrected},
		sD:   {ev: EventCountsCorrected, state: StateDelivered, want: corrected},
		sA:   {ev: EventCountsCorrected, state: StateAcknowledged, want: corrected},
		sRR:  {ev: EventCountsCorrected, state: StateResolved, want: corrected},
		sRNR: {ev: EventCountsCorrected, state: StateResolved, want: corrected},
		sW:   illegal(StateWithdrawn), // named again with add_affected instead
	}},
	{"correct to the same numbers", func(n *Notice) (Event, error) {
		ev, _, err := n.Correct(Affected{ApproxSubjects: n.ApproxSubjects, ApproxRecords: n.ApproxRecords}, 3)
		return ev, err
	}, map[string]cell{
		sU: noop(StateUnspecified), sP: noop(StatePending), sD: noop(StateDelivered), sA: noop(StateAcknowledged),
		sRR: noop(StateResolved), sRNR: noop(StateResolved), sW: illegal(StateWithdrawn),
	}},
	{"named affected again (revision 3)", func(n *Notice) (Event, error) { return n.Renotify(Affected{ApproxSubjects: 42}, 3), nil }, map[string]cell{
		sU: noop(StateUnspecified), sP: noop(StatePending), sD: noop(StateDelivered), sA: noop(StateAcknowledged),
		sRR: noop(StateResolved), sRNR: noop(StateResolved),
		sW: {ev: EventRenotified, state: StatePending, want: renotified},
	}},
}

func TestNoticeTransitionMatrix(t *testing.T) {
	// The fixtures are what their names say.
	for _, st := range mxStates {
		n := st.build()
		delivered := st.name != sU && st.name != sP
		if delivered && (n.Revision != 2 || !n.Deadline.Equal(mxDeadline) || !n.DeliveredAt.Equal(t1)) {
			t.Fatalf("fixture %s: revision %d, deadline %v, delivered %v", st.name, n.Revision, n.Deadline, n.DeliveredAt)
		}
		if got := n.State.String(); got != st.name && got != "RESOLVED" {
			t.Fatalf("fixture %s has state %v", st.name, n.State)
		}
	}
	if n := mxStates[4].build(); n.RevisionAcked != 1 || !n.AcknowledgedAt.Equal(mxResolved) || n.AcknowledgedBy != mxActor {
		t.Fatalf("fixture %s: resolving did not acknowledge: %+v", sRR, n)
	}

	for _, op := range append(slices.Clone(mxOps), mxFactOps...) {
		t.Run(op.name, func(t *testing.T) {
			if len(op.want) != len(mxStates) {
				t.Fatalf("row has %d cells, want one per state (%d)", len(op.want), len(mxStates))
			}
			for _, st := range mxStates {
				c, ok := op.want[st.name]
				if !ok {
					t.Fatalf("no cell for state %s", st.name)
				}
				t.Run(st.name, func(t *testing.T) {
					if c.bug != "" {
						t.Skip("BUG: " + c.bug)
					}
					before := st.build()
					n := st.build()
					ev, err := op.do(&n)

					switch {
					case c.err != nil:
						if !errors.Is(err, c.err) {
							t.Fatalf("error = %v, want %v", err, c.err)
						}
					case c.invalid != "":
						var inv *InvalidError
						if !errors.As(err, &inv) {
							t.Fatalf("error = %v (%T), want *InvalidError", err, err)
						}
						if len(inv.Violations) != 1 || inv.Violations[0].Field != c.invalid {
							t.Errorf("violations = %+v, want one on %q", inv.Violations, c.invalid)
						}
					default:
						if err != nil {
							t.Fatalf("error = %v, want nil", err)
						}
					}
					if err != nil && ev != "" {
						t.Errorf("event %q returned with error %v", ev, err)
					}
					if ev != c.ev {
						t.Errorf("event = %q, want %q", ev, c.ev)
					}
					if n.State != c.state {
						t.Errorf("state = %v, want %v", n.State, c.state)
					}

					want := st.build()
					if c.want != nil {
						c.want(&want)
					}
					if !reflect.DeepEqual(n, want) {
						t.Errorf("notice after the operation:\n got %+v\nwant %+v", n, want)
					}
					if (err != nil || c.want == nil) && !reflect.DeepEqual(n, before) {
						t.Errorf("an illegal or no-op operation changed the notice:\n got %+v\nwant %+v", n, before)
					}

					// Invariants. The one exception: a withdrawn notice named
					// affected again starts over (its history keeps the rest).
					if ev == EventRenotified {
						return
					}
					if !before.Deadline.IsZero() && !n.Deadline.Equal(before.Deadline) {
						t.Errorf("deadline moved from %v to %v", before.Deadline, n.Deadline)
					}
					if n.State < before.State {
						t.Errorf("state went back from %v to %v", before.State, n.State)
					}
					if !before.AcknowledgedAt.IsZero() && (!n.AcknowledgedAt.Equal(before.AcknowledgedAt) || n.AcknowledgedBy != before.AcknowledgedBy) {
						t.Errorf("first acknowledgement changed from %v by %q to %v by %q",
							before.AcknowledgedAt, before.AcknowledgedBy, n.AcknowledgedAt, n.AcknowledgedBy)
					}
					if n.State == StateResolved {
						if n.AcknowledgedAt.IsZero() || n.RevisionAcked == 0 || n.Outcome == nil || n.ResolvedAt.IsZero() {
							t.Errorf("resolved notice lacks its acknowledgement or outcome: %+v", n)
						}
					}
					if n.RevisionAcked > n.Revision {
						t.Errorf("RevisionAcked %d > Revision %d", n.RevisionAcked, n.Revision)
					}
				})
			}
		})
	}
}

// TestNoticeOutcomeSequences checks the outcome rules one after another on
// the same notice: recorded once, repeated as no-ops, never changed.
func TestNoticeOutcomeSequences(t *testing.T) {
	t.Run("report", func(t *testing.T) {
		n := deliveredNotice()
		if ev, err := n.RecordAuthorityReport(mxOp, mxActor, "IMY", "IMY-1", mxReported, ""); err != nil || ev != EventOutcomeRecorded {
			t.Fatalf("first report = %q, %v", ev, err)
		}
		if n.Outcome.Late || n.Outcome.DelayReason != "" {
			t.Errorf("on-time report marked late: %+v", n.Outcome)
		}
		after := n
		if ev, err := n.RecordAuthorityReport(mxOp.Add(time.Hour), "someone else", "IMY", "IMY-1", mxReported, ""); err != nil || ev != "" {
			t.Errorf("same report again = %q, %v; want \"\", nil", ev, err)
		}
		if _, err := n.RecordAuthorityReport(mxOp, mxActor, "IMY", "IMY-2", mxReported, ""); !errors.Is(err, ErrIllegalTransition) {
			t.Errorf("different reference: error = %v, want ErrIllegalTransition", err)
		}
		if _, err := n.RecordAuthorityReport(mxOp, mxActor, "Datatilsynet", "IMY-1", mxReported, ""); !errors.Is(err, ErrIllegalTransition) {
			t.Errorf("different authority: error = %v, want ErrIllegalTransition", err)
		}
		if _, err := n.RecordNotReportable(mxOp, mxActor, mxJustification); !errors.Is(err, ErrIllegalTransition) {
			t.Errorf("not reportable after reported: error = %v, want ErrIllegalTransition", err)
		}
		if !reflect.DeepEqual(n, after) {
			t.Errorf("the outcome changed:\n got %+v\nwant %+v", n, after)
		}
	})
	t.Run("report exactly at the deadline is on time", func(t *testing.T) {
		n := deliveredNotice()
		if ev, err := n.RecordAuthorityReport(mxDeadline.Add(time.Minute), mxActor, "IMY", "IMY-1", mxDeadline, ""); err != nil || ev != EventOutcomeRecorded {
			t.Fatalf("report at the deadline = %q, %v", ev, err)
		}
		if n.Outcome.Late {
			t.Errorf("report at the deadline marked late")
		}
	})
	t.Run("late report without reason names the delay", func(t *testing.T) {
		n := deliveredNotice()
		_, err := n.RecordAuthorityReport(mxLateNow, mxActor, "IMY", "IMY-1", mxLateRep, "")
		var inv *InvalidError
		if !errors.As(err, &inv) || len(inv.Violations) != 1 || inv.Violations[0].Field != "delay_reason" || inv.Violations[0].Reason != "required" {
			t.Fatalf("error = %v, want delay_reason required", err)
		}
		if n.State != StateDelivered || n.Outcome != nil {
			t.Errorf("notice changed: %+v", n)
		}
	})
	t.Run("not reportable", func(t *testing.T) {
		n := deliveredNotice()
		if ev, err := n.RecordNotReportable(mxOp, mxActor, mxJustification); err != nil || ev != EventOutcomeRecorded {
			t.Fatalf("first = %q, %v", ev, err)
		}
		after := n
		if ev, err := n.RecordNotReportable(mxOp.Add(time.Hour), mxActor, mxJustification); err != nil || ev != "" {
			t.Errorf("same again = %q, %v; want \"\", nil", ev, err)
		}
		if _, err := n.RecordNotReportable(mxOp, mxActor, "other"); !errors.Is(err, ErrIllegalTransition) {
			t.Errorf("different justification: error = %v, want ErrIllegalTransition", err)
		}
		if _, err := n.RecordAuthorityReport(mxOp, mxActor, "IMY", "IMY-1", mxReported, ""); !errors.Is(err, ErrIllegalTransition) {
			t.Errorf("reported after not reportable: error = %v, want ErrIllegalTransition", err)
		}
		if !reflect.DeepEqual(n, after) {
			t.Errorf("the outcome changed:\n got %+v\nwant %+v", n, after)
		}
	})
}

// TestSubjectCommunicationOnceEachKind records each kind, then every kind
// again: the same is a no-op, any other is illegal.
func TestSubjectCommunicationOnceEachKind(t *testing.T) {
	kinds := []struct {
		name string
		sc   SubjectCommunication
	}{
		{"communicated", mxComm()},
		{"communicated by letter", SubjectCommunication{Kind: CommCommunicated, CommunicatedAt: mxCommAt, How: "letter"}},
		{"communicated at another time", SubjectCommunication{Kind: CommCommunicated, CommunicatedAt: mxCommAt.Add(time.Minute), How: "e-mail"}},
		{"not required", commNotRequired},
		{"exempt a", commExemptA},
		{"exempt b", commExemptB},
		{"exempt c", commExemptC},
	}
	for i, first := range kinds {
		t.Run(first.name, func(t *testing.T) {
			n := deliveredNotice()
			if ev, err := n.RecordSubjectCommunication(mxOp, mxActor, first.sc); err != nil || ev != EventSubjectCommRecorded {
				t.Fatalf("first = %q, %v", ev, err)
			}
			if n.State != StateDelivered {
				t.Errorf("state = %v, want DELIVERED: the communication does not change the state", n.State)
			}
			after := n
			for j, again := range kinds {
				ev, err := n.RecordSubjectCommunication(mxOp.Add(time.Hour), "other", again.sc)
				if i == j {
					if err != nil || ev != "" {
						t.Errorf("same again = %q, %v; want \"\", nil", ev, err)
					}
				} else if !errors.Is(err, ErrIllegalTransition) || ev != "" {
					t.Errorf("then %s = %q, %v; want ErrIllegalTransition", again.name, ev, err)
				}
			}
			if !reflect.DeepEqual(n, after) {
				t.Errorf("the communication changed:\n got %+v\nwant %+v", n, after)
			}
		})
	}
}

// TestRecordAuthorityReportValidation: field checks, each reported under its field.
func TestRecordAuthorityReportValidation(t *testing.T) {
	tests := []struct {
		name                      string
		by, authority, ref, delay string
		reportedAt                time.Time
		want                      []violation
	}{
		{"ok", mxActor, "IMY", "IMY-1", "", mxReported, nil},
		{"everything missing", "", "", "", "", time.Time{}, []violation{{"recorded_by", "required"}, {"authority", "required"}, {"reference", "required"}, {"reported_at", "required"}}},
		{"reported in the future", mxActor, "IMY", "IMY-1", "", mxOp.Add(time.Hour), []violation{{"reported_at", "future"}}},
		{"reported within the clock skew", mxActor, "IMY", "IMY-1", "", mxOp.Add(5 * time.Minute), nil},
		{"reported before discovery", mxActor, "IMY", "IMY-1", "", t0.Add(-25 * time.Hour), []violation{{"reported_at", "order"}}},
		{"authority too long", mxActor, strings.Repeat("x", MaxShortText+1), "IMY-1", "", mxReported, []violation{{"authority", "too_long"}}},
		{"reference invalid utf-8", mxActor, "IMY", "\xff", "", mxReported, []violation{{"reference", "encoding"}}},
		{"delay reason too long", mxActor, "IMY", "IMY-1", strings.Repeat("x", MaxLongText+1), mxReported, []violation{{"delay_reason", "too_long"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := deliveredNotice()
			before := n
			ev, err := n.RecordAuthorityReport(mxOp, tc.by, tc.authority, tc.ref, tc.reportedAt, tc.delay)
			got := violationsOf(t, err)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("violations = %v, want %v", got, tc.want)
			}
			if tc.want != nil && (ev != "" || !reflect.DeepEqual(n, before)) {
				t.Errorf("invalid report changed the notice (event %q)", ev)
			}
			if tc.want == nil && ev != EventOutcomeRecorded {
				t.Errorf("event = %q, want %q", ev, EventOutcomeRecorded)
			}
		})
	}
}

// TestResolveAcknowledges: resolving implies acknowledgement.
func TestResolveAcknowledges(t *testing.T) {
	t.Run("never acknowledged: the outcome acknowledges the latest delivered revision", func(t *testing.T) {
		n := deliveredNotice()
		n.Deliver(mxRev2, window, 2)
		must(n.RecordNotReportable(mxOp, mxActor, mxJustification))
		if !n.AcknowledgedAt.Equal(mxOp) || n.AcknowledgedBy != mxActor || n.RevisionAcked != 2 || n.NeedsAck() {
			t.Errorf("after resolving: acknowledged %v by %q, revision %d, NeedsAck %v; want %v by %q, revision 2, false",
				n.AcknowledgedAt, n.AcknowledgedBy, n.RevisionAcked, n.NeedsAck(), mxOp, mxActor)
		}
	})
	t.Run("acknowledged: the first acknowledgement is kept", func(t *testing.T) {
		n := deliveredNotice()
		must(n.Acknowledge(mxAck1, "alice", "first", 0))
		must(n.RecordNotReportable(mxOp, mxActor, mxJustification))
		if !n.AcknowledgedAt.Equal(mxAck1) || n.AcknowledgedBy != "alice" || n.AckNote != "first" || n.RevisionAcked != 1 {
			t.Errorf("after resolving: %v by %q (%q), revision %d; want the first acknowledgement kept", n.AcknowledgedAt, n.AcknowledgedBy, n.AckNote, n.RevisionAcked)
		}
	})
	// Current behaviour, pinned: an explicit acknowledgement of revision 1
	// followed by revision 2 leaves revision 2 unacknowledged after the
	// outcome (redelivery goes on), unlike a never-acknowledged notice.
	t.Run("acknowledged an older revision: the newer one still needs acknowledging", func(t *testing.T) {
		n := deliveredNotice()
		must(n.Acknowledge(mxAck1, "alice", "first", 0))
		n.Deliver(mxRev2, window, 2)
		must(n.RecordNotReportable(mxOp, mxActor, mxJustification))
		if n.RevisionAcked != 1 || !n.NeedsAck() {
			t.Errorf("RevisionAcked = %d, NeedsAck = %v; want 1, true", n.RevisionAcked, n.NeedsAck())
		}
		if ev, err := n.Acknowledge(mxOp.Add(time.Hour), "alice", "", 0); err != nil || ev != EventRevisionAcknowledged || n.State != StateResolved {
			t.Errorf("acknowledging revision 2 after resolving = %q, %v, %v; want %q, nil, RESOLVED", ev, err, n.State, EventRevisionAcknowledged)
		}
	})
}

// TestNeedsAck over the fixtures.
func TestNeedsAck(t *testing.T) {
	want := map[string]bool{sU: false, sP: false, sD: true, sA: true, sRR: true, sRNR: true, sW: false}
	for _, st := range mxStates {
		n := st.build()
		if got := n.NeedsAck(); got != want[st.name] {
			t.Errorf("%s: NeedsAck = %v, want %v", st.name, got, want[st.name])
		}
		if n.State >= StateDelivered {
			must(n.Acknowledge(mxOp, "bob", "", 0))
			if n.NeedsAck() {
				t.Errorf("%s: NeedsAck after acknowledging the latest revision", st.name)
			}
		}
	}
}
