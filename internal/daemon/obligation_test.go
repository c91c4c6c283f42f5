package daemon_test

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/store"
	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func publishUpdate(t *testing.T, e *env, body string) uint64 {
	t.Helper()
	ack, err := e.js.PublishMsg(ctx(t), &nats.Msg{Subject: "cascade.breach.update", Data: []byte(body)})
	if err != nil {
		t.Fatal(err)
	}
	return ack.Sequence
}

func TestUpdateBecomesRevision(t *testing.T) {
	e := start(t, options(t))
	e.publish(report("REV-1", "se-kommun-0180", "se-kommun-1480"))
	e.waitSummary("REV-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 2 })
	if _, err := e.noticeC.AcknowledgeNotice(ctx(t), &cascadev1.AcknowledgeNoticeRequest{NoticeId: "REV-1/se-kommun-0180", AcknowledgedBy: "dpo"}); err != nil {
		t.Fatal(err)
	}
	before := getNotice(t, e.noticeC, "REV-1/se-kommun-1480")
	update := `{"breach_id":"REV-1","summary":"The copied files also hold sick-leave records.","data_categories":["name","sick leave"],
		"add_affected":[{"org_id":"se-kommun-1280","approx_subjects":900},{"org_id":"se-kommun-9999"}]}`
	publishUpdate(t, e, update)
	testkit.Eventually(t, 20*time.Second, func() error {
		b, err := e.breachC.GetBreach(ctx(t), &cascadev1.GetBreachRequest{BreachId: "REV-1"})
		if err != nil {
			return err
		}
		if rs := b.GetBreach().GetRevisions(); len(rs) != 1 || !rs[0].GetFanoutComplete() {
			return fmt.Errorf("revisions = %v", rs)
		}
		return nil
	})
	b, _ := e.breachC.GetBreach(ctx(t), &cascadev1.GetBreachRequest{BreachId: "REV-1"})
	rev := b.GetBreach().GetRevisions()[0]
	if b.GetBreach().GetLatestRevision() != 2 || rev.GetAdded() != 1 || !slices.Equal(rev.GetUnknownOrgIds(), []string{"se-kommun-9999"}) {
		t.Fatalf("breach after update = %v", b.GetBreach())
	}
	// Old notices got revision 2 with their clock unchanged; the acknowledgement of revision 1 does not cover it.
	for _, id := range []string{"REV-1/se-kommun-0180", "REV-1/se-kommun-1480"} {
		n := getNotice(t, e.noticeC, id)
		if n.GetRevisionDelivered() != 2 {
			t.Fatalf("%s revision_delivered = %d", id, n.GetRevisionDelivered())
		}
	}
	acked := getNotice(t, e.noticeC, "REV-1/se-kommun-0180")
	if acked.GetRevisionAcknowledged() != 1 || acked.GetState() != cascadev1.NoticeState_NOTICE_STATE_ACKNOWLEDGED {
		t.Fatalf("acknowledged notice = %v", acked)
	}
	if after := getNotice(t, e.noticeC, "REV-1/se-kommun-1480"); !after.GetDeadline().AsTime().Equal(before.GetDeadline().AsTime()) {
		t.Fatal("a revision moved the deadline")
	}
	// The newly affected organisation has its own notice and its own clock.
	added := getNotice(t, e.noticeC, "REV-1/se-kommun-1280")
	if added.GetRevisionDelivered() != 2 || !added.GetDeliveredAt().AsTime().After(before.GetDeliveredAt().AsTime()) ||
		added.GetDeadline().AsTime().Sub(added.GetDeliveredAt().AsTime()) != 72*time.Hour || added.GetApproxSubjects() != 900 {
		t.Fatalf("added notice = %v", added)
	}
	evs, bodies := orgMessages(t, e.js, "CASCADE_NOTICES", "cascade.notice.se-kommun-1480")
	if !slices.Equal(evs, []string{"notice", "revision"}) || bodies[1]["revision_summary"] != "The copied files also hold sick-leave records." {
		t.Fatalf("messages to se-kommun-1480 = %v %v", evs, bodies)
	}
	if evs, bodies := orgMessages(t, e.js, "CASCADE_NOTICES", "cascade.notice.se-kommun-1280"); !slices.Equal(evs, []string{"notice"}) || bodies[0]["revision"] != float64(2) {
		t.Fatalf("messages to the added organisation = %v", evs)
	}
	s := e.waitSummary("REV-1", 10*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetTotal() == 3 && s.GetDelivered() == 3 })
	if s.GetLatestRevision() != 2 || s.GetAcknowledgedLatest() != 0 || s.GetAcknowledged() != 1 {
		t.Fatalf("summary = %v", s)
	}
	// Acknowledging revision 2 counts for the latest revision.
	r, err := e.noticeC.AcknowledgeNotice(ctx(t), &cascadev1.AcknowledgeNoticeRequest{NoticeId: "REV-1/se-kommun-0180", AcknowledgedBy: "dpo", Revision: 2})
	if err != nil || r.GetNotice().GetRevisionAcknowledged() != 2 {
		t.Fatalf("ack revision 2 = %v, %v", r, err)
	}
	e.waitSummary("REV-1", 10*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetAcknowledgedLatest() == 1 })
	_, err = e.noticeC.AcknowledgeNotice(ctx(t), &cascadev1.AcknowledgeNoticeRequest{NoticeId: "REV-1/se-kommun-0180", AcknowledgedBy: "dpo", Revision: 3})
	wantCode(t, err, "FailedPrecondition")

	// The same update again is idempotent; an update of an unknown breach is rejected.
	publishUpdate(t, e, update)
	seq := publishUpdate(t, e, `{"breach_id":"NOPE","summary":"x"}`)
	waitRejection(t, e, seq, "unknown_breach", "breach_id")
	natsPending(t, e)
	if b, _ := e.breachC.GetBreach(ctx(t), &cascadev1.GetBreachRequest{BreachId: "REV-1"}); b.GetBreach().GetLatestRevision() != 2 {
		t.Fatalf("re-published update made revision %d", b.GetBreach().GetLatestRevision())
	}
	seq = publishUpdate(t, e, `{"breach_id":"REV-1"}`)
	waitRejection(t, e, seq, "invalid", "summary")
	// Over gRPC too.
	u, err := e.breachC.UpdateBreach(ctx(t), &cascadev1.UpdateBreachRequest{Update: &cascadev1.BreachUpdate{BreachId: "REV-1", Summary: "Measures updated.", MeasuresTaken: "All passwords reset."}})
	if err != nil || u.GetRevision() != 3 || u.GetAlreadyApplied() {
		t.Fatalf("UpdateBreach = %v, %v", u, err)
	}
	_, err = e.breachC.UpdateBreach(ctx(t), &cascadev1.UpdateBreachRequest{Update: &cascadev1.BreachUpdate{BreachId: "NOPE", Summary: "x"}})
	wantCode(t, err, "NotFound")
}

// pendingNotice writes a recorded-but-undelivered notice straight into the
// ledger, as a fan-out interrupted between its two steps leaves it.
func pendingNotice(t *testing.T, e *env, b, org string) {
	t.Helper()
	data, err := store.EncodeChange(breach.Change{Event: breach.EventCreated, At: time.Now(), Actor: "cascade", Notice: breach.Notice{
		ID: breach.NewNoticeID(breach.BreachID(b), breach.OrgID(org)), State: breach.StatePending, CreatedAt: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.js.Publish(ctx(t), "cascade.ledger.notice."+b+"."+org, data); err != nil {
		t.Fatal(err)
	}
}

func TestOutcomesAndHistory(t *testing.T) {
	opts := options(t)
	opts.Deadline = 2 * time.Second
	opts.Remind = []time.Duration{}
	opts.Redeliver = []time.Duration{}
	e := start(t, opts)
	e.publish(report("OUT-1", "se-kommun-0180", "se-kommun-1480", "se-kommun-1280", "se-kommun-0380"))
	e.waitSummary("OUT-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 4 })
	n := getNotice(t, e.noticeC, "OUT-1/se-kommun-0180")
	onTime := timestamppb.New(n.GetDeliveredAt().AsTime().Add(500 * time.Millisecond))
	report := func(id, ref string, at *timestamppb.Timestamp, reason string) (*cascadev1.RecordAuthorityReportResponse, error) {
		return e.noticeC.RecordAuthorityReport(ctx(t), &cascadev1.RecordAuthorityReportRequest{NoticeId: id, Authority: "IMY",
			Reference: ref, ReportedAt: at, DelayReason: reason, RecordedBy: "dpo@stockholm"})
	}
	r, err := report("OUT-1/se-kommun-0180", "IMY-2025-1", onTime, "")
	if err != nil {
		t.Fatal(err)
	}
	o := r.GetNotice().GetOutcome()
	if r.GetNotice().GetState() != cascadev1.NoticeState_NOTICE_STATE_RESOLVED || o.GetLate() || o.GetReference() != "IMY-2025-1" ||
		r.GetNotice().GetAcknowledgedAt() == nil {
		t.Fatalf("reported notice = %v", r.GetNotice())
	}
	// Same again: unchanged. Another reference, or another outcome: FailedPrecondition.
	if again, err := report("OUT-1/se-kommun-0180", "IMY-2025-1", onTime, ""); err != nil || !again.GetNotice().GetResolvedAt().AsTime().Equal(r.GetNotice().GetResolvedAt().AsTime()) {
		t.Fatalf("repeat = %v, %v", again, err)
	}
	_, err = report("OUT-1/se-kommun-0180", "IMY-2025-2", onTime, "")
	wantCode(t, err, "FailedPrecondition")
	_, err = e.noticeC.RecordNotReportable(ctx(t), &cascadev1.RecordNotReportableRequest{NoticeId: "OUT-1/se-kommun-0180", Justification: "x", RecordedBy: "dpo"})
	wantCode(t, err, "FailedPrecondition")

	// Late: a reason for the delay is required.
	testkit.Eventually(t, 10*time.Second, func() error { // the report time may not be in the future
		if time.Now().Before(n.GetDeadline().AsTime()) {
			return fmt.Errorf("deadline not passed")
		}
		return nil
	})
	late := timestamppb.New(time.Now())
	_, err = report("OUT-1/se-kommun-1480", "IMY-2025-3", late, "")
	wantViolations(t, err, "delay_reason")
	r, err = report("OUT-1/se-kommun-1480", "IMY-2025-3", late, "the processor's notice reached the wrong mailbox")
	if err != nil || !r.GetNotice().GetOutcome().GetLate() {
		t.Fatalf("late report = %v, %v", r, err)
	}
	// Not reportable needs a justification.
	_, err = e.noticeC.RecordNotReportable(ctx(t), &cascadev1.RecordNotReportableRequest{NoticeId: "OUT-1/se-kommun-1280", RecordedBy: "dpo"})
	wantViolations(t, err, "justification")
	// Data subjects: exemption (c) requires a public communication.
	comm := func(id string, c *cascadev1.SubjectCommunication) error {
		_, err := e.noticeC.RecordSubjectCommunication(ctx(t), &cascadev1.RecordSubjectCommunicationRequest{NoticeId: id, Communication: c, RecordedBy: "dpo"})
		return err
	}
	wantViolations(t, comm("OUT-1/se-kommun-1280", &cascadev1.SubjectCommunication{Kind: cascadev1.SubjectCommunicationKind_SUBJECT_COMMUNICATION_KIND_EXEMPT,
		Exemption: cascadev1.Art34Exemption_ART34_EXEMPTION_C_DISPROPORTIONATE}), "public_communication")
	c := &cascadev1.SubjectCommunication{Kind: cascadev1.SubjectCommunicationKind_SUBJECT_COMMUNICATION_KIND_EXEMPT,
		Exemption: cascadev1.Art34Exemption_ART34_EXEMPTION_C_DISPROPORTIONATE, PublicCommunication: "notice on the municipality's website and in local press"}
	if err := comm("OUT-1/se-kommun-1280", c); err != nil {
		t.Fatal(err)
	}
	if err := comm("OUT-1/se-kommun-1280", c); err != nil {
		t.Fatalf("same decision again: %v", err)
	}
	wantCode(t, comm("OUT-1/se-kommun-1280", &cascadev1.SubjectCommunication{Kind: cascadev1.SubjectCommunicationKind_SUBJECT_COMMUNICATION_KIND_NOT_REQUIRED, Justification: "x"}), "FailedPrecondition")
	// An undelivered notice cannot be resolved or acknowledged.
	pendingNotice(t, e, "OUT-1", "se-kommun-0580")
	_, err = report("OUT-1/se-kommun-0580", "R", onTime, "")
	wantCode(t, err, "FailedPrecondition")
	_, err = e.noticeC.AcknowledgeNotice(ctx(t), &cascadev1.AcknowledgeNoticeRequest{NoticeId: "OUT-1/se-kommun-0580", AcknowledgedBy: "x"})
	wantCode(t, err, "FailedPrecondition")

	// History: append-only, with actors.
	h, err := e.noticeC.GetNoticeHistory(ctx(t), &cascadev1.GetNoticeHistoryRequest{NoticeId: "OUT-1/se-kommun-0180"})
	if err != nil {
		t.Fatal(err)
	}
	var evs []string
	for _, ev := range h.GetEvents() {
		evs = append(evs, ev.GetEvent()+"/"+ev.GetActor())
	}
	if want := []string{"created/cascade", "delivered/cascade", "outcome_recorded/dpo@stockholm"}; !slices.Equal(evs, want) {
		t.Fatalf("history = %v, want %v", evs, want)
	}
	_, err = e.noticeC.GetNoticeHistory(ctx(t), &cascadev1.GetNoticeHistoryRequest{NoticeId: "OUT-1/se-kommun-9999"})
	wantCode(t, err, "NotFound")

	// Evidence export: both formats, digests that check out.
	x, err := e.noticeC.ExportEvidence(ctx(t), &cascadev1.ExportEvidenceRequest{BreachId: "OUT-1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		data []byte
		sum  string
	}{{x.GetJson(), x.GetJsonSha256()}, {x.GetCsv(), x.GetCsvSha256()}} {
		h := sha256.Sum256(f.data)
		if hex.EncodeToString(h[:]) != f.sum {
			t.Fatal("export digest does not match its bytes")
		}
	}
	var doc struct {
		Notices []struct {
			History []json.RawMessage `json:"history"`
		} `json:"notices"`
	}
	if err := json.Unmarshal(x.GetJson(), &doc); err != nil || len(doc.Notices) != 4 {
		t.Fatalf("export JSON: %d notices, %v", len(doc.Notices), err)
	}
	rows, err := csv.NewReader(strings.NewReader(string(x.GetCsv()))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var events int
	for _, n := range doc.Notices {
		events += len(n.History)
	}
	if len(rows) != events+1 {
		t.Fatalf("CSV has %d rows for %d events", len(rows), events)
	}
	byOrg, err := e.noticeC.ExportEvidence(ctx(t), &cascadev1.ExportEvidenceRequest{OrgId: "se-kommun-0180"})
	if err != nil || !strings.Contains(string(byOrg.GetJson()), "IMY-2025-1") {
		t.Fatalf("export by organisation: %v", err)
	}
	_, err = e.noticeC.ExportEvidence(ctx(t), &cascadev1.ExportEvidenceRequest{})
	wantCode(t, err, "InvalidArgument")
}

func TestDraftAuthorityReport(t *testing.T) {
	e := start(t, options(t))
	e.publish(readFile(t, "../../deploy/examples/breach.json"))
	e.waitSummary("EXAMPLE-2025-08-23", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 12 })
	for _, c := range []struct{ lang, want string }{
		{"sv", "Integritetsskyddsmyndigheten"}, {"", "personuppgiftsincident"}, {"en", "supervisory authority"},
	} {
		r, err := e.noticeC.DraftAuthorityReport(ctx(t), &cascadev1.DraftAuthorityReportRequest{NoticeId: "EXAMPLE-2025-08-23/se-kommun-0180", Language: c.lang})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(r.GetMarkdown(), c.want) || !strings.Contains(r.GetMarkdown(), "Stockholm") || !json.Valid([]byte(r.GetJson())) {
			t.Fatalf("draft (%q) lacks %q or is malformed:\n%s", c.lang, c.want, r.GetMarkdown())
		}
	}
	_, err := e.noticeC.DraftAuthorityReport(ctx(t), &cascadev1.DraftAuthorityReportRequest{NoticeId: "EXAMPLE-2025-08-23/se-kommun-0180", Language: "de"})
	wantCode(t, err, "InvalidArgument")
	_, err = e.noticeC.DraftAuthorityReport(ctx(t), &cascadev1.DraftAuthorityReportRequest{NoticeId: "EXAMPLE-2025-08-23/se-kommun-9999"})
	wantCode(t, err, "NotFound")
}
