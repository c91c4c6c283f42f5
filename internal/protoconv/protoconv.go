// Package protoconv converts between the cascade.v1 wire types and the
// breach vocabulary. It is used at the edges only (gRPC API and NATS
// intake); the core never sees generated types.
package protoconv

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cascadehq/cascade/internal/breach"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// ContentTypeProtobuf selects binary protobuf on cascade.breach.report.
const ContentTypeProtobuf = "application/protobuf"

// DecodeReport parses a published report: protojson (snake_case or
// lowerCamel names; unknown fields are an error), or binary protobuf when
// contentType is ContentTypeProtobuf.
func DecodeReport(data []byte, contentType string) (*cascadev1.BreachReport, error) {
	var r cascadev1.BreachReport
	var err error
	if contentType == ContentTypeProtobuf {
		err = proto.Unmarshal(data, &r)
	} else {
		err = protojson.Unmarshal(data, &r)
	}
	if err != nil {
		return nil, fmt.Errorf("malformed breach report: %w", err)
	}
	return &r, nil
}

// invalidTime stands for a wire timestamp that is not valid: a time after
// year 9999, which validation refuses ("range") instead of a normalised
// time nobody sent.
var invalidTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)

// Time converts a wire timestamp: nil is the zero time, and one that is not
// valid (seconds outside years 0001-9999, nanos outside 0-999,999,999)
// becomes a time validation rejects as out of range.
func Time(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	if t.CheckValid() != nil {
		return invalidTime
	}
	return t.AsTime()
}

func ts(t *timestamppb.Timestamp) time.Time { return Time(t) }

func pts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// Report converts a wire report to the vocabulary.
func Report(r *cascadev1.BreachReport) breach.Report {
	out := breach.Report{
		ID:                  breach.BreachID(r.GetId()),
		Processor:           r.GetProcessor(),
		Title:               r.GetTitle(),
		Nature:              r.GetNature(),
		DiscoveredAt:        ts(r.GetDiscoveredAt()),
		OccurredFrom:        ts(r.GetOccurredFrom()),
		OccurredTo:          ts(r.GetOccurredTo()),
		DataCategories:      r.GetDataCategories(),
		SubjectCategories:   r.GetSubjectCategories(),
		AllCustomers:        r.GetAllCustomers(),
		LikelyConsequences:  r.GetLikelyConsequences(),
		MeasuresTaken:       r.GetMeasuresTaken(),
		MeasuresProposed:    r.GetMeasuresProposed(),
		AdviceToControllers: r.GetAdviceToControllers(),
		Contact: breach.Contact{
			Name:  r.GetContact().GetName(),
			Email: r.GetContact().GetEmail(),
			Phone: r.GetContact().GetPhone(),
		},
		SubjectNotice: SubjectNotice(r.GetSubjectNotice()),
		Upstream:      Upstream(r.GetUpstream()),
	}
	out.NextUpdateBy = ts(r.GetNextUpdateBy())
	for _, a := range r.GetAffected() {
		out.Affected = append(out.Affected, affectedOf(a))
	}
	return out
}

// ReportProto converts a report to the wire type.
func ReportProto(r *breach.Report) *cascadev1.BreachReport {
	out := &cascadev1.BreachReport{
		Id:                  string(r.ID),
		Processor:           r.Processor,
		Title:               r.Title,
		Nature:              r.Nature,
		DiscoveredAt:        pts(r.DiscoveredAt),
		OccurredFrom:        pts(r.OccurredFrom),
		OccurredTo:          pts(r.OccurredTo),
		DataCategories:      r.DataCategories,
		SubjectCategories:   r.SubjectCategories,
		AllCustomers:        r.AllCustomers,
		LikelyConsequences:  r.LikelyConsequences,
		MeasuresTaken:       r.MeasuresTaken,
		MeasuresProposed:    r.MeasuresProposed,
		AdviceToControllers: r.AdviceToControllers,
		Contact:             &cascadev1.Contact{Name: r.Contact.Name, Email: r.Contact.Email, Phone: r.Contact.Phone},
		SubjectNotice:       SubjectNoticeProto(r.SubjectNotice),
		Upstream:            UpstreamProto(r.Upstream),
	}
	out.NextUpdateBy = pts(r.NextUpdateBy)
	for _, a := range r.Affected {
		out.Affected = append(out.Affected, affectedOrgProto(a))
	}
	return out
}

// BreachProto converts a breach to the wire type.
func BreachProto(b *breach.Breach) *cascadev1.Breach {
	out := &cascadev1.Breach{
		Id:             string(b.ID),
		ProcessorId:    string(b.ID.Processor()),
		Revision:       int32(b.Latest()),
		Report:         ReportProto(&b.Report),
		ReceivedAt:     pts(b.ReceivedAt),
		NoticeCount:    int64(b.NoticeCount),
		FanoutComplete: b.FanoutComplete,
		Revisions:      revisionsProto(b.Revisions),
		LatestRevision: int32(b.Latest()),
		NextUpdate:     PromiseProto(&b.Promise, time.Time{}),
	}
	for _, o := range b.UnknownOrgs {
		out.UnknownOrgIds = append(out.UnknownOrgIds, string(o))
	}
	advisoryProto(b, out)
	return out
}

// StateProto converts a state.
func StateProto(s breach.State) cascadev1.NoticeState {
	return cascadev1.NoticeState(s) // the enums share their numbering
}

// State converts a wire state.
func State(s cascadev1.NoticeState) breach.State { return breach.State(s) }

// NoticeProto converts a notice; overdue is evaluated at now.
func NoticeProto(n *breach.Notice, now time.Time) *cascadev1.Notice {
	out := &cascadev1.Notice{
		Id:                   n.ID.String(),
		BreachId:             string(n.ID.Breach),
		ProcessorId:          string(n.ID.Breach.Processor()),
		OrgId:                string(n.ID.Org),
		OrgName:              n.OrgName,
		State:                StateProto(n.State),
		CreatedAt:            pts(n.CreatedAt),
		DeliveredAt:          pts(n.DeliveredAt),
		Deadline:             pts(n.Deadline),
		AcknowledgedAt:       pts(n.AcknowledgedAt),
		AcknowledgedBy:       n.AcknowledgedBy,
		AcknowledgementNote:  n.AckNote,
		Overdue:              n.Overdue(now),
		ApproxSubjects:       n.ApproxSubjects,
		ApproxRecords:        n.ApproxRecords,
		DeliveryCount:        int32(n.DeliveryCount),
		RevisionDelivered:    int32(n.Revision),
		RevisionAcknowledged: int32(n.RevisionAcked),
		Reminders:            remindersProto(n.Reminders),
		OverdueNotifiedAt:    pts(n.OverdueAt),
		ResolvedAt:           pts(n.ResolvedAt),
		Outcome:              outcomeProto(n.Outcome),
		SubjectCommunication: commProto(n.SubjectComm),
		Channels:             ChannelDeliveriesProto(n.Channels),
		EscalatedTo:          EscalationsProto(n.EscalatedTo),
		Questions:            int32(n.Questions),
		OpenQuestions:        int32(len(n.OpenQuestions)),
		WithdrawnAt:          pts(n.WithdrawnAt),
		WithdrawalStatement:  n.WithdrawalStatement,
		AffectedStatus:       AffectedStatusProto(n.Status()),
		Obligations:          ObligationsProto(n, now),
	}
	if d := n.ProcessorDelay(); d != 0 {
		out.ProcessorDelay = durationpb.New(d)
	}
	return out
}

// SummaryProto converts a summary of a breach whose latest revision is
// latest; overdue and next deadline are evaluated at now.
func SummaryProto(s *breach.Summary, latest int, now time.Time) *cascadev1.BreachSummary {
	return &cascadev1.BreachSummary{
		LatestRevision:     int32(latest),
		AcknowledgedLatest: s.AcknowledgedRevision(latest),
		BreachId:           string(s.Breach),
		Total:              s.Total,
		Delivered:          s.Delivered,
		Acknowledged:       s.Acknowledged,
		Resolved:           s.Resolved,
		Overdue:            s.Overdue(now),
		NextDeadline:       pts(s.NextDeadline(now)),
		Withdrawn:          s.Withdrawn,
		Obligations:        ObligationSummariesProto(s, now),
	}
}

// BreachSummaryProto converts the summary s of breach b: like
// SummaryProto, except that acknowledged_latest counts the notices that
// acknowledged the latest revision delivered to every affected
// organisation, or a later one (a revision that only corrects or withdraws
// goes to the organisations it names only).
func BreachSummaryProto(s *breach.Summary, b *breach.Breach, now time.Time) *cascadev1.BreachSummary {
	out := SummaryProto(s, b.Latest(), now)
	out.AcknowledgedLatest = s.AcknowledgedSince(b.LatestShared())
	return out
}
