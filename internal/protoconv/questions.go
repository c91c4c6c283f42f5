package protoconv

import (
	"github.com/cascadehq/cascade/internal/breach"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// QuestionProto converts a question.
func QuestionProto(q *breach.Question) *cascadev1.Question {
	out := &cascadev1.Question{
		Id:             q.ID.String(),
		NoticeId:       q.ID.Notice.String(),
		BreachId:       string(q.ID.Notice.Breach),
		OrgId:          string(q.ID.Notice.Org),
		OrgName:        q.OrgName,
		Text:           q.Text,
		AskedAt:        pts(q.AskedAt),
		AskedBy:        PrincipalProto(&q.AskedBy),
		AskedByDisplay: q.AskedBy.String(),
		Answer:         q.Answer,
		AnsweredAt:     pts(q.AnsweredAt),
		SharedWithAll:  q.Shared(),
		SharedAnswerId: q.SharedID,
	}
	if q.AnsweredBy != nil {
		out.AnsweredBy = PrincipalProto(q.AnsweredBy)
	}
	return out
}

// SharedAnswersProto converts the shared answers of a breach.
func SharedAnswersProto(sas []breach.SharedAnswer) []*cascadev1.SharedAnswer {
	var out []*cascadev1.SharedAnswer
	for _, sa := range sas {
		out = append(out, &cascadev1.SharedAnswer{Id: sa.ID, Question: sa.Question, Answer: sa.Answer, SharedAt: pts(sa.SharedAt)})
	}
	return out
}
