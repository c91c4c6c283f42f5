package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/message"
	"github.com/cascadehq/cascade/internal/signing"
	"github.com/cascadehq/cascade/internal/store"
)

// QuestionSubject is the vendor's subject for question events of breach b:
// cascade.events.<breach_id>._question or ._answer.
func QuestionSubject(b breach.BreachID, event string) string { return RoundSubject(b, event) }

// AnswerMessage is the answer to question q, to the organisation that
// asked it on notice n (title: the breach's).
func AnswerMessage(title string, n *breach.Notice, q *breach.Question, at time.Time) Outgoing {
	return Outgoing{MsgID: q.ID.String() + "/answer", Msg: message.Message{
		Event: message.EventAnswer, NoticeID: n.ID, BreachID: n.ID.Breach, OrgID: n.ID.Org, OrgName: n.OrgName,
		Revision: n.Revision, Title: title, DeliveredAt: n.DeliveredAt, SentAt: at, Deadline: n.Deadline,
		QuestionID: q.ID.String(), Question: q.Text, Answer: q.Answer, AnsweredAt: q.AnsweredAt, SharedAnswerID: q.SharedID,
	}}
}

// SharedAnswerMessage is shared answer sa to the organisation of notice n,
// which did not ask it: it says nothing of who did.
func SharedAnswerMessage(title string, n *breach.Notice, sa breach.SharedAnswer, at time.Time) Outgoing {
	return Outgoing{MsgID: fmt.Sprintf("%s/answer/%s", n.ID, sa.ID), Msg: message.Message{
		Event: message.EventAnswer, NoticeID: n.ID, BreachID: n.ID.Breach, OrgID: n.ID.Org, OrgName: n.OrgName,
		Revision: n.Revision, Title: title, DeliveredAt: n.DeliveredAt, SentAt: at, Deadline: n.Deadline,
		Question: sa.Question, Answer: sa.Answer, AnsweredAt: sa.SharedAt, SharedAnswerID: sa.ID,
	}}
}

// SendQuestionEvent tells the vendor of question q (event
// message.VendorQuestion when asked, message.VendorAnswer when answered) on
// QuestionSubject, signed like an organisation's message
// (Cascade-Notice-Id: the asking notice), and returns once it is stored in CASCADE_EVENTS. The same event of the same
// question again is stored once.
func (p *Publisher) SendQuestionEvent(ctx context.Context, event string, q *breach.Question, at time.Time) error {
	e := message.QuestionEvent{Event: event, QuestionID: q.ID.String(), NoticeID: q.ID.Notice, BreachID: q.ID.Notice.Breach,
		OrgID: q.ID.Notice.Org, OrgName: q.OrgName, Question: q.Text, AskedAt: q.AskedAt, AskedBy: q.AskedBy.String(),
		SharedAnswerID: q.SharedID, SentAt: at}
	if event == message.VendorAnswer {
		e.Answer, e.AnsweredAt = q.Answer, q.AnsweredAt
		if q.AnsweredBy != nil {
			e.AnsweredBy = q.AnsweredBy.String()
		}
	}
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	m := &nats.Msg{Subject: QuestionSubject(e.BreachID, event), Data: body, Header: nats.Header{}}
	m.Header.Set(message.HeaderEvent, event)
	m.Header.Set(message.HeaderNoticeID, e.NoticeID.String())
	m.Header.Set(message.HeaderBreachID, string(e.BreachID))
	m.Header.Set(message.HeaderQuestionID, e.QuestionID)
	m.Header.Set("Content-Type", "application/json")
	signing.SignMsg(p.keys.Active(), m)
	m.Header.Set(jetstream.MsgIDHeader, e.QuestionID+"/_"+event)
	acks, err := p.st.PublishBatched(ctx, store.StreamEvents, []*nats.Msg{m})
	if err != nil {
		return fmt.Errorf("tell the vendor of question %s: %w", q.ID, err)
	}
	if a := acks[0]; a.Err != nil {
		return fmt.Errorf("tell the vendor of question %s: %w", q.ID, a.Err)
	}
	return nil
}
