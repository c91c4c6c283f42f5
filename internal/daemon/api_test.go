package daemon_test

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if status.Code(err).String() != code {
		t.Fatalf("error = %v; want code %s", err, code)
	}
}

func wantViolations(t *testing.T, err error, fields ...string) {
	t.Helper()
	wantCode(t, err, "InvalidArgument")
	got := map[string]bool{}
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				got[v.GetField()] = true
			}
		}
	}
	for _, f := range fields {
		if !got[f] {
			t.Errorf("no field violation for %q in %v (%v)", f, got, err)
		}
	}
}

func TestAcknowledge(t *testing.T) {
	e := start(t, options(t))
	e.publish(report("ACK-1", "se-kommun-0180", "se-kommun-1480"))
	e.waitSummary("ACK-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 2 })
	id := "ACK-1/se-kommun-0180"
	before, err := e.noticeC.GetNotice(ctx(t), &cascadev1.GetNoticeRequest{NoticeId: id})
	if err != nil {
		t.Fatal(err)
	}
	r1, err := e.noticeC.AcknowledgeNotice(ctx(t), &cascadev1.AcknowledgeNoticeRequest{NoticeId: id, AcknowledgedBy: "dpo@stockholm.example.org", Note: "on it"})
	if err != nil {
		t.Fatal(err)
	}
	n1 := r1.GetNotice()
	if n1.GetState() != cascadev1.NoticeState_NOTICE_STATE_ACKNOWLEDGED || n1.GetAcknowledgedBy() != "dpo@stockholm.example.org" || n1.GetAcknowledgedAt() == nil {
		t.Fatalf("acknowledged notice = %v", n1)
	}
	if !n1.GetDeadline().AsTime().Equal(before.GetNotice().GetDeadline().AsTime()) {
		t.Fatal("acknowledgement moved the deadline")
	}
	// Idempotent: a second ack returns the notice unchanged.
	r2, err := e.noticeC.AcknowledgeNotice(ctx(t), &cascadev1.AcknowledgeNoticeRequest{NoticeId: id, AcknowledgedBy: "someone else"})
	if err != nil {
		t.Fatal(err)
	}
	if r2.GetNotice().GetAcknowledgedBy() != "dpo@stockholm.example.org" || !r2.GetNotice().GetAcknowledgedAt().AsTime().Equal(n1.GetAcknowledgedAt().AsTime()) {
		t.Fatalf("second ack changed the notice: %v", r2.GetNotice())
	}
	e.waitSummary("ACK-1", 10*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetAcknowledged() == 1 })

	for _, c := range []struct {
		name string
		req  *cascadev1.AcknowledgeNoticeRequest
		code string
	}{
		{"unknown notice", &cascadev1.AcknowledgeNoticeRequest{NoticeId: "ACK-1/se-kommun-0380", AcknowledgedBy: "x"}, "NotFound"},
		{"unknown breach", &cascadev1.AcknowledgeNoticeRequest{NoticeId: "NOPE/se-kommun-0180", AcknowledgedBy: "x"}, "NotFound"},
		{"malformed id", &cascadev1.AcknowledgeNoticeRequest{NoticeId: "ACK-1", AcknowledgedBy: "x"}, "InvalidArgument"},
		{"no actor", &cascadev1.AcknowledgeNoticeRequest{NoticeId: id}, "InvalidArgument"},
		{"oversized note", &cascadev1.AcknowledgeNoticeRequest{NoticeId: id, AcknowledgedBy: "x", Note: string(make([]byte, 3000))}, "InvalidArgument"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.noticeC.AcknowledgeNotice(ctx(t), c.req)
			wantCode(t, err, c.code)
		})
	}
}

func TestListNoticesFiltersAndPages(t *testing.T) {
	opts := options(t)
	opts.OrgsFile = writeRegistry(t, 250)
	e := start(t, opts)
	e.publish(allReport("LIST-1"))
	e.publish(report("LIST-2", "org-00007", "org-00008"))
	e.waitSummary("LIST-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 250 })
	e.waitSummary("LIST-2", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 2 })
	if _, err := e.noticeC.AcknowledgeNotice(ctx(t), &cascadev1.AcknowledgeNoticeRequest{NoticeId: "LIST-1/org-00042", AcknowledgedBy: "x"}); err != nil {
		t.Fatal(err)
	}
	all := e.listAll(&cascadev1.ListNoticesRequest{BreachId: "LIST-1", PageSize: 37})
	if len(all) != 250 {
		t.Fatalf("paged %d notices, want 250", len(all))
	}
	seen := map[string]bool{}
	for i, n := range all {
		if seen[n.GetId()] {
			t.Fatalf("notice %s listed twice", n.GetId())
		}
		seen[n.GetId()] = true
		if want := fmt.Sprintf("LIST-1/org-%05d", i); n.GetId() != want {
			t.Fatalf("notice %d = %s, want %s (organisation order)", i, n.GetId(), want)
		}
	}
	if got := e.listAll(&cascadev1.ListNoticesRequest{}); len(got) != 252 {
		t.Fatalf("unfiltered: %d notices, want 252", len(got))
	}
	acked := e.listAll(&cascadev1.ListNoticesRequest{BreachId: "LIST-1", State: cascadev1.NoticeState_NOTICE_STATE_ACKNOWLEDGED})
	if len(acked) != 1 || acked[0].GetId() != "LIST-1/org-00042" {
		t.Fatalf("acknowledged = %v", acked)
	}
	byOrg := e.listAll(&cascadev1.ListNoticesRequest{OrgId: "org-00007"})
	if len(byOrg) != 2 || byOrg[0].GetBreachId() != "LIST-1" || byOrg[1].GetBreachId() != "LIST-2" {
		t.Fatalf("by org = %v", byOrg)
	}
	if got := e.listAll(&cascadev1.ListNoticesRequest{OverdueOnly: true}); len(got) != 0 {
		t.Fatalf("overdue = %d, want 0", len(got))
	}
	_, err := e.noticeC.ListNotices(ctx(t), &cascadev1.ListNoticesRequest{PageToken: "garbage!"})
	wantCode(t, err, "InvalidArgument")
	_, err = e.noticeC.ListNotices(ctx(t), &cascadev1.ListNoticesRequest{BreachId: "NOPE"})
	wantCode(t, err, "NotFound")
	_, err = e.breachC.GetBreachSummary(ctx(t), &cascadev1.GetBreachSummaryRequest{BreachId: "NOPE"})
	wantCode(t, err, "NotFound")
	_, err = e.breachC.GetBreach(ctx(t), &cascadev1.GetBreachRequest{BreachId: "bad id"})
	wantCode(t, err, "InvalidArgument")
}

func TestOverdueWithShortDeadline(t *testing.T) {
	opts := options(t)
	opts.Deadline = 300 * time.Millisecond
	e := start(t, opts)
	e.publish(report("LATE-1", "se-kommun-0180", "se-kommun-1480"))
	e.waitSummary("LATE-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 2 })
	s := e.waitSummary("LATE-1", 10*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetOverdue() == 2 })
	if s.GetNextDeadline() != nil {
		t.Fatalf("next_deadline after all passed = %v", s.GetNextDeadline())
	}
	got := e.listAll(&cascadev1.ListNoticesRequest{OverdueOnly: true})
	if len(got) != 2 || !got[0].GetOverdue() || !got[1].GetOverdue() {
		t.Fatalf("overdue notices = %v", got)
	}
}
