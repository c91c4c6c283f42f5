package breach

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Questions and answers (Art. 28(3)(f): the processor assists the
// controller). A controller asks the vendor a question on its own notice;
// the vendor answers it, to the asking organisation only or, shared with
// all, to every organisation the breach affects, without saying who asked.
// Neither moves any clock of the notice.

// Limits on questions.
const (
	// MaxQuestionText bounds a question's and an answer's text, in characters.
	MaxQuestionText = 4000
	// MaxOpenQuestions bounds the unanswered questions of one notice.
	MaxOpenQuestions = 20
)

// Question events of a notice's history. None of them changes the
// notice's state, deadline, reminders or deliveries.
const (
	EventQuestionAsked    Event = "question_asked"
	EventQuestionAnswered Event = "question_answered"
	EventAnswerShared     Event = "answer_shared"
)

// QuestionID identifies one question: the notice it was asked on and its
// number on that notice, from 1. Its text form is
// "<breach_id>/<org_id>/<n>".
type QuestionID struct {
	Notice NoticeID
	N      int
}

// NewQuestionID is question n of notice id.
func NewQuestionID(id NoticeID, n int) QuestionID { return QuestionID{Notice: id, N: n} }

// String is "<breach_id>/<org_id>/<n>".
func (id QuestionID) String() string { return id.Notice.String() + "/" + strconv.Itoa(id.N) }

// ParseQuestionID parses "<breach_id>/<org_id>/<n>".
func ParseQuestionID(s string) (QuestionID, error) {
	i := strings.LastIndexByte(s, '/')
	if i < 0 || strings.Count(s, "/") != 2 {
		return QuestionID{}, fmt.Errorf("question id %q is not of the form <breach_id>/<org_id>/<n>", truncate(s))
	}
	nid, err := ParseNoticeID(s[:i])
	if err != nil {
		return QuestionID{}, err
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil || n < 1 || n > 1<<30 || strconv.Itoa(n) != s[i+1:] {
		return QuestionID{}, fmt.Errorf("question id %q: the number after the last / must be a positive integer", truncate(s))
	}
	return QuestionID{Notice: nid, N: n}, nil
}

// MarshalText encodes the id as "<breach_id>/<org_id>/<n>".
func (id QuestionID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText parses "<breach_id>/<org_id>/<n>".
func (id *QuestionID) UnmarshalText(b []byte) error {
	v, err := ParseQuestionID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// Question is one question and, once given, its answer. Its JSON form is
// the stored record.
type Question struct {
	ID      QuestionID `json:"id"`
	OrgName string     `json:"org_name,omitempty"`
	Text    string     `json:"text"`
	AskedAt time.Time  `json:"asked_at"`
	// AskedBy is the asking controller as authenticated.
	AskedBy    Principal  `json:"asked_by"`
	Answer     string     `json:"answer,omitempty"`
	AnsweredAt time.Time  `json:"answered_at,omitzero"`
	AnsweredBy *Principal `json:"answered_by,omitempty"`
	// SharedID names the answer as shared with every affected
	// organisation (empty: answered to the asking organisation only). It
	// says nothing of who asked.
	SharedID string `json:"shared_id,omitempty"`
}

// Answered reports whether the question has its answer.
func (q *Question) Answered() bool { return !q.AnsweredAt.IsZero() }

// Shared reports whether the answer was shared with every affected organisation.
func (q *Question) Shared() bool { return q.SharedID != "" }

// SharedAnswer is a question and its answer as every organisation affected
// by the breach sees it: without who asked or for which organisation.
type SharedAnswer struct {
	ID       string    `json:"id"`
	Question string    `json:"question"`
	Answer   string    `json:"answer"`
	SharedAt time.Time `json:"shared_at"`
}

// SharedAnswer is the shared form of q; ok is false if q was not shared.
func (q *Question) SharedAnswer() (SharedAnswer, bool) {
	if !q.Shared() || !q.Answered() {
		return SharedAnswer{}, false
	}
	return SharedAnswer{ID: q.SharedID, Question: q.Text, Answer: q.Answer, SharedAt: q.AnsweredAt}, true
}

// ValidateQuestionText checks a question's or an answer's text (field names
// it): required, at most MaxQuestionText characters, multi-line text
// without control characters.
func ValidateQuestionText(field, text string) error {
	var vs violations
	switch {
	case strings.TrimSpace(text) == "":
		vs.add(field, "required", "%s is required", field)
	case !textChars(&vs, field, text, true):
	case utf8.RuneCountInString(text) > MaxQuestionText:
		vs.add(field, "too_long", "%s has more than %d characters", field, MaxQuestionText)
	}
	return vs.err()
}

// ErrTooManyQuestions: the notice has MaxOpenQuestions unanswered questions.
var ErrTooManyQuestions = fmt.Errorf("%w: the notice has %d unanswered questions, the most it may have; ask again once one is answered", ErrLimit, MaxOpenQuestions)

// Ask numbers a new question on the notice and counts it as unanswered.
// It changes nothing else: no clock moves.
func (n *Notice) Ask() (QuestionID, Event, error) {
	if len(n.OpenQuestions) >= MaxOpenQuestions {
		return QuestionID{}, "", ErrTooManyQuestions
	}
	n.Questions++
	n.OpenQuestions = append(n.OpenQuestions, n.Questions)
	return NewQuestionID(n.ID, n.Questions), EventQuestionAsked, nil
}

// Answer records that question q of the notice was answered. It changes
// nothing else.
func (n *Notice) Answer(q QuestionID) (Event, error) {
	i := slices.Index(n.OpenQuestions, q.N)
	if q.Notice != n.ID || i < 0 {
		return "", fmt.Errorf("%w: question %s is not open on notice %s", ErrIllegalTransition, q, n.ID)
	}
	n.OpenQuestions = slices.Delete(n.OpenQuestions, i, i+1)
	return EventQuestionAnswered, nil
}

// ShareAnswer records that the shared answer id reached the notice; the
// same answer again is no change (empty event).
func (n *Notice) ShareAnswer(id string) Event {
	if slices.Contains(n.SharedAnswers, id) {
		return ""
	}
	n.SharedAnswers = append(n.SharedAnswers, id)
	return EventAnswerShared
}

// CompareQuestionID orders questions by breach, organisation and number.
func CompareQuestionID(a, b QuestionID) int {
	return cmp.Or(strings.Compare(string(a.Notice.Breach), string(b.Notice.Breach)),
		strings.Compare(string(a.Notice.Org), string(b.Notice.Org)), cmp.Compare(a.N, b.N))
}
