package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cascadehq/cascade/internal/auth"
	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/natsauth"
	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// The processors of these tests: overlapping customers (0180 and 1480 buy
// from both), and one each of their own.
const (
	procA, procB    = "alfa-lon", "beta-skola"
	shared, shared2 = "se-kommun-0180", "se-kommun-1480"
	onlyA, onlyB    = "se-kommun-0114", "se-kommun-0115"
)

// processorEnv is a daemon with authentication and two registered
// processors, each with a breach "INC-1" of its own (same reported id).
type processorEnv struct {
	*env
	cc               *grpc.ClientConn
	operator         string // the bootstrap (default processor's) vendor token
	vendorA, vendorB string
	viewerA          string
	controller       string // of shared
}

func startProcessors(t *testing.T) *processorEnv {
	t.Helper()
	opts := options(t)
	opts.InsecureNoAuth = false
	opts.HTTPAddr = "127.0.0.1:0"
	opts.ProcessorsFile = filepath.Join(t.TempDir(), "processors.csv")
	csv := "id,name,contact_email,customers\n" +
		procA + ",Alfa Lön AB,security@alfa.example," + strings.Join([]string{shared, shared2, onlyA}, " ") + "\n" +
		procB + ",Beta Skolsystem AB,incident@beta.example," + strings.Join([]string{shared, shared2, onlyB}, ";") + "\n"
	if err := os.WriteFile(opts.ProcessorsFile, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	p := processorsOf(t, start(t, opts))
	// A processor's vendor issues its own processor's viewers.
	p.viewerA = p.issue(p.vendorA, &cascadev1.IssueTokenRequest{Role: cascadev1.Role_ROLE_VIEWER, Label: "A dashboard"})
	p.controller = p.issue(p.operator, &cascadev1.IssueTokenRequest{Role: cascadev1.Role_ROLE_CONTROLLER, OrgId: shared, Label: "DPO"})
	return p
}

func (p *processorEnv) issue(as string, req *cascadev1.IssueTokenRequest) string {
	p.t.Helper()
	r, err := cascadev1.NewTokenServiceClient(p.cc).IssueToken(withToken(ctx(p.t), as), req)
	if err != nil {
		p.t.Fatalf("issue %v: %v", req, err)
	}
	return r.GetToken()
}

// reportAs reports breach id over gRPC with token as and waits for it.
func (p *processorEnv) reportAs(as, id string, orgs ...string) *cascadev1.Breach {
	p.t.Helper()
	var aff []*cascadev1.AffectedOrganisation
	for _, o := range orgs {
		aff = append(aff, &cascadev1.AffectedOrganisation{OrgId: o, ApproxSubjects: 10})
	}
	r, err := cascadev1.NewBreachServiceClient(p.cc).ReportBreach(withToken(ctx(p.t), as), &cascadev1.ReportBreachRequest{Report: &cascadev1.BreachReport{
		Id: id, Processor: "Supplier AB", Title: "Payroll system breach", Nature: "copied database",
		DiscoveredAt: timestamppb.New(time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)), Affected: aff,
		Contact: &cascadev1.Contact{Email: "sec@supplier.example"}}})
	if err != nil {
		p.t.Fatalf("report %s: %v", id, err)
	}
	return r.GetBreach()
}

func (p *processorEnv) waitDelivered(as, id string, n int64) {
	p.t.Helper()
	bs := cascadev1.NewBreachServiceClient(p.cc)
	testkit.Eventually(p.t, 30*time.Second, func() error {
		r, err := bs.GetBreachSummary(withToken(ctx(p.t), as), &cascadev1.GetBreachSummaryRequest{BreachId: id})
		if err != nil {
			return err
		}
		if r.GetSummary().GetDelivered() != n {
			return fmt.Errorf("%s: delivered %d, want %d", id, r.GetSummary().GetDelivered(), n)
		}
		return nil
	})
}

// TestProcessorsShareOneDeployment: two processors report the same breach
// id; each gets its own breach, reaching its own customers only (another's
// customer is unknown to it, all_customers means its customers); the
// shared customer's one token sees both in one inbox and filters by
// processor; a report published on a processor's own NATS subject is that
// processor's whatever the payload says.
func TestProcessorsShareOneDeployment(t *testing.T) {
	p := startProcessors(t)
	a := p.reportAs(p.vendorA, "INC-1", shared, shared2, onlyB) // onlyB is not A's customer
	if a.GetId() != procA+"__INC-1" || a.GetProcessorId() != procA {
		t.Fatalf("A's breach: id %q processor %q", a.GetId(), a.GetProcessorId())
	}
	if got := a.GetUnknownOrgIds(); !slices.Equal(got, []string{onlyB}) {
		t.Fatalf("A's breach: unknown organisations %v, want [%s] (not its customer)", got, onlyB)
	}
	b := p.reportAs(p.vendorB, "INC-1", shared, onlyB)
	if b.GetId() != procB+"__INC-1" {
		t.Fatalf("B's breach: id %q", b.GetId())
	}
	p.waitDelivered(p.vendorA, "INC-1", 2) // its own id works for it
	p.waitDelivered(p.vendorB, "INC-1", 2)

	// all_customers: B's customers only.
	bs := cascadev1.NewBreachServiceClient(p.cc)
	all, err := bs.ReportBreach(withToken(ctx(t), p.vendorB), &cascadev1.ReportBreachRequest{Report: &cascadev1.BreachReport{
		Id: "ALL-1", Processor: "Beta", Title: "All", Nature: "n", AllCustomers: true,
		DiscoveredAt: timestamppb.New(time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)), Contact: &cascadev1.Contact{Phone: "+46 8 1"}}})
	if err != nil {
		t.Fatal(err)
	}
	p.waitDelivered(p.vendorB, all.GetBreach().GetId(), 3)

	// The same reported id from the default processor is a third breach.
	p.reportAs(p.operator, "INC-1", onlyA)
	p.waitDelivered(p.operator, "INC-1", 1)

	// Over NATS, on B's subject: B's breach, even if it names A's id.
	body := fmt.Sprintf(`{"id":"INC-2","processor":"Beta","title":"t","nature":"n","discovered_at":"2026-11-30T08:00:00Z",`+
		`"affected":[{"org_id":%q},{"org_id":%q}],"contact":{"email":"a@b.example"}}`, shared, onlyA)
	if _, err := p.js.Publish(ctx(t), "cascade.processor."+procB+".breach.report", []byte(body)); err != nil {
		t.Fatal(err)
	}
	p.waitDelivered(p.vendorB, procB+"__INC-2", 1) // onlyA is not B's customer
	spoof := `{"id":"` + procA + `__INC-3","processor":"Beta","title":"t","nature":"n","discovered_at":"2026-11-30T08:00:00Z",` +
		`"affected":[{"org_id":"` + shared + `"}],"contact":{"email":"a@b.example"}}`
	rej := p.subscribeRejections(t, "cascade.processor."+procB+".breach.rejected")
	if _, err := p.js.Publish(ctx(t), "cascade.processor."+procB+".breach.report", []byte(spoof)); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-rej:
		if !strings.Contains(string(m.Data), `"reason":"invalid"`) || !strings.Contains(string(m.Data), "__") {
			t.Fatalf("rejection of a report naming another processor's id: %s", m.Data)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no rejection on B's subject for a report naming A's breach id")
	}
	if _, err := bs.GetBreach(withToken(ctx(t), p.operator), &cascadev1.GetBreachRequest{BreachId: procA + "__INC-3"}); status.Code(err) != codes.NotFound {
		t.Fatalf("A's INC-3 exists after B spoofed it: %v", err)
	}

	// One inbox for the shared customer, filtered by processor on request.
	ns := cascadev1.NewNoticeServiceClient(p.cc)
	list := func(proc string) []string {
		r, err := ns.ListNotices(withToken(ctx(t), p.controller), &cascadev1.ListNoticesRequest{ProcessorId: proc})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, n := range r.GetNotices() {
			ids = append(ids, n.GetBreachId()+"@"+n.GetProcessorId())
		}
		return ids
	}
	if got, want := list(""), []string{"INC-1@", procA + "__INC-1@" + procA, procB + "__ALL-1@" + procB, procB + "__INC-1@" + procB, procB + "__INC-2@" + procB}; !slices.Equal(got, want) {
		// INC-1 of the default processor did not reach shared: only onlyA.
		if got2 := slices.DeleteFunc(slices.Clone(want), func(s string) bool { return s == "INC-1@" }); !slices.Equal(got, got2) {
			t.Fatalf("controller's inbox: %v, want %v", got, got2)
		}
	}
	if got := list(procA); !slices.Equal(got, []string{procA + "__INC-1@" + procA}) {
		t.Fatalf("controller's inbox, processor %s: %v", procA, got)
	}
	lb, err := bs.ListBreaches(withToken(ctx(t), p.controller), &cascadev1.ListBreachesRequest{ProcessorId: procB})
	if err != nil {
		t.Fatal(err)
	}
	if len(lb.GetBreaches()) != 3 {
		t.Fatalf("controller's breaches of %s: %d, want 3", procB, len(lb.GetBreaches()))
	}

	// The dashboard is a client of the API: the same confinement.
	for _, c := range []struct {
		token, breach string
		want          int
	}{
		{p.vendorA, "INC-1", 200}, {p.vendorA, procA + "__INC-1", 200}, {p.vendorA, procB + "__INC-1", 404},
		{p.viewerA, procB + "__INC-1", 404}, {p.controller, procB + "__INC-1", 200}, {p.operator, procB + "__INC-1", 200},
	} {
		req, err := http.NewRequestWithContext(ctx(t), "GET", "http://"+p.d.HTTPAddr()+"/api/breaches/"+c.breach, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Fatalf("dashboard GET /api/breaches/%s: %d, want %d: %s", c.breach, resp.StatusCode, c.want, body)
		}
		if c.want == 200 && !strings.Contains(string(body), c.breach[strings.LastIndex(c.breach, "_")+1:]) {
			t.Fatalf("dashboard GET /api/breaches/%s: %s", c.breach, body)
		}
	}

	// Who am I: a processor's token says which.
	w, err := cascadev1.NewTokenServiceClient(p.cc).WhoAmI(withToken(ctx(t), p.viewerA), &cascadev1.WhoAmIRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if w.GetProcessorId() != procA || w.GetProcessorName() != "Alfa Lön AB" || w.GetPrincipal().GetProcessorId() != procA {
		t.Fatalf("WhoAmI of A's viewer: %v", w)
	}
}

func (p *processorEnv) subscribeRejections(t *testing.T, subject string) <-chan *nats.Msg {
	t.Helper()
	ch := make(chan *nats.Msg, 16)
	sub, err := p.js.Conn().ChanSubscribe(subject, ch)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return ch
}

// TestProcessorIsolationMatrix calls every RPC of the public API as
// processor A's vendor and as A's viewer, once on A's own breach and once
// on B's: on B's every call is NotFound or PermissionDenied, and every
// listing and stream shows nothing of B's; on A's, every call the role
// may make passes authorisation.
func TestProcessorIsolationMatrix(t *testing.T) {
	p := startProcessors(t)
	p.reportAs(p.vendorA, "INC-1", shared, shared2)
	p.reportAs(p.vendorB, "INC-1", shared, shared2)
	p.waitDelivered(p.operator, procA+"__INC-1", 2)
	p.waitDelivered(p.operator, procB+"__INC-1", 2)
	ns := cascadev1.NewNoticeServiceClient(p.cc)
	for _, proc := range []string{procA, procB} { // a question on each processor's notice
		if _, err := ns.AskQuestion(withToken(ctx(t), p.controller), &cascadev1.AskQuestionRequest{
			NoticeId: proc + "__INC-1/" + shared, Text: "Which fields were copied?"}); err != nil {
			t.Fatal(err)
		}
	}
	spareA := p.issue(p.vendorA, &cascadev1.IssueTokenRequest{Role: cascadev1.Role_ROLE_VIEWER, Label: "to revoke"})
	spareB := p.issue(p.vendorB, &cascadev1.IssueTokenRequest{Role: cascadev1.Role_ROLE_VIEWER, Label: "to revoke"})
	tokenID := func(secret string) string {
		w, err := cascadev1.NewTokenServiceClient(p.cc).WhoAmI(withToken(ctx(t), secret), &cascadev1.WhoAmIRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return w.GetTokenId()
	}
	spare := map[string]string{procA: tokenID(spareA), procB: tokenID(spareB)}

	bs, ts := cascadev1.NewBreachServiceClient(p.cc), cascadev1.NewTokenServiceClient(p.cc)
	ks, ds := cascadev1.NewKeyServiceClient(p.cc), cascadev1.NewDeliveryServiceClient(p.cc)
	errLeak := errors.New("LEAK: shows the other processor's data")
	// Each call targets processor proc's breach (or data) and returns the
	// call's error; listings return errLeak if they show another's.
	type call func(ctx context.Context, proc string) error
	breachOf := func(proc string) string { return proc + "__INC-1" }
	noticeOf := func(proc string) string { return breachOf(proc) + "/" + shared }
	foreign := func(ids ...string) error {
		for _, id := range ids {
			if !strings.HasPrefix(id, procA+"__") {
				return fmt.Errorf("%w: %s", errLeak, id)
			}
		}
		return nil
	}
	calls := map[string]call{
		cascadev1.BreachService_ReportBreach_FullMethodName: func(ctx context.Context, proc string) error {
			_, err := bs.ReportBreach(ctx, &cascadev1.ReportBreachRequest{Report: &cascadev1.BreachReport{Id: breachOf(proc)}}) // incomplete
			return err
		},
		cascadev1.BreachService_UpdateBreach_FullMethodName: func(ctx context.Context, proc string) error {
			_, err := bs.UpdateBreach(ctx, &cascadev1.UpdateBreachRequest{Update: &cascadev1.BreachUpdate{BreachId: breachOf(proc)}})
			return err
		},
		cascadev1.BreachService_ForwardNotice_FullMethodName: func(ctx context.Context, proc string) error {
			// A's processor has no org_id here: FailedPrecondition once
			// allowed (whose notice it may forward: TestForwardNotice).
			_, err := bs.ForwardNotice(ctx, &cascadev1.ForwardNoticeRequest{NoticeId: noticeOf(proc)})
			return err
		},
		cascadev1.BreachService_GetBreach_FullMethodName: func(ctx context.Context, proc string) error {
			_, err := bs.GetBreach(ctx, &cascadev1.GetBreachRequest{BreachId: breachOf(proc)})
			return err
		},
		cascadev1.BreachService_ListBreaches_FullMethodName: func(ctx context.Context, proc string) error {
			r, err := bs.ListBreaches(ctx, &cascadev1.ListBreachesRequest{ProcessorId: proc})
			if err != nil {
				return err
			}
			var ids []string
			for _, b := range r.GetBreaches() {
				ids = append(ids, b.GetId())
			}
			return foreign(ids...)
		},
		cascadev1.BreachService_GetBreachSummary_FullMethodName: func(ctx context.Context, proc string) error {
			_, err := bs.GetBreachSummary(ctx, &cascadev1.GetBreachSummaryRequest{BreachId: breachOf(proc)})
			return err
		},
		cascadev1.BreachService_WatchBreach_FullMethodName: func(ctx context.Context, proc string) error {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			st, err := bs.WatchBreach(ctx, &cascadev1.WatchBreachRequest{BreachId: breachOf(proc), IncludeNotices: true})
			if err == nil {
				_, err = st.Recv()
			}
			return err
		},
		cascadev1.BreachService_PublishAdvisory_FullMethodName: func(ctx context.Context, proc string) error {
			_, err := bs.PublishAdvisory(ctx, &cascadev1.PublishAdvisoryRequest{BreachId: breachOf(proc)})
			return err
		},
		cascadev1.BreachService_UnpublishAdvisory_FullMethodName: func(ctx context.Context, proc string) error {
			_, err := bs.UnpublishAdvisory(ctx, &cascadev1.UnpublishAdvisoryRequest{BreachId: breachOf(proc)})
			return err
		},
		cascadev1.NoticeService_GetNotice_FullMethodName: func(ctx context.Context, proc string) error {
			_, err := ns.GetNotice(ctx, &cascadev1.GetNoticeRequest{NoticeId: noticeOf(proc)})
			return err
		},
		cascadev1.NoticeService_ListNotices_FullMethodName: func(ctx context.Context, proc string) error {
			r, err := ns.ListNotices(ctx, &cascadev1.ListNoticesRequest{OrgId: shared, ProcessorId: proc})
			if err != nil {
				return err
			}
			var ids []string
			for _, n := range r.GetNotices() {
				ids = append(ids, n.GetBreachId())
			}
			if err := foreign(ids...); err != nil {
				return err
			}
			r, err = ns.ListNotices(ctx, &cascadev1.ListNoticesRequest{BreachId: breachOf(proc)})
			if err != nil {
				return err
			}
			for _, n := range r.GetNotices() {
				ids = append(ids, n.GetBreachId())
			}
			return foreign(ids...)
		},
		cascadev1.NoticeService_WatchNotices_FullMethodName: func(ctx context.Context, proc string) error {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			st, err := ns.WatchNotices(ctx, &cascadev1.WatchNoticesRequest{OrgId: shared, ProcessorId: proc})
			if err != nil {
				return err
			}
			for {
				m, err := st.Recv()
				if err != nil {
					return err
				}
				if m.GetCaughtUp() != nil {
					return nil
				}
				if err := foreign(m.GetNotice().GetBreachId()); err != nil {
					return err
				}
			}
		},
		cascadev1.NoticeService_AcknowledgeNotice_FullMethodName: func(ctx context.Context, proc string) error {
			_, err := ns.AcknowledgeNotice(ctx, &cascadev1.AcknowledgeNoticeRequest{NoticeId: noticeOf(proc)})
			return err
		},
		cascadev1.NoticeService_RecordAuthorityReport_FullMethodName: func(ctx context.Context, proc string) error {
			_, err := ns.RecordAuthorityReport(ctx, &cascadev1.RecordAuthorityReportRequest{NoticeId: noticeOf(proc)})
			return err
		},
		cascadev1.NoticeService_RecordNotReportable_FullMethodName: func(ctx context.Context, proc string) error {
			_, err := ns.RecordNotReportable(ctx, &cascadev1.RecordNotReportableRequest{NoticeId: noticeOf(proc)})
			return err
		},
		cascadev1.NoticeService_RecordSubjectCommunication_FullMethodName: func(ctx context.Context, proc string) error {
			_, err := ns.RecordSubjectCommunication(ctx, &cascadev1.RecordSubjectCommunicationRequest{NoticeId: noticeOf(proc)})
			return err
		},
		cascadev1.NoticeService_GetNoticeHistory_FullMethodName: func(ctx context.Context, proc string) error {
			_, err := ns.GetNoticeHistory(ctx, &cascadev1.GetNoticeHistoryRequest{NoticeId: noticeOf(proc)})
			return err
		},
		cascadev1.NoticeService_ExportEvidence_FullMethodName: func(ctx context.Context, proc string) error {
			_, err := ns.ExportEvidence(ctx, &cascadev1.ExportEvidenceRequest{BreachId: breachOf(proc)})
			return err
		},
		cascadev1.NoticeService_DraftAuthorityReport_FullMethodName: func(ctx context.Context, proc string) error {
			_, err := ns.DraftAuthorityReport(ctx, &cascadev1.DraftAuthorityReportRequest{NoticeId: noticeOf(proc)})
			return err
		},
		cascadev1.NoticeService_DraftSubjectCommunication_FullMethodName: func(ctx context.Context, proc string) error {
			_, err := ns.DraftSubjectCommunication(ctx, &cascadev1.DraftSubjectCommunicationRequest{NoticeId: noticeOf(proc)})
			return err
		},
		cascadev1.NoticeService_AskQuestion_FullMethodName: func(ctx context.Context, proc string) error {
			_, err := ns.AskQuestion(ctx, &cascadev1.AskQuestionRequest{NoticeId: noticeOf(proc), Text: "?"})
			return err
		},
		cascadev1.NoticeService_AnswerQuestion_FullMethodName: func(ctx context.Context, proc string) error {
			_, err := ns.AnswerQuestion(ctx, &cascadev1.AnswerQuestionRequest{QuestionId: noticeOf(proc) + "/1", Text: "The payroll table."})
			return err
		},
		cascadev1.NoticeService_ListQuestions_FullMethodName: func(ctx context.Context, proc string) error {
			r, err := ns.ListQuestions(ctx, &cascadev1.ListQuestionsRequest{ProcessorId: proc})
			if err != nil {
				return err
			}
			var ids []string
			for _, q := range r.GetQuestions() {
				ids = append(ids, q.GetId())
			}
			return foreign(ids...)
		},
		cascadev1.TokenService_IssueToken_FullMethodName: func(ctx context.Context, proc string) error {
			_, err := ts.IssueToken(ctx, &cascadev1.IssueTokenRequest{Role: cascadev1.Role_ROLE_VIEWER, ProcessorId: proc})
			return err
		},
		cascadev1.TokenService_RevokeToken_FullMethodName: func(ctx context.Context, proc string) error {
			_, err := ts.RevokeToken(ctx, &cascadev1.RevokeTokenRequest{TokenId: spare[proc]})
			return err
		},
		cascadev1.TokenService_ListTokens_FullMethodName: func(ctx context.Context, _ string) error {
			r, err := ts.ListTokens(ctx, &cascadev1.ListTokensRequest{})
			if err != nil {
				return err
			}
			for _, tok := range r.GetTokens() {
				if tok.GetProcessorId() != procA {
					return fmt.Errorf("%w: token %s of processor %q", errLeak, tok.GetTokenId(), tok.GetProcessorId())
				}
			}
			return nil
		},
		cascadev1.TokenService_WhoAmI_FullMethodName: func(ctx context.Context, _ string) error {
			_, err := ts.WhoAmI(ctx, &cascadev1.WhoAmIRequest{})
			return err
		},
		cascadev1.KeyService_ListSigningKeys_FullMethodName: func(ctx context.Context, _ string) error {
			_, err := ks.ListSigningKeys(ctx, &cascadev1.ListSigningKeysRequest{})
			return err
		},
		cascadev1.KeyService_RotateSigningKey_FullMethodName: func(ctx context.Context, _ string) error {
			_, err := ks.RotateSigningKey(ctx, &cascadev1.RotateSigningKeyRequest{})
			return err
		},
		cascadev1.DeliveryService_RotateWebhookSecret_FullMethodName: func(ctx context.Context, _ string) error {
			_, err := ds.RotateWebhookSecret(ctx, &cascadev1.RotateWebhookSecretRequest{OrgId: shared})
			return err
		},
		cascadev1.DeliveryService_ListDeadLetters_FullMethodName: func(ctx context.Context, proc string) error {
			r, err := ds.ListDeadLetters(ctx, &cascadev1.ListDeadLettersRequest{ProcessorId: proc})
			if err != nil {
				return err
			}
			for _, d := range r.GetDeadLetters() {
				if err := foreign(d.GetBreachId()); err != nil {
					return err
				}
			}
			return nil
		},
	}
	for m := range auth.Policy {
		if calls[m] == nil {
			t.Errorf("the processor isolation matrix has no row for %s", m)
		}
	}
	// What a role may not do at all, on its own processor's data too.
	vendorDenied := map[string]bool{ // controllers' acts, and the deployment's
		cascadev1.NoticeService_AcknowledgeNotice_FullMethodName:          true,
		cascadev1.NoticeService_RecordAuthorityReport_FullMethodName:      true,
		cascadev1.NoticeService_RecordNotReportable_FullMethodName:        true,
		cascadev1.NoticeService_RecordSubjectCommunication_FullMethodName: true,
		cascadev1.NoticeService_AskQuestion_FullMethodName:                true,
		cascadev1.KeyService_RotateSigningKey_FullMethodName:              true,
		cascadev1.DeliveryService_RotateWebhookSecret_FullMethodName:      true,
	}
	targetless := map[string]bool{ // no processor's data in them
		cascadev1.BreachService_ForwardNotice_FullMethodName:         true,
		cascadev1.TokenService_WhoAmI_FullMethodName:                 true,
		cascadev1.KeyService_ListSigningKeys_FullMethodName:          true,
		cascadev1.KeyService_RotateSigningKey_FullMethodName:         true,
		cascadev1.DeliveryService_RotateWebhookSecret_FullMethodName: true,
		cascadev1.TokenService_ListTokens_FullMethodName:             true,
	}
	denied := func(err error) bool {
		c := status.Code(err)
		return c == codes.PermissionDenied || c == codes.NotFound || c == codes.Unauthenticated
	}
	callers := []struct {
		name, token string
		mayNot      func(method string) bool
	}{
		{"vendor A", p.vendorA, func(m string) bool { return vendorDenied[m] }},
		{"viewer A", p.viewerA, func(m string) bool { return vendorDenied[m] || auth.VendorOnlyMethod(m) }},
	}
	rows := 0
	for _, c := range callers {
		for m, fn := range calls {
			rows++
			ctx := withToken(ctx(t), c.token)
			// Own (A's): allowed unless the role may not call it at all.
			err := fn(ctx, procA)
			switch {
			case errors.Is(err, errLeak):
				t.Errorf("%s %s on A: %v", c.name, m, err)
			case c.mayNot(m) && !denied(err):
				t.Errorf("%s %s on A: %v, want PermissionDenied or NotFound", c.name, m, err)
			case !c.mayNot(m) && denied(err):
				t.Errorf("%s %s on A: %v, want it allowed", c.name, m, err)
			}
			if targetless[m] {
				continue
			}
			// Other (B's): refused, or nothing of B's shown.
			err = fn(ctx, procB)
			if m == cascadev1.BreachService_ReportBreach_FullMethodName && status.Code(err) == codes.InvalidArgument &&
				strings.Contains(err.Error(), "__") {
				continue // another processor's id is not an id it may report under
			}
			if errors.Is(err, errLeak) || (err != nil && !denied(err)) || (err == nil && !listing(m)) {
				t.Errorf("%s %s on B: %v, want PermissionDenied or NotFound", c.name, m, err)
			}
		}
	}
	t.Logf("processor isolation matrix: %d rows (callers × RPCs), own and other processor", rows)
}

// listing reports a method that answers with a (filtered) list or stream
// rather than one object.
func listing(m string) bool {
	return strings.Contains(m, "/List") || strings.Contains(m, "/Watch")
}

// TestProcessorNATSIdentity: a registered processor's own NATS user
// publishes on cascade.breach.report in its own account, and the breach is
// its own whatever the payload says; it hears its own rejections only, and
// may not publish on another processor's intake subjects nor read notices.
func TestProcessorNATSIdentity(t *testing.T) {
	p := startProcessors(t)
	seedB := filepath.Join(natsauth.ProcessorsDir, procB+".nk")
	ncB := connectNC(t, p.d, seedB)
	jsB, err := jetstream.New(ncB)
	if err != nil {
		t.Fatal(err)
	}
	rejB := make(chan *nats.Msg, 16)
	if _, err := ncB.ChanSubscribe("cascade.breach.rejected", rejB); err != nil {
		t.Fatal(err)
	}
	rejVendor := make(chan *nats.Msg, 16)
	if _, err := p.vendorJS.Conn().ChanSubscribe("cascade.breach.rejected", rejVendor); err != nil {
		t.Fatal(err)
	}
	if err := ncB.Flush(); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"id":"NATS-1","processor":"Alfa Lön AB","title":"t","nature":"n","discovered_at":"2026-11-30T08:00:00Z",`+
		`"affected":[{"org_id":%q}],"contact":{"email":"a@b.example"}}`, shared)
	ack, err := jsB.Publish(ctx(t), "cascade.breach.report", []byte(body))
	if err != nil {
		t.Fatalf("processor B publishes its report: %v", err)
	}
	if ack.Stream != "CASCADE_INTAKE" {
		t.Fatalf("PubAck from %q", ack.Stream)
	}
	p.waitDelivered(p.vendorB, procB+"__NATS-1", 1)
	if _, err := cascadev1.NewBreachServiceClient(p.cc).GetBreach(withToken(ctx(t), p.vendorA), &cascadev1.GetBreachRequest{BreachId: "NATS-1"}); status.Code(err) != codes.NotFound {
		t.Fatalf("A sees B's NATS-1 as its own: %v", err)
	}
	// A rejected report of B's reaches B, not the default vendor.
	if _, err := jsB.Publish(ctx(t), "cascade.breach.report", []byte(`{"id":"BAD"}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-rejB:
		if !strings.Contains(string(m.Data), `"reason":"invalid"`) {
			t.Fatalf("B's rejection: %s", m.Data)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("B got no rejection of its invalid report")
	}
	select {
	case m := <-rejVendor:
		t.Fatalf("the default vendor heard B's rejection: %s", m.Data)
	default:
	}
	// Its rounds (here a question on its breach) reach its own user on
	// cascade.events.>, and not the default vendor.
	eventsB := make(chan *nats.Msg, 16)
	if _, err := ncB.ChanSubscribe("cascade.events.>", eventsB); err != nil {
		t.Fatal(err)
	}
	eventsVendor := make(chan *nats.Msg, 16)
	if _, err := p.vendorJS.Conn().ChanSubscribe("cascade.events.>", eventsVendor); err != nil {
		t.Fatal(err)
	}
	if err := ncB.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := p.vendorJS.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := cascadev1.NewNoticeServiceClient(p.cc).AskQuestion(withToken(ctx(t), p.controller), &cascadev1.AskQuestionRequest{
		NoticeId: procB + "__NATS-1/" + shared, Text: "Which fields?"}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-eventsB:
		if m.Subject != "cascade.events."+procB+"__NATS-1._question" {
			t.Fatalf("B's round on %s", m.Subject)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("B's NATS user got no round of its breach")
	}
	// The server hands a message to every subscriber at once: had the
	// vendor's subscription matched, its copy would be in before a
	// round trip on its connection completes.
	if err := p.vendorJS.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-eventsVendor:
		t.Fatalf("the default vendor got B's round on %s", m.Subject)
	default:
	}

	// Nothing else: another processor's intake, notices, the ledger.
	errs := make(chan error, 8)
	ncB.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err })
	if err := ncB.Publish("cascade.processor."+procA+".breach.report", []byte(body)); err != nil {
		t.Fatal(err)
	}
	if _, err := ncB.SubscribeSync("cascade.notice." + shared); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		select {
		case err := <-errs:
			if !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
				t.Fatalf("want a permissions violation, got %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no permissions violation for B's publish on A's subject or its subscription to notices (%d of 2)", i)
		}
	}
}

// TestProcessorFlagsRefuseBadFiles: a processor registry or upstream key
// set that cannot be used stops the start with an error naming it.
func TestProcessorFlagsRefuseBadFiles(t *testing.T) {
	dir := t.TempDir()
	badProcs := filepath.Join(dir, "processors.csv")
	if err := os.WriteFile(badProcs, []byte("id,name\nAlfa_Lön,A\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badKeys := filepath.Join(dir, "keys.json")
	if err := os.WriteFile(badKeys, []byte(`{"keys":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		set  func(*daemon.Options)
		want string
	}{
		{func(o *daemon.Options) { o.ProcessorsFile = badProcs }, "does not match"},
		{func(o *daemon.Options) { o.ProcessorsFile = filepath.Join(dir, "missing.csv") }, "load processor registry"},
		{func(o *daemon.Options) { o.UpstreamKeys = []string{badKeys} }, "--upstream-keys " + badKeys},
		{func(o *daemon.Options) { o.UpstreamKeys = []string{filepath.Join(dir, "missing.json")} }, "--upstream-keys"},
	} {
		opts := options(t)
		c.set(&opts)
		if _, err := startErr(opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("start: %v, want an error with %q", err, c.want)
		}
	}
}
