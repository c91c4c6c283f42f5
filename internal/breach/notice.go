package breach

import (
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// State is where a notice stands. States only move forward, except
// that a withdrawn notice named affected again is PENDING again
// (Renotify).
type State int

// Notice states, in order.
const (
	StateUnspecified  State = iota
	StatePending            // recorded, not yet delivered
	StateDelivered          // delivered; the deadline runs
	StateAcknowledged       // acknowledged by the organisation
	StateResolved           // outcome recorded
	StateWithdrawn          // the processor found the organisation not affected (withdraw.go)
)

var stateNames = [...]string{"UNSPECIFIED", "PENDING", "DELIVERED", "ACKNOWLEDGED", "RESOLVED", "WITHDRAWN"}

func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("State(%d)", int(s))
	}
	return stateNames[s]
}

// ParseState parses a state name such as "DELIVERED" (case-sensitive).
func ParseState(name string) (State, error) {
	for i, n := range stateNames {
		if i > 0 && n == name {
			return State(i), nil
		}
	}
	return StateUnspecified, fmt.Errorf("unknown notice state %q", truncate(name))
}

// Event names what happened to a notice; every stored change has one.
type Event string

// Notice events.
const (
	EventCreated              Event = "created"
	EventDelivered            Event = "delivered"
	EventRedelivered          Event = "redelivered"
	EventRevisionDelivered    Event = "revision_delivered"
	EventReminded             Event = "reminded"
	EventOverdue              Event = "overdue"
	EventAcknowledged         Event = "acknowledged"
	EventRevisionAcknowledged Event = "revision_acknowledged"
	EventOutcomeRecorded      Event = "outcome_recorded"
	EventSubjectCommRecorded  Event = "subject_communication_recorded"
)

// Limits on acknowledgement input.
const (
	MaxActor = 200
	MaxNote  = 2000
)

// Notice is one breach x one affected organisation: the tracked obligation.
// Its JSON form is the stored record; golden tests keep old records decoding.
type Notice struct {
	ID             NoticeID  `json:"id"`
	OrgName        string    `json:"org_name,omitempty"`
	State          State     `json:"state"`
	CreatedAt      time.Time `json:"created_at"`
	DeliveredAt    time.Time `json:"delivered_at,omitzero"`
	Deadline       time.Time `json:"deadline,omitzero"`
	AcknowledgedAt time.Time `json:"acknowledged_at,omitzero"`
	AcknowledgedBy string    `json:"acknowledged_by,omitempty"`
	AckNote        string    `json:"ack_note,omitempty"`
	ApproxSubjects int64     `json:"approx_subjects,omitempty"`
	ApproxRecords  int64     `json:"approx_records,omitempty"`
	DiscoveredAt   time.Time `json:"discovered_at,omitzero"` // the breach's, for the processor's delay
	DeliveryCount  int       `json:"delivery_count,omitempty"`

	Revision       int                   `json:"revision_delivered,omitempty"`    // latest breach revision delivered
	RevisionAcked  int                   `json:"revision_acknowledged,omitempty"` // latest breach revision acknowledged
	LastDeliveryAt time.Time             `json:"last_delivery_at,omitzero"`       // for the redelivery backoff
	Redeliveries   int                   `json:"redeliveries,omitempty"`          // since the last new revision
	Reminders      []Reminder            `json:"reminders,omitempty"`
	OverdueAt      time.Time             `json:"overdue_notified_at,omitzero"`
	ResolvedAt     time.Time             `json:"resolved_at,omitzero"`
	Outcome        *Outcome              `json:"outcome,omitempty"`
	SubjectComm    *SubjectCommunication `json:"subject_communication,omitempty"`
	Channels       []ChannelDelivery     `json:"channels,omitempty"` // webhook and e-mail delivery, per channel (channel.go)
	// EscalatedTo lists the messages sent to the organisation's escalation
	// contact, in the order sent (escalation.go).
	EscalatedTo []Escalation `json:"escalated_to,omitempty"`
	// Chunk is the breach membership chunk the notice belongs to: its
	// timer is that chunk's.
	Chunk int `json:"chunk,omitempty"`
	// ClockOnChannel: the organisation does not take notices over NATS, so
	// the notice stays PENDING until its first webhook or e-mail delivery,
	// which starts the clock.
	ClockOnChannel bool `json:"clock_on_channel,omitempty"`
	// Questions is how many questions the organisation asked on the
	// notice; OpenQuestions the numbers of those not yet answered
	// (question.go). SharedAnswers are the ids of the answers shared with
	// every affected organisation that reached this notice.
	Questions     int      `json:"questions,omitempty"`
	OpenQuestions []int    `json:"open_questions,omitempty"`
	SharedAnswers []string `json:"shared_answers,omitempty"`

	// AffectedStatus is what the processor says of the organisation
	// (empty: CONFIRMED); see Status. WithdrawnAt and WithdrawalStatement
	// are set while the notice is WITHDRAWN; RenotifiedRevision is the
	// revision that last named a withdrawn organisation again (withdraw.go).
	AffectedStatus      AffectedStatus `json:"affected_status,omitempty"`
	WithdrawnAt         time.Time      `json:"withdrawn_at,omitzero"`
	WithdrawalStatement string         `json:"withdrawal_statement,omitempty"`
	RenotifiedRevision  int            `json:"renotified_revision,omitempty"`

	// Obligations are the notice's reporting obligations beyond GDPR's
	// (which is the notice's own Deadline, Reminders, OverdueAt, Outcome
	// and ResolvedAt): NIS2's early warning, incident notification and
	// final report for an organisation under NIS2; none otherwise
	// (obligation.go).
	Obligations []Obligation `json:"obligations,omitempty"`
}

// Reminder records one reminder sent while the notice was not resolved.
type Reminder struct {
	Remaining time.Duration `json:"remaining"` // the threshold: time left before the deadline
	DueAt     time.Time     `json:"due_at"`
	SentAt    time.Time     `json:"sent_at"`
	Late      bool          `json:"late,omitempty"` // sent well after DueAt (the daemon was down)
}

// Overdue reports whether the notice is past its (GDPR) deadline and
// its GDPR outcome is not recorded. A withdrawn notice is never overdue.
func (n *Notice) Overdue(now time.Time) bool {
	return n.GDPROpen() && !now.Before(n.Deadline)
}

// Running reports whether the notice's clock runs: delivered and neither
// resolved nor withdrawn.
func (n *Notice) Running() bool {
	return n.State == StateDelivered || n.State == StateAcknowledged
}

// ProcessorDelay is delivered_at - discovered_at, or 0 before delivery.
func (n *Notice) ProcessorDelay() time.Duration {
	if n.DeliveredAt.IsZero() || n.DiscoveredAt.IsZero() {
		return 0
	}
	return n.DeliveredAt.Sub(n.DiscoveredAt)
}

// Deliver records a durable publish of breach revision rev to the
// organisation's channel at at. The first delivery starts the clock:
// deadline = at + window. A later revision is a revision delivery; the same
// revision again is a redelivery. Neither moves the deadline. A withdrawn
// notice gets no deliveries: "" and no change.
func (n *Notice) Deliver(at time.Time, window time.Duration, rev int) Event {
	if n.State == StateWithdrawn {
		return ""
	}
	n.DeliveryCount++
	n.LastDeliveryAt = at
	switch {
	case n.State == StatePending || n.State == StateUnspecified:
		n.State = StateDelivered
		n.DeliveredAt = at
		n.Deadline = at.Add(window)
		n.Revision = rev
		n.startObligations(at)
		return EventDelivered
	case rev > n.Revision:
		n.Revision = rev
		n.Redeliveries = 0
		return EventRevisionDelivered
	}
	n.Redeliveries++
	return EventRedelivered
}

// NeedsAck reports whether the organisation has not acknowledged the
// latest revision delivered to it (what redelivery keeps trying for).
func (n *Notice) NeedsAck() bool {
	return n.State >= StateDelivered && n.State != StateWithdrawn && n.RevisionAcked < n.delivered()
}

// delivered is the latest revision delivered; a delivered notice stored
// before revisions were recorded has revision 1.
func (n *Notice) delivered() int {
	if n.State >= StateDelivered && n.Revision == 0 {
		return 1
	}
	return n.Revision
}

// Remind records the reminder for threshold remaining (due at dueAt, sent
// at now). It returns "" when that reminder was recorded before or the
// notice is resolved: reminders are idempotent.
func (n *Notice) Remind(remaining time.Duration, dueAt, now time.Time, late bool) Event {
	if !n.GDPROpen() || n.Reminded(remaining) {
		return ""
	}
	n.Reminders = append(n.Reminders, Reminder{Remaining: remaining, DueAt: dueAt, SentAt: now, Late: late})
	return EventReminded
}

// AddReminder puts r on record unless the reminder for its threshold is
// recorded already, whatever the notice's state (a reminder sent before
// the notice was resolved stays on record). Reminders stay in the order
// they were sent. It reports whether r was added; n's earlier Reminders
// slice is never written to.
func (n *Notice) AddReminder(r Reminder) bool {
	if n.Reminded(r.Remaining) {
		return false
	}
	i := len(n.Reminders)
	for i > 0 && n.Reminders[i-1].SentAt.After(r.SentAt) {
		i--
	}
	n.Reminders = slices.Insert(slices.Clip(n.Reminders), i, r)
	return true
}

// ReminderDetail is the history detail of the reminder for threshold
// remaining, due at dueAt; late marks one sent well after it was due.
func ReminderDetail(remaining time.Duration, dueAt time.Time, late bool) string {
	d := fmt.Sprintf("reminder: %s left", remaining)
	if late {
		d += LateDetail(dueAt)
	}
	return d
}

// LateDetail is what a history detail adds for an action sent late.
func LateDetail(dueAt time.Time) string {
	return fmt.Sprintf(" (late: due %s)", dueAt.UTC().Format(time.RFC3339))
}

// Reminded reports whether the reminder for threshold remaining was sent.
func (n *Notice) Reminded(remaining time.Duration) bool {
	for _, r := range n.Reminders {
		if r.Remaining == remaining {
			return true
		}
	}
	return false
}

// MarkOverdue records that the overdue escalation was sent at now. It
// returns "" when it was recorded before or the notice is resolved or withdrawn.
func (n *Notice) MarkOverdue(now time.Time) Event {
	if !n.GDPROpen() || !n.OverdueAt.IsZero() {
		return ""
	}
	n.OverdueAt = now
	return EventOverdue
}

// Acknowledge records that by received revision rev of the breach (0: the
// latest delivered). It returns "" and changes nothing when that revision
// was acknowledged already (idempotent). Acknowledging a revision never
// acknowledges a later one. Acknowledging a notice, or a revision, that was
// never delivered is ErrIllegalTransition. The deadline never moves.
func (n *Notice) Acknowledge(now time.Time, by, note string, rev int) (Event, error) {
	if err := ValidateAck(by, note); err != nil {
		return "", err
	}
	if n.State == StateUnspecified || n.State == StatePending {
		return "", fmt.Errorf("%w: notice %s has not been delivered yet", ErrIllegalTransition, n.ID)
	}
	if n.Revision == 0 {
		n.Revision = n.delivered()
	}
	if rev == 0 {
		rev = n.Revision
	}
	if rev < 0 || rev > n.Revision {
		return "", fmt.Errorf("%w: revision %d of breach %s has not been delivered to %s (latest delivered: %d)",
			ErrIllegalTransition, rev, n.ID.Breach, n.ID.Org, n.Revision)
	}
	if rev <= n.RevisionAcked {
		return "", nil
	}
	first := n.AcknowledgedAt.IsZero()
	n.RevisionAcked = rev
	if first {
		n.AcknowledgedAt = now
		n.AcknowledgedBy = by
		n.AckNote = note
	}
	if n.State == StateDelivered {
		n.State = StateAcknowledged
	}
	if first {
		return EventAcknowledged, nil
	}
	return EventRevisionAcknowledged, nil
}

// ValidateAck checks the acknowledgement fields.
func ValidateAck(by, note string) error {
	var vs violations
	switch {
	case by == "":
		vs.add("acknowledged_by", "required", "acknowledged_by is required")
	case !textChars(&vs, "acknowledged_by", by, false):
	case utf8.RuneCountInString(by) > MaxActor:
		vs.add("acknowledged_by", "too_long", "acknowledged_by has more than %d characters", MaxActor)
	}
	switch {
	case !textChars(&vs, "note", note, true):
	case utf8.RuneCountInString(note) > MaxNote:
		vs.add("note", "too_long", "note has more than %d characters", MaxNote)
	}
	return vs.err()
}

// MarshalText encodes the state by name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a state name.
func (s *State) UnmarshalText(b []byte) error {
	if string(b) == stateNames[StateUnspecified] {
		*s = StateUnspecified
		return nil
	}
	v, err := ParseState(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
