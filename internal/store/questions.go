package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
)

// Questions live in the ledger beside the notices they are asked on: the
// last message on cascade.ledger.question.<breach>.<org>.<n> is question n
// of the notice, stored in one atomic batch with the notice's change (the
// question_asked or question_answered entry of its history), so the
// question, its numbering, the cap on unanswered questions and the history
// never disagree, whatever crashes.
const ledgerQuestion = "cascade.ledger.question" // + ".<breach>.<org>.<n>"

// questionRecord is the stored form of a Question; V guards future formats.
type questionRecord struct {
	V int `json:"v"`
	breach.Question
}

func questionSubject(id breach.QuestionID) string {
	return ledgerQuestion + "." + string(id.Notice.Breach) + "." + string(id.Notice.Org) + "." + strconv.Itoa(id.N)
}

func questionMsg(q *breach.Question, expect uint64) (*nats.Msg, error) {
	data, err := json.Marshal(questionRecord{V: recordVersion, Question: *q})
	if err != nil {
		return nil, err
	}
	m := &nats.Msg{Subject: questionSubject(q.ID), Data: data, Header: nats.Header{}}
	m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(expect, 10))
	return m, nil
}

func decodeQuestion(data []byte) (*breach.Question, error) {
	var r questionRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decode question record: %w", err)
	}
	if r.V != recordVersion {
		return nil, fmt.Errorf("question record version %d not supported", r.V)
	}
	return &r.Question, nil
}

// GetQuestion returns a question with the ledger sequence of its record,
// or breach.ErrNotFound.
func (s *Store) GetQuestion(ctx context.Context, id breach.QuestionID) (*breach.Question, uint64, error) {
	m, err := s.ledger.GetLastMsgForSubject(ctx, questionSubject(id))
	if err != nil {
		if isNotFound(err) {
			return nil, 0, fmt.Errorf("question %s: %w", id, breach.ErrNotFound)
		}
		return nil, 0, fmt.Errorf("read question %s: %w", id, err)
	}
	q, err := decodeQuestion(m.Data)
	if err != nil {
		return nil, 0, fmt.Errorf("question %s: %w", id, err)
	}
	return q, m.Sequence, nil
}

// maxQuestionAttempts bounds the retries of a question's write that met a
// concurrent change of its notice.
const maxQuestionAttempts = 50

// commitQuestion stores the notice's change and the question's record as
// one atomic batch, each only if its subject is at the expected sequence.
// A refused batch stored nothing: retry reports true.
func (s *Store) commitQuestion(ctx context.Context, c Change, noticeSeq uint64, q *breach.Question, questionSeq uint64) (retry bool, err error) {
	cm, err := changeMsg(c, noticeSeq)
	if err != nil {
		return false, err
	}
	qm, err := questionMsg(q, questionSeq)
	if err != nil {
		return false, err
	}
	msgs := []*nats.Msg{cm, qm}
	for _, m := range msgs {
		m.Header.Set(jetstream.ExpectedStreamHeader, StreamLedger)
	}
	if _, err := s.publishAtomic(ctx, StreamLedger, msgs); err != nil {
		if errors.Is(err, errBatchRefused) && ctx.Err() == nil {
			return true, nil
		}
		return false, fmt.Errorf("store question %s: %w", q.ID, err)
	}
	return false, nil
}

// AskQuestion stores a new question on notice id, asked by the
// authenticated principal by at now, with its question_asked entry in the
// notice's history. Asking the text of a question of the same notice that
// is still unanswered returns that question (repeat true): a call retried
// after a lost reply does not ask twice. A notice with
// breach.MaxOpenQuestions unanswered questions refuses with
// breach.ErrTooManyQuestions.
func (s *Store) AskQuestion(ctx context.Context, id breach.NoticeID, text string, by breach.Principal, now time.Time) (q *breach.Question, repeat bool, err error) {
	for attempt := 0; ; attempt++ {
		v, err := s.getNotice(ctx, id)
		if err != nil {
			return nil, false, err
		}
		for _, n := range v.Notice.OpenQuestions {
			open, _, err := s.GetQuestion(ctx, breach.NewQuestionID(id, n))
			if err != nil {
				return nil, false, err
			}
			if open.Text == text && !open.Answered() {
				return open, true, nil
			}
		}
		prev, prevAcked := v.Notice.State, v.Notice.RevisionAcked
		qid, ev, err := v.Notice.Ask()
		if err != nil {
			return nil, false, err
		}
		q = &breach.Question{ID: qid, OrgName: v.Notice.OrgName, Text: text, AskedAt: now, AskedBy: by}
		c := Change{Event: ev, At: now, Actor: by.String(), Principal: &by, Prev: prev, PrevRevisionAcked: prevAcked,
			Detail: "question " + qid.String() + ": " + text, Notice: *v.Notice}
		retry, err := s.commitQuestion(ctx, c, v.Seq, q, 0)
		if err != nil {
			return nil, false, err
		}
		if !retry {
			return q, false, nil
		}
		if attempt >= maxQuestionAttempts {
			return nil, false, fmt.Errorf("ask on notice %s: too many concurrent changes", id)
		}
	}
}

// AnswerQuestion stores the answer to question id, given by the
// authenticated principal by at now, with its question_answered entry in
// the asking notice's history. share makes it a shared answer, named by
// sharedID (called once, when the answer is stored). Answering again with
// the same text and share returns the question as stored (repeat true), so
// a retried call completes its delivery; any other answer to an answered
// question is breach.ErrIllegalTransition: an answer is never changed.
func (s *Store) AnswerQuestion(ctx context.Context, id breach.QuestionID, text string, share bool, by breach.Principal, now time.Time,
	sharedID func() string) (q *breach.Question, repeat bool, err error) {
	for attempt := 0; ; attempt++ {
		q, qseq, err := s.GetQuestion(ctx, id)
		if err != nil {
			return nil, false, err
		}
		if q.Answered() {
			if q.Answer == text && q.Shared() == share {
				return q, true, nil
			}
			return nil, false, fmt.Errorf("%w: question %s was answered at %s; an answer is never changed (answer a new question instead)",
				breach.ErrIllegalTransition, id, q.AnsweredAt.UTC().Format(time.RFC3339))
		}
		v, err := s.getNotice(ctx, id.Notice)
		if err != nil {
			return nil, false, err
		}
		prev, prevAcked := v.Notice.State, v.Notice.RevisionAcked
		ev, err := v.Notice.Answer(id)
		if err != nil {
			return nil, false, err
		}
		q.Answer, q.AnsweredAt, q.AnsweredBy = text, now, &by
		detail := "answer to question " + id.String() + ": " + text
		if share {
			q.SharedID = sharedID()
			detail = "answer to question " + id.String() + ", shared with every affected organisation as " + q.SharedID + ": " + text
		}
		c := Change{Event: ev, At: now, Actor: by.String(), Principal: &by, Prev: prev, PrevRevisionAcked: prevAcked,
			Detail: detail, Notice: *v.Notice}
		retry, err := s.commitQuestion(ctx, c, v.Seq, q, qseq)
		if err != nil {
			return nil, false, err
		}
		if !retry {
			return q, false, nil
		}
		if attempt >= maxQuestionAttempts {
			return nil, false, fmt.Errorf("answer %s: too many concurrent changes", id)
		}
	}
}

// ShareAnswer records shared answer sa on every notice of ids that has been
// delivered (an answer_shared entry, without who asked), by the principal
// by at now, and returns those notices as stored. A notice that has it
// already is returned unchanged, so a repeated call completes an
// interrupted one; a notice still pending gets none (its organisation
// reads the shared answers on the breach).
func (s *Store) ShareAnswer(ctx context.Context, ids []breach.NoticeID, sa breach.SharedAnswer, by breach.Principal, now time.Time) ([]*breach.Notice, error) {
	vs, err := s.getNotices(ctx, ids)
	if err != nil {
		return nil, err
	}
	detail := "shared answer " + sa.ID + ": question: " + sa.Question + " — answer: " + sa.Answer
	var (
		out     []*breach.Notice
		changes []Change
		expect  []uint64
	)
	for _, v := range vs {
		n := v.Notice
		if n == nil || n.State < breach.StateDelivered || n.State == breach.StateWithdrawn {
			continue // a withdrawn organisation is not affected: no shared answers
		}
		prev, prevAcked := n.State, n.RevisionAcked
		ev := n.ShareAnswer(sa.ID)
		if ev == "" {
			out = append(out, n)
			continue
		}
		changes = append(changes, Change{Event: ev, At: now, Actor: by.String(), Principal: &by, Prev: prev,
			PrevRevisionAcked: prevAcked, Detail: detail, Notice: *n})
		expect = append(expect, v.Seq)
	}
	if len(changes) == 0 {
		return out, nil
	}
	res, err := s.AppendChanges(ctx, changes, expect)
	if err != nil {
		return nil, err
	}
	for i, r := range res {
		if !r.Conflict {
			n := changes[i].Notice
			out = append(out, &n)
			continue
		}
		n, err := s.UpdateNoticeBy(ctx, changes[i].Notice.ID, by.String(), &by, now, detail, func(n *breach.Notice) (breach.Event, error) {
			if n.State < breach.StateDelivered || n.State == breach.StateWithdrawn {
				return "", nil
			}
			return n.ShareAnswer(sa.ID), nil
		})
		if err != nil {
			return nil, err
		}
		if n.State >= breach.StateDelivered && n.State != breach.StateWithdrawn {
			out = append(out, n)
		}
	}
	return out, nil
}

// ListQuestions returns the questions of one breach, one organisation,
// both or (neither set) all, ordered by breach, organisation and number.
func (s *Store) ListQuestions(ctx context.Context, b breach.BreachID, org breach.OrgID) ([]*breach.Question, error) {
	bf, of := string(b), string(org)
	if bf == "" {
		bf = "*"
	}
	if of == "" {
		of = "*"
	}
	subject := ledgerQuestion + "." + bf + "." + of + ".*"
	latest := map[breach.QuestionID]*breach.Question{}
	add := func(subject string, data []byte) error {
		q, err := decodeQuestion(data)
		if err != nil {
			return fmt.Errorf("%s: %w", subject, err)
		}
		// An ordered consumer that resumed may deliver an older record
		// too: an answered record is never followed by an unanswered one.
		if cur, ok := latest[q.ID]; !ok || !cur.Answered() {
			latest[q.ID] = q
		}
		return nil
	}
	// One notice's questions (few) on a single server: one direct get of
	// the last record of each, no consumer. More than one answer holds,
	// a replicated ledger, or a failure: a consumer through the leader.
	direct := s.replicas <= 1 && b != "" && org != ""
	if direct {
		pending, _, err := s.directGet(ctx, struct {
			MultiLast []string `json:"multi_last"`
			Batch     int      `json:"batch"`
		}{[]string{subject}, 1024}, func(subject string, _ uint64, data []byte) error { return add(subject, data) })
		if err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil || pending > 0 {
			s.log.Debug("direct question read incomplete; reading with a consumer", "subject", subject, "pending", pending, "err", err)
			direct = false
			clear(latest)
		}
	}
	if !direct {
		err := s.scan(ctx, subject, jetstream.DeliverLastPerSubjectPolicy, func(m jetstream.Msg) error { return add(m.Subject(), m.Data()) })
		if err != nil {
			return nil, err
		}
	}
	qs := slices.Collect(maps.Values(latest))
	slices.SortFunc(qs, func(a, b *breach.Question) int { return breach.CompareQuestionID(a.ID, b.ID) })
	return qs, nil
}

// SharedAnswers returns the answers shared with every organisation that
// breach b affects, oldest first.
func (s *Store) SharedAnswers(ctx context.Context, b breach.BreachID) ([]breach.SharedAnswer, error) {
	qs, err := s.ListQuestions(ctx, b, "")
	if err != nil {
		return nil, err
	}
	var out []breach.SharedAnswer
	for _, q := range qs {
		if sa, ok := q.SharedAnswer(); ok {
			out = append(out, sa)
		}
	}
	slices.SortStableFunc(out, func(a, b breach.SharedAnswer) int {
		return cmp.Or(a.SharedAt.Compare(b.SharedAt), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}
