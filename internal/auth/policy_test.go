package auth

import (
	"context"
	"log/slog"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cascadehq/cascade/internal/breach"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// The organisations of the policy tests: the caller's own, another one,
// and a breach each has a notice in.
const (
	ownOrg      breach.OrgID    = "own-org"
	otherOrg    breach.OrgID    = "other-org"
	ownBreach   breach.BreachID = "B-OWN"
	otherBreach breach.BreachID = "B-OTHER"
)

// policyGuard is a guard whose store has two notices: ownOrg's in
// ownBreach and otherOrg's in otherBreach.
func policyGuard() *Guard {
	exists := func(_ context.Context, id breach.NoticeID) (bool, error) {
		return id == breach.NewNoticeID(ownBreach, ownOrg) || id == breach.NewNoticeID(otherBreach, otherOrg), nil
	}
	return NewGuard(nil, exists, false, slog.New(slog.DiscardHandler))
}

// requestFor is a request of method about org: its notice, its breach and
// its org_id, as the method's request has them.
func requestFor(method string, org breach.OrgID) any {
	b := ownBreach
	if org == otherOrg {
		b = otherBreach
	}
	n, br, o := breach.NewNoticeID(b, org).String(), string(b), string(org)
	switch method {
	case cascadev1.BreachService_ReportBreach_FullMethodName:
		return &cascadev1.ReportBreachRequest{}
	case cascadev1.BreachService_UpdateBreach_FullMethodName:
		return &cascadev1.UpdateBreachRequest{}
	case cascadev1.BreachService_ForwardNotice_FullMethodName:
		return &cascadev1.ForwardNoticeRequest{NoticeId: n}
	case cascadev1.BreachService_GetBreach_FullMethodName:
		return &cascadev1.GetBreachRequest{BreachId: br}
	case cascadev1.BreachService_ListBreaches_FullMethodName:
		return &cascadev1.ListBreachesRequest{}
	case cascadev1.BreachService_GetBreachSummary_FullMethodName:
		return &cascadev1.GetBreachSummaryRequest{BreachId: br}
	case cascadev1.BreachService_WatchBreach_FullMethodName:
		return &cascadev1.WatchBreachRequest{BreachId: br}
	case cascadev1.BreachService_PublishAdvisory_FullMethodName:
		return &cascadev1.PublishAdvisoryRequest{BreachId: br}
	case cascadev1.BreachService_UnpublishAdvisory_FullMethodName:
		return &cascadev1.UnpublishAdvisoryRequest{BreachId: br}
	case cascadev1.NoticeService_GetNotice_FullMethodName:
		return &cascadev1.GetNoticeRequest{NoticeId: n}
	case cascadev1.NoticeService_ListNotices_FullMethodName:
		return &cascadev1.ListNoticesRequest{OrgId: o}
	case cascadev1.NoticeService_AcknowledgeNotice_FullMethodName:
		return &cascadev1.AcknowledgeNoticeRequest{NoticeId: n}
	case cascadev1.NoticeService_RecordAuthorityReport_FullMethodName:
		return &cascadev1.RecordAuthorityReportRequest{NoticeId: n}
	case cascadev1.NoticeService_RecordNotReportable_FullMethodName:
		return &cascadev1.RecordNotReportableRequest{NoticeId: n}
	case cascadev1.NoticeService_RecordSubjectCommunication_FullMethodName:
		return &cascadev1.RecordSubjectCommunicationRequest{NoticeId: n}
	case cascadev1.NoticeService_GetNoticeHistory_FullMethodName:
		return &cascadev1.GetNoticeHistoryRequest{NoticeId: n}
	case cascadev1.NoticeService_ExportEvidence_FullMethodName:
		return &cascadev1.ExportEvidenceRequest{OrgId: o}
	case cascadev1.NoticeService_DraftAuthorityReport_FullMethodName:
		return &cascadev1.DraftAuthorityReportRequest{NoticeId: n}
	case cascadev1.NoticeService_DraftSubjectCommunication_FullMethodName:
		return &cascadev1.DraftSubjectCommunicationRequest{NoticeId: n}
	case cascadev1.NoticeService_AskQuestion_FullMethodName:
		return &cascadev1.AskQuestionRequest{NoticeId: n}
	case cascadev1.NoticeService_AnswerQuestion_FullMethodName:
		return &cascadev1.AnswerQuestionRequest{}
	case cascadev1.NoticeService_ListQuestions_FullMethodName:
		return &cascadev1.ListQuestionsRequest{OrgId: o}
	case cascadev1.NoticeService_WatchNotices_FullMethodName:
		return &cascadev1.WatchNoticesRequest{OrgId: o}
	case cascadev1.TokenService_IssueToken_FullMethodName:
		return &cascadev1.IssueTokenRequest{OrgId: o}
	case cascadev1.TokenService_RevokeToken_FullMethodName:
		return &cascadev1.RevokeTokenRequest{}
	case cascadev1.TokenService_ListTokens_FullMethodName:
		return &cascadev1.ListTokensRequest{}
	case cascadev1.TokenService_WhoAmI_FullMethodName:
		return &cascadev1.WhoAmIRequest{}
	case cascadev1.KeyService_ListSigningKeys_FullMethodName:
		return &cascadev1.ListSigningKeysRequest{}
	case cascadev1.KeyService_RotateSigningKey_FullMethodName:
		return &cascadev1.RotateSigningKeyRequest{}
	case cascadev1.DeliveryService_RotateWebhookSecret_FullMethodName:
		return &cascadev1.RotateWebhookSecretRequest{OrgId: o}
	case cascadev1.DeliveryService_ListDeadLetters_FullMethodName:
		return &cascadev1.ListDeadLettersRequest{BreachId: br, OrgId: o}
	}
	return nil
}

// The callers: the vendor, a viewer of everything, and the two scoped
// callers of ownOrg.
var (
	vendor       = Identity{Role: RoleVendor, TokenID: "t-vendor"}
	globalViewer = Identity{Role: RoleViewer, TokenID: "t-viewer"}
	orgViewer    = Identity{Role: RoleViewer, Org: ownOrg, TokenID: "t-org-viewer"}
	controller   = Identity{Role: RoleController, Org: ownOrg, TokenID: "t-controller"}
)

// outcome is what each caller gets for a request about its own
// organisation and about the other one.
type outcome struct{ own, other codes.Code }

const (
	ok       = codes.OK
	denied   = codes.PermissionDenied
	notFound = codes.NotFound
)

var (
	allowed   = outcome{ok, ok}
	forbidden = outcome{denied, denied}
)

// expected is the policy written out per rule, independently of
// authorize: vendor, global viewer, organisation viewer, controller.
var expected = map[access][4]outcome{
	vendorOnly:     {allowed, forbidden, forbidden, forbidden},
	anyone:         {allowed, allowed, allowed, allowed},
	listBreaches:   {allowed, allowed, allowed, allowed},
	readBreachWide: {allowed, allowed, forbidden, forbidden},
	readBreach:     {allowed, allowed, {ok, notFound}, {ok, notFound}},
	readNotice:     {allowed, allowed, {ok, notFound}, {ok, notFound}},
	actNotice:      {forbidden, forbidden, forbidden, {ok, notFound}},
	listNotices:    {allowed, allowed, {ok, denied}, {ok, denied}},
	exportEvidence: {allowed, allowed, {ok, denied}, {ok, denied}},
	watchNotices:   {allowed, allowed, {ok, denied}, {ok, denied}},
}

// TestPolicyMatrix: every method of the policy, for every role, about the
// caller's own organisation and another one.
func TestPolicyMatrix(t *testing.T) {
	g := policyGuard()
	callers := [4]Identity{vendor, globalViewer, orgViewer, controller}
	for method, rule := range Policy {
		want, ok := expected[rule]
		if !ok {
			t.Errorf("%s: rule %d has no expected outcomes", method, rule)
			continue
		}
		if requestFor(method, ownOrg) == nil {
			t.Errorf("%s: no request in requestFor; add one", method)
			continue
		}
		for i, id := range callers {
			for _, tc := range []struct {
				org  breach.OrgID
				want codes.Code
			}{{ownOrg, want[i].own}, {otherOrg, want[i].other}} {
				t.Run(method+"/"+id.String()+"/"+string(tc.org), func(t *testing.T) {
					err := g.authorize(t.Context(), id, method, requestFor(method, tc.org))
					if got := status.Code(err); got != tc.want {
						t.Errorf("%s by %s about %s: %v (%v), want %v", method, id, tc.org, got, err, tc.want)
					}
				})
			}
		}
	}
}

// TestPolicyEdges: what the matrix does not show.
func TestPolicyEdges(t *testing.T) {
	g := policyGuard()
	dev := Identity{Role: roleDev}
	for _, tc := range []struct {
		name   string
		id     Identity
		method string
		req    any
		want   codes.Code
	}{
		{"a method without a rule", vendor, "/cascade.v1.BreachService/Unknown", &cascadev1.GetBreachRequest{}, denied},
		{"a method without a rule, insecure-no-auth", dev, "/cascade.v1.BreachService/Unknown", &cascadev1.GetBreachRequest{}, denied},
		{"insecure-no-auth acts for a controller", dev, cascadev1.NoticeService_AcknowledgeNotice_FullMethodName,
			&cascadev1.AcknowledgeNoticeRequest{NoticeId: breach.NewNoticeID(otherBreach, otherOrg).String()}, ok},
		{"a malformed notice id is the handler's to refuse", controller, cascadev1.NoticeService_GetNotice_FullMethodName,
			&cascadev1.GetNoticeRequest{NoticeId: "not a notice id"}, ok},
		{"a malformed breach id is the handler's to refuse", controller, cascadev1.BreachService_GetBreach_FullMethodName,
			&cascadev1.GetBreachRequest{BreachId: "not a breach id!"}, ok},
		{"a breach the caller has no notice in", orgViewer, cascadev1.BreachService_GetBreach_FullMethodName,
			&cascadev1.GetBreachRequest{BreachId: "B-NONE"}, notFound},
		{"another organisation's notice in the caller's breach", controller, cascadev1.NoticeService_GetNotice_FullMethodName,
			&cascadev1.GetNoticeRequest{NoticeId: breach.NewNoticeID(ownBreach, otherOrg).String()}, notFound},
		{"scoped evidence export of one breach", controller, cascadev1.NoticeService_ExportEvidence_FullMethodName,
			&cascadev1.ExportEvidenceRequest{OrgId: string(ownOrg), BreachId: string(ownBreach)}, denied},
		{"scoped evidence export without org_id", orgViewer, cascadev1.NoticeService_ExportEvidence_FullMethodName,
			&cascadev1.ExportEvidenceRequest{}, denied},
		{"watching another organisation's notice by its id", controller, cascadev1.NoticeService_WatchNotices_FullMethodName,
			&cascadev1.WatchNoticesRequest{NoticeId: breach.NewNoticeID(ownBreach, otherOrg).String()}, notFound},
		{"watching one's own notice by its id", orgViewer, cascadev1.NoticeService_WatchNotices_FullMethodName,
			&cascadev1.WatchNoticesRequest{NoticeId: breach.NewNoticeID(ownBreach, ownOrg).String()}, ok},
		{"the vendor never acts for a controller", vendor, cascadev1.NoticeService_AskQuestion_FullMethodName,
			&cascadev1.AskQuestionRequest{NoticeId: breach.NewNoticeID(ownBreach, ownOrg).String()}, denied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := status.Code(g.authorize(t.Context(), tc.id, tc.method, tc.req)); got != tc.want {
				t.Errorf("%v, want %v", got, tc.want)
			}
		})
	}
}

// TestPolicyNarrowsScopedLists: a scoped caller's list without org_id is
// narrowed to its organisation; a global caller's is left as asked.
func TestPolicyNarrowsScopedLists(t *testing.T) {
	g := policyGuard()
	for _, id := range []Identity{controller, orgViewer} {
		ln, lq, wn := &cascadev1.ListNoticesRequest{}, &cascadev1.ListQuestionsRequest{}, &cascadev1.WatchNoticesRequest{}
		if err := g.authorize(t.Context(), id, cascadev1.NoticeService_WatchNotices_FullMethodName, wn); err != nil || wn.GetOrgId() != string(ownOrg) {
			t.Errorf("%s: WatchNotices org_id %q, %v; want %q", id, wn.GetOrgId(), err, ownOrg)
		}
		if err := g.authorize(t.Context(), id, cascadev1.NoticeService_ListNotices_FullMethodName, ln); err != nil || ln.GetOrgId() != string(ownOrg) {
			t.Errorf("%s: ListNotices org_id %q, %v; want %q", id, ln.GetOrgId(), err, ownOrg)
		}
		if err := g.authorize(t.Context(), id, cascadev1.NoticeService_ListQuestions_FullMethodName, lq); err != nil || lq.GetOrgId() != string(ownOrg) {
			t.Errorf("%s: ListQuestions org_id %q, %v; want %q", id, lq.GetOrgId(), err, ownOrg)
		}
	}
	for _, id := range []Identity{vendor, globalViewer} {
		ln := &cascadev1.ListNoticesRequest{}
		if err := g.authorize(t.Context(), id, cascadev1.NoticeService_ListNotices_FullMethodName, ln); err != nil || ln.GetOrgId() != "" {
			t.Errorf("%s: ListNotices org_id %q, %v; want it left empty", id, ln.GetOrgId(), err)
		}
	}
}

// TestDescribeEveryRule: each method of the policy is described in words.
func TestDescribeEveryRule(t *testing.T) {
	for method := range Policy {
		if d := Describe(method); d == "" || d[:2] == "no" {
			t.Errorf("%s: %q", method, d)
		}
	}
}
