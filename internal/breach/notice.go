package breach

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// State is where a notice stands. States only move forward.
type State int

// Notice states, in order.
const (
	StateUnspecified  State = iota
	StatePending            // recorded, not yet delivered
	StateDelivered          // delivered; the deadline runs
	StateAcknowledged       // acknowledged by the organisation
	StateResolved           // outcome recorded
)

var stateNames = [...]string{"UNSPECIFIED", "PENDING", "DELIVERED", "ACKNOWLEDGED", "RESOLVED"}

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
	EventCreated      Event = "created"
	EventDelivered    Event = "delivered"
	EventRedelivered  Event = "redelivered"
	EventAcknowledged Event = "acknowledged"
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
}

// Overdue reports whether the notice is past its deadline and not resolved.
func (n *Notice) Overdue(now time.Time) bool {
	return n.State >= StateDelivered && n.State != StateResolved && !now.Before(n.Deadline)
}

// ProcessorDelay is delivered_at - discovered_at, or 0 before delivery.
func (n *Notice) ProcessorDelay() time.Duration {
	if n.DeliveredAt.IsZero() || n.DiscoveredAt.IsZero() {
		return 0
	}
	return n.DeliveredAt.Sub(n.DiscoveredAt)
}

// Deliver records a durable publish to the organisation's channel at at.
// The first delivery starts the clock: deadline = at + window. Later
// deliveries only count; they never move the deadline.
func (n *Notice) Deliver(at time.Time, window time.Duration) Event {
	n.DeliveryCount++
	if n.State == StatePending {
		n.State = StateDelivered
		n.DeliveredAt = at
		n.Deadline = at.Add(window)
		return EventDelivered
	}
	return EventRedelivered
}

// Acknowledge records that by received the notice. It returns false, and
// changes nothing, when the notice was acknowledged already (idempotent).
// Acknowledging a notice that was never delivered is ErrIllegalTransition.
func (n *Notice) Acknowledge(now time.Time, by, note string) (bool, error) {
	if err := ValidateAck(by, note); err != nil {
		return false, err
	}
	switch n.State {
	case StateUnspecified, StatePending:
		return false, fmt.Errorf("%w: notice %s has not been delivered yet", ErrIllegalTransition, n.ID)
	case StateAcknowledged, StateResolved:
		return false, nil
	}
	n.State = StateAcknowledged
	n.AcknowledgedAt = now
	n.AcknowledgedBy = by
	n.AckNote = note
	return true, nil
}

// ValidateAck checks the acknowledgement fields.
func ValidateAck(by, note string) error {
	var vs violations
	switch {
	case by == "":
		vs.add("acknowledged_by", "required", "acknowledged_by is required")
	case !utf8.ValidString(by):
		vs.add("acknowledged_by", "encoding", "acknowledged_by is not valid UTF-8")
	case utf8.RuneCountInString(by) > MaxActor:
		vs.add("acknowledged_by", "too_long", "acknowledged_by has more than %d characters", MaxActor)
	}
	switch {
	case !utf8.ValidString(note):
		vs.add("note", "encoding", "note is not valid UTF-8")
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
