package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/email"
	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// TestEscalationByEmail: an organisation whose registry row names an
// escalation contact gets its last reminder and its overdue message at the
// escalation address too (through the SMTP relay, besides the DPO's
// address), never the notice or an earlier reminder; the notice shows who
// was escalated to, and its history says so. An organisation without one
// gets every message at its usual address only, as before.
func TestEscalationByEmail(t *testing.T) {
	relay := startSMTP(t)
	dir := t.TempDir()
	orgs, pw := filepath.Join(dir, "orgs.csv"), filepath.Join(dir, "smtp-password")
	csv := "id,name,dpo_email,locale,escalation_email,escalation_phone\n" +
		"org-esc,Esc kommun,dpo@esc.example.org,en,head@esc.example.org,+46 8 000 00 01\n" +
		"org-plain,Plain kommun,dpo@plain.example.org,en,,\n"
	if err := os.WriteFile(orgs, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pw, []byte("relay-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := options(t)
	opts.OrgsFile = orgs
	opts.SMTP = email.Options{Addr: relay.Addr, From: "Cascade <cascade@vendor.example>", Username: "cascade", PasswordFile: pw, CAFile: relay.caFile}
	opts.Deadline = 5 * time.Second
	opts.Remind = []time.Duration{3 * time.Second, time.Second}
	opts.Redeliver = []time.Duration{}
	e := start(t, opts)
	e.publish(report("ESC-1", "org-esc", "org-plain"))
	e.waitSummary("ESC-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetTotal() == 2 })

	// mails are the e-mails of one notice as (message id, recipients).
	type mail struct {
		id string
		to []string
	}
	mails := func(notice string) []mail {
		var out []mail
		for _, m := range relay.Mails() {
			_, rest, ok := strings.Cut(string(m.Data), "Idempotency-Key: "+notice+"/")
			if !ok {
				continue
			}
			kind, _, _ := strings.Cut(rest, "\r\n")
			out = append(out, mail{kind, slices.Sorted(slices.Values(m.To))})
		}
		return out
	}
	var n *cascadev1.Notice
	testkit.Eventually(t, 30*time.Second, func() error {
		n = getNotice(t, e.noticeC, "ESC-1/org-esc")
		if got := mails("ESC-1/org-esc"); len(got) < 4 || len(n.GetEscalatedTo()) < 2 {
			return fmt.Errorf("%d e-mails, escalated to %v", len(got), n.GetEscalatedTo())
		}
		if got := mails("ESC-1/org-plain"); len(got) < 4 {
			return fmt.Errorf("%d e-mails to org-plain", len(got))
		}
		return nil
	})
	dpo, both := []string{"dpo@esc.example.org"}, []string{"dpo@esc.example.org", "head@esc.example.org"}
	want := []mail{{"notice/1", dpo}, {"reminder/3s", dpo}, {"reminder/1s", both}, {"overdue", both}}
	if got := mails("ESC-1/org-esc"); !slices.EqualFunc(got, want, func(a, b mail) bool { return a.id == b.id && slices.Equal(a.to, b.to) }) {
		t.Errorf("e-mails of org-esc = %v, want %v", got, want)
	}
	plain := []string{"dpo@plain.example.org"}
	want = []mail{{"notice/1", plain}, {"reminder/3s", plain}, {"reminder/1s", plain}, {"overdue", plain}}
	if got := mails("ESC-1/org-plain"); !slices.EqualFunc(got, want, func(a, b mail) bool { return a.id == b.id && slices.Equal(a.to, b.to) }) {
		t.Errorf("e-mails of org-plain = %v, want %v", got, want)
	}
	for _, m := range relay.Mails() {
		if m := string(m.Data); strings.Contains(m, "Idempotency-Key: ESC-1/org-esc/overdue") && !strings.Contains(m, "To: dpo@esc.example.org, head@esc.example.org\r\n") {
			t.Errorf("the overdue e-mail is not addressed to both:\n%s", m)
		}
	}

	// The vendor sees who was escalated to, and when.
	es := n.GetEscalatedTo()
	if len(es) != 2 || es[0].GetEvent() != "reminder" || es[0].GetRemaining().AsDuration() != time.Second ||
		es[0].GetMessageId() != "ESC-1/org-esc/reminder/1s" || es[1].GetEvent() != "overdue" || es[1].GetMessageId() != "ESC-1/org-esc/overdue" {
		t.Fatalf("escalated_to = %v", es)
	}
	for _, x := range es {
		if x.GetEmail() != "head@esc.example.org" || x.GetPhone() != "+46 8 000 00 01" || x.GetSentAt() == nil {
			t.Errorf("escalation %v", x)
		}
	}
	h, err := e.noticeC.GetNoticeHistory(ctx(t), &cascadev1.GetNoticeHistoryRequest{NoticeId: "ESC-1/org-esc"})
	if err != nil {
		t.Fatal(err)
	}
	var details []string
	for _, ev := range h.GetEvents() {
		if ev.GetEvent() == "escalated" {
			details = append(details, ev.GetDetail())
		}
	}
	if len(details) != 2 || !strings.Contains(details[0], "last reminder (1s left) escalated by e-mail to head@esc.example.org (phone +46 8 000 00 01)") ||
		!strings.Contains(details[1], "overdue escalated by e-mail to head@esc.example.org") {
		t.Errorf("escalated history entries = %q", details)
	}
	if p := getNotice(t, e.noticeC, "ESC-1/org-plain"); len(p.GetEscalatedTo()) != 0 {
		t.Errorf("org-plain escalated to %v", p.GetEscalatedTo())
	}
}
