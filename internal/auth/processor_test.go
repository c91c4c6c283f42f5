package auth

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func TestConfine(t *testing.T) {
	alfa := Identity{Role: RoleVendor, Processor: "alfa", TokenID: "t"}
	get := &cascadev1.GetBreachRequest{BreachId: "INC-1"}
	if err := confine(alfa, cascadev1.BreachService_GetBreach_FullMethodName, get); err != nil || get.BreachId != "alfa__INC-1" {
		t.Fatalf("own id: %q, %v", get.BreachId, err)
	}
	n := &cascadev1.GetNoticeRequest{NoticeId: "INC-1/se-kommun-0180"}
	if err := confine(alfa, cascadev1.NoticeService_GetNotice_FullMethodName, n); err != nil || n.NoticeId != "alfa__INC-1/se-kommun-0180" {
		t.Fatalf("own notice: %q, %v", n.NoticeId, err)
	}
	q := &cascadev1.AnswerQuestionRequest{QuestionId: "alfa__INC-1/se-kommun-0180/3"}
	if err := confine(alfa, cascadev1.NoticeService_AnswerQuestion_FullMethodName, q); err != nil || q.QuestionId != "alfa__INC-1/se-kommun-0180/3" {
		t.Fatalf("own question: %q, %v", q.QuestionId, err)
	}
	for _, req := range []any{&cascadev1.GetBreachRequest{BreachId: "beta__INC-1"}, &cascadev1.GetNoticeRequest{NoticeId: "beta__INC-1/x"},
		&cascadev1.AnswerQuestionRequest{QuestionId: "beta__INC-1/x/1"}, &cascadev1.ListNoticesRequest{BreachId: "beta__INC-1"}} {
		if err := confine(alfa, "/m", req); status.Code(err) != codes.NotFound {
			t.Errorf("another's %v: %v, want NotFound", req, err)
		}
	}
	l := &cascadev1.ListNoticesRequest{OrgId: "x"}
	if err := confine(alfa, cascadev1.NoticeService_ListNotices_FullMethodName, l); err != nil || l.ProcessorId != "alfa" {
		t.Fatalf("list: processor_id %q, %v", l.ProcessorId, err)
	}
	if err := confine(alfa, "/m", &cascadev1.ListBreachesRequest{ProcessorId: "beta"}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("another's processor_id: %v", err)
	}
	for _, m := range []string{cascadev1.KeyService_RotateSigningKey_FullMethodName, cascadev1.DeliveryService_RotateWebhookSecret_FullMethodName} {
		if err := confine(alfa, m, &cascadev1.RotateSigningKeyRequest{}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s: %v", m, err)
		}
	}
	if err := confine(alfa, "/m", &cascadev1.ExportEvidenceRequest{OrgId: "x"}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("evidence without a breach: %v", err)
	}
	// The default processor's callers are not confined.
	def := &cascadev1.GetBreachRequest{BreachId: "beta__INC-1"}
	if err := confine(Identity{Role: RoleVendor}, "/m", def); err != nil || def.BreachId != "beta__INC-1" {
		t.Fatalf("default vendor: %q, %v", def.BreachId, err)
	}
}
