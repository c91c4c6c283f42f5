package message

import (
	"time"

	"github.com/cascadehq/cascade/internal/breach"
)

// Round is what the vendor is told of the messages of one send that share
// a breach, an event and a threshold (or redelivery attempt): which
// organisations got one, and which of them late. A timer's firing sends
// the reminders, escalations and redeliveries of up to 1,000 notices at
// once, so the vendor gets one message per firing, kind and threshold or
// attempt, not one per organisation.
type Round struct {
	Event      string          `json:"event"` // reminder, overdue or redelivery
	BreachID   breach.BreachID `json:"breach_id"`
	Title      string          `json:"title"`
	Remaining  string          `json:"remaining,omitempty"`  // reminders: the threshold
	Obligation string          `json:"obligation,omitempty"` // the NIS2 obligation reminded of or overdue; absent for GDPR's
	Redelivery int             `json:"redelivery,omitempty"` // redeliveries: the attempt
	Revision   int             `json:"revision,omitempty"`   // redeliveries: the revision repeated
	SentAt     time.Time       `json:"sent_at"`
	Orgs       []breach.OrgID  `json:"org_ids"`                // sorted
	Late       []breach.OrgID  `json:"late_org_ids,omitempty"` // sent well after due (the daemon was down); sorted
}

// Round events (Cascade-Event of a round message).
const (
	RoundReminder   = EventReminder
	RoundOverdue    = EventOverdue
	RoundRedelivery = "redelivery"
)

// Events of the vendor's promise messages (Cascade-Event), on
// cascade.events.<breach_id>._update_due and ._update_overdue.
const (
	VendorUpdateDue     = "update_due"     // the promised update is due soon
	VendorUpdateOverdue = "update_overdue" // the promised time passed without an update
)

// PromiseNoticeID is the Cascade-Notice-Id of breach b's promise messages,
// "<breach_id>/_update": signed like a notice id, bound to the breach, and
// never a notice's (no organisation id starts with "_").
func PromiseNoticeID(b breach.BreachID) string { return string(b) + "/_update" }

// Promise is the body of the vendor's promise messages: the processor's
// own clock for one breach (Art. 33(4)).
type Promise struct {
	Event            string          `json:"event"` // update_due or update_overdue
	BreachID         breach.BreachID `json:"breach_id"`
	Title            string          `json:"title"`
	NextUpdateBy     time.Time       `json:"next_update_by"`
	PromisedAt       time.Time       `json:"promised_at,omitzero"`
	PromisedRevision int             `json:"promised_revision,omitempty"`
	LatestRevision   int             `json:"latest_revision"`
	Remaining        string          `json:"remaining,omitempty"` // update_due: time left to the promised time
	LateBy           string          `json:"late_by,omitempty"`   // update_overdue: how late when sent
	// Late marks a message sent well after it was due (the daemon was down).
	Late   bool      `json:"late,omitempty"`
	Kept   int       `json:"promises_kept"`
	Missed int       `json:"promises_missed"`
	SentAt time.Time `json:"sent_at"`
	How    string    `json:"how_to_update,omitempty"`
}

// Events of the vendor's question messages (Cascade-Event), on
// cascade.events.<breach_id>._question and ._answer.
const (
	VendorQuestion = "question" // a controller asked
	VendorAnswer   = "answer"   // the vendor answered (its own record)
)

// QuestionEvent is the body of the vendor's question and answer messages.
// It names who asked: only the vendor receives it.
type QuestionEvent struct {
	Event          string          `json:"event"` // question or answer
	QuestionID     string          `json:"question_id"`
	NoticeID       breach.NoticeID `json:"notice_id"`
	BreachID       breach.BreachID `json:"breach_id"`
	OrgID          breach.OrgID    `json:"org_id"`
	OrgName        string          `json:"org_name,omitempty"`
	Question       string          `json:"question"`
	AskedAt        time.Time       `json:"asked_at"`
	AskedBy        string          `json:"asked_by"`
	Answer         string          `json:"answer,omitempty"`
	AnsweredAt     time.Time       `json:"answered_at,omitzero"`
	AnsweredBy     string          `json:"answered_by,omitempty"`
	SharedAnswerID string          `json:"shared_answer_id,omitempty"`
	SentAt         time.Time       `json:"sent_at"`
}
