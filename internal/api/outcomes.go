package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/draft"
	"github.com/cascadehq/cascade/internal/evidence"
	"github.com/cascadehq/cascade/internal/protoconv"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// update runs one notice transition through the store's CAS helper and
// returns the notice as the caller sees it.
func (s noticeService) update(ctx context.Context, method, rawID, actor, detail string,
	fn func(now time.Time, n *breach.Notice) (breach.Event, error)) (*cascadev1.Notice, error) {
	id, err := parseNoticeID(rawID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	n, err := s.st.UpdateNoticeBy(ctx, id, actor, principal(ctx), now, detail, func(n *breach.Notice) (breach.Event, error) {
		return fn(now, n)
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("outcome recorded", "kind", outcomeKinds[method], "notice_id", id, "breach_id", id.Breach, "org_id", id.Org,
		"state", n.State.String())
	return protoconv.NoticeProto(n, now), nil
}

// outcomeKinds name the outcomes in the log, by the method recording them.
var outcomeKinds = map[string]string{
	"RecordAuthorityReport":      "authority_report",
	"RecordNotReportable":        "not_reportable",
	"RecordSubjectCommunication": "subject_communication",
}

func (s noticeService) RecordAuthorityReport(ctx context.Context, req *cascadev1.RecordAuthorityReportRequest) (*cascadev1.RecordAuthorityReportResponse, error) {
	k, err := protoconv.ObligationKind(req.GetObligation())
	if err != nil {
		return nil, err
	}
	n, err := s.update(ctx, "RecordAuthorityReport", req.GetNoticeId(), req.GetRecordedBy(),
		breach.ObligationDetail(k, fmt.Sprintf("reported to %s, reference %s", req.GetAuthority(), req.GetReference())),
		func(now time.Time, n *breach.Notice) (breach.Event, error) {
			return n.RecordObligationReport(k, now, req.GetRecordedBy(), req.GetAuthority(), req.GetReference(),
				protoconv.Time(req.GetReportedAt()), req.GetDelayReason())
		})
	if err != nil {
		return nil, err
	}
	return &cascadev1.RecordAuthorityReportResponse{Notice: n}, nil
}

func (s noticeService) RecordNotReportable(ctx context.Context, req *cascadev1.RecordNotReportableRequest) (*cascadev1.RecordNotReportableResponse, error) {
	k, err := protoconv.ObligationKind(req.GetObligation())
	if err != nil {
		return nil, err
	}
	detail := "documented as not reportable"
	if k != breach.ObligationGDPR {
		detail = breach.ObligationDetail(k, "documented as not applicable")
	}
	n, err := s.update(ctx, "RecordNotReportable", req.GetNoticeId(), req.GetRecordedBy(), detail,
		func(now time.Time, n *breach.Notice) (breach.Event, error) {
			return n.RecordObligationNotApplicable(k, now, req.GetRecordedBy(), req.GetJustification())
		})
	if err != nil {
		return nil, err
	}
	return &cascadev1.RecordNotReportableResponse{Notice: n}, nil
}

func (s noticeService) RecordSubjectCommunication(ctx context.Context, req *cascadev1.RecordSubjectCommunicationRequest) (*cascadev1.RecordSubjectCommunicationResponse, error) {
	sc := protoconv.SubjectCommunication(req.GetCommunication())
	n, err := s.update(ctx, "RecordSubjectCommunication", req.GetNoticeId(), req.GetRecordedBy(), "data subjects: "+string(sc.Kind),
		func(now time.Time, n *breach.Notice) (breach.Event, error) {
			return n.RecordSubjectCommunication(now, req.GetRecordedBy(), sc)
		})
	if err != nil {
		return nil, err
	}
	return &cascadev1.RecordSubjectCommunicationResponse{Notice: n}, nil
}

func (s noticeService) GetNoticeHistory(ctx context.Context, req *cascadev1.GetNoticeHistoryRequest) (*cascadev1.GetNoticeHistoryResponse, error) {
	id, err := parseNoticeID(req.GetNoticeId())
	if err != nil {
		return nil, err
	}
	h, err := s.st.History(ctx, id)
	if err != nil {
		return nil, err
	}
	resp := &cascadev1.GetNoticeHistoryResponse{}
	for _, e := range h {
		resp.Events = append(resp.Events, protoconv.EventProto(&e.Change, e.Seq))
	}
	return resp, nil
}

// maxExportNotices bounds one export (the response must fit a gRPC message).
const maxExportNotices = 2000

func (s noticeService) ExportEvidence(ctx context.Context, req *cascadev1.ExportEvidenceRequest) (*cascadev1.ExportEvidenceResponse, error) {
	var (
		scope evidence.Scope
		ids   []breach.NoticeID
		bs    []breach.Breach
	)
	switch {
	case req.GetBreachId() != "" && req.GetOrgId() != "":
		return nil, invalid("org_id", "name either breach_id or org_id, not both")
	case req.GetBreachId() != "":
		id, err := breach.ParseBreachID(req.GetBreachId())
		if err != nil {
			return nil, invalid("breach_id", err.Error())
		}
		b, err := s.st.GetBreach(ctx, id)
		if err != nil {
			return nil, err
		}
		bs = append(bs, *b)
		scope = evidence.BreachScope(id)
		for c := 0; c < b.TotalChunks(); c++ {
			ms, err := s.st.Members(ctx, id, b.Digest, c)
			if err != nil {
				return nil, err
			}
			for _, m := range ms {
				ids = append(ids, breach.NewNoticeID(id, m.Org))
			}
		}
	case req.GetOrgId() != "":
		org, err := breach.ParseOrgID(req.GetOrgId())
		if err != nil {
			return nil, invalid("org_id", err.Error())
		}
		scope = evidence.OrganisationScope(org)
		ns, err := s.st.OrgNotices(ctx, org)
		if err != nil {
			return nil, err
		}
		if len(ns) == 0 {
			return nil, fmt.Errorf("notices of organisation %s: %w", org, breach.ErrNotFound)
		}
		for _, n := range ns {
			ids = append(ids, n.ID)
			if !slices.ContainsFunc(bs, func(b breach.Breach) bool { return b.ID == n.ID.Breach }) {
				b, err := s.st.GetBreach(ctx, n.ID.Breach)
				if err != nil {
					return nil, err
				}
				// An organisation's record names no other organisation.
				bs = append(bs, b.For(org))
			}
		}
	default:
		return nil, invalid("breach_id", "name a breach_id or an org_id")
	}
	if len(ids) > maxExportNotices {
		return nil, invalid("breach_id",
			fmt.Sprintf("%d notices exceed one export (at most %d); export per organisation", len(ids), maxExportNotices))
	}
	// One pass over the ledger for the whole scope.
	hs, err := s.st.Histories(ctx, breach.BreachID(req.GetBreachId()), breach.OrgID(req.GetOrgId()))
	if err != nil {
		return nil, err
	}
	var recs []evidence.NoticeRecord
	for _, id := range ids {
		h := hs[id]
		if len(h) == 0 {
			continue // member whose notice is not created yet (fan-out in progress)
		}
		changes := make([]breach.Change, len(h))
		for i, e := range h {
			changes[i] = e.Change
		}
		rec, err := evidence.NewNoticeRecord(changes)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	now := s.now()
	e := evidence.Build(scope, now, bs, recs)
	r, err := evidence.Render(e)
	if err != nil {
		return nil, err
	}
	signed, err := evidence.Sign(e, r, s.keys.Active())
	if err != nil {
		return nil, err
	}
	return &cascadev1.ExportEvidenceResponse{Json: r.JSON, Csv: r.CSV, JsonSha256: r.JSONSHA256, CsvSha256: r.CSVSHA256,
		GeneratedAt: timestamppb.New(now), Manifest: signed.Manifest, ManifestSignature: signed.Signature, KeyId: signed.KeyID}, nil
}

func (s noticeService) DraftAuthorityReport(ctx context.Context, req *cascadev1.DraftAuthorityReportRequest) (*cascadev1.DraftAuthorityReportResponse, error) {
	id, err := parseNoticeID(req.GetNoticeId())
	if err != nil {
		return nil, err
	}
	lang, err := draft.ParseLang(req.GetLanguage())
	if err != nil {
		return nil, invalid("language", err.Error())
	}
	k, err := protoconv.ObligationKind(req.GetObligation())
	if err != nil {
		return nil, err
	}
	if k != breach.ObligationGDPR && k != breach.ObligationNIS2EarlyWarning {
		return nil, invalid("obligation", fmt.Sprintf("a draft is made for the GDPR report or the NIS2 early warning, not the %s", k.Title()))
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
	if k == breach.ObligationNIS2EarlyWarning {
		if v.Notice.Obligation(k) == nil {
			return nil, fmt.Errorf("%w: notice %s carries no NIS2 early warning: its organisation is not under NIS2 (registry column regimes)",
				breach.ErrIllegalTransition, id)
		}
		w := draft.BuildEarlyWarning(b, v.Notice, org, lang, s.now())
		j, err := w.JSON()
		if err != nil {
			return nil, err
		}
		return &cascadev1.DraftAuthorityReportResponse{Markdown: w.Markdown(), Json: string(j), Language: string(w.Language)}, nil
	}
	d := draft.Build(b, v.Notice, org, lang, s.now())
	j, err := d.JSON()
	if err != nil {
		return nil, err
	}
	return &cascadev1.DraftAuthorityReportResponse{Markdown: d.Markdown(), Json: string(j), Language: string(d.Language)}, nil
}
