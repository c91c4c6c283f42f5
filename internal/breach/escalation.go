package breach

import (
	"fmt"
	"strings"
	"time"
)

// EventEscalated: the last reminder or the overdue message was sent to the
// organisation's escalation contact (the registry's escalation_email)
// besides its usual addresses.
const EventEscalated Event = "escalated"

// MaxEscalations bounds the escalations kept on one notice: the last
// reminder and the overdue message of each obligation (GDPR's and NIS2's
// three), each once, with room to spare.
const MaxEscalations = 16

// Escalation records one message sent to the organisation's second line
// (for a municipality, say, its head of administration): to whom, which
// message and when. It is set when the e-mail is sent.
type Escalation struct {
	Email string `json:"email"`
	// Phone is the registry's escalation_phone when the message was sent,
	// for the vendor to call; Cascade does not call it.
	Phone string `json:"phone,omitempty"`
	// Event is the message's: "reminder" (the last one) or "overdue".
	Event string `json:"event"`
	// Remaining is a reminder's threshold ("1h0m0s"); empty for overdue.
	Remaining string `json:"remaining,omitempty"`
	// Obligation is the NIS2 obligation the message was about; empty for
	// the GDPR obligation.
	Obligation string    `json:"obligation,omitempty"`
	MessageID  string    `json:"message_id"` // the message's Nats-Msg-Id
	SentAt     time.Time `json:"sent_at"`
}

// EscalationAddresses are the addresses an escalated message goes to
// besides EmailAddresses: the escalation e-mail, unless it is one of them.
func (o Org) EscalationAddresses() []string {
	if o.EscalationEmail == "" {
		return nil
	}
	for _, a := range o.EmailAddresses() {
		if strings.EqualFold(a, o.EscalationEmail) {
			return nil
		}
	}
	return []string{o.EscalationEmail}
}

// RecordEscalation puts e on record. It returns "" when the same message
// was recorded as escalated before (a repeat after a crash) or the record
// is full: escalations are idempotent per message.
func (n *Notice) RecordEscalation(e Escalation) Event {
	for _, x := range n.EscalatedTo {
		if x.MessageID == e.MessageID && strings.EqualFold(x.Email, e.Email) {
			return ""
		}
	}
	if len(n.EscalatedTo) >= MaxEscalations {
		return ""
	}
	n.EscalatedTo = append(n.EscalatedTo, e)
	return EventEscalated
}

// EscalationDetail is the history detail of escalation e.
func EscalationDetail(e Escalation) string {
	what := e.Event
	if e.Remaining != "" {
		what = fmt.Sprintf("last reminder (%s left)", e.Remaining)
	}
	d := fmt.Sprintf("%s escalated by e-mail to %s", what, e.Email)
	if e.Phone != "" {
		d += " (phone " + e.Phone + ")"
	}
	return ObligationDetail(ObligationKind(e.Obligation), d+", message "+e.MessageID)
}
