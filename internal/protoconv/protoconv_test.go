package protoconv

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cascadehq/cascade/internal/breach"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func TestDecodeReportAcceptsBothJSONNamingsAndProtobuf(t *testing.T) {
	snake := `{"id":"B1","processor":"P","discovered_at":"2025-08-23T14:00:00Z","all_customers":true,"affected":[{"org_id":"a","approx_subjects":"5"}]}`
	camel := `{"id":"B1","processor":"P","discoveredAt":"2025-08-23T14:00:00Z","allCustomers":true,"affected":[{"orgId":"a","approxSubjects":5}]}`
	var got []*cascadev1.BreachReport
	for _, s := range []string{snake, camel} {
		r, err := DecodeReport([]byte(s), "application/json")
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		got = append(got, r)
	}
	bin, err := proto.Marshal(got[0])
	if err != nil {
		t.Fatal(err)
	}
	r, err := DecodeReport(bin, ContentTypeProtobuf)
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, r)
	for _, r := range got[1:] {
		if !proto.Equal(r, got[0]) {
			t.Fatalf("decoded differently:\n%v\n%v", r, got[0])
		}
	}
	if got[0].GetAffected()[0].GetApproxSubjects() != 5 || !got[0].GetAllCustomers() {
		t.Fatalf("decoded = %v", got[0])
	}
}

func TestDecodeReportErrors(t *testing.T) {
	for _, in := range []string{``, `[]`, `{"title":5}`, `{"nope":1}`, `{"discovered_at":"yesterday"}`, `{"affected":[{"org_id":1}]}`} {
		if _, err := DecodeReport([]byte(in), ""); err == nil {
			t.Errorf("%q decoded without error", in)
		}
	}
}

func TestReportRoundTrip(t *testing.T) {
	at := time.Date(2025, 8, 23, 14, 0, 0, 0, time.UTC)
	in := &cascadev1.BreachReport{
		Id: "B1", Processor: "P", Title: "T", Nature: "N", DiscoveredAt: timestamppb.New(at),
		OccurredFrom: timestamppb.New(at.Add(-time.Hour)), OccurredTo: timestamppb.New(at.Add(-time.Minute)),
		DataCategories: []string{"salary"}, SubjectCategories: []string{"employees"},
		Affected:           []*cascadev1.AffectedOrganisation{{OrgId: "a", ApproxSubjects: 1, ApproxRecords: 2}},
		LikelyConsequences: "c", MeasuresTaken: "m", MeasuresProposed: "p", AdviceToControllers: "adv",
		Contact: &cascadev1.Contact{Name: "n", Email: "e@example.org", Phone: "1"},
	}
	r := Report(in)
	if !proto.Equal(ReportProto(&r), in) {
		t.Fatalf("round trip changed the report:\n%v\n%v", ReportProto(&r), in)
	}
}

func TestNoticeAndSummary(t *testing.T) {
	at := time.Date(2025, 8, 24, 9, 0, 0, 0, time.UTC)
	n := &breach.Notice{ID: breach.NewNoticeID("B1", "a"), State: breach.StateDelivered, DiscoveredAt: at.Add(-19 * time.Hour)}
	n.State = breach.StatePending
	n.Deliver(at, 72*time.Hour, 1)
	p := NoticeProto(n, at.Add(72*time.Hour))
	if p.GetId() != "B1/a" || p.GetState() != cascadev1.NoticeState_NOTICE_STATE_DELIVERED || !p.GetOverdue() ||
		p.GetProcessorDelay().AsDuration() != 19*time.Hour || p.GetDeliveryCount() != 1 {
		t.Fatalf("notice = %v", p)
	}
	if NoticeProto(n, at).GetOverdue() {
		t.Fatal("overdue at delivery")
	}
	var s breach.Summary
	s.Breach = "B1"
	s.Apply(nil, n)
	sp := SummaryProto(&s, 1, at)
	if sp.GetTotal() != 1 || sp.GetDelivered() != 1 || !sp.GetNextDeadline().AsTime().Equal(at.Add(72*time.Hour)) {
		t.Fatalf("summary = %v", sp)
	}
	for st := breach.StateUnspecified; st <= breach.StateResolved; st++ {
		if State(StateProto(st)) != st || StateProto(st).String() != "NOTICE_STATE_"+st.String() {
			t.Errorf("state %s maps to %s", st, StateProto(st))
		}
	}
}
