package daemon_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/natstest"
	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

const (
	obGDPR = cascadev1.ObligationKind_OBLIGATION_KIND_GDPR_ART33
	obEW   = cascadev1.ObligationKind_OBLIGATION_KIND_NIS2_EARLY_WARNING
	obIN   = cascadev1.ObligationKind_OBLIGATION_KIND_NIS2_INCIDENT_NOTIFICATION
	obFR   = cascadev1.ObligationKind_OBLIGATION_KIND_NIS2_FINAL_REPORT
)

// obligationOf is n's obligation of kind k, or nil.
func obligationOf(n *cascadev1.Notice, k cascadev1.ObligationKind) *cascadev1.Obligation {
	for _, o := range n.GetObligations() {
		if o.GetKind() == k {
			return o
		}
	}
	return nil
}

// obligationSummaryOf is s's summary of obligation k, or nil.
func obligationSummaryOf(s *cascadev1.BreachSummary, k cascadev1.ObligationKind) *cascadev1.ObligationSummary {
	for _, o := range s.GetObligations() {
		if o.GetKind() == k {
			return o
		}
	}
	return nil
}

// TestObligationsClocksFireIndependently: one breach, two organisations
// of the example registry: Östersund (se-kommun-2380) is under NIS2, so
// its notice carries GDPR's obligation and NIS2's three; Stockholm
// (se-kommun-0180) GDPR's alone, exactly as before. With short clocks the
// early warning's reminders and escalation fire while GDPR's have not;
// GDPR's follow on their own clock. Each obligation is resolved on its
// own, the notice is RESOLVED only once all are, and the summary counts
// each obligation.
func TestObligationsClocksFireIndependently(t *testing.T) {
	opts := options(t)
	opts.Deadline = 8 * time.Second
	opts.Remind = []time.Duration{6 * time.Second, 4 * time.Second} // GDPR: at +2s and +4s; overdue at +8s
	opts.Redeliver = []time.Duration{}
	opts.HTTPAddr = "127.0.0.1:0" // /metrics
	opts.NIS2 = breach.NIS2Clocks{
		EarlyWarning:         breach.Period{Duration: 2 * time.Second}, // thresholds scaled: 1.5s, 1s; overdue at +2s
		IncidentNotification: breach.Period{Duration: 8 * time.Second}, // as GDPR's
		FinalReport:          breach.Period{Duration: time.Hour},
	}
	e := start(t, opts)
	const nis2, gdpr = "OBL-1/se-kommun-2380", "OBL-1/se-kommun-0180"
	e.publish(report("OBL-1", "se-kommun-2380", "se-kommun-0180"))
	e.waitSummary("OBL-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 2 })

	// The NIS2 notice lists its four obligations, GDPR's first, with
	// their own deadlines.
	n := getNotice(t, e.noticeC, nis2)
	var kinds []cascadev1.ObligationKind
	for _, o := range n.GetObligations() {
		kinds = append(kinds, o.GetKind())
	}
	if want := []cascadev1.ObligationKind{obGDPR, obEW, obIN, obFR}; !slices.Equal(kinds, want) {
		t.Fatalf("obligations of %s = %v, want %v", nis2, kinds, want)
	}
	delivered := n.GetDeliveredAt().AsTime()
	for k, want := range map[cascadev1.ObligationKind]time.Time{
		obGDPR: delivered.Add(8 * time.Second), obEW: delivered.Add(2 * time.Second), obIN: delivered.Add(8 * time.Second),
		obFR: delivered.Add(8*time.Second + time.Hour), // until the incident notification is reported: after its deadline
	} {
		if got := obligationOf(n, k).GetDeadline().AsTime(); !got.Equal(want) {
			t.Errorf("%v deadline = %v, want %v", k, got, want)
		}
	}
	if !obligationOf(n, obGDPR).GetDeadline().AsTime().Equal(n.GetDeadline().AsTime()) {
		t.Errorf("the GDPR obligation's deadline %v is not the notice's %v", obligationOf(n, obGDPR).GetDeadline(), n.GetDeadline())
	}
	// The GDPR-only notice carries GDPR's obligation alone.
	if g := getNotice(t, e.noticeC, gdpr); len(g.GetObligations()) != 1 || g.GetObligations()[0].GetKind() != obGDPR {
		t.Fatalf("obligations of %s = %v", gdpr, g.GetObligations())
	}

	// The early warning's escalation fires while GDPR's clock still runs.
	testkit.Eventually(t, 20*time.Second, func() error {
		n = getNotice(t, e.noticeC, nis2)
		if obligationOf(n, obEW).GetOverdueNotifiedAt() == nil {
			return fmt.Errorf("early warning not escalated yet: %v", obligationOf(n, obEW))
		}
		return nil
	})
	ew := obligationOf(n, obEW)
	if rs := ew.GetReminders(); len(rs) != 2 || rs[0].GetRemaining().AsDuration() != 1500*time.Millisecond || rs[1].GetRemaining().AsDuration() != time.Second {
		t.Fatalf("early-warning reminders = %v", rs)
	}
	if !ew.GetOverdue() || ew.GetOverdueNotifiedAt().AsTime().Before(ew.GetDeadline().AsTime()) {
		t.Fatalf("early warning overdue %v, escalated %v (deadline %v)", ew.GetOverdue(), ew.GetOverdueNotifiedAt().AsTime(), ew.GetDeadline().AsTime())
	}
	if n.GetOverdueNotifiedAt() != nil || n.GetOverdue() || obligationOf(n, obGDPR).GetOverdue() || obligationOf(n, obIN).GetOverdueNotifiedAt() != nil {
		t.Fatalf("GDPR or the incident notification escalated with the early warning: %v", n)
	}
	s := e.waitSummary("OBL-1", 10*time.Second, func(s *cascadev1.BreachSummary) bool {
		return obligationSummaryOf(s, obEW).GetOverdue() == 1
	})
	if g := obligationSummaryOf(s, obGDPR); g.GetOpen() != 2 || g.GetOverdue() != 0 || s.GetOverdue() != 0 {
		t.Fatalf("summary while only the early warning is overdue: %v", s)
	}
	// What an operator alerts on (CascadeNIS2ReportOverdue).
	testkit.Eventually(t, 10*time.Second, func() error {
		fams := scrape(t, e.d.HTTPAddr())
		ew, _ := value(fams, "cascade_obligations_overdue", "obligation", "nis2_early_warning")
		gdpr, ok := value(fams, "cascade_obligations_overdue", "obligation", "gdpr_art33")
		if ew != 1 || gdpr != 0 || !ok {
			return fmt.Errorf("cascade_obligations_overdue: early warning %v, gdpr %v (%v)", ew, gdpr, ok)
		}
		return nil
	})

	// Reported late without a reason: refused, naming the reason needed.
	_, err := e.noticeC.RecordAuthorityReport(ctx(t), &cascadev1.RecordAuthorityReportRequest{NoticeId: nis2, Obligation: obEW,
		Authority: "CERT-SE", Reference: "CERT-SE-2026-0042", ReportedAt: timestamppb.Now(), RecordedBy: "ciso"})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "delay_reason") {
		t.Fatalf("late early warning without a reason: %v", err)
	}
	r, err := e.noticeC.RecordAuthorityReport(ctx(t), &cascadev1.RecordAuthorityReportRequest{NoticeId: nis2, Obligation: obEW,
		Authority: "CERT-SE", Reference: "CERT-SE-2026-0042", ReportedAt: timestamppb.Now(), DelayReason: "the on-call officer was reached late",
		RecordedBy: "ciso"})
	if err != nil {
		t.Fatal(err)
	}
	if o := obligationOf(r.GetNotice(), obEW).GetOutcome(); o.GetAuthority() != "CERT-SE" || !o.GetLate() || r.GetNotice().GetState() == cascadev1.NoticeState_NOTICE_STATE_RESOLVED {
		t.Fatalf("after the early warning: outcome %v, state %v", o, r.GetNotice().GetState())
	}
	// A NIS2 outcome on the GDPR-only notice is refused, clearly.
	_, err = e.noticeC.RecordNotReportable(ctx(t), &cascadev1.RecordNotReportableRequest{NoticeId: gdpr, Obligation: obEW,
		Justification: "not a significant incident", RecordedBy: "dpo"})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "carries no nis2_early_warning obligation") {
		t.Fatalf("NIS2 outcome on a GDPR-only notice: %v", err)
	}

	// GDPR's own clock: both notices are escalated at its deadline, the
	// incident notification with it (same clock), the early warning (resolved) never again.
	testkit.Eventually(t, 20*time.Second, func() error {
		for _, id := range []string{nis2, gdpr} {
			if getNotice(t, e.noticeC, id).GetOverdueNotifiedAt() == nil {
				return fmt.Errorf("%s: GDPR not escalated yet", id)
			}
		}
		if obligationOf(getNotice(t, e.noticeC, nis2), obIN).GetOverdueNotifiedAt() == nil {
			return fmt.Errorf("incident notification not escalated yet")
		}
		return nil
	})
	n = getNotice(t, e.noticeC, nis2)
	if len(n.GetReminders()) != 2 || len(obligationOf(n, obIN).GetReminders()) != 2 || len(obligationOf(n, obFR).GetReminders()) != 0 {
		t.Fatalf("reminders: GDPR %v, incident notification %v, final report %v", n.GetReminders(), obligationOf(n, obIN).GetReminders(),
			obligationOf(n, obFR).GetReminders())
	}

	// What each organisation was sent: the GDPR-only one exactly today's
	// messages; the NIS2 one besides those, its obligations' own, naming them.
	evs, _ := orgMessages(t, e.js, "CASCADE_NOTICES", "cascade.notice.se-kommun-0180")
	if want := []string{"notice", "reminder", "reminder", "overdue"}; !slices.Equal(evs, want) {
		t.Fatalf("messages to se-kommun-0180 = %v, want %v", evs, want)
	}
	evs, bodies := orgMessages(t, e.js, "CASCADE_NOTICES", "cascade.notice.se-kommun-2380")
	count := map[string]int{}
	for i, ev := range evs {
		ob, _ := bodies[i]["obligation"].(string)
		count[ev+"/"+ob]++
	}
	want := map[string]int{"notice/": 1, "reminder/": 2, "overdue/": 1, "reminder/nis2_early_warning": 2, "overdue/nis2_early_warning": 1,
		"reminder/nis2_incident_notification": 2, "overdue/nis2_incident_notification": 1}
	if fmt.Sprint(count) != fmt.Sprint(want) {
		t.Fatalf("messages to se-kommun-2380 = %v, want %v", count, want)
	}
	// The vendor's rounds name the obligation.
	_, rounds := orgMessages(t, e.js, "CASCADE_EVENTS", "cascade.events.OBL-1.>")
	var ewRounds int
	for _, r := range rounds {
		if r["obligation"] == "nis2_early_warning" {
			ewRounds++
			if fmt.Sprint(r["org_ids"]) != "[se-kommun-2380]" {
				t.Fatalf("early-warning round %v", r)
			}
		}
	}
	if ewRounds != 3 {
		t.Fatalf("%d early-warning rounds to the vendor, want 3 (two reminders, the escalation): %v", ewRounds, rounds)
	}

	// Resolve the rest one by one: GDPR, the incident notification (which
	// moves the final report's deadline), the final report.
	late := "the incident was assessed late"
	if _, err := e.noticeC.RecordAuthorityReport(ctx(t), &cascadev1.RecordAuthorityReportRequest{NoticeId: nis2,
		Authority: "IMY", Reference: "IMY-2026-1", ReportedAt: timestamppb.Now(), DelayReason: late, RecordedBy: "dpo"}); err != nil {
		t.Fatal(err)
	}
	if st := getNotice(t, e.noticeC, nis2).GetState(); st == cascadev1.NoticeState_NOTICE_STATE_RESOLVED {
		t.Fatalf("RESOLVED with NIS2 obligations open")
	}
	inAt := time.Now().Truncate(time.Second)
	if _, err := e.noticeC.RecordAuthorityReport(ctx(t), &cascadev1.RecordAuthorityReportRequest{NoticeId: nis2, Obligation: obIN,
		Authority: "CERT-SE", Reference: "CERT-SE-2026-0042", ReportedAt: timestamppb.New(inAt), DelayReason: late, RecordedBy: "ciso"}); err != nil {
		t.Fatal(err)
	}
	n = getNotice(t, e.noticeC, nis2)
	if got := obligationOf(n, obFR).GetDeadline().AsTime(); !got.Equal(inAt.Add(time.Hour)) || n.GetState() == cascadev1.NoticeState_NOTICE_STATE_RESOLVED {
		t.Fatalf("final report deadline %v after the incident notification reported at %v (want one period after); state %v", got, inAt, n.GetState())
	}
	s = e.waitSummary("OBL-1", 10*time.Second, func(s *cascadev1.BreachSummary) bool {
		return obligationSummaryOf(s, obIN).GetResolved() == 1
	})
	if fr := obligationSummaryOf(s, obFR); fr.GetOpen() != 1 || fr.GetOverdue() != 0 || s.GetResolved() != 0 {
		t.Fatalf("summary with the final report open: %v", s)
	}
	if _, err := e.noticeC.RecordNotReportable(ctx(t), &cascadev1.RecordNotReportableRequest{NoticeId: nis2, Obligation: obFR,
		Justification: "the incident notification was final: the incident was closed", RecordedBy: "ciso"}); err != nil {
		t.Fatal(err)
	}
	n = getNotice(t, e.noticeC, nis2)
	if n.GetState() != cascadev1.NoticeState_NOTICE_STATE_RESOLVED {
		t.Fatalf("state %v with every obligation resolved", n.GetState())
	}
	// (The summary counts a notice overdue up to a second after its deadline.)
	s = e.waitSummary("OBL-1", 10*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetResolved() == 1 && s.GetOverdue() == 1 })
	for _, k := range []cascadev1.ObligationKind{obEW, obIN, obFR} {
		if o := obligationSummaryOf(s, k); o.GetResolved() != 1 || o.GetOpen() != 0 {
			t.Errorf("summary of %v = %v", k, o)
		}
	}
	if g := obligationSummaryOf(s, obGDPR); g.GetResolved() != 1 || g.GetOpen() != 1 || g.GetOverdue() != 1 || s.GetOverdue() != 1 {
		t.Errorf("GDPR summary = %v (overdue %d): want Stockholm open and overdue, Östersund resolved", g, s.GetOverdue())
	}
	// The history names each obligation's changes.
	h, err := e.noticeC.GetNoticeHistory(ctx(t), &cascadev1.GetNoticeHistoryRequest{NoticeId: nis2})
	if err != nil {
		t.Fatal(err)
	}
	var details []string
	for _, ev := range h.GetEvents() {
		details = append(details, ev.GetDetail())
	}
	for _, want := range []string{"nis2_early_warning: reminder: 1.5s left", "nis2_early_warning: overdue",
		"nis2_early_warning: reported to CERT-SE, reference CERT-SE-2026-0042", "nis2_final_report: documented as not applicable"} {
		if !slices.ContainsFunc(details, func(d string) bool { return strings.HasPrefix(d, want) }) {
			t.Errorf("history lacks %q: %q", want, details)
		}
	}
}

// TestNIS2EarlyWarningDraft: DraftAuthorityReport drafts the NIS2 early
// warning (to CERT-SE) for a notice that carries it, from the processor's
// facts, and refuses it for a GDPR-only notice.
func TestNIS2EarlyWarningDraft(t *testing.T) {
	e := start(t, options(t))
	e.publish([]byte(`{"id":"DRAFT-NIS2","processor":"Exempel HR-system AB","title":"Ransomware in the payroll service",
"nature":"An attacker encrypted the payroll database after a phishing e-mail.","discovered_at":"2025-08-23T14:00:00Z",
"affected":[{"org_id":"se-kommun-2380"},{"org_id":"se-kommun-0180"}],"contact":{"email":"sec@exempel.example.org"}}`))
	e.waitSummary("DRAFT-NIS2", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 2 })
	r, err := e.noticeC.DraftAuthorityReport(ctx(t), &cascadev1.DraftAuthorityReportRequest{NoticeId: "DRAFT-NIS2/se-kommun-2380",
		Language: "en", Obligation: obEW})
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Authority          string   `json:"authority"`
		Obligation         string   `json:"obligation"`
		SuspectedMalicious string   `json:"suspected_malicious"`
		FieldsToComplete   []string `json:"fields_to_complete"`
		Deadline           time.Time
	}
	if err := json.Unmarshal([]byte(r.GetJson()), &d); err != nil {
		t.Fatal(err)
	}
	if d.Authority != "CERT-SE" || d.Obligation != "nis2_early_warning" || d.SuspectedMalicious != "suspected" ||
		!slices.Contains(d.FieldsToComplete, "cross_border") || slices.Contains(d.FieldsToComplete, "suspected_malicious") {
		t.Fatalf("early-warning draft = %+v", d)
	}
	for _, want := range []string{"# Draft: NIS2 early warning", "CERT-SE", "ransomware", "cross-border"} {
		if !strings.Contains(r.GetMarkdown(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, r.GetMarkdown())
		}
	}
	_, err = e.noticeC.DraftAuthorityReport(ctx(t), &cascadev1.DraftAuthorityReportRequest{NoticeId: "DRAFT-NIS2/se-kommun-0180", Obligation: obEW})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("early-warning draft of a GDPR-only notice: %v", err)
	}
	_, err = e.noticeC.DraftAuthorityReport(ctx(t), &cascadev1.DraftAuthorityReportRequest{NoticeId: "DRAFT-NIS2/se-kommun-2380", Obligation: obFR})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("final-report draft: %v", err)
	}
}

// TestObligationTimersSurviveRestart: the early warning's reminder and
// escalation fall due while the daemon is down; the restarted daemon
// sends both, marked late, from the stored notice, and GDPR's clock is
// untouched.
func TestObligationTimersSurviveRestart(t *testing.T) {
	srv := natstest.Start(t)
	opts := daemon.Options{SecretFile: sharedSecret(t), InsecureNATSNoAuth: true, NATSURL: srv.ClientURL(), GRPCAddr: "127.0.0.1:0",
		InsecureNoAuth: true, Deadline: time.Hour, Remind: []time.Duration{30 * time.Minute}, Redeliver: []time.Duration{},
		LateAfter: 500 * time.Millisecond, OrgsFile: exampleOrgs, Log: testLogger(t),
		NIS2: breach.NIS2Clocks{EarlyWarning: breach.Period{Duration: 4 * time.Second}}} // reminder at +2s, escalation at +4s
	e := start(t, opts)
	e.publish(report("OBL-RST", "se-kommun-2380"))
	e.waitSummary("OBL-RST", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 1 })
	e.d.Stop()
	timers, err := e.js.Stream(ctx(t), "CASCADE_TIMERS")
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 20*time.Second, func() error { // the reminder's schedule fired, a while ago
		m, err := timers.GetLastMsgForSubject(ctx(t), "cascade.timer.fire.OBL-RST.0")
		if err != nil {
			return err
		}
		if time.Since(m.Time) < 4*time.Second {
			return fmt.Errorf("fired %s ago", time.Since(m.Time))
		}
		return nil
	})
	opts.OrgsFile = ""
	e2 := start(t, opts)
	var n *cascadev1.Notice
	testkit.Eventually(t, 20*time.Second, func() error {
		n = getNotice(t, e2.noticeC, "OBL-RST/se-kommun-2380")
		if obligationOf(n, obEW).GetOverdueNotifiedAt() == nil {
			return fmt.Errorf("early warning not escalated yet")
		}
		return nil
	})
	ew := obligationOf(n, obEW)
	if rs := ew.GetReminders(); len(rs) != 1 || !rs[0].GetLate() || rs[0].GetRemaining().AsDuration() != 2*time.Second {
		t.Fatalf("early-warning reminders after restart = %v; want the 2s one, late", rs)
	}
	if len(n.GetReminders()) != 0 || n.GetOverdueNotifiedAt() != nil {
		t.Fatalf("GDPR's clock moved: %v", n)
	}
	evs, bodies := orgMessages(t, e2.js, "CASCADE_NOTICES", "cascade.notice.se-kommun-2380")
	var got []string
	for i, ev := range evs {
		got = append(got, fmt.Sprint(ev, "/", bodies[i]["obligation"], "/", bodies[i]["late"]))
	}
	if want := []string{"notice/<nil>/<nil>", "reminder/nis2_early_warning/true", "overdue/nis2_early_warning/true"}; !slices.Equal(got, want) {
		t.Fatalf("messages = %v, want %v", got, want)
	}
}
