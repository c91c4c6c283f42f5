package daemon_test

import (
	"testing"
	"time"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func TestExampleBreachFansOut(t *testing.T) {
	e := start(t, options(t))
	e.publish(readFile(t, "../../deploy/examples/breach.json"))
	const id = "EXAMPLE-2025-08-23"
	s := e.waitSummary(id, 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 12 })
	if s.GetTotal() != 12 || s.GetAcknowledged() != 0 || s.GetOverdue() != 0 || s.GetNextDeadline() == nil {
		t.Fatalf("summary = %v", s)
	}
	b, err := e.breachC.GetBreach(ctx(t), &cascadev1.GetBreachRequest{BreachId: id})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.GetBreach().GetUnknownOrgIds(); len(got) != 1 || got[0] != "se-kommun-9999" {
		t.Fatalf("unknown org ids = %v", got)
	}
	if b.GetBreach().GetNoticeCount() != 12 {
		t.Fatalf("notice_count = %d", b.GetBreach().GetNoticeCount())
	}
	// Every affected organisation got exactly one message on its subject.
	d := e.deliveries()
	if len(d) != 12 {
		t.Fatalf("delivery subjects = %v", d)
	}
	for subj, n := range d {
		if n != 1 {
			t.Errorf("%s got %d messages", subj, n)
		}
	}
	// The clock: deadline = delivered_at + 72h.
	n, err := e.noticeC.GetNotice(ctx(t), &cascadev1.GetNoticeRequest{NoticeId: id + "/se-kommun-0180"})
	if err != nil {
		t.Fatal(err)
	}
	nt := n.GetNotice()
	if nt.GetState() != cascadev1.NoticeState_NOTICE_STATE_DELIVERED || nt.GetApproxSubjects() != 52000 || nt.GetOrgName() != "Stockholms kommun" {
		t.Fatalf("notice = %v", nt)
	}
	if got := nt.GetDeadline().AsTime().Sub(nt.GetDeliveredAt().AsTime()); got != 72*time.Hour {
		t.Fatalf("deadline - delivered_at = %s", got)
	}
	// The unknown organisation is reported on cascade.breach.rejected.
	rs := e.rejections()
	if len(rs) != 1 || rs[0]["reason"] != "unknown_organisations" || rs[0]["partial"] != true {
		t.Fatalf("rejections = %v", rs)
	}
}
