package daemon_test

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/timestamppb"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// rawCodec sends and receives raw bytes as the "proto" content subtype, so
// a test can put on the wire what no generated client would send.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

// field is one length-delimited protobuf field.
func field(num protowire.Number, v []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), v)
}

// violationOf returns the one field violation of an InvalidArgument error.
func violationOf(t *testing.T, err error) *errdetails.BadRequest_FieldViolation {
	t.Helper()
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("error = %v; want InvalidArgument", err)
	}
	var vs []*errdetails.BadRequest_FieldViolation
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			vs = append(vs, br.GetFieldViolations()...)
		}
	}
	if len(vs) != 1 {
		t.Fatalf("field violations = %v; want one (%v)", vs, err)
	}
	return vs[0]
}

// TestUndecodableRequestsAreInvalidArgument sends, over a real gRPC
// connection, requests that are not valid protobuf for their method:
// grpc-go would answer Internal ("grpc: failed to unmarshal the received
// message"); Cascade answers InvalidArgument naming the field.
func TestUndecodableRequestsAreInvalidArgument(t *testing.T) {
	e := start(t, options(t))
	cc := grpcConn(t, e.d.GRPCAddr())
	bad := []byte{'o', 0xff, 'k'}
	title := field(3, bad) // BreachReport.title
	tests := []struct {
		name, method  string
		body          []byte
		field, reason string
	}{
		{"report title not UTF-8", "/cascade.v1.BreachService/ReportBreach", field(1, title), "report.title", "encoding"},
		{"report contact name not UTF-8", "/cascade.v1.BreachService/ReportBreach",
			field(1, slices.Concat(field(2, []byte("P")), field(16, field(1, bad)))), "report.contact.name", "encoding"},
		{"update add_affected[1].org_id not UTF-8", "/cascade.v1.BreachService/UpdateBreach",
			field(1, slices.Concat(field(1, []byte("B1")), field(8, field(1, []byte("a"))), field(8, field(1, bad)))), "update.add_affected[1].org_id", "encoding"},
		{"acknowledged_by not UTF-8", "/cascade.v1.NoticeService/AcknowledgeNotice",
			slices.Concat(field(1, []byte("B1/a")), field(2, bad)), "acknowledged_by", "encoding"},
		{"note not UTF-8", "/cascade.v1.NoticeService/AcknowledgeNotice",
			slices.Concat(field(1, []byte("B1/a")), field(2, []byte("dpo")), field(3, bad)), "note", "encoding"},
		{"justification not UTF-8", "/cascade.v1.NoticeService/RecordNotReportable",
			slices.Concat(field(1, []byte("B1/a")), field(2, bad)), "justification", "encoding"},
		{"truncated message", "/cascade.v1.BreachService/ReportBreach", []byte{0x0a, 0x09, 0x1a}, "request", "malformed"},
		{"invalid wire type", "/cascade.v1.BreachService/GetBreach", []byte{0x0f}, "request", "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out []byte
			err := cc.Invoke(ctx(t), tc.method, &tc.body, &out, grpc.ForceCodecV2(rawCodec{}))
			v := violationOf(t, err)
			if v.GetField() != tc.field || v.GetReason() != tc.reason {
				t.Fatalf("violation = %v; want %s/%s", v, tc.field, tc.reason)
			}
			if msg := status.Convert(err).Message(); strings.Contains(msg, "grpc:") || !strings.Contains(msg, tc.field) {
				t.Errorf("message %q: want one naming %s", msg, tc.field)
			}
		})
	}

	// A server stream: the request of WatchBreach.
	t.Run("watch breach_id not UTF-8", func(t *testing.T) {
		s, err := cc.NewStream(ctx(t), &grpc.StreamDesc{ServerStreams: true}, "/cascade.v1.BreachService/WatchBreach", grpc.ForceCodecV2(rawCodec{}))
		if err != nil {
			t.Fatal(err)
		}
		req := field(1, bad)
		if err := s.SendMsg(&req); err != nil {
			t.Fatal(err)
		}
		if err := s.CloseSend(); err != nil {
			t.Fatal(err)
		}
		var out []byte
		err = s.RecvMsg(&out)
		if err == io.EOF {
			t.Fatal("stream ended without a status")
		}
		if v := violationOf(t, err); v.GetField() != "breach_id" || v.GetReason() != "encoding" {
			t.Fatalf("violation = %v", v)
		}
	})

	// The server goes on serving, and decodes valid requests as before.
	if _, err := e.breachC.GetBreach(ctx(t), &cascadev1.GetBreachRequest{BreachId: "NOPE"}); status.Code(err) != codes.NotFound {
		t.Fatalf("GetBreach after bad requests = %v; want NotFound", err)
	}
}

// TestHostileInputOverGRPC: what the typed clients can send and validation
// refuses, each with one field violation naming the field.
func TestHostileInputOverGRPC(t *testing.T) {
	e := start(t, options(t))
	e.publish(report("HOST-1", "se-kommun-0180"))
	e.waitSummary("HOST-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 1 })
	notice := "HOST-1/se-kommun-0180"
	at := timestamppb.New(time.Date(2025, 8, 23, 14, 0, 0, 0, time.UTC))
	valid := func() *cascadev1.BreachReport {
		return &cascadev1.BreachReport{Id: "HOST-2", Processor: "P", Title: "T", Nature: "N", DiscoveredAt: at,
			Affected: []*cascadev1.AffectedOrganisation{{OrgId: "se-kommun-0180"}}, Contact: &cascadev1.Contact{Email: "a@example.org"}}
	}
	report := func(set func(r *cascadev1.BreachReport)) func() error {
		return func() error {
			r := valid()
			set(r)
			_, err := e.breachC.ReportBreach(ctx(t), &cascadev1.ReportBreachRequest{Report: r})
			return err
		}
	}
	tests := []struct {
		name          string
		call          func() error
		field, reason string
	}{
		{"all_customers with affected", report(func(r *cascadev1.BreachReport) { r.AllCustomers = true }), "all_customers", "ambiguous"},
		{"ANSI escape in title", report(func(r *cascadev1.BreachReport) { r.Title = "\x1b[2J\x1b[Howned" }), "title", "control_character"},
		{"8-bit CSI in nature", report(func(r *cascadev1.BreachReport) { r.Nature = "a\u009b31mb" }), "nature", "control_character"},
		{"bidi override in processor", report(func(r *cascadev1.BreachReport) { r.Processor = "evil\u202eBA" }), "processor", "control_character"},
		{"discovered_at after year 9999", report(func(r *cascadev1.BreachReport) { r.DiscoveredAt = &timestamppb.Timestamp{Seconds: 1 << 40} }), "discovered_at", "range"},
		{"occurred_to with negative nanos", report(func(r *cascadev1.BreachReport) { r.OccurredTo = &timestamppb.Timestamp{Seconds: 1, Nanos: -1} }), "occurred_to", "range"},
		{"update summary with OSC", func() error {
			_, err := e.breachC.UpdateBreach(ctx(t), &cascadev1.UpdateBreachRequest{Update: &cascadev1.BreachUpdate{BreachId: "HOST-1", Summary: "x\x1b]0;owned\x07"}})
			return err
		}, "summary", "control_character"},
		{"ack by with ESC", func() error {
			_, err := e.noticeC.AcknowledgeNotice(ctx(t), &cascadev1.AcknowledgeNoticeRequest{NoticeId: notice, AcknowledgedBy: "dpo\x1b[8m"})
			return err
		}, "acknowledged_by", "control_character"},
		{"ack note with carriage return", func() error {
			_, err := e.noticeC.AcknowledgeNotice(ctx(t), &cascadev1.AcknowledgeNoticeRequest{NoticeId: notice, AcknowledgedBy: "dpo", Note: "ok\rNOT OK"})
			return err
		}, "note", "control_character"},
		{"authority reference with RLI", func() error {
			_, err := e.noticeC.RecordAuthorityReport(ctx(t), &cascadev1.RecordAuthorityReportRequest{NoticeId: notice, Authority: "IMY",
				Reference: "DI-\u20671", ReportedAt: at, RecordedBy: "dpo"})
			return err
		}, "reference", "control_character"},
		{"reported_at not a valid timestamp", func() error {
			_, err := e.noticeC.RecordAuthorityReport(ctx(t), &cascadev1.RecordAuthorityReportRequest{NoticeId: notice, Authority: "IMY",
				Reference: "DI-1", ReportedAt: &timestamppb.Timestamp{Seconds: -1 << 40}, RecordedBy: "dpo"})
			return err
		}, "reported_at", "range"},
		{"justification with NUL", func() error {
			_, err := e.noticeC.RecordNotReportable(ctx(t), &cascadev1.RecordNotReportableRequest{NoticeId: notice, Justification: "a\x00b", RecordedBy: "dpo"})
			return err
		}, "justification", "control_character"},
		{"subject communication how with C1", func() error {
			_, err := e.noticeC.RecordSubjectCommunication(ctx(t), &cascadev1.RecordSubjectCommunicationRequest{NoticeId: notice, RecordedBy: "dpo",
				Communication: &cascadev1.SubjectCommunication{Kind: cascadev1.SubjectCommunicationKind_SUBJECT_COMMUNICATION_KIND_COMMUNICATED,
					CommunicatedAt: at, How: "letter\u0085"}})
			return err
		}, "how", "control_character"},
		{"token label with ESC", func() error {
			_, err := cascadev1.NewTokenServiceClient(grpcConn(t, e.d.GRPCAddr())).IssueToken(ctx(t),
				&cascadev1.IssueTokenRequest{Role: cascadev1.Role_ROLE_VIEWER, Label: "ops\x1b]0;owned\x07"})
			return err
		}, "label", "control_character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := violationOf(t, tc.call())
			if v.GetField() != tc.field || v.GetReason() != tc.reason {
				t.Fatalf("violation = %v; want %s/%s", v, tc.field, tc.reason)
			}
		})
	}
	// Nothing of it was recorded.
	n, err := e.noticeC.GetNotice(ctx(t), &cascadev1.GetNoticeRequest{NoticeId: notice})
	if err != nil {
		t.Fatal(err)
	}
	if n.GetNotice().GetState() != cascadev1.NoticeState_NOTICE_STATE_DELIVERED || n.GetNotice().GetSubjectCommunication() != nil {
		t.Fatalf("notice changed by refused requests: %v", n.GetNotice())
	}
}

// TestHostileReportOnNATS: the NATS intake refuses the same reports with a
// rejection naming the field.
func TestHostileReportOnNATS(t *testing.T) {
	e := start(t, options(t))
	both := strings.Replace(string(report("NH-1", "se-kommun-0180")), `"affected"`, `"all_customers":true,"affected"`, 1)
	esc := strings.Replace(string(report("NH-2", "se-kommun-0180")), `"Test breach"`, `"Test\u001b[31m breach"`, 1)
	bidi := strings.Replace(string(report("NH-3", "se-kommun-0180")), `"copied database"`, `"copied \u202edatabase"`, 1)
	for _, c := range []struct{ name, body, field, reason string }{
		{"all_customers with affected", both, "all_customers", "ambiguous"},
		{"ANSI escape in title", esc, "title", "control_character"},
		{"bidi override in nature", bidi, "nature", "control_character"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := waitRejection(t, e, e.publish([]byte(c.body)), "invalid", c.field)
			vs, _ := r["violations"].([]any)
			if len(vs) != 1 || vs[0].(map[string]any)["reason"] != c.reason {
				t.Fatalf("rejection = %v; want one %s violation", r, c.reason)
			}
		})
	}
}
