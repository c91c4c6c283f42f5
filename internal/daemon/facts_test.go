package daemon_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/signing"
	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// factsReport names three organisations with their own numbers; Uppsala
// is under investigation (the enum's name, as protojson takes it).
const factsReport = `{"id":"%s","processor":"Exempel HR-system AB","title":"Test breach","nature":"copied database",
"discovered_at":"2025-08-23T14:00:00Z","contact":{"email":"sec@exempel.example.org"},"affected":[
 {"org_id":"se-kommun-0180","approx_subjects":100,"approx_records":1000},
 {"org_id":"se-kommun-1480","approx_subjects":200,"approx_records":2000},
 {"org_id":"se-kommun-0380","approx_subjects":300,"status":"AFFECTED_STATUS_UNDER_INVESTIGATION"}]}`

func revisionDone(t *testing.T, e *env, id string, n int) *cascadev1.Breach {
	t.Helper()
	var b *cascadev1.Breach
	testkit.Eventually(t, 20*time.Second, func() error {
		r, err := e.breachC.GetBreach(ctx(t), &cascadev1.GetBreachRequest{BreachId: id})
		if err != nil {
			return err
		}
		b = r.GetBreach()
		if rs := b.GetRevisions(); len(rs) != n || !rs[n-1].GetFanoutComplete() {
			return fmt.Errorf("revisions = %v", rs)
		}
		return nil
	})
	return b
}

func history(t *testing.T, e *env, id string) []*cascadev1.NoticeEvent {
	t.Helper()
	r, err := e.noticeC.GetNoticeHistory(ctx(t), &cascadev1.GetNoticeHistoryRequest{NoticeId: id})
	if err != nil {
		t.Fatal(err)
	}
	return r.GetEvents()
}

func eventOf(evs []*cascadev1.NoticeEvent, name string) *cascadev1.NoticeEvent {
	for _, ev := range evs {
		if ev.GetEvent() == name {
			return ev
		}
	}
	return nil
}

// TestCorrectAffected: a correction reaches only the organisations it
// corrects, each with its own new numbers, on its notice, in its revision
// message, its history and its draft; the others hear nothing of it.
func TestCorrectAffected(t *testing.T) {
	e := start(t, options(t))
	e.publish([]byte(fmt.Sprintf(factsReport, "COR-1")))
	e.waitSummary("COR-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 3 })
	if n := getNotice(t, e.noticeC, "COR-1/se-kommun-0380"); n.GetAffectedStatus() != cascadev1.AffectedStatus_AFFECTED_STATUS_UNDER_INVESTIGATION {
		t.Fatalf("status from the report = %v", n.GetAffectedStatus())
	}
	if n := getNotice(t, e.noticeC, "COR-1/se-kommun-0180"); n.GetAffectedStatus() != cascadev1.AffectedStatus_AFFECTED_STATUS_CONFIRMED {
		t.Fatalf("unset status = %v, want CONFIRMED", n.GetAffectedStatus())
	}
	if _, err := e.noticeC.AcknowledgeNotice(ctx(t), &cascadev1.AcknowledgeNoticeRequest{NoticeId: "COR-1/se-kommun-1480", AcknowledgedBy: "dpo"}); err != nil {
		t.Fatal(err)
	}
	update := `{"breach_id":"COR-1","summary":"Counts corrected after the log review.","correct_affected":[
		{"org_id":"se-kommun-0180","approx_subjects":5000,"approx_records":12000},
		{"org_id":"se-kommun-0380","approx_subjects":40,"status":"AFFECTED_STATUS_CONFIRMED"}]}`
	publishUpdate(t, e, update)
	b := revisionDone(t, e, "COR-1", 1)
	if r := b.GetRevisions()[0]; r.GetCorrected() != 2 || r.GetAdded() != 0 || len(r.GetUpdate().GetCorrectAffected()) != 2 {
		t.Fatalf("revision = %v", r)
	}
	for _, c := range []struct {
		org              string
		subjects, record int64
		detail           string
	}{{"se-kommun-0180", 5000, 12000, "subjects 100, records 1000, CONFIRMED → subjects 5000, records 12000, CONFIRMED"},
		{"se-kommun-0380", 40, 0, "subjects 300, records unknown, UNDER_INVESTIGATION → subjects 40, records unknown, CONFIRMED"}} {
		id := "COR-1/" + c.org
		n := getNotice(t, e.noticeC, id)
		if n.GetApproxSubjects() != c.subjects || n.GetApproxRecords() != c.record || n.GetRevisionDelivered() != 2 ||
			n.GetAffectedStatus() != cascadev1.AffectedStatus_AFFECTED_STATUS_CONFIRMED {
			t.Fatalf("%s after the correction = %v", id, n)
		}
		ev := eventOf(history(t, e, id), "counts_corrected")
		if ev == nil || !strings.Contains(ev.GetDetail(), c.detail) {
			t.Fatalf("%s history: counts_corrected = %v, want detail %q", id, ev, c.detail)
		}
		evs, bodies := orgMessages(t, e.js, "CASCADE_NOTICES", "cascade.notice."+c.org)
		if !slices.Equal(evs, []string{"notice", "revision"}) || bodies[1]["approx_subjects"] != float64(c.subjects) ||
			bodies[1]["affected_status"] != "CONFIRMED" {
			t.Fatalf("messages to %s = %v %v", c.org, evs, bodies)
		}
		if strings.Contains(fmt.Sprint(bodies[1]), "12000") && c.org != "se-kommun-0180" {
			t.Fatalf("%s sees another organisation's numbers: %v", c.org, bodies[1])
		}
	}
	// The organisation the update does not name gets nothing, keeps its
	// numbers, and its acknowledgement still counts as the latest.
	if evs, _ := orgMessages(t, e.js, "CASCADE_NOTICES", "cascade.notice.se-kommun-1480"); !slices.Equal(evs, []string{"notice"}) {
		t.Fatalf("uncorrected organisation got %v", evs)
	}
	if n := getNotice(t, e.noticeC, "COR-1/se-kommun-1480"); n.GetApproxSubjects() != 200 || n.GetRevisionDelivered() != 1 {
		t.Fatalf("uncorrected notice = %v", n)
	}
	if s := e.waitSummary("COR-1", 10*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetAcknowledged() == 1 }); s.GetLatestRevision() != 2 || s.GetAcknowledgedLatest() != 1 {
		t.Fatalf("summary = %v", s)
	}
	// The draft uses the new numbers.
	d, err := e.noticeC.DraftAuthorityReport(ctx(t), &cascadev1.DraftAuthorityReportRequest{NoticeId: "COR-1/se-kommun-0180", Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	var dj map[string]any
	if err := json.Unmarshal([]byte(d.GetJson()), &dj); err != nil || dj["approx_subjects"] != float64(5000) || dj["approx_records"] != float64(12000) ||
		dj["affected_status"] != "CONFIRMED" || !strings.Contains(d.GetMarkdown(), "5,000") || !strings.Contains(d.GetMarkdown(), "yes, confirmed") {
		t.Fatalf("draft after the correction: %v\n%s", dj, d.GetMarkdown())
	}
	// The same update again is idempotent.
	publishUpdate(t, e, update)
	natsPending(t, e)
	if b, _ := e.breachC.GetBreach(ctx(t), &cascadev1.GetBreachRequest{BreachId: "COR-1"}); b.GetBreach().GetLatestRevision() != 2 {
		t.Fatalf("re-published correction made revision %d", b.GetBreach().GetLatestRevision())
	}
	if evs := history(t, e, "COR-1/se-kommun-0180"); len(slices.DeleteFunc(slices.Clone(evs), func(ev *cascadev1.NoticeEvent) bool { return ev.GetEvent() != "counts_corrected" })) != 1 {
		t.Fatalf("correction recorded twice: %v", evs)
	}
}

// TestCorrectWithdrawRefused: what an update may not name, on NATS and gRPC.
func TestCorrectWithdrawRefused(t *testing.T) {
	e := start(t, options(t))
	e.publish(report("REF-1", "se-kommun-0180"))
	e.waitSummary("REF-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 1 })
	seq := publishUpdate(t, e, `{"breach_id":"REF-1","summary":"s","correct_affected":[{"org_id":"se-kommun-1480","approx_subjects":5}]}`)
	waitRejection(t, e, seq, "invalid", "correct_affected[0].org_id")
	seq = publishUpdate(t, e, `{"breach_id":"REF-1","summary":"s","withdraw":[{"org_id":"se-kommun-1480","statement":"not ours"}]}`)
	waitRejection(t, e, seq, "invalid", "withdraw[0].org_id")
	seq = publishUpdate(t, e, `{"breach_id":"REF-1","summary":"s","correct_affected":[{"org_id":"se-kommun-0180","status":"under_investigation"}]}`)
	waitRejection(t, e, seq, "malformed", "")
	for name, u := range map[string]*cascadev1.BreachUpdate{
		"never notified":  {BreachId: "REF-1", Summary: "s", Withdraw: []*cascadev1.WithdrawOrganisation{{OrgId: "se-kommun-1480", Statement: "x"}}},
		"negative counts": {BreachId: "REF-1", Summary: "s", CorrectAffected: []*cascadev1.AffectedOrganisation{{OrgId: "se-kommun-0180", ApproxSubjects: -1}}},
		"statement too long": {BreachId: "REF-1", Summary: "s", Withdraw: []*cascadev1.WithdrawOrganisation{
			{OrgId: "se-kommun-0180", Statement: strings.Repeat("x", 2001)}}},
		"no statement": {BreachId: "REF-1", Summary: "s", Withdraw: []*cascadev1.WithdrawOrganisation{{OrgId: "se-kommun-0180"}}},
		"not affected by correction": {BreachId: "REF-1", Summary: "s", CorrectAffected: []*cascadev1.AffectedOrganisation{
			{OrgId: "se-kommun-0180", Status: cascadev1.AffectedStatus_AFFECTED_STATUS_NOT_AFFECTED}}},
		"corrected and withdrawn": {BreachId: "REF-1", Summary: "s", CorrectAffected: []*cascadev1.AffectedOrganisation{{OrgId: "se-kommun-0180"}},
			Withdraw: []*cascadev1.WithdrawOrganisation{{OrgId: "se-kommun-0180", Statement: "x"}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.breachC.UpdateBreach(ctx(t), &cascadev1.UpdateBreachRequest{Update: u})
			wantCode(t, err, "InvalidArgument")
		})
	}
	if b, _ := e.breachC.GetBreach(ctx(t), &cascadev1.GetBreachRequest{BreachId: "REF-1"}); b.GetBreach().GetLatestRevision() != 1 {
		t.Fatalf("a refused update made revision %d", b.GetBreach().GetLatestRevision())
	}
}

// TestWithdrawal: with short clocks, a withdrawn organisation gets a signed
// withdrawal and then nothing (no reminder, redelivery or escalation), is
// never overdue, counts as withdrawn, can still record its outcome, and,
// named again, is notified with a new clock.
func TestWithdrawal(t *testing.T) {
	opts := options(t)
	opts.Deadline = 4 * time.Second
	opts.Remind = []time.Duration{2 * time.Second}
	opts.Redeliver = []time.Duration{time.Second}
	e := start(t, opts)
	e.publish(report("WD-1", "se-kommun-0180", "se-kommun-1480"))
	e.waitSummary("WD-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 2 })
	const statement = "The export job never read Malmö's tenant."
	u, err := e.breachC.UpdateBreach(ctx(t), &cascadev1.UpdateBreachRequest{Update: &cascadev1.BreachUpdate{BreachId: "WD-1",
		Summary: "Malmö is not affected.", Withdraw: []*cascadev1.WithdrawOrganisation{{OrgId: "se-kommun-1480", Statement: statement}}}})
	if err != nil || u.GetRevision() != 2 {
		t.Fatalf("UpdateBreach = %v, %v", u, err)
	}
	b := revisionDone(t, e, "WD-1", 1)
	if r := b.GetRevisions()[0]; r.GetWithdrawn() != 1 {
		t.Fatalf("revision = %v", r)
	}
	n := getNotice(t, e.noticeC, "WD-1/se-kommun-1480")
	if n.GetState() != cascadev1.NoticeState_NOTICE_STATE_WITHDRAWN || n.GetWithdrawnAt() == nil || n.GetWithdrawalStatement() != statement ||
		n.GetAffectedStatus() != cascadev1.AffectedStatus_AFFECTED_STATUS_NOT_AFFECTED {
		t.Fatalf("withdrawn notice = %v", n)
	}
	// The withdrawal is signed and verifies.
	keys, err := signing.ParseKeySet(lastMsg(t, e.js, "CASCADE_KEYS", "cascade.keys").Data)
	if err != nil {
		t.Fatal(err)
	}
	m := lastMsg(t, e.js, "CASCADE_NOTICES", "cascade.notice.se-kommun-1480")
	if m.Header.Get("Cascade-Event") != "withdrawal" || m.Header.Get("Cascade-Revision") != "2" {
		t.Fatalf("withdrawal headers = %v", m.Header)
	}
	if _, err := signing.Verify(keys, m.Subject, m.Header, m.Data, time.Now()); err != nil {
		t.Fatalf("withdrawal does not verify: %v", err)
	}
	var body map[string]any
	if err := json.Unmarshal(m.Data, &body); err != nil || body["statement"] != statement || body["affected_status"] != "NOT_AFFECTED" {
		t.Fatalf("withdrawal body = %v", body)
	}
	// Stockholm's clock runs out: reminded, redelivered and escalated.
	// Malmö's stopped: nothing after the withdrawal.
	testkit.Eventually(t, 30*time.Second, func() error {
		if getNotice(t, e.noticeC, "WD-1/se-kommun-0180").GetOverdueNotifiedAt() == nil {
			return fmt.Errorf("Stockholm not escalated yet")
		}
		return nil
	})
	evs, _ := orgMessages(t, e.js, "CASCADE_NOTICES", "cascade.notice.se-kommun-1480")
	if i := slices.Index(evs, "withdrawal"); i < 0 || i != len(evs)-1 || slices.Contains(evs, "reminder") || slices.Contains(evs, "overdue") {
		t.Fatalf("messages to the withdrawn organisation = %v", evs)
	}
	if evs, _ := orgMessages(t, e.js, "CASCADE_NOTICES", "cascade.notice.se-kommun-0180"); !slices.Contains(evs, "reminder") || !slices.Contains(evs, "overdue") {
		t.Fatalf("messages to Stockholm = %v", evs)
	}
	n = getNotice(t, e.noticeC, "WD-1/se-kommun-1480")
	if n.GetOverdue() || len(n.GetReminders()) != 0 || n.GetOverdueNotifiedAt() != nil {
		t.Fatalf("withdrawn notice after its deadline = %v", n)
	}
	// (The summary counts a notice overdue up to a second after its deadline.)
	s := e.waitSummary("WD-1", 10*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetWithdrawn() == 1 && s.GetOverdue() == 1 })
	if s.GetTotal() != 2 || s.GetDelivered() != 1 || s.GetNextDeadline() != nil {
		t.Fatalf("summary = %v", s)
	}
	// The controller still documents its assessment; the notice stays WITHDRAWN.
	r, err := e.noticeC.RecordNotReportable(ctx(t), &cascadev1.RecordNotReportableRequest{NoticeId: "WD-1/se-kommun-1480",
		Justification: "the processor confirmed none of our data was read", RecordedBy: "dpo"})
	if err != nil || r.GetNotice().GetState() != cascadev1.NoticeState_NOTICE_STATE_WITHDRAWN || r.GetNotice().GetOutcome() == nil {
		t.Fatalf("outcome on a withdrawn notice = %v, %v", r, err)
	}
	// Withdrawing again: the same update is idempotent; a new one changes nothing for Malmö.
	if u, err := e.breachC.UpdateBreach(ctx(t), &cascadev1.UpdateBreachRequest{Update: &cascadev1.BreachUpdate{BreachId: "WD-1",
		Summary: "Malmö is not affected.", Withdraw: []*cascadev1.WithdrawOrganisation{{OrgId: "se-kommun-1480", Statement: statement}}}}); err != nil || !u.GetAlreadyApplied() {
		t.Fatalf("same withdrawal again = %v, %v", u, err)
	}
	if _, err := e.breachC.UpdateBreach(ctx(t), &cascadev1.UpdateBreachRequest{Update: &cascadev1.BreachUpdate{BreachId: "WD-1",
		Summary: "Malmö still not affected.", Withdraw: []*cascadev1.WithdrawOrganisation{{OrgId: "se-kommun-1480", Statement: "still not"}}}}); err != nil {
		t.Fatal(err)
	}
	if b := revisionDone(t, e, "WD-1", 2); b.GetRevisions()[1].GetWithdrawn() != 0 {
		t.Fatalf("second withdrawal = %v", b.GetRevisions()[1])
	}
	if evs, _ := orgMessages(t, e.js, "CASCADE_NOTICES", "cascade.notice.se-kommun-1480"); slices.Index(evs, "withdrawal") != len(evs)-1 ||
		len(slices.DeleteFunc(slices.Clone(evs), func(s string) bool { return s != "withdrawal" })) != 1 {
		t.Fatalf("withdrawn twice: %v", evs)
	}
	withdrawnAt := n.GetWithdrawnAt().AsTime()
	// Named again: notified again, with a new clock from the new delivery.
	if _, err := e.breachC.UpdateBreach(ctx(t), &cascadev1.UpdateBreachRequest{Update: &cascadev1.BreachUpdate{BreachId: "WD-1",
		Summary: "Malmö is affected after all.", AddAffected: []*cascadev1.AffectedOrganisation{{OrgId: "se-kommun-1480", ApproxSubjects: 7}}}}); err != nil {
		t.Fatal(err)
	}
	b = revisionDone(t, e, "WD-1", 3)
	if r := b.GetRevisions()[2]; r.GetRenotified() != 1 || r.GetAdded() != 0 {
		t.Fatalf("revision naming Malmö again = %v", r)
	}
	n = getNotice(t, e.noticeC, "WD-1/se-kommun-1480")
	if n.GetState() != cascadev1.NoticeState_NOTICE_STATE_DELIVERED || !n.GetDeliveredAt().AsTime().After(withdrawnAt) ||
		n.GetDeadline().AsTime().Sub(n.GetDeliveredAt().AsTime()) != 4*time.Second || n.GetRevisionDelivered() != 4 ||
		n.GetApproxSubjects() != 7 || n.GetOutcome() != nil || n.GetWithdrawnAt() != nil {
		t.Fatalf("notice named again = %v", n)
	}
	if evs, bodies := orgMessages(t, e.js, "CASCADE_NOTICES", "cascade.notice.se-kommun-1480"); evs[len(evs)-1] != "notice" && !slices.Contains(evs[slices.Index(evs, "withdrawal"):], "notice") {
		t.Fatalf("messages after being named again = %v %v", evs, bodies)
	}
	for _, want := range []string{"withdrawn", "outcome_recorded", "renotified", "delivered"} {
		if eventOf(history(t, e, "WD-1/se-kommun-1480"), want) == nil {
			t.Fatalf("history lacks %s", want)
		}
	}
	e.waitSummary("WD-1", 10*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetWithdrawn() == 0 && s.GetDelivered() == 2 })
	// The new clock runs: Malmö is reminded again.
	testkit.Eventually(t, 20*time.Second, func() error {
		if n := getNotice(t, e.noticeC, "WD-1/se-kommun-1480"); len(n.GetReminders()) == 0 {
			return fmt.Errorf("no reminder on the new clock yet")
		}
		return nil
	})
}

// TestWithdrawalByWebhook: an organisation that takes notices by webhook
// only gets its withdrawal there (Cascade-Event: withdrawal, signed), its
// channel record counts it, and nothing follows it.
func TestWithdrawalByWebhook(t *testing.T) {
	hook := newHookServer(t, func(int) int { return http.StatusOK })
	orgs := filepath.Join(t.TempDir(), "orgs.csv")
	if err := os.WriteFile(orgs, []byte("id,name,webhook_url,channels\n"+
		"org-hook,Webhook only,"+hook.URL+"/cascade,webhook\n"+"org-nats,NATS only,,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := options(t)
	opts.OrgsFile = orgs
	opts.Deadline = 3 * time.Second
	opts.Remind = []time.Duration{time.Second}
	opts.Redeliver = []time.Duration{1500 * time.Millisecond}
	opts.WebhookAllowPrivate = true // the receiver listens on loopback
	e := start(t, opts)
	ds := cascadev1.NewDeliveryServiceClient(grpcConn(t, e.d.GRPCAddr()))
	if _, err := ds.RotateWebhookSecret(ctx(t), &cascadev1.RotateWebhookSecretRequest{OrgId: "org-hook"}); err != nil {
		t.Fatal(err)
	}
	e.publish(report("WDH-1", "org-hook", "org-nats"))
	e.waitSummary("WDH-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 2 })
	if _, err := e.breachC.UpdateBreach(ctx(t), &cascadev1.UpdateBreachRequest{Update: &cascadev1.BreachUpdate{BreachId: "WDH-1",
		Summary: "Not affected.", Withdraw: []*cascadev1.WithdrawOrganisation{{OrgId: "org-hook", Statement: "no data of yours was read"}}}}); err != nil {
		t.Fatal(err)
	}
	var got hookRequest
	testkit.Eventually(t, 20*time.Second, func() error {
		for _, r := range hook.requests() {
			if r.header.Get("Cascade-Event") == "withdrawal" {
				got = r
				return nil
			}
		}
		return fmt.Errorf("no withdrawal on the webhook: %d requests", len(hook.requests()))
	})
	if got.header.Get("Cascade-Signature") == "" || !strings.Contains(string(got.body), "no data of yours was read") {
		t.Fatalf("withdrawal request: %v %s", got.header, got.body)
	}
	// org-nats runs out its clock; org-hook's webhook hears nothing after the withdrawal.
	testkit.Eventually(t, 20*time.Second, func() error {
		if getNotice(t, e.noticeC, "WDH-1/org-nats").GetOverdueNotifiedAt() == nil {
			return fmt.Errorf("org-nats not escalated yet")
		}
		return nil
	})
	reqs := hook.requests()
	if last := reqs[len(reqs)-1].header.Get("Cascade-Event"); last != "withdrawal" {
		t.Fatalf("after the withdrawal the webhook got %q", last)
	}
	n := getNotice(t, e.noticeC, "WDH-1/org-hook")
	if n.GetState() != cascadev1.NoticeState_NOTICE_STATE_WITHDRAWN || n.GetOverdueNotifiedAt() != nil || len(n.GetReminders()) != 0 {
		t.Fatalf("withdrawn webhook notice = %v", n)
	}
}
