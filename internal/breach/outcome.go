package breach

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// OutcomeKind is how a controller resolved its obligation under Art. 33.
type OutcomeKind string

// Outcome kinds.
const (
	OutcomeReported      OutcomeKind = "REPORTED_TO_AUTHORITY" // notified the supervisory authority
	OutcomeNotReportable OutcomeKind = "NOT_REPORTABLE"        // documented as unlikely to result in a risk
)

// Outcome is what the controller recorded to resolve its notice.
type Outcome struct {
	Kind          OutcomeKind `json:"kind"`
	Authority     string      `json:"authority,omitempty"`     // e.g. "IMY"
	Reference     string      `json:"reference,omitempty"`     // the authority's case number or the controller's own
	ReportedAt    time.Time   `json:"reported_at,omitzero"`    // when the authority was notified
	DelayReason   string      `json:"delay_reason,omitempty"`  // required when reported after the deadline (Art. 33(1))
	Late          bool        `json:"late,omitempty"`          // reported after the deadline
	Justification string      `json:"justification,omitempty"` // why it is not reportable
	RecordedAt    time.Time   `json:"recorded_at"`
	RecordedBy    string      `json:"recorded_by"`
}

// CommKind is what the controller recorded about communicating the breach
// to the data subjects (Art. 34).
type CommKind string

// Data-subject communication kinds.
const (
	CommCommunicated CommKind = "COMMUNICATED" // data subjects were informed
	CommNotRequired  CommKind = "NOT_REQUIRED" // no high risk to data subjects
	CommExempt       CommKind = "EXEMPT"       // high risk, but Art. 34(3) applies
)

// Exemption is the Art. 34(3) ground for not communicating to each data subject.
type Exemption string

// Art. 34(3) grounds.
const (
	ExemptUnintelligible Exemption = "A_UNINTELLIGIBLE" // (a) data unintelligible, e.g. encrypted
	ExemptRiskRemoved    Exemption = "B_RISK_REMOVED"   // (b) later measures removed the high risk
	ExemptDisproportion  Exemption = "C_DISPROPORTIONATE"
	// (c) disproportionate effort: a public communication is used instead.
)

// SubjectCommunication is the recorded Art. 34 decision.
type SubjectCommunication struct {
	Kind                CommKind  `json:"kind"`
	CommunicatedAt      time.Time `json:"communicated_at,omitzero"`
	How                 string    `json:"how,omitempty"` // channel: letter, e-mail, intranet …
	Exemption           Exemption `json:"exemption,omitempty"`
	PublicCommunication string    `json:"public_communication,omitempty"` // required for (c): where and how
	Justification       string    `json:"justification,omitempty"`
	RecordedAt          time.Time `json:"recorded_at"`
	RecordedBy          string    `json:"recorded_by"`
}

// resolvable checks the state allows recording an outcome.
func (n *Notice) resolvable() error {
	if n.State == StateUnspecified || n.State == StatePending {
		return fmt.Errorf("%w: notice %s has not been delivered yet; an outcome can be recorded only for a delivered notice", ErrIllegalTransition, n.ID)
	}
	return nil
}

// markReceived: recording an outcome implies the notice was received.
func (n *Notice) markReceived(now time.Time, by string) {
	if n.AcknowledgedAt.IsZero() {
		n.AcknowledgedAt, n.AcknowledgedBy = now, by
	}
	if n.RevisionAcked == 0 {
		n.RevisionAcked = n.Revision
	}
}

// resolve records the GDPR outcome o. The notice is RESOLVED when it
// carries no other obligation or every other one is resolved too; a
// withdrawn notice stays WITHDRAWN with its outcome (Art. 33(5)
// documentation).
func (n *Notice) resolve(now time.Time, by string, o *Outcome) Event {
	n.markReceived(now, by)
	n.ResolvedAt = now
	o.RecordedAt, o.RecordedBy = now, by
	n.Outcome = o
	n.settle()
	return EventOutcomeRecorded
}

// textField checks one text field: present if required, valid UTF-8, free
// of the characters UnsafeRune refuses, and at most max characters. A
// field allowed more than a short text (MaxShortText) is multi-line: it
// may hold newlines and tabs.
func textField(vs *violations, field, v string, required bool, max int) {
	switch {
	case v == "" && required:
		vs.add(field, "required", "%s is required", field)
	case !textChars(vs, field, v, max > MaxShortText):
	case utf8.RuneCountInString(v) > max:
		vs.add(field, "too_long", "%s has %d characters; at most %d", field, utf8.RuneCountInString(v), max)
	}
}

// RecordAuthorityReport resolves the notice as reported to the supervisory
// authority. Reporting after the deadline requires delayReason. Recording
// the same report again changes nothing; a different reference, or any
// other outcome recorded before, is ErrIllegalTransition: an outcome is
// never changed or undone.
func (n *Notice) RecordAuthorityReport(now time.Time, by, authority, reference string, reportedAt time.Time, delayReason string) (Event, error) {
	if err := n.validateReport(now, by, authority, reference, reportedAt, delayReason); err != nil {
		return "", err
	}
	if err := n.resolvable(); err != nil {
		return "", err
	}
	if o := n.Outcome; o != nil {
		if o.Kind == OutcomeReported && o.Reference == reference && o.Authority == authority {
			return "", nil
		}
		if o.Kind == OutcomeReported {
			return "", fmt.Errorf("%w: notice %s was already reported to %s with reference %q; a report is recorded once",
				ErrIllegalTransition, n.ID, o.Authority, o.Reference)
		}
		return "", fmt.Errorf("%w: notice %s is resolved as %s; an outcome cannot be changed", ErrIllegalTransition, n.ID, o.Kind)
	}
	late := !n.Deadline.IsZero() && reportedAt.After(n.Deadline) // a notice withdrawn before delivery has no deadline
	if late && delayReason == "" {
		return "", Invalid("delay_reason", "required",
			"the report was made %s after the deadline (%s): Art. 33(1) requires the reasons for the delay",
			reportedAt.Sub(n.Deadline).Round(time.Minute), n.Deadline.Format(time.RFC3339))
	}
	return n.resolve(now, by, &Outcome{Kind: OutcomeReported, Authority: authority, Reference: reference,
		ReportedAt: reportedAt, DelayReason: delayReason, Late: late}), nil
}

// validateReport checks the fields of a report to an authority.
func (n *Notice) validateReport(now time.Time, by, authority, reference string, reportedAt time.Time, delayReason string) error {
	var vs violations
	textField(&vs, "recorded_by", by, true, MaxActor)
	textField(&vs, "authority", authority, true, MaxShortText)
	textField(&vs, "reference", reference, true, MaxShortText)
	textField(&vs, "delay_reason", delayReason, false, MaxLongText)
	switch {
	case reportedAt.IsZero():
		vs.add("reported_at", "required", "reported_at is required")
	case !timeField(&vs, "reported_at", reportedAt):
	case reportedAt.After(now.Add(5 * time.Minute)):
		vs.add("reported_at", "future", "reported_at %s is in the future", reportedAt.Format(time.RFC3339))
	case !n.DiscoveredAt.IsZero() && reportedAt.Before(n.DiscoveredAt):
		vs.add("reported_at", "order", "reported_at is before the processor discovered the breach (%s)", n.DiscoveredAt.Format(time.RFC3339))
	}
	return vs.err()
}

// RecordNotReportable resolves the notice as documented not reportable
// (unlikely to result in a risk), with the controller's justification.
func (n *Notice) RecordNotReportable(now time.Time, by, justification string) (Event, error) {
	var vs violations
	textField(&vs, "recorded_by", by, true, MaxActor)
	textField(&vs, "justification", justification, true, MaxLongText)
	if err := vs.err(); err != nil {
		return "", err
	}
	if err := n.resolvable(); err != nil {
		return "", err
	}
	if o := n.Outcome; o != nil {
		if o.Kind == OutcomeNotReportable && o.Justification == justification {
			return "", nil
		}
		return "", fmt.Errorf("%w: notice %s is already resolved as %s; an outcome cannot be changed", ErrIllegalTransition, n.ID, o.Kind)
	}
	return n.resolve(now, by, &Outcome{Kind: OutcomeNotReportable, Justification: justification}), nil
}

// RecordSubjectCommunication records the Art. 34 decision. It does not
// change the notice's state. The same decision again changes nothing; a
// different one is ErrIllegalTransition.
func (n *Notice) RecordSubjectCommunication(now time.Time, by string, sc SubjectCommunication) (Event, error) {
	var vs violations
	textField(&vs, "recorded_by", by, true, MaxActor)
	textField(&vs, "how", sc.How, false, MaxShortText)
	textField(&vs, "public_communication", sc.PublicCommunication, false, MaxLongText)
	textField(&vs, "justification", sc.Justification, false, MaxLongText)
	switch sc.Kind {
	case CommCommunicated:
		if sc.CommunicatedAt.IsZero() {
			vs.add("communicated_at", "required", "communicated_at is required when the data subjects were informed")
		} else if timeField(&vs, "communicated_at", sc.CommunicatedAt) && sc.CommunicatedAt.After(now.Add(5*time.Minute)) {
			vs.add("communicated_at", "future", "communicated_at is in the future")
		}
		if sc.How == "" {
			vs.add("how", "required", "how (the channel used) is required when the data subjects were informed")
		}
	case CommNotRequired:
		if sc.Justification == "" {
			vs.add("justification", "required", "justification is required: why the breach is unlikely to result in a high risk")
		}
	case CommExempt:
		switch sc.Exemption {
		case ExemptUnintelligible, ExemptRiskRemoved:
		case ExemptDisproportion:
			if sc.PublicCommunication == "" {
				vs.add("public_communication", "required", "Art. 34(3)(c) requires a public communication instead: say where and how")
			}
		default:
			vs.add("exemption", "required", "exemption must be one of Art. 34(3)(a), (b) or (c)")
		}
	default:
		vs.add("kind", "required", "kind must be COMMUNICATED, NOT_REQUIRED or EXEMPT")
	}
	if err := vs.err(); err != nil {
		return "", err
	}
	if err := n.resolvable(); err != nil {
		return "", err
	}
	if prev := n.SubjectComm; prev != nil {
		if sameComm(prev, &sc) {
			return "", nil
		}
		return "", fmt.Errorf("%w: notice %s already has a data-subject communication recorded (%s); it cannot be changed",
			ErrIllegalTransition, n.ID, prev.Kind)
	}
	sc.RecordedAt, sc.RecordedBy = now, by
	n.SubjectComm = &sc
	return EventSubjectCommRecorded, nil
}

func sameComm(a, b *SubjectCommunication) bool {
	return a.Kind == b.Kind && a.CommunicatedAt.Equal(b.CommunicatedAt) && a.How == b.How && a.Exemption == b.Exemption &&
		a.PublicCommunication == b.PublicCommunication && a.Justification == b.Justification
}
