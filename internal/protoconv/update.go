package protoconv

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/cascadehq/cascade/internal/breach"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// DecodeUpdate parses a published update (protojson, or binary protobuf
// when contentType is ContentTypeProtobuf).
func DecodeUpdate(data []byte, contentType string) (*cascadev1.BreachUpdate, error) {
	var u cascadev1.BreachUpdate
	var err error
	if contentType == ContentTypeProtobuf {
		err = proto.Unmarshal(data, &u)
	} else {
		err = protojson.Unmarshal(data, &u)
	}
	if err != nil {
		return nil, fmt.Errorf("malformed breach update: %w", err)
	}
	return &u, nil
}

func affected(as []*cascadev1.AffectedOrganisation) []breach.Affected {
	var out []breach.Affected
	for _, a := range as {
		out = append(out, affectedOf(a))
	}
	return out
}

func affectedProto(as []breach.Affected) []*cascadev1.AffectedOrganisation {
	var out []*cascadev1.AffectedOrganisation
	for _, a := range as {
		out = append(out, affectedOrgProto(a))
	}
	return out
}

func affectedOf(a *cascadev1.AffectedOrganisation) breach.Affected {
	return breach.Affected{Org: breach.OrgID(a.GetOrgId()), ApproxSubjects: a.GetApproxSubjects(), ApproxRecords: a.GetApproxRecords(),
		Status: AffectedStatus(a.GetStatus())}
}

func affectedOrgProto(a breach.Affected) *cascadev1.AffectedOrganisation {
	out := &cascadev1.AffectedOrganisation{OrgId: string(a.Org), ApproxSubjects: a.ApproxSubjects, ApproxRecords: a.ApproxRecords}
	if a.Status != "" {
		out.Status = AffectedStatusProto(a.Status)
	}
	return out
}

// AffectedStatus converts a wire status: UNSPECIFIED is "" (read as
// CONFIRMED); a value outside the enum keeps its number, which validation
// refuses.
func AffectedStatus(s cascadev1.AffectedStatus) breach.AffectedStatus {
	switch s {
	case cascadev1.AffectedStatus_AFFECTED_STATUS_UNSPECIFIED:
		return ""
	case cascadev1.AffectedStatus_AFFECTED_STATUS_CONFIRMED:
		return breach.StatusConfirmed
	case cascadev1.AffectedStatus_AFFECTED_STATUS_UNDER_INVESTIGATION:
		return breach.StatusUnderInvestigation
	case cascadev1.AffectedStatus_AFFECTED_STATUS_NOT_AFFECTED:
		return breach.StatusNotAffected
	}
	return breach.AffectedStatus(fmt.Sprint(int32(s)))
}

// AffectedStatusProto converts a status ("" is CONFIRMED).
func AffectedStatusProto(s breach.AffectedStatus) cascadev1.AffectedStatus {
	switch s.Or() {
	case breach.StatusUnderInvestigation:
		return cascadev1.AffectedStatus_AFFECTED_STATUS_UNDER_INVESTIGATION
	case breach.StatusNotAffected:
		return cascadev1.AffectedStatus_AFFECTED_STATUS_NOT_AFFECTED
	case breach.StatusConfirmed:
		return cascadev1.AffectedStatus_AFFECTED_STATUS_CONFIRMED
	}
	return cascadev1.AffectedStatus_AFFECTED_STATUS_UNSPECIFIED
}

// Update converts a wire update.
func Update(u *cascadev1.BreachUpdate) breach.Update {
	out := breach.Update{
		Breach: breach.BreachID(u.GetBreachId()), Summary: u.GetSummary(), Nature: u.GetNature(),
		OccurredFrom: ts(u.GetOccurredFrom()), OccurredTo: ts(u.GetOccurredTo()),
		DataCategories: u.GetDataCategories(), SubjectCategories: u.GetSubjectCategories(),
		AddAffected: affected(u.GetAddAffected()), LikelyConsequences: u.GetLikelyConsequences(),
		MeasuresTaken: u.GetMeasuresTaken(), MeasuresProposed: u.GetMeasuresProposed(), AdviceToControllers: u.GetAdviceToControllers(),
		CorrectAffected: affected(u.GetCorrectAffected()),
	}
	if c := u.GetContact(); c != nil {
		out.Contact = &breach.Contact{Name: c.GetName(), Email: c.GetEmail(), Phone: c.GetPhone()}
	}
	out.NextUpdateBy = ts(u.GetNextUpdateBy())
	out.SubjectNotice = SubjectNotice(u.GetSubjectNotice())
	out.Upstream = Upstream(u.GetUpstream())
	for _, w := range u.GetWithdraw() {
		out.Withdraw = append(out.Withdraw, breach.WithdrawOrganisation{Org: breach.OrgID(w.GetOrgId()), Statement: w.GetStatement()})
	}
	return out
}

// UpdateProto converts an update to the wire type.
func UpdateProto(u *breach.Update) *cascadev1.BreachUpdate {
	out := &cascadev1.BreachUpdate{
		BreachId: string(u.Breach), Summary: u.Summary, Nature: u.Nature,
		OccurredFrom: pts(u.OccurredFrom), OccurredTo: pts(u.OccurredTo),
		DataCategories: u.DataCategories, SubjectCategories: u.SubjectCategories,
		AddAffected: affectedProto(u.AddAffected), LikelyConsequences: u.LikelyConsequences,
		MeasuresTaken: u.MeasuresTaken, MeasuresProposed: u.MeasuresProposed, AdviceToControllers: u.AdviceToControllers,
		CorrectAffected: affectedProto(u.CorrectAffected),
	}
	if c := u.Contact; c != nil {
		out.Contact = &cascadev1.Contact{Name: c.Name, Email: c.Email, Phone: c.Phone}
	}
	out.NextUpdateBy = pts(u.NextUpdateBy)
	out.SubjectNotice = SubjectNoticeProto(u.SubjectNotice)
	out.Upstream = UpstreamProto(u.Upstream)
	for _, w := range u.Withdraw {
		out.Withdraw = append(out.Withdraw, &cascadev1.WithdrawOrganisation{OrgId: string(w.Org), Statement: w.Statement})
	}
	return out
}

func revisionsProto(rs []breach.Revision) []*cascadev1.BreachRevision {
	var out []*cascadev1.BreachRevision
	for _, r := range rs {
		p := &cascadev1.BreachRevision{Number: int32(r.Number), ReceivedAt: pts(r.At), Update: UpdateProto(&r.Update),
			Added: int64(r.Added), FanoutComplete: r.FanoutComplete, PromiseOutcome: promiseOutcomeProto(r.PromiseOutcome),
			Corrected: int64(r.Corrected), Withdrawn: int64(r.Withdrawn), Renotified: int64(r.Renotified)}
		for _, o := range r.UnknownOrgs {
			p.UnknownOrgIds = append(p.UnknownOrgIds, string(o))
		}
		out = append(out, p)
	}
	return out
}

func outcomeProto(o *breach.Outcome) *cascadev1.Outcome {
	if o == nil {
		return nil
	}
	kind := cascadev1.OutcomeKind_OUTCOME_KIND_UNSPECIFIED
	switch o.Kind {
	case breach.OutcomeReported:
		kind = cascadev1.OutcomeKind_OUTCOME_KIND_REPORTED_TO_AUTHORITY
	case breach.OutcomeNotReportable:
		kind = cascadev1.OutcomeKind_OUTCOME_KIND_NOT_REPORTABLE
	}
	return &cascadev1.Outcome{Kind: kind, Authority: o.Authority, Reference: o.Reference, ReportedAt: pts(o.ReportedAt),
		DelayReason: o.DelayReason, Late: o.Late, Justification: o.Justification, RecordedAt: pts(o.RecordedAt), RecordedBy: o.RecordedBy}
}

var (
	commKinds = map[breach.CommKind]cascadev1.SubjectCommunicationKind{
		breach.CommCommunicated: cascadev1.SubjectCommunicationKind_SUBJECT_COMMUNICATION_KIND_COMMUNICATED,
		breach.CommNotRequired:  cascadev1.SubjectCommunicationKind_SUBJECT_COMMUNICATION_KIND_NOT_REQUIRED,
		breach.CommExempt:       cascadev1.SubjectCommunicationKind_SUBJECT_COMMUNICATION_KIND_EXEMPT,
	}
	exemptions = map[breach.Exemption]cascadev1.Art34Exemption{
		breach.ExemptUnintelligible: cascadev1.Art34Exemption_ART34_EXEMPTION_A_UNINTELLIGIBLE,
		breach.ExemptRiskRemoved:    cascadev1.Art34Exemption_ART34_EXEMPTION_B_RISK_REMOVED,
		breach.ExemptDisproportion:  cascadev1.Art34Exemption_ART34_EXEMPTION_C_DISPROPORTIONATE,
	}
)

func commProto(c *breach.SubjectCommunication) *cascadev1.SubjectCommunication {
	if c == nil {
		return nil
	}
	return &cascadev1.SubjectCommunication{Kind: commKinds[c.Kind], CommunicatedAt: pts(c.CommunicatedAt), How: c.How,
		Exemption: exemptions[c.Exemption], PublicCommunication: c.PublicCommunication, Justification: c.Justification,
		RecordedAt: pts(c.RecordedAt), RecordedBy: c.RecordedBy}
}

// SubjectCommunication converts a wire Art. 34 decision (unknown enum
// values become empty kinds, which validation rejects).
func SubjectCommunication(c *cascadev1.SubjectCommunication) breach.SubjectCommunication {
	out := breach.SubjectCommunication{CommunicatedAt: ts(c.GetCommunicatedAt()), How: c.GetHow(),
		PublicCommunication: c.GetPublicCommunication(), Justification: c.GetJustification()}
	for k, v := range commKinds {
		if v == c.GetKind() {
			out.Kind = k
		}
	}
	for k, v := range exemptions {
		if v == c.GetExemption() {
			out.Exemption = k
		}
	}
	return out
}

func remindersProto(rs []breach.Reminder) []*cascadev1.Reminder {
	var out []*cascadev1.Reminder
	for _, r := range rs {
		out = append(out, &cascadev1.Reminder{Remaining: durationpb.New(r.Remaining), DueAt: pts(r.DueAt), SentAt: pts(r.SentAt), Late: r.Late})
	}
	return out
}

// EventProto converts one history entry at ledger sequence seq.
func EventProto(c *breach.Change, seq uint64) *cascadev1.NoticeEvent {
	return &cascadev1.NoticeEvent{Event: string(c.Event), Kind: EventKindProto(c.Event), At: pts(c.At), Actor: c.Actor,
		State: StateProto(c.Notice.State), Detail: c.Detail, Sequence: seq, Principal: PrincipalProto(c.Principal)}
}

// eventKinds maps every history event to its NoticeEventKind.
var eventKinds = map[breach.Event]cascadev1.NoticeEventKind{
	breach.EventCreated:              cascadev1.NoticeEventKind_NOTICE_EVENT_KIND_CREATED,
	breach.EventDelivered:            cascadev1.NoticeEventKind_NOTICE_EVENT_KIND_DELIVERED,
	breach.EventRedelivered:          cascadev1.NoticeEventKind_NOTICE_EVENT_KIND_REDELIVERED,
	breach.EventRevisionDelivered:    cascadev1.NoticeEventKind_NOTICE_EVENT_KIND_REVISION_DELIVERED,
	breach.EventReminded:             cascadev1.NoticeEventKind_NOTICE_EVENT_KIND_REMINDED,
	breach.EventOverdue:              cascadev1.NoticeEventKind_NOTICE_EVENT_KIND_OVERDUE,
	breach.EventAcknowledged:         cascadev1.NoticeEventKind_NOTICE_EVENT_KIND_ACKNOWLEDGED,
	breach.EventRevisionAcknowledged: cascadev1.NoticeEventKind_NOTICE_EVENT_KIND_REVISION_ACKNOWLEDGED,
	breach.EventOutcomeRecorded:      cascadev1.NoticeEventKind_NOTICE_EVENT_KIND_OUTCOME_RECORDED,
	breach.EventSubjectCommRecorded:  cascadev1.NoticeEventKind_NOTICE_EVENT_KIND_SUBJECT_COMMUNICATION_RECORDED,
	breach.EventCountsCorrected:      cascadev1.NoticeEventKind_NOTICE_EVENT_KIND_COUNTS_CORRECTED,
	breach.EventWithdrawn:            cascadev1.NoticeEventKind_NOTICE_EVENT_KIND_WITHDRAWN,
	breach.EventRenotified:           cascadev1.NoticeEventKind_NOTICE_EVENT_KIND_RENOTIFIED,
	breach.EventQuestionAsked:        cascadev1.NoticeEventKind_NOTICE_EVENT_KIND_QUESTION_ASKED,
	breach.EventQuestionAnswered:     cascadev1.NoticeEventKind_NOTICE_EVENT_KIND_QUESTION_ANSWERED,
	breach.EventAnswerShared:         cascadev1.NoticeEventKind_NOTICE_EVENT_KIND_ANSWER_SHARED,
	breach.EventChannelDelivered:     cascadev1.NoticeEventKind_NOTICE_EVENT_KIND_CHANNEL_DELIVERED,
	breach.EventChannelFailed:        cascadev1.NoticeEventKind_NOTICE_EVENT_KIND_CHANNEL_FAILED,
	breach.EventChannelDeadLettered:  cascadev1.NoticeEventKind_NOTICE_EVENT_KIND_CHANNEL_DEAD_LETTERED,
	breach.EventEscalated:            cascadev1.NoticeEventKind_NOTICE_EVENT_KIND_ESCALATED,
}

// EventKindProto is the NoticeEventKind of a history event;
// NOTICE_EVENT_KIND_UNSPECIFIED for one it does not know (the string
// NoticeEvent.event still says what it is).
func EventKindProto(e breach.Event) cascadev1.NoticeEventKind {
	return eventKinds[e]
}

// PrincipalProto is a recorded principal; nil for none.
func PrincipalProto(p *breach.Principal) *cascadev1.Principal {
	if p == nil {
		return nil
	}
	return &cascadev1.Principal{Kind: string(p.Kind), Id: p.ID, Label: p.Label, Role: p.Role, OrgId: string(p.Org),
		Subject: p.Subject, Display: p.String(), ProcessorId: string(p.Processor)}
}
