// Package message is the format of what Cascade sends: the JSON bodies an
// organisation receives on cascade.notice.<org_id> (and, copied unchanged,
// by webhook and e-mail) and the vendor receives on
// cascade.events.<breach_id>._<event>, the Cascade-* headers that go with
// them, and the values of the Cascade-Event header. It imports only the
// standard library and the breach vocabulary, so a receiver can decode
// what it is sent without the publisher (internal/delivery) or the
// channels (internal/dispatch).
package message

import (
	"time"

	"github.com/cascadehq/cascade/internal/breach"
)

// Headers on every message to an organisation.
const (
	HeaderEvent      = "Cascade-Event"     // notice, revision, reminder, overdue, answer, withdrawal
	HeaderNoticeID   = "Cascade-Notice-Id" // "<breach_id>/<org_id>"
	HeaderBreachID   = "Cascade-Breach-Id"
	HeaderRevision   = "Cascade-Revision"
	HeaderRedelivery = "Cascade-Redelivery" // attempt number of a redelivery
	HeaderLate       = "Cascade-Late"       // "true" when sent well after it was due
)

// HeaderQuestionID names the question of a question or answer message.
const HeaderQuestionID = "Cascade-Question-Id"

// Cascade-Event values.
const (
	EventNotice   = "notice"
	EventRevision = "revision"
	EventReminder = "reminder"
	EventOverdue  = "overdue"
	// EventAnswer: the vendor's answer to a question of the organisation,
	// or an answer shared with every organisation the breach affects.
	EventAnswer = "answer"
	// EventWithdrawal: the processor found the organisation not affected;
	// the notice is withdrawn and its clock stops.
	EventWithdrawal = "withdrawal"
)

// Message is the JSON body of every message to an organisation. A notice
// or revision carries everything the controller needs for its own Art. 33
// assessment; a reminder or overdue message says where the clock stands.
type Message struct {
	Event           string          `json:"event"`
	NoticeID        breach.NoticeID `json:"notice_id"`
	BreachID        breach.BreachID `json:"breach_id"`
	OrgID           breach.OrgID    `json:"org_id"`
	OrgName         string          `json:"org_name,omitempty"`
	Revision        int             `json:"revision"`
	RevisionSummary string          `json:"revision_summary,omitempty"` // what changed (revisions)
	Title           string          `json:"title"`
	DeliveredAt     time.Time       `json:"delivered_at,omitzero"` // when the organisation first received the notice
	SentAt          time.Time       `json:"sent_at"`               // when this message was sent
	Deadline        time.Time       `json:"deadline,omitzero"`
	// Clock, for an organisation that takes no notices over NATS, says that
	// its clock starts at the first webhook or e-mail delivery (not known
	// when this message is signed): then delivered_at and deadline are
	// absent from the first notice.
	Clock     string `json:"clock,omitempty"`
	Remaining string `json:"remaining,omitempty"` // reminders: time left at the threshold
	// Obligation names the NIS2 obligation a reminder or overdue message
	// is about (nis2_early_warning, nis2_incident_notification,
	// nis2_final_report; Deadline is then that obligation's); absent for
	// the GDPR obligation (Art. 33), the notice's own deadline.
	Obligation string `json:"obligation,omitempty"`
	Late       bool   `json:"late,omitempty"`
	// Escalation marks the last reminder and the overdue message: e-mail
	// takes them to the organisation's escalation contact (the registry's
	// escalation_email) as well.
	Escalation     bool  `json:"escalation,omitempty"`
	Redelivery     int   `json:"redelivery,omitempty"`
	ApproxSubjects int64 `json:"approx_subjects,omitempty"`
	ApproxRecords  int64 `json:"approx_records,omitempty"`
	// AffectedStatus is what the processor says of the organisation:
	// CONFIRMED, UNDER_INVESTIGATION, or NOT_AFFECTED in a withdrawal.
	AffectedStatus breach.AffectedStatus `json:"affected_status,omitempty"`
	// Statement (event withdrawal): why the processor found the
	// organisation not affected; WithdrawnAt: when.
	Statement   string         `json:"statement,omitempty"`
	WithdrawnAt time.Time      `json:"withdrawn_at,omitzero"`
	Breach      *breach.Report `json:"breach,omitempty"` // facts as of Revision, without the other affected organisations
	HowToAck    string         `json:"how_to_acknowledge,omitempty"`
	// Answers (event answer): the question answered, the answer, and when.
	// QuestionID is set only on the answer to the organisation's own
	// question; SharedAnswerID when the answer is shared with every
	// affected organisation (which are never told who asked).
	QuestionID     string    `json:"question_id,omitempty"`
	Question       string    `json:"question,omitempty"`
	Answer         string    `json:"answer,omitempty"`
	AnsweredAt     time.Time `json:"answered_at,omitzero"`
	SharedAnswerID string    `json:"shared_answer_id,omitempty"`
}
