package api

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/delivery"
	"github.com/cascadehq/cascade/internal/message"
	"github.com/cascadehq/cascade/internal/protoconv"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// caller is the authenticated principal of a call that records it as who
// asked or answered; with --insecure-no-auth, anonymous.
func caller(ctx context.Context) breach.Principal {
	if p := principal(ctx); p != nil {
		return *p
	}
	return breach.AnonymousPrincipal
}

func (s noticeService) AskQuestion(ctx context.Context, req *cascadev1.AskQuestionRequest) (*cascadev1.AskQuestionResponse, error) {
	id, err := parseNoticeID(req.GetNoticeId())
	if err != nil {
		return nil, err
	}
	if err := breach.ValidateQuestionText("text", req.GetText()); err != nil {
		return nil, err
	}
	now := s.now()
	q, repeat, err := s.st.AskQuestion(ctx, id, req.GetText(), caller(ctx), now)
	if err != nil {
		return nil, err
	}
	if s.answers != nil {
		// Stored first: a failure here is retried by asking again, which
		// returns the same question and tells the vendor once.
		if err := s.answers.SendQuestionEvent(ctx, message.VendorQuestion, q, q.AskedAt); err != nil {
			return nil, err
		}
	}
	if !repeat {
		s.log.Info("question asked", "question_id", q.ID.String(), "notice_id", id, "breach_id", id.Breach, "org_id", id.Org)
	}
	return &cascadev1.AskQuestionResponse{Question: protoconv.QuestionProto(q)}, nil
}

func (s noticeService) AnswerQuestion(ctx context.Context, req *cascadev1.AnswerQuestionRequest) (*cascadev1.AnswerQuestionResponse, error) {
	qid, err := breach.ParseQuestionID(req.GetQuestionId())
	if err != nil {
		return nil, invalid("question_id", err.Error())
	}
	if err := breach.ValidateQuestionText("text", req.GetText()); err != nil {
		return nil, err
	}
	by := caller(ctx)
	q, repeat, err := s.st.AnswerQuestion(ctx, qid, req.GetText(), req.GetShareWithAll(), by, s.now(), uuid.NewString)
	if err != nil {
		return nil, err
	}
	// Stored first; what follows is repeated, and stored once, by
	// answering again with the same text.
	if err := s.deliverAnswer(ctx, q, by); err != nil {
		return nil, err
	}
	if !repeat {
		s.log.Info("question answered", "question_id", qid.String(), "notice_id", qid.Notice, "breach_id", qid.Notice.Breach,
			"org_id", qid.Notice.Org, "shared", q.Shared())
	}
	return &cascadev1.AnswerQuestionResponse{Question: protoconv.QuestionProto(q)}, nil
}

// deliverAnswer sends answered question q to the organisation that asked
// it and, if shared, records it on every delivered notice of the breach and
// sends it to their organisations without who asked; then tells the
// vendor. Every message has a stable id, so a repeat stores none twice.
func (s noticeService) deliverAnswer(ctx context.Context, q *breach.Question, by breach.Principal) error {
	at := q.AnsweredAt
	b, err := s.st.GetBreach(ctx, q.ID.Notice.Breach)
	if err != nil {
		return err
	}
	title := b.Report.Title
	v, err := s.st.GetNotice(ctx, q.ID.Notice)
	if err != nil {
		return err
	}
	if s.answers != nil {
		if _, err := s.answers.Send(ctx, []delivery.Outgoing{delivery.AnswerMessage(title, v.Notice, q, at)}); err != nil {
			return fmt.Errorf("deliver the answer to %s: %w", q.ID, err)
		}
	}
	if sa, ok := q.SharedAnswer(); ok {
		if err := s.shareAnswer(ctx, b, q.ID.Notice, sa, title, by, at); err != nil {
			return err
		}
	}
	if s.answers != nil {
		if err := s.answers.SendQuestionEvent(ctx, message.VendorAnswer, q, at); err != nil {
			return err
		}
	}
	return nil
}

// shareAnswer records sa on every delivered notice of breach b, one
// membership chunk at a time, and sends it to each organisation but the
// one that asked (asker), which has its own answer.
func (s noticeService) shareAnswer(ctx context.Context, b *breach.Breach, asker breach.NoticeID, sa breach.SharedAnswer, title string,
	by breach.Principal, at time.Time) error {
	for chunk := 0; chunk < b.TotalChunks(); chunk++ { // the first report's chunks, then each revision's
		ms, err := s.st.Members(ctx, b.ID, b.Digest, chunk)
		if err != nil {
			return fmt.Errorf("breach %s: fan-out membership chunk %d: %w", b.ID, chunk, err)
		}
		ids := make([]breach.NoticeID, len(ms))
		for i, m := range ms {
			ids[i] = breach.NewNoticeID(b.ID, m.Org)
		}
		ns, err := s.st.ShareAnswer(ctx, ids, sa, by, at)
		if err != nil {
			return err
		}
		var out []delivery.Outgoing
		for _, n := range ns {
			if n.ID != asker {
				out = append(out, delivery.SharedAnswerMessage(title, n, sa, at))
			}
		}
		if len(out) > 0 && s.answers != nil {
			if _, err := s.answers.Send(ctx, out); err != nil {
				return fmt.Errorf("deliver shared answer %s: %w", sa.ID, err)
			}
		}
	}
	return nil
}

func (s noticeService) ListQuestions(ctx context.Context, req *cascadev1.ListQuestionsRequest) (*cascadev1.ListQuestionsResponse, error) {
	const method = "ListQuestions"
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	// The guard has set a scoped caller's org_id, so it is bound too.
	ad := binding(ctx, method, req.GetOrgId(), req.GetBreachId(), strconv.FormatBool(req.GetUnansweredOnly()), req.GetProcessorId())
	cur, err := s.pages.open(req.GetPageToken(), ad)
	if err != nil {
		return nil, err
	}
	keep, err := processorFilter(req.GetProcessorId())
	if err != nil {
		return nil, err
	}
	var after *breach.QuestionID
	if cur.Key != "" {
		k, err := breach.ParseQuestionID(cur.Key)
		if err != nil {
			return nil, errPageToken
		}
		after = &k
	}
	var bid breach.BreachID
	if req.GetBreachId() != "" {
		if bid, err = breach.ParseBreachID(req.GetBreachId()); err != nil {
			return nil, invalid("breach_id", err.Error())
		}
	}
	var org breach.OrgID
	if req.GetOrgId() != "" {
		if org, err = breach.ParseOrgID(req.GetOrgId()); err != nil {
			return nil, invalid("org_id", err.Error())
		}
	}
	qs, err := s.st.ListQuestions(ctx, bid, org)
	if err != nil {
		return nil, err
	}
	resp := &cascadev1.ListQuestionsResponse{}
	var last *breach.Question
	for _, q := range qs {
		if after != nil && breach.CompareQuestionID(q.ID, *after) <= 0 {
			continue
		}
		if req.GetUnansweredOnly() && q.Answered() || keep != nil && !keep(q.ID.Notice.Breach) {
			continue
		}
		if len(resp.Questions) == size {
			resp.NextPageToken = s.pages.token(cursor{Key: last.ID.String()}, ad)
			break
		}
		resp.Questions = append(resp.Questions, protoconv.QuestionProto(q))
		last = q
	}
	return resp, nil
}
