package api

import (
	"context"
	"errors"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/draft"
	"github.com/cascadehq/cascade/internal/protoconv"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func (s noticeService) DraftSubjectCommunication(ctx context.Context, req *cascadev1.DraftSubjectCommunicationRequest) (*cascadev1.DraftSubjectCommunicationResponse, error) {
	id, err := parseNoticeID(req.GetNoticeId())
	if err != nil {
		return nil, err
	}
	lang, err := draft.ParseLang(req.GetLanguage())
	if err != nil {
		return nil, invalid("language", err.Error())
	}
	v, err := s.st.GetNotice(ctx, id)
	if err != nil {
		return nil, err
	}
	b, err := s.st.GetBreach(ctx, id.Breach)
	if err != nil {
		return nil, err
	}
	org, err := s.st.GetOrg(ctx, id.Org)
	if err != nil && !errors.Is(err, breach.ErrNotFound) {
		return nil, err
	}
	d := draft.BuildSubject(b, v.Notice, org, lang)
	return &cascadev1.DraftSubjectCommunicationResponse{Markdown: d.Markdown(), PlainText: d.PlainText(), Sms: d.SMS(),
		Language: string(d.Language), FieldsToComplete: d.FieldsToComplete}, nil
}

func (s breachService) PublishAdvisory(ctx context.Context, req *cascadev1.PublishAdvisoryRequest) (*cascadev1.PublishAdvisoryResponse, error) {
	id, err := breach.ParseBreachID(req.GetBreachId())
	if err != nil {
		return nil, invalid("breach_id", err.Error())
	}
	by, now := caller(ctx), s.now()
	changed := false
	b, err := s.st.UpdateBreach(ctx, id, func(b *breach.Breach) error {
		var err error
		changed, err = b.PublishAdvisory(now, by)
		return err
	})
	if err != nil {
		return nil, err
	}
	if changed {
		s.log.Info("advisory published", "breach_id", id, "path", breach.AdvisoryPath(id), "by", by.String())
	}
	return &cascadev1.PublishAdvisoryResponse{Breach: protoconv.BreachProto(b), AlreadyPublished: !changed}, nil
}

func (s breachService) UnpublishAdvisory(ctx context.Context, req *cascadev1.UnpublishAdvisoryRequest) (*cascadev1.UnpublishAdvisoryResponse, error) {
	id, err := breach.ParseBreachID(req.GetBreachId())
	if err != nil {
		return nil, invalid("breach_id", err.Error())
	}
	by, now := caller(ctx), s.now()
	changed := false
	b, err := s.st.UpdateBreach(ctx, id, func(b *breach.Breach) error {
		changed = b.UnpublishAdvisory(now, by)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if changed {
		s.log.Info("advisory unpublished", "breach_id", id, "by", by.String())
	}
	return &cascadev1.UnpublishAdvisoryResponse{Breach: protoconv.BreachProto(b), AlreadyUnpublished: !changed}, nil
}
