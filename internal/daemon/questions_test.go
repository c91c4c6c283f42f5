package daemon_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/cascadehq/cascade/internal/dispatch"
	"github.com/cascadehq/cascade/internal/email"
	"github.com/cascadehq/cascade/internal/natsauth"
	"github.com/cascadehq/cascade/internal/signing"
	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// qaEnv is a daemon with authentication on, three organisations (org-a
// with a webhook beside NATS), a breach that affects all three, and tokens
// for the vendor and the controllers of org-a and org-b.
type qaEnv struct {
	*env
	hook                 *hookServer
	relay                *smtpRelay
	vendor, ctrlA, ctrlB string
	keys                 signing.KeySet
}

func startQA(t *testing.T, tune func(*qaEnv)) *qaEnv {
	t.Helper()
	hook := newHookServer(t, func(int) int { return http.StatusOK })
	relay := startSMTP(t)
	dir := t.TempDir()
	orgs, pw := filepath.Join(dir, "orgs.csv"), filepath.Join(dir, "smtp-password")
	if err := os.WriteFile(orgs, []byte("id,name,webhook_url,dpo_email,locale\n"+
		"org-a,Alpha kommun,"+hook.URL+"/cascade,,sv\n"+
		"org-b,Beta kommun,,,sv\n"+
		"org-c,Gamma kommun,,dpo@gamma.example.org,en\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pw, []byte("relay-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := options(t)
	opts.OrgsFile = orgs
	opts.SMTP = email.Options{Addr: relay.Addr, From: "Cascade <cascade@vendor.example>", Username: "cascade", PasswordFile: pw, CAFile: relay.caFile}
	opts.InsecureNoAuth = false
	opts.WebhookAllowPrivate = true
	opts.DispatchBackoff = dispatch.Backoff{Initial: 50 * time.Millisecond, Max: 100 * time.Millisecond, GiveUp: 5 * time.Second, MinAttempts: 3}
	q := &qaEnv{hook: hook, relay: relay}
	q.env = &env{t: t, opts: opts}
	if tune != nil {
		tune(q)
	}
	q.env = start(t, q.env.opts)
	raw, err := os.ReadFile(filepath.Join(opts.DataDir, "vendor.token"))
	if err != nil {
		t.Fatal(err)
	}
	q.vendor = strings.TrimSpace(string(raw))
	cc := grpcConn(t, q.d.GRPCAddr())
	tokens := cascadev1.NewTokenServiceClient(cc)
	issue := func(org string) string {
		r, err := tokens.IssueToken(withToken(ctx(t), q.vendor), &cascadev1.IssueTokenRequest{OrgId: org, Role: cascadev1.Role_ROLE_CONTROLLER, Label: "DPO " + org})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetToken()
	}
	q.ctrlA, q.ctrlB = issue("org-a"), issue("org-b")
	if _, err := cascadev1.NewDeliveryServiceClient(cc).RotateWebhookSecret(withToken(ctx(t), q.vendor),
		&cascadev1.RotateWebhookSecretRequest{OrgId: "org-a"}); err != nil {
		t.Fatal(err)
	}
	ks, err := cascadev1.NewKeyServiceClient(cc).ListSigningKeys(withToken(ctx(t), q.vendor), &cascadev1.ListSigningKeysRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ks.GetKeys() {
		q.keys.Keys = append(q.keys.Keys, signing.PublicKey{ID: k.GetKeyId(), Algorithm: k.GetAlgorithm(), Public: k.GetPublicKey(),
			CreatedAt: k.GetCreatedAt().AsTime(), Active: k.GetActive()})
	}
	q.useToken(q.vendor)
	return q
}

// notices is the NoticeService client.
func (q *qaEnv) notices() cascadev1.NoticeServiceClient {
	return cascadev1.NewNoticeServiceClient(grpcConn(q.t, q.d.GRPCAddr()))
}

// sub subscribes to subject as the NATS user of seedFile.
func (q *qaEnv) sub(seedFile, subject string) *nats.Subscription {
	q.t.Helper()
	s, err := connectNC(q.t, q.d, seedFile).SubscribeSync(subject)
	if err != nil {
		q.t.Fatal(err)
	}
	return s
}

// next waits for the next message on s with Cascade-Event event.
func next(t *testing.T, s *nats.Subscription, event string) *nats.Msg {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		m, err := s.NextMsg(time.Until(deadline))
		if err != nil {
			break
		}
		if m.Header.Get("Cascade-Event") == event {
			return m
		}
	}
	t.Fatalf("no %s message on %s", event, s.Subject)
	return nil
}

// clock is what a question must never change of a notice.
func clock(n *cascadev1.Notice) string {
	return fmt.Sprintf("state=%v delivered=%v deadline=%v count=%d rev=%d reminders=%v overdue=%v overdue_at=%v",
		n.GetState(), n.GetDeliveredAt().AsTime(), n.GetDeadline().AsTime(), n.GetDeliveryCount(), n.GetRevisionDelivered(),
		n.GetReminders(), n.GetOverdue(), n.GetOverdueNotifiedAt().AsTime())
}

// TestQuestionsAndAnswers: a controller asks on its own notice, the vendor
// sees it on cascade.events.<breach>._question and answers, shared with
// all; the asking organisation gets the answer over NATS (signed,
// Cascade-Event: answer) and its webhook, every other affected
// organisation gets the shared answer without who asked, every notice's
// history and the evidence export hold the events, and no clock moved.
func TestQuestionsAndAnswers(t *testing.T) {
	q := startQA(t, nil)
	vendorEvents := q.sub(natsauth.VendorSeedFile, "cascade.events.QA-1.>")
	toA := q.sub(filepath.Join(natsauth.OrgsDir, "org-a.nk"), "cascade.notice.org-a")
	toB := q.sub(filepath.Join(natsauth.OrgsDir, "org-b.nk"), "cascade.notice.org-b")
	toC := q.sub(filepath.Join(natsauth.OrgsDir, "org-c.nk"), "cascade.notice.org-c")
	q.publish(report("QA-1", "org-a", "org-b", "org-c"))
	q.waitSummary("QA-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 3 })
	ns := q.notices()
	before := map[string]string{}
	for _, org := range []string{"org-a", "org-b", "org-c"} {
		before[org] = clock(getNotice(t, q.noticeC, "QA-1/"+org))
	}

	// A controller asks; the payload cannot name another asker (an
	// unknown field claiming to be the vendor is ignored).
	req := &cascadev1.AskQuestionRequest{NoticeId: "QA-1/org-a", Text: "Were the salary files encrypted at rest?"}
	forged := protowire.AppendTag(nil, 8, protowire.BytesType)
	forged = protowire.AppendBytes(forged, []byte(`{"role":"vendor","org_id":"org-b"}`))
	req.ProtoReflect().SetUnknown(forged)
	asked, err := ns.AskQuestion(withToken(ctx(t), q.ctrlA), req)
	if err != nil {
		t.Fatal(err)
	}
	qn := asked.GetQuestion()
	if qn.GetId() != "QA-1/org-a/1" || qn.GetAskedBy().GetRole() != "controller" || qn.GetAskedBy().GetOrgId() != "org-a" ||
		qn.GetAskedBy().GetLabel() != "DPO org-a" || !strings.Contains(qn.GetAskedByDisplay(), "controller@org-a") || qn.GetOrgName() != "Alpha kommun" {
		t.Fatalf("asked %v", qn)
	}
	// Asking the same again (a retry) is the same question.
	again, err := ns.AskQuestion(withToken(ctx(t), q.ctrlA), &cascadev1.AskQuestionRequest{NoticeId: "QA-1/org-a", Text: req.GetText()})
	if err != nil || again.GetQuestion().GetId() != qn.GetId() {
		t.Fatalf("asked again: %v, %v", again, err)
	}

	// The vendor sees it, signed.
	m := next(t, vendorEvents, "question")
	if m.Subject != "cascade.events.QA-1._question" {
		t.Fatalf("vendor's question on %s", m.Subject)
	}
	if _, err := signing.VerifyMsg(q.keys, m, time.Now()); err != nil {
		t.Fatalf("vendor's question message: %v", err)
	}
	var ev map[string]any
	if err := json.Unmarshal(m.Data, &ev); err != nil || ev["question"] != req.GetText() || ev["org_id"] != "org-a" || ev["question_id"] != qn.GetId() {
		t.Fatalf("vendor's question %s (%v)", m.Data, err)
	}

	// Listing: the vendor sees it unanswered, controller B sees none.
	l, err := ns.ListQuestions(withToken(ctx(t), q.vendor), &cascadev1.ListQuestionsRequest{BreachId: "QA-1", UnansweredOnly: true})
	if err != nil || len(l.GetQuestions()) != 1 || l.GetQuestions()[0].GetId() != qn.GetId() {
		t.Fatalf("vendor's list %v, %v", l, err)
	}
	l, err = ns.ListQuestions(withToken(ctx(t), q.ctrlB), &cascadev1.ListQuestionsRequest{BreachId: "QA-1"})
	if err != nil || len(l.GetQuestions()) != 0 {
		t.Fatalf("controller B's list %v, %v", l, err)
	}

	// The vendor answers, shared with all.
	const answer = "Yes: AES-256 at rest; the keys were not exposed."
	ans, err := ns.AnswerQuestion(withToken(ctx(t), q.vendor), &cascadev1.AnswerQuestionRequest{QuestionId: qn.GetId(), Text: answer, ShareWithAll: true})
	if err != nil {
		t.Fatal(err)
	}
	if a := ans.GetQuestion(); a.GetAnswer() != answer || !a.GetSharedWithAll() || a.GetSharedAnswerId() == "" || a.GetAnsweredBy().GetRole() != "vendor" {
		t.Fatalf("answered %v", a)
	}
	sharedID := ans.GetQuestion().GetSharedAnswerId()
	if m := next(t, vendorEvents, "answer"); m.Subject != "cascade.events.QA-1._answer" || !strings.Contains(string(m.Data), answer) {
		t.Fatalf("vendor's answer on %s: %s", m.Subject, m.Data)
	}

	// The asking organisation: over NATS, signed, with its question id.
	m = next(t, toA, "answer")
	if _, err := signing.VerifyMsg(q.keys, m, time.Now()); err != nil {
		t.Fatalf("answer to org-a: %v", err)
	}
	var body map[string]any
	if err := json.Unmarshal(m.Data, &body); err != nil || body["answer"] != answer || body["question_id"] != qn.GetId() || body["question"] != req.GetText() {
		t.Fatalf("answer to org-a %s (%v)", m.Data, err)
	}
	// The others: the shared answer, signed, without who asked.
	for _, s := range []*nats.Subscription{toB, toC} {
		m := next(t, s, "answer")
		if _, err := signing.VerifyMsg(q.keys, m, time.Now()); err != nil {
			t.Fatalf("shared answer on %s: %v", m.Subject, err)
		}
		for _, leak := range []string{"org-a", "Alpha", "DPO", qn.GetAskedBy().GetId(), "question_id"} {
			if strings.Contains(string(m.Data), leak) {
				t.Fatalf("shared answer on %s names the asker (%q): %s", m.Subject, leak, m.Data)
			}
		}
		if !strings.Contains(string(m.Data), answer) || !strings.Contains(string(m.Data), sharedID) {
			t.Fatalf("shared answer on %s: %s", m.Subject, m.Data)
		}
	}
	// The asking organisation's webhook.
	testkit.Eventually(t, 20*time.Second, func() error {
		for _, r := range q.hook.requests() {
			if r.header.Get("Cascade-Event") == "answer" && r.status == http.StatusOK && strings.Contains(string(r.body), answer) {
				return nil
			}
		}
		return fmt.Errorf("no answer on the webhook (%d requests)", len(q.hook.requests()))
	})

	// Org-c's e-mail: the shared answer, without who asked.
	testkit.Eventually(t, 20*time.Second, func() error {
		msgs := q.relay.Mails()
		for _, m := range msgs {
			m := string(m.Data)
			if strings.Contains(m, "Subject: Answer from the processor: Test breach [QA-1/org-c]") {
				if strings.Contains(m, "org-a") || strings.Contains(m, "Alpha") {
					return fmt.Errorf("the e-mail names the asker:\n%s", m)
				}
				return nil
			}
		}
		return fmt.Errorf("no answer e-mail among %d", len(msgs))
	})

	// Histories.
	events := func(id string) []*cascadev1.NoticeEvent {
		h, err := ns.GetNoticeHistory(withToken(ctx(t), q.vendor), &cascadev1.GetNoticeHistoryRequest{NoticeId: id})
		if err != nil {
			t.Fatal(err)
		}
		return h.GetEvents()
	}
	has := func(evs []*cascadev1.NoticeEvent, name string) *cascadev1.NoticeEvent {
		for _, e := range evs {
			if e.GetEvent() == name {
				return e
			}
		}
		return nil
	}
	ha := events("QA-1/org-a")
	if e := has(ha, "question_asked"); e == nil || e.GetPrincipal().GetOrgId() != "org-a" || !strings.Contains(e.GetDetail(), req.GetText()) {
		t.Fatalf("org-a history has no question_asked: %v", ha)
	}
	if e := has(ha, "question_answered"); e == nil || e.GetPrincipal().GetRole() != "vendor" || !strings.Contains(e.GetDetail(), answer) {
		t.Fatalf("org-a history has no question_answered: %v", ha)
	}
	for _, org := range []string{"org-a", "org-b", "org-c"} {
		h := events("QA-1/" + org)
		e := has(h, "answer_shared")
		if e == nil || !strings.Contains(e.GetDetail(), answer) {
			t.Fatalf("%s history has no answer_shared: %v", org, h)
		}
		if org != "org-a" && (strings.Contains(e.GetDetail(), "org-a") || has(h, "question_asked") != nil) {
			t.Fatalf("%s history names the asker: %v", org, e)
		}
	}

	// Evidence: the events are in the export, whose manifest verifies.
	ex, err := ns.ExportEvidence(withToken(ctx(t), q.vendor), &cascadev1.ExportEvidenceRequest{BreachId: "QA-1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"question_asked", "question_answered", "answer_shared", answer, req.GetText()} {
		if !strings.Contains(string(ex.GetJson()), want) || !strings.Contains(string(ex.GetCsv()), want) {
			t.Fatalf("evidence lacks %q", want)
		}
	}
	if _, err := signing.VerifyEvidence(q.keys, ex.GetManifestSignature(), ex.GetManifest(), time.Now()); err != nil {
		t.Fatalf("evidence manifest: %v", err)
	}
	exB, err := ns.ExportEvidence(withToken(ctx(t), q.ctrlB), &cascadev1.ExportEvidenceRequest{OrgId: "org-b"})
	if err != nil {
		t.Fatal(err)
	}
	if j := string(exB.GetJson()); !strings.Contains(j, "answer_shared") || strings.Contains(j, "question_asked") ||
		strings.Contains(j, qn.GetAskedBy().GetId()) || strings.Contains(j, "DPO org-a") {
		t.Fatal("org-b's evidence lacks the shared answer or names the asker")
	}

	// The breach carries the shared answer, also for controller B.
	gb, err := cascadev1.NewBreachServiceClient(grpcConn(t, q.d.GRPCAddr())).GetBreach(withToken(ctx(t), q.ctrlB), &cascadev1.GetBreachRequest{BreachId: "QA-1"})
	if err != nil {
		t.Fatal(err)
	}
	if sa := gb.GetBreach().GetSharedAnswers(); len(sa) != 1 || sa[0].GetId() != sharedID || sa[0].GetAnswer() != answer || sa[0].GetQuestion() != req.GetText() {
		t.Fatalf("shared answers %v", sa)
	}
	if b, _ := proto.Marshal(gb.GetBreach()); strings.Contains(string(b), "org-a") {
		t.Fatal("controller B's breach names org-a")
	}

	// Answering again: the same answer is a no-op, another is refused.
	if _, err := ns.AnswerQuestion(withToken(ctx(t), q.vendor), &cascadev1.AnswerQuestionRequest{QuestionId: qn.GetId(), Text: answer, ShareWithAll: true}); err != nil {
		t.Fatalf("same answer again: %v", err)
	}
	_, err = ns.AnswerQuestion(withToken(ctx(t), q.vendor), &cascadev1.AnswerQuestionRequest{QuestionId: qn.GetId(), Text: "No."})
	wantCode(t, err, "FailedPrecondition")
	if countEvent(events("QA-1/org-b"), "answer_shared") != 1 || countEvent(events("QA-1/org-a"), "question_answered") != 1 {
		t.Fatal("a repeated answer was shared twice")
	}

	// No clock moved.
	for _, org := range []string{"org-a", "org-b", "org-c"} {
		if got := clock(getNotice(t, q.noticeC, "QA-1/"+org)); got != before[org] {
			t.Fatalf("%s clock moved:\n before %s\n after  %s", org, before[org], got)
		}
	}
	// The notice counts its questions.
	if n := getNotice(t, q.noticeC, "QA-1/org-a"); n.GetQuestions() != 1 || n.GetOpenQuestions() != 0 {
		t.Fatalf("org-a questions %d open %d", n.GetQuestions(), n.GetOpenQuestions())
	}
}

func countEvent(evs []*cascadev1.NoticeEvent, name string) int {
	n := 0
	for _, e := range evs {
		if e.GetEvent() == name {
			n++
		}
	}
	return n
}

// TestQuestionsKeepTheClock: questions asked and answered between delivery
// and the deadline leave the reminder, the overdue escalation and the
// redeliveries to fire as they would have.
func TestQuestionsKeepTheClock(t *testing.T) {
	q := startQA(t, func(q *qaEnv) {
		q.opts.Deadline = 4 * time.Second
		q.opts.Remind = []time.Duration{2 * time.Second}
		q.opts.Redeliver = []time.Duration{time.Second}
	})
	q.publish(report("QA-CLOCK", "org-b"))
	q.waitSummary("QA-CLOCK", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 1 })
	ns := q.notices()
	n0 := getNotice(t, q.noticeC, "QA-CLOCK/org-b")
	for i := range 3 {
		r, err := ns.AskQuestion(withToken(ctx(t), q.ctrlB), &cascadev1.AskQuestionRequest{NoticeId: "QA-CLOCK/org-b", Text: fmt.Sprintf("Question %d?", i)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ns.AnswerQuestion(withToken(ctx(t), q.vendor), &cascadev1.AnswerQuestionRequest{QuestionId: r.GetQuestion().GetId(), Text: "Answer."}); err != nil {
			t.Fatal(err)
		}
	}
	var n *cascadev1.Notice
	testkit.Eventually(t, 30*time.Second, func() error {
		n = getNotice(t, q.noticeC, "QA-CLOCK/org-b")
		if len(n.GetReminders()) != 1 || n.GetOverdueNotifiedAt() == nil || n.GetDeliveryCount() < 2 {
			return fmt.Errorf("reminders %d, overdue %v, deliveries %d", len(n.GetReminders()), n.GetOverdueNotifiedAt(), n.GetDeliveryCount())
		}
		return nil
	})
	deadline := n.GetDeadline().AsTime()
	if !deadline.Equal(n0.GetDeadline().AsTime()) || !deadline.Equal(n.GetDeliveredAt().AsTime().Add(4*time.Second)) {
		t.Fatalf("deadline %v, was %v, delivered %v", deadline, n0.GetDeadline().AsTime(), n.GetDeliveredAt().AsTime())
	}
	if due := n.GetReminders()[0].GetDueAt().AsTime(); !due.Equal(deadline.Add(-2 * time.Second)) {
		t.Fatalf("reminder due %v, deadline %v", due, deadline)
	}
	if n.GetOverdueNotifiedAt().AsTime().Before(deadline) || !n.GetOverdue() {
		t.Fatalf("overdue at %v, deadline %v", n.GetOverdueNotifiedAt().AsTime(), deadline)
	}
}

// TestQuestionsSurviveRestart: questions are stored before the call
// returns, so a restart keeps them, their numbering and the cap; listing
// pages through them in order.
func TestQuestionsSurviveRestart(t *testing.T) {
	opts := options(t)
	e := start(t, opts)
	e.publish(report("QA-R", "se-kommun-0180", "se-kommun-1480"))
	e.waitSummary("QA-R", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 2 })
	for i, n := range []string{"QA-R/se-kommun-0180", "QA-R/se-kommun-1480", "QA-R/se-kommun-0180"} {
		if _, err := e.noticeC.AskQuestion(ctx(t), &cascadev1.AskQuestionRequest{NoticeId: n, Text: fmt.Sprintf("Question %d?", i)}); err != nil {
			t.Fatal(err)
		}
	}
	e.d.Stop()
	opts.OrgsFile = ""
	e = start(t, opts)
	var ids []string
	req := &cascadev1.ListQuestionsRequest{BreachId: "QA-R", PageSize: 1}
	for {
		r, err := e.noticeC.ListQuestions(ctx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range r.GetQuestions() {
			ids = append(ids, q.GetId())
		}
		if req.PageToken = r.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	if got := strings.Join(ids, " "); got != "QA-R/se-kommun-0180/1 QA-R/se-kommun-0180/2 QA-R/se-kommun-1480/1" {
		t.Fatalf("questions after restart: %s", got)
	}
	if _, err := e.noticeC.AnswerQuestion(ctx(t), &cascadev1.AnswerQuestionRequest{QuestionId: "QA-R/se-kommun-0180/2", Text: "Answer."}); err != nil {
		t.Fatal(err)
	}
	r, err := e.noticeC.AskQuestion(ctx(t), &cascadev1.AskQuestionRequest{NoticeId: "QA-R/se-kommun-0180", Text: "Another?"})
	if err != nil || r.GetQuestion().GetId() != "QA-R/se-kommun-0180/3" || r.GetQuestion().GetAskedBy().GetKind() != "anonymous" {
		t.Fatalf("ask after restart: %v, %v", r, err)
	}
	l, err := e.noticeC.ListQuestions(ctx(t), &cascadev1.ListQuestionsRequest{OrgId: "se-kommun-0180", UnansweredOnly: true})
	if err != nil || len(l.GetQuestions()) != 2 || l.GetQuestions()[0].GetId() != "QA-R/se-kommun-0180/1" || l.GetQuestions()[1].GetId() != "QA-R/se-kommun-0180/3" {
		t.Fatalf("unanswered of se-kommun-0180: %v, %v", l, err)
	}
	if n := getNotice(t, e.noticeC, "QA-R/se-kommun-0180"); n.GetQuestions() != 3 || n.GetOpenQuestions() != 2 {
		t.Fatalf("notice counts %d/%d", n.GetQuestions(), n.GetOpenQuestions())
	}
}
