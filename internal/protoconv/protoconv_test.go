package protoconv

import (
	"errors"
	"strings"
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

// TestIntakeRefusesAmbiguousOrHostileInput: what the NATS intake and
// ReportBreach decode and validate the same way (DecodeReport, Report,
// Validate), row by row: each input fails with the named field and reason.
func TestIntakeRefusesAmbiguousOrHostileInput(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const base = `"id":"B1","processor":"P","title":"T","nature":"N","discovered_at":"2025-08-23T14:00:00Z","contact":{"email":"a@b.se"}`
	tests := []struct {
		name, json    string
		field, reason string
	}{
		{"all_customers with affected", `{` + base + `,"all_customers":true,"affected":[{"org_id":"a"}]}`, "all_customers", "ambiguous"},
		{"ESC in title", `{"id":"B1","processor":"P","title":"\u001b[2Jowned","nature":"N","discovered_at":"2025-08-23T14:00:00Z","contact":{"email":"a@b.se"},"all_customers":true}`, "title", "control_character"},
		{"CSI U+009B in nature", `{"id":"B1","processor":"P","title":"T","nature":"a\u009b31m","discovered_at":"2025-08-23T14:00:00Z","contact":{"email":"a@b.se"},"all_customers":true}`, "nature", "control_character"},
		{"RLO in processor", `{"id":"B1","processor":"evil\u202eAB","title":"T","nature":"N","discovered_at":"2025-08-23T14:00:00Z","contact":{"email":"a@b.se"},"all_customers":true}`, "processor", "control_character"},
		{"newline in title", `{"id":"B1","processor":"P","title":"a\nb","nature":"N","discovered_at":"2025-08-23T14:00:00Z","contact":{"email":"a@b.se"},"all_customers":true}`, "title", "control_character"},
		{"OSC in category", `{` + base + `,"all_customers":true,"data_categories":["\u001b]0;x\u0007"]}`, "data_categories[0]", "control_character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := DecodeReport([]byte(tc.json), "application/json")
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			r := Report(w)
			var inv *breach.InvalidError
			if err := r.Validate(now); !errors.As(err, &inv) {
				t.Fatalf("Validate = %v, want *InvalidError", err)
			}
			if len(inv.Violations) != 1 || inv.Violations[0].Field != tc.field || inv.Violations[0].Reason != tc.reason {
				t.Fatalf("violations = %+v, want one %s/%s", inv.Violations, tc.field, tc.reason)
			}
			// The same report as binary protobuf (the gRPC and NATS protobuf path).
			bin, err := proto.Marshal(w)
			if err != nil {
				t.Fatal(err)
			}
			w2, err := DecodeReport(bin, ContentTypeProtobuf)
			if err != nil {
				t.Fatal(err)
			}
			r2 := Report(w2)
			if err := r2.Validate(now); !errors.As(err, &inv) || inv.Violations[0].Field != tc.field {
				t.Fatalf("protobuf: Validate = %v", err)
			}
		})
	}
}

// TestInvalidTimestamps: a wire timestamp that is not valid is refused by
// validation with a "range" violation on its field, never normalised to
// some other time (nor left to fail when the breach is stored as JSON).
func TestInvalidTimestamps(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	valid := func() *cascadev1.BreachReport {
		return &cascadev1.BreachReport{Id: "B1", Processor: "P", Title: "T", Nature: "N",
			DiscoveredAt: timestamppb.New(now.Add(-time.Hour)), AllCustomers: true, Contact: &cascadev1.Contact{Phone: "1"}}
	}
	tests := []struct {
		name  string
		set   func(r *cascadev1.BreachReport)
		field string
	}{
		{"seconds after year 9999", func(r *cascadev1.BreachReport) { r.DiscoveredAt = &timestamppb.Timestamp{Seconds: 253402300800} }, "discovered_at"},
		{"seconds before year 1", func(r *cascadev1.BreachReport) { r.DiscoveredAt = &timestamppb.Timestamp{Seconds: -62135596801} }, "discovered_at"},
		{"huge seconds", func(r *cascadev1.BreachReport) { r.OccurredFrom = &timestamppb.Timestamp{Seconds: 1 << 62} }, "occurred_from"},
		{"negative nanos", func(r *cascadev1.BreachReport) { r.OccurredTo = &timestamppb.Timestamp{Seconds: 1, Nanos: -1} }, "occurred_to"},
		{"nanos of a second or more", func(r *cascadev1.BreachReport) { r.DiscoveredAt = &timestamppb.Timestamp{Seconds: 1, Nanos: 1e9} }, "discovered_at"},
	}
	if r := Report(valid()); r.Validate(now) != nil {
		t.Fatalf("base report invalid: %v", r.Validate(now))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := valid()
			tc.set(w)
			bin, err := proto.Marshal(w)
			if err != nil {
				t.Fatal(err)
			}
			w, err = DecodeReport(bin, ContentTypeProtobuf)
			if err != nil {
				t.Fatal(err)
			}
			r := Report(w)
			var inv *breach.InvalidError
			if err := r.Validate(now); !errors.As(err, &inv) || len(inv.Violations) != 1 ||
				inv.Violations[0].Field != tc.field || inv.Violations[0].Reason != "range" {
				t.Fatalf("Validate = %v, want one %s/range", err, tc.field)
			}
		})
	}
	u := Update(&cascadev1.BreachUpdate{BreachId: "B1", Summary: "s", OccurredFrom: &timestamppb.Timestamp{Nanos: -5}})
	if err := u.Validate(); err == nil || !strings.Contains(err.Error(), "occurred_from") {
		t.Errorf("update with invalid occurred_from: %v", err)
	}
	if got := Time(&timestamppb.Timestamp{Seconds: 1, Nanos: 2}); !got.Equal(time.Unix(1, 2)) {
		t.Errorf("Time(valid) = %v", got)
	}
	if !Time(nil).IsZero() {
		t.Error("Time(nil) is not zero")
	}
}

// TestDecodeReportInvalidUTF8: a binary report with a string that is not
// UTF-8 is malformed (the NATS intake rejects it as "malformed").
func TestDecodeReportInvalidUTF8(t *testing.T) {
	// Field 3 (title), length 2, bytes 0xff 0xfe.
	if _, err := DecodeReport([]byte{0x1a, 0x02, 0xff, 0xfe}, ContentTypeProtobuf); err == nil ||
		!strings.Contains(err.Error(), "malformed breach report") || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("DecodeReport(invalid UTF-8) = %v", err)
	}
}
