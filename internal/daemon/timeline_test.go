package daemon_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"

	"github.com/cascadehq/cascade/internal/testkit"
)

// registryIDs are the first n organisation ids of the example registry.
func registryIDs(t *testing.T, n int) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(readFile(t, exampleOrgs))), "\n")[1:]
	if len(lines) < n {
		t.Fatalf("the example registry has %d organisations, want %d", len(lines), n)
	}
	ids := make([]string, n)
	for i := range n {
		ids[i], _, _ = strings.Cut(lines[i], ",")
	}
	return ids
}

// TestMiljodataTimeline replays how the facts changed in the Miljödata
// case on a real daemon with short clocks: a report to 150 organisations,
// 50 of them under investigation, with the processor's promise of an
// update; the promise kept once and missed once; the numbers of 40
// corrected; 30 found not affected and withdrawn; 10 more found affected;
// the words for the data subjects; the public advisory page.
func TestMiljodataTimeline(t *testing.T) {
	opts := options(t)
	opts.Deadline = 20 * time.Second
	opts.Remind = []time.Duration{10 * time.Second}
	opts.UpdateReminder = time.Second
	opts.HTTPAddr = "127.0.0.1:0"
	e := start(t, opts)
	ids := registryIDs(t, 160)
	first, investigated, corrected := ids[:150], ids[100:150], ids[:40]
	withdrawn, added := ids[120:150], ids[150:160]

	// Day 0: the report to 150 organisations, the last 50 under
	// investigation, with the promise of an update and words for the
	// data subjects.
	t0 := time.Now()
	var aff []string
	for i, id := range first {
		status := ""
		if slices.Contains(investigated, id) {
			status = `,"status":"AFFECTED_STATUS_UNDER_INVESTIGATION"`
		}
		aff = append(aff, fmt.Sprintf(`{"org_id":%q,"approx_subjects":%d%s}`, id, 1000+i, status))
	}
	e.publish([]byte(fmt.Sprintf(`{"id":"MD-2025-08","processor":"Miljödata AB","title":"Intrång i Adato","nature":"copied database",
"discovered_at":"2025-08-23T14:00:00Z","affected":[%s],"contact":{"name":"Incidentlinjen","email":"sec@exempel.example.org","phone":"+46 8 000 00 00"},
"next_update_by":%q,"subject_notice":%s}`, strings.Join(aff, ","), t0.Add(5*time.Second).UTC().Format(time.RFC3339Nano), subjectNoticeJSON)))
	e.waitSummary("MD-2025-08", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 150 })
	if n := getNotice(t, e.noticeC, "MD-2025-08/"+investigated[0]); n.GetAffectedStatus() != cascadev1.AffectedStatus_AFFECTED_STATUS_UNDER_INVESTIGATION {
		t.Errorf("an organisation under investigation: %v", n.GetAffectedStatus())
	}
	t.Logf("report: 150 notices delivered %.1f s after publishing", time.Since(t0).Seconds())

	// The promise kept: counts corrected for 40 in time, with a new promise.
	var corr []*cascadev1.AffectedOrganisation
	for i, id := range corrected {
		corr = append(corr, &cascadev1.AffectedOrganisation{OrgId: id, ApproxSubjects: int64(5000 + i), ApproxRecords: int64(20000 + i)})
	}
	if _, err := e.breachC.UpdateBreach(ctx(t), &cascadev1.UpdateBreachRequest{Update: &cascadev1.BreachUpdate{BreachId: "MD-2025-08",
		Summary: "Analysis of the copied data: corrected numbers", CorrectAffected: corr, NextUpdateBy: timestamppb.New(time.Now().Add(3 * time.Second))}}); err != nil {
		t.Fatal(err)
	}
	b := revisionDone(t, e, "MD-2025-08", 1)
	if p := b.GetNextUpdate(); p.GetKept() != 1 || p.GetMissed() != 0 || b.GetRevisions()[0].GetCorrected() != 40 {
		t.Fatalf("after the correction: promise %v, revision %v", p, b.GetRevisions()[0])
	}
	for i, id := range corrected {
		n := getNotice(t, e.noticeC, "MD-2025-08/"+id)
		d, err := e.noticeC.DraftAuthorityReport(ctx(t), &cascadev1.DraftAuthorityReportRequest{NoticeId: n.GetId(), Language: "sv"})
		if err != nil {
			t.Fatal(err)
		}
		var draft struct {
			ApproxSubjects int64 `json:"approx_subjects"`
		}
		if err := json.Unmarshal([]byte(d.GetJson()), &draft); err != nil || n.GetApproxSubjects() != int64(5000+i) || draft.ApproxSubjects != int64(5000+i) {
			t.Fatalf("%s: notice %d, draft %d (%v), want %d", id, n.GetApproxSubjects(), draft.ApproxSubjects, err, 5000+i)
		}
	}
	if evs, _ := orgMessages(t, e.js, "CASCADE_NOTICES", "cascade.notice."+ids[60]); slices.Contains(evs, "revision") {
		t.Errorf("an organisation not corrected got the correction: %v", evs)
	}

	// The promise missed: the processor is told once.
	testkit.Eventually(t, 20*time.Second, func() error {
		if len(vendorEvents(t, e.js, "MD-2025-08", "update_overdue")) == 0 {
			return fmt.Errorf("no overdue event for the promise yet")
		}
		return nil
	})
	if n := len(vendorEvents(t, e.js, "MD-2025-08", "update_overdue")); n != 1 {
		t.Errorf("%d overdue events for one missed promise", n)
	}

	// The late update: 30 found not affected, 10 more affected.
	var wd []*cascadev1.WithdrawOrganisation
	for _, id := range withdrawn {
		wd = append(wd, &cascadev1.WithdrawOrganisation{OrgId: id, Statement: "Inga av era uppgifter fanns i den kopierade databasen."})
	}
	var add []*cascadev1.AffectedOrganisation
	for _, id := range added {
		add = append(add, &cascadev1.AffectedOrganisation{OrgId: id, ApproxSubjects: 300})
	}
	tw := time.Now()
	if _, err := e.breachC.UpdateBreach(ctx(t), &cascadev1.UpdateBreachRequest{Update: &cascadev1.BreachUpdate{BreachId: "MD-2025-08",
		Summary: "30 organisations not affected; 10 more affected", Withdraw: wd, AddAffected: add}}); err != nil {
		t.Fatal(err)
	}
	sum := e.waitSummary("MD-2025-08", 20*time.Second, func(s *cascadev1.BreachSummary) bool {
		return s.GetTotal() == 160 && s.GetWithdrawn() == 30 && s.GetDelivered() == 130
	})
	if sum.GetPromisesMissed() != 1 || sum.GetNextUpdateBy() != nil {
		t.Errorf("the processor's record after the late update: %v", sum)
	}
	t.Logf("withdrawal of 30 and addition of 10 recorded %.1f s after publishing", time.Since(tw).Seconds())

	// Every clock runs out: 130 overdue, the 30 withdrawn never.
	sum = e.waitSummary("MD-2025-08", 60*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetOverdue() == 130 })
	if sum.GetWithdrawn() != 30 || sum.GetTotal() != 160 {
		t.Errorf("final summary %v", sum)
	}
	testkit.Eventually(t, 30*time.Second, func() error {
		if getNotice(t, e.noticeC, "MD-2025-08/"+ids[0]).GetOverdueNotifiedAt() == nil {
			return fmt.Errorf("the overdue escalation has not gone out yet")
		}
		return nil
	})
	for _, id := range withdrawn {
		n := getNotice(t, e.noticeC, "MD-2025-08/"+id)
		evs, _ := orgMessages(t, e.js, "CASCADE_NOTICES", "cascade.notice."+id)
		i := slices.Index(evs, "withdrawal")
		if n.GetState() != cascadev1.NoticeState_NOTICE_STATE_WITHDRAWN || n.GetOverdue() || n.GetOverdueNotifiedAt() != nil ||
			i < 0 || slices.ContainsFunc(evs[i+1:], func(ev string) bool { return ev != "answer" }) {
			t.Errorf("%s: %v overdue=%v, messages %v", id, n.GetState(), n.GetOverdue(), evs)
		}
	}
	for _, id := range added {
		if n := getNotice(t, e.noticeC, "MD-2025-08/"+id); n.GetDeadline() == nil || !n.GetDeadline().AsTime().After(tw) {
			t.Errorf("%s added late has deadline %v", id, n.GetDeadline())
		}
	}

	// Words for the data subjects, in Swedish, for one organisation.
	sd, err := e.noticeC.DraftSubjectCommunication(ctx(t), &cascadev1.DraftSubjectCommunicationRequest{NoticeId: "MD-2025-08/" + ids[0], Language: "sv"})
	if err != nil {
		t.Fatal(err)
	}
	name := getNotice(t, e.noticeC, "MD-2025-08/"+ids[0]).GetOrgName()
	if !strings.Contains(sd.GetMarkdown(), "Någon kom åt lönesystemet") || !strings.Contains(sd.GetMarkdown(), name) || len([]rune(sd.GetSms())) > 160 {
		t.Errorf("Swedish subject draft: %s / %s", sd.GetMarkdown(), sd.GetSms())
	}

	// The public page: none before publishing; no organisation on it after.
	base := "http://" + e.d.HTTPAddr() + "/advisories/MD-2025-08"
	if code, _, _ := httpGet(t, base); code != 404 {
		t.Errorf("advisory before publishing: %d", code)
	}
	if _, err := e.breachC.PublishAdvisory(ctx(t), &cascadev1.PublishAdvisoryRequest{BreachId: "MD-2025-08"}); err != nil {
		t.Fatal(err)
	}
	code, page, _ := httpGet(t, base)
	if code != 200 || !strings.Contains(page, "Någon kom åt lönesystemet") {
		t.Fatalf("advisory: %d %.300s", code, page)
	}
	for _, id := range ids {
		if strings.Contains(page, id) {
			t.Errorf("the public advisory names %s", id)
		}
	}
	t.Logf("timeline: 160 organisations (150 + 10), 40 corrected, 30 withdrawn, 130 overdue; promises kept 1, missed 1; %.1f s in all",
		time.Since(t0).Seconds())
}

// TestControllerSeesOnlyItsOwnCorrections: a controller's view of a
// breach names no other organisation corrected or withdrawn, nor how many.
func TestControllerSeesOnlyItsOwnCorrections(t *testing.T) {
	q := startQA(t, nil)
	q.publish(report("QA-CORR", "org-a", "org-b", "org-c"))
	q.waitSummary("QA-CORR", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 3 })
	if _, err := q.breachC.UpdateBreach(ctx(t), &cascadev1.UpdateBreachRequest{Update: &cascadev1.BreachUpdate{BreachId: "QA-CORR",
		Summary:         "Numbers corrected; one organisation not affected",
		CorrectAffected: []*cascadev1.AffectedOrganisation{{OrgId: "org-a", ApproxSubjects: 10}, {OrgId: "org-b", ApproxSubjects: 20}},
		Withdraw:        []*cascadev1.WithdrawOrganisation{{OrgId: "org-c", Statement: "Gamma's tenant was not read."}}}}); err != nil {
		t.Fatal(err)
	}
	q.waitSummary("QA-CORR", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetWithdrawn() == 1 })
	b, err := cascadev1.NewBreachServiceClient(grpcConn(t, q.d.GRPCAddr())).GetBreach(withToken(ctx(t), q.ctrlA), &cascadev1.GetBreachRequest{BreachId: "QA-CORR"})
	if err != nil {
		t.Fatal(err)
	}
	rs := b.GetBreach().GetRevisions()
	if len(rs) != 1 {
		t.Fatalf("revisions %v", rs)
	}
	u := rs[0].GetUpdate()
	if len(u.GetCorrectAffected()) != 1 || u.GetCorrectAffected()[0].GetOrgId() != "org-a" || len(u.GetWithdraw()) != 0 ||
		rs[0].GetCorrected() != 0 || rs[0].GetWithdrawn() != 0 {
		t.Errorf("org-a's view of the revision: %v", rs[0])
	}
	raw, _ := json.Marshal(b.GetBreach())
	for _, other := range []string{"org-b", "org-c", "Gamma"} {
		if strings.Contains(string(raw), other) {
			t.Errorf("org-a's view of the breach names %s", other)
		}
	}
}
