package daemon_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"

	"github.com/cascadehq/cascade/internal/testkit"
)

func TestRepublishIsIdempotent(t *testing.T) {
	e := start(t, options(t))
	body := report("DUP-1", "se-kommun-0180", "se-kommun-1480")
	e.publish(body)
	e.waitSummary("DUP-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 2 })
	// Same id again, with and without a publisher message id: no second breach, no new notice.
	e.publish(body)
	e.publish(body, "Nats-Msg-Id", "vendor-retry-1")
	// A distinct id is a distinct breach; it also proves the re-publishes were processed (intake is ordered per worker pool, so wait on it).
	e.publish(report("DUP-2", "se-kommun-0180"))
	e.waitSummary("DUP-2", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 1 })
	natsPending(t, e)
	s := e.waitSummary("DUP-1", time.Second, func(*cascadev1.BreachSummary) bool { return true })
	if s.GetTotal() != 2 || s.GetDelivered() != 2 {
		t.Fatalf("DUP-1 summary after re-publish = %v", s)
	}
	l, err := e.breachC.ListBreaches(ctx(t), &cascadev1.ListBreachesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.GetBreaches()) != 2 {
		t.Fatalf("breaches = %d, want 2", len(l.GetBreaches()))
	}
	d := e.deliveries()
	if d["cascade.notice.se-kommun-0180"] != 2 || d["cascade.notice.se-kommun-1480"] != 1 {
		t.Fatalf("deliveries = %v", d)
	}
	// The same id with different content is a conflict, rejected, and changes nothing.
	seq := e.publish(report("DUP-1", "se-kommun-0380"))
	waitRejection(t, e, seq, "conflict", "id")
	if _, err := e.noticeC.GetNotice(ctx(t), &cascadev1.GetNoticeRequest{NoticeId: "DUP-1/se-kommun-0380"}); err == nil {
		t.Fatal("conflicting report created a notice")
	}
}

// natsPending waits until the intake consumer has nothing outstanding.
func natsPending(t *testing.T, e *env) {
	t.Helper()
	c, err := e.js.Consumer(ctx(t), "CASCADE_INTAKE", "cascade-intake")
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 20*time.Second, func() error {
		i, err := c.Info(ctx(t))
		if err != nil {
			return err
		}
		if i.NumPending != 0 || i.NumAckPending != 0 {
			return fmt.Errorf("intake pending=%d ack_pending=%d", i.NumPending, i.NumAckPending)
		}
		return nil
	})
}

func waitRejection(t *testing.T, e *env, seq uint64, reason, field string) map[string]any {
	t.Helper()
	var got map[string]any
	testkit.Eventually(t, 20*time.Second, func() error {
		for _, r := range e.rejections() {
			if r["stream_seq"] == float64(seq) {
				got = r
				return nil
			}
		}
		return fmt.Errorf("no rejection for intake seq %d", seq)
	})
	if got["reason"] != reason || (field != "" && got["field"] != field) {
		t.Fatalf("rejection for seq %d = %v; want reason %q field %q", seq, got, reason, field)
	}
	return got
}

func TestBadInputIsRejectedClearly(t *testing.T) {
	e := start(t, options(t))
	long := strings.Repeat("x", 201)
	cases := []struct {
		name, body, reason, field string
		hdr                       []string
	}{
		{name: "not json", body: `{"id": "X1", `, reason: "malformed"},
		{name: "wrong type", body: `{"id":"X2","title":5}`, reason: "malformed"},
		{name: "unknown field", body: `{"id":"X3","titel":"typo"}`, reason: "malformed"},
		{name: "binary garbage as protobuf", body: "\xff\xff\xff", reason: "malformed", hdr: []string{"Content-Type", "application/protobuf"}},
		{name: "missing required", body: `{"id":"X4","affected":[{"org_id":"se-kommun-0180"}]}`, reason: "invalid", field: "processor"},
		{name: "oversized title", body: strings.Replace(string(report("X5", "se-kommun-0180")), `"Test breach"`, `"`+long+`"`, 1), reason: "invalid", field: "title"},
		{name: "bad breach id", body: string(report("bad id!", "se-kommun-0180")), reason: "invalid", field: "id"},
		{name: "bad org id", body: string(report("X6", "Se Kommun")), reason: "invalid", field: "affected[0].org_id"},
		{name: "no affected", body: string(report("X7")), reason: "invalid", field: "affected"},
		{name: "only unknown orgs", body: string(report("X8", "se-kommun-9999", "no-such-org")), reason: "unknown_organisations", field: "affected"},
		{name: "no contact", body: `{"id":"X9","processor":"p","title":"t","nature":"n","discovered_at":"2025-08-23T14:00:00Z","all_customers":true}`, reason: "invalid", field: "contact"},
		{name: "future discovery", body: strings.Replace(string(report("X10", "se-kommun-0180")), "2025-08-23", "2099-01-01", 1), reason: "invalid", field: "discovered_at"},
	}
	e.publish(report("BEFORE", "se-kommun-0180"))
	seqs := make([]uint64, len(cases))
	for i, c := range cases {
		seqs[i] = e.publish([]byte(c.body), c.hdr...)
	}
	e.publish(report("AFTER", "se-kommun-0180"))
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := waitRejection(t, e, seqs[i], c.reason, c.field)
			if r["detail"] == "" {
				t.Fatalf("rejection without detail: %v", r)
			}
		})
	}
	for _, id := range []string{"BEFORE", "AFTER"} {
		e.waitSummary(id, 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 1 })
	}
	// An intake message above the size limit is refused by JetStream itself.
	big := make([]byte, 2<<20)
	if _, err := e.js.Publish(ctx(t), "cascade.breach.report", big); err == nil {
		t.Fatal("2 MiB report was accepted")
	}
}

func TestReportBreachOverGRPC(t *testing.T) {
	e := start(t, options(t))
	r := &cascadev1.BreachReport{
		Processor: "P", Title: "T", Nature: "N", DiscoveredAt: timestamppb.New(time.Date(2025, 8, 23, 14, 0, 0, 0, time.UTC)),
		Affected: []*cascadev1.AffectedOrganisation{{OrgId: "se-kommun-0180"}, {OrgId: "se-kommun-9999"}},
		Contact:  &cascadev1.Contact{Email: "a@example.org"},
	}
	resp, err := e.breachC.ReportBreach(ctx(t), &cascadev1.ReportBreachRequest{Report: r})
	if err != nil {
		t.Fatal(err)
	}
	b := resp.GetBreach()
	if b.GetId() == "" || b.GetNoticeCount() != 1 || len(b.GetUnknownOrgIds()) != 1 || resp.GetAlreadyReported() {
		t.Fatalf("response = %v", resp)
	}
	e.waitSummary(b.GetId(), 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 1 })
	// Reporting the same again is idempotent.
	r2 := proto.Clone(r).(*cascadev1.BreachReport)
	r2.Id = b.GetId()
	again, err := e.breachC.ReportBreach(ctx(t), &cascadev1.ReportBreachRequest{Report: r2})
	if err != nil || !again.GetAlreadyReported() || again.GetBreach().GetId() != b.GetId() {
		t.Fatalf("second report = %v, %v", again, err)
	}
	// Invalid reports are InvalidArgument with field violations.
	bad := proto.Clone(r).(*cascadev1.BreachReport)
	bad.Title, bad.Contact = "", nil
	_, err = e.breachC.ReportBreach(ctx(t), &cascadev1.ReportBreachRequest{Report: bad})
	wantViolations(t, err, "title", "contact")
	unknown := proto.Clone(r).(*cascadev1.BreachReport)
	unknown.Affected = []*cascadev1.AffectedOrganisation{{OrgId: "no-such-org"}}
	_, err = e.breachC.ReportBreach(ctx(t), &cascadev1.ReportBreachRequest{Report: unknown})
	wantViolations(t, err, "affected[0].org_id")
	// The same id with other content: AlreadyExists.
	conflict := proto.Clone(r2).(*cascadev1.BreachReport)
	conflict.Title = "Other"
	_, err = e.breachC.ReportBreach(ctx(t), &cascadev1.ReportBreachRequest{Report: conflict})
	wantCode(t, err, "AlreadyExists")
}
