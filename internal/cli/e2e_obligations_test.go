package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// exampleUpdate adds Malmö (already notified by the report), Upplands
// Väsby (new) and an id that is not in the registry.
const exampleUpdate = `{
  "breach_id": "EXAMPLE-2025-08-23",
  "summary": "The investigation found that Upplands Väsby's personnel files were copied too.",
  "add_affected": [
    {"org_id": "se-kommun-1280", "approx_subjects": 27000, "approx_records": 215000},
    {"org_id": "se-kommun-0114", "approx_subjects": 2100},
    {"org_id": "se-kommun-9998"}
  ],
  "measures_taken": "The environment was rebuilt; every administrative account now needs multi-factor authentication."
}`

// TestEndToEndObligations follows a breach past its first report: an
// update (revision 2), per-revision acknowledgement, outcomes, the Art. 34
// decision, the history, the report draft and the evidence export, against
// a real daemon.
func TestEndToEndObligations(t *testing.T) {
	c := startDaemon(t)
	c.must("breach", "publish", exampleBreach)
	malmo := exampleID + "/se-kommun-1280"
	vasby := exampleID + "/se-kommun-0114"

	updateFile := filepath.Join(t.TempDir(), "update.json")
	if err := os.WriteFile(updateFile, []byte(exampleUpdate), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("breach update", func(t *testing.T) {
		r := c.must("breach", "update", updateFile)
		for _, want := range []string{"Published update of breach " + exampleID + " on cascade.breach.update: stream CASCADE_INTAKE",
			"Revision 2 of breach " + exampleID + " recorded: 1 organisation added.", "Revision 2 delivered to every affected organisation."} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
			}
		}
		wantFields(t, r.stdout, "Latest revision", "2", "Notices", "13", "Delivered", "13/13", "Acknowledged latest", "0/13",
			"Fan-out complete", "yes", "Revision 2", "")
		if !strings.Contains(r.stderr, "WARNING: affected organisation se-kommun-9998 is not in the registry, got no notice") {
			t.Errorf("no warning about se-kommun-9998 on stderr:\n%s", r.stderr)
		}
		n := decodeNotice(t, c.must("notice", "show", malmo, "-o", "json").stdout)
		if n.GetRevisionDelivered() != 2 {
			t.Errorf("%s: revision_delivered %d, want 2", malmo, n.GetRevisionDelivered())
		}
		n = decodeNotice(t, c.must("notice", "show", vasby, "-o", "json").stdout)
		if n.GetRevisionDelivered() != 2 || n.GetDeliveredAt() == nil || n.GetState() != cascadev1.NoticeState_NOTICE_STATE_DELIVERED {
			t.Errorf("%s (added by revision 2): %v", vasby, n)
		}
	})

	t.Run("breach update again", func(t *testing.T) {
		r := c.must("breach", "update", updateFile, "-o", "json")
		var out struct {
			Published      publishedJSON   `json:"published"`
			Revision       json.RawMessage `json:"revision"`
			AlreadyApplied bool            `json:"already_applied"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("%v: %s", err, r.stdout)
		}
		var rev cascadev1.BreachRevision
		if err := protojson.Unmarshal(out.Revision, &rev); err != nil {
			t.Fatal(err)
		}
		if rev.GetNumber() != 2 || !out.AlreadyApplied || !out.Published.Duplicate {
			t.Errorf("re-published update: %s", r.stdout)
		}
		_, s, _ := decodeStatus(t, c.must("breach", "status", exampleID, "-o", "json").stdout)
		if s.GetLatestRevision() != 2 || s.GetTotal() != 13 {
			t.Errorf("after a re-published update: %v", s)
		}
	})

	t.Run("republish report after an update", func(t *testing.T) {
		// The breach now has more notices than its report named.
		r := c.must("breach", "publish", exampleBreach, "--timeout", "10s")
		wantFields(t, r.stdout, "Fan-out complete", "yes", "Delivered", "13/13", "Latest revision", "2")
	})

	t.Run("breach update rejected", func(t *testing.T) {
		r := c.runStdin(`{"breach_id": "NO-SUCH-BREACH", "summary": "s"}`, "breach", "update", "-")
		if r.code != 1 || !strings.Contains(r.stderr, "Cascade rejected the breach update") || !strings.Contains(r.stderr, ": unknown_breach") {
			t.Errorf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
		}
		r = c.runStdin(`{"breach_id": "`+exampleID+`", "nature": "n"}`, "breach", "update", "-", "-o", "json")
		if r.code != 1 || !strings.Contains(r.stderr, ": invalid") || !strings.Contains(r.stderr, "\n  summary: ") {
			t.Errorf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
		}
		var out struct {
			Rejection rejection `json:"rejection"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Rejection.Reason != "invalid" {
			t.Errorf("json %v: %s", err, r.stdout)
		}
		r = c.runStdin(`{"summary": "s"}`, "breach", "update", "-")
		if r.code != 1 || !strings.Contains(r.stderr, `no "breach_id"`) {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("ack revisions", func(t *testing.T) {
		n := decodeNotice(t, c.must("notice", "ack", exampleNotice, "--by", "dpo@stockholm", "--revision", "1", "-o", "json").stdout)
		if n.GetRevisionAcknowledged() != 1 || n.GetState() != cascadev1.NoticeState_NOTICE_STATE_ACKNOWLEDGED {
			t.Errorf("after ack of revision 1: %v", n)
		}
		r := c.run("notice", "ack", exampleNotice, "--by", "dpo@stockholm", "--revision", "3")
		if r.code != 1 || !strings.Contains(r.stderr, "FailedPrecondition") {
			t.Errorf("ack of revision 3: exit %d, stderr %q", r.code, r.stderr)
		}
		r = c.must("notice", "ack", exampleNotice, "--by", "dpo@stockholm")
		if got := field(r.stdout, "Revision"); got != "2 delivered, 2 acknowledged" {
			t.Errorf("Revision: %q\n%s", got, r.stdout)
		}
		testkit.Eventually(t, 10*time.Second, func() error {
			r := c.must("breach", "status", exampleID)
			if got := field(r.stdout, "Acknowledged latest"); got != "1/13" {
				return fmt.Errorf("Acknowledged latest: %q\n%s", got, r.stdout)
			}
			return nil
		})
	})

	t.Run("record report", func(t *testing.T) {
		r := c.must("notice", "record-report", exampleNotice, "--authority", "IMY", "--reference", "IMY-2025-0001", "--by", "dpo@stockholm")
		wantFields(t, r.stdout, "State", "RESOLVED", "Outcome", "reported to IMY, reference IMY-2025-0001", "Outcome recorded", "20")
		if strings.Contains(field(r.stdout, "Reported at"), "after the deadline") {
			t.Errorf("reported on time, shown late:\n%s", r.stdout)
		}
		// The same report again changes nothing.
		n := decodeNotice(t, c.must("notice", "record-report", exampleNotice, "--authority", "IMY", "--reference", "IMY-2025-0001",
			"--by", "someone-else", "-o", "json").stdout)
		if n.GetOutcome().GetRecordedBy() != "dpo@stockholm" || n.GetOutcome().GetLate() {
			t.Errorf("outcome after a repeat: %v", n.GetOutcome())
		}
		r = c.run("notice", "record-report", exampleNotice, "--authority", "IMY", "--reference", "IMY-2025-0002", "--by", "dpo@stockholm")
		if r.code != 1 || !strings.Contains(r.stderr, "cascadectl: FailedPrecondition: ") || !strings.Contains(r.stderr, "IMY-2025-0001") {
			t.Errorf("another reference: exit %d, stderr %q", r.code, r.stderr)
		}
		r = c.run("notice", "record-report", exampleNotice, "--authority", "IMY", "--reference", "R", "--by", "x", "--reported-at", "2020-01-01T00:00:00Z")
		if r.code != 1 || !strings.Contains(r.stderr, "InvalidArgument") || !strings.Contains(r.stderr, "\n  reported_at: ") {
			t.Errorf("reported before discovery: exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("record not reportable", func(t *testing.T) {
		r := c.run("notice", "record-not-reportable", malmo, "--by", "dpo@malmo")
		if r.code != 2 || !strings.Contains(r.stderr, "--justification is required") {
			t.Errorf("without --justification: exit %d, stderr %q", r.code, r.stderr)
		}
		r = c.must("notice", "record-not-reportable", malmo, "--by", "dpo@malmo", "--justification", "Only pseudonymised test data of Malmö was copied.")
		wantFields(t, r.stdout, "State", "RESOLVED", "Outcome", "not reportable", "Justification", "Only pseudonymised")
		r = c.run("notice", "record-report", malmo, "--authority", "IMY", "--reference", "R", "--by", "dpo@malmo")
		if r.code != 1 || !strings.Contains(r.stderr, "FailedPrecondition") {
			t.Errorf("report after not reportable: exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("record subjects", func(t *testing.T) {
		r := c.run("notice", "record-subjects", exampleNotice, "--by", "dpo@stockholm", "--exempt", "c")
		if r.code != 1 || !strings.Contains(r.stderr, "InvalidArgument") || !strings.Contains(r.stderr, "\n  public_communication: ") {
			t.Errorf("--exempt c without --public: exit %d, stderr %q", r.code, r.stderr)
		}
		r = c.run("notice", "record-subjects", exampleNotice, "--by", "dpo@stockholm", "--exempt", "c", "--not-required")
		if r.code != 2 {
			t.Errorf("two modes: exit %d, stderr %q", r.code, r.stderr)
		}
		r = c.must("notice", "record-subjects", exampleNotice, "--by", "dpo@stockholm", "--exempt", "c",
			"--public", "Press release and a notice on the municipality's website")
		wantFields(t, r.stdout, "Data subjects", "not informed: exempt under Art. 34(3)(c)", "Public notice", "Press release")
		at := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		n := decodeNotice(t, c.must("notice", "record-subjects", vasby, "--by", "dpo@vasby", "--communicated", "--at", at,
			"--how", "letter to every employee", "-o", "json").stdout)
		sc := n.GetSubjectCommunication()
		if sc.GetKind() != cascadev1.SubjectCommunicationKind_SUBJECT_COMMUNICATION_KIND_COMMUNICATED || sc.GetHow() != "letter to every employee" ||
			sc.GetCommunicatedAt().AsTime().Format(time.RFC3339) != at {
			t.Errorf("communicated: %v", sc)
		}
		r = c.run("notice", "record-subjects", vasby, "--by", "dpo@vasby", "--not-required", "--justification", "changed my mind")
		if r.code != 1 || !strings.Contains(r.stderr, "FailedPrecondition") {
			t.Errorf("another decision: exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("notice history", func(t *testing.T) {
		r := c.must("notice", "history", exampleNotice)
		if !strings.HasPrefix(r.stdout, "SEQ ") || !strings.Contains(r.stdout, " DETAIL ") || !strings.Contains(r.stdout, " PRINCIPAL\n") {
			t.Errorf("header:\n%s", r.stdout)
		}
		for _, want := range []string{" created ", " delivered ", " revision_delivered ", " acknowledged ", " revision_acknowledged ",
			" outcome_recorded ", " subject_communication_recorded ", "dpo@stockholm", "IMY-2025-0001"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("history lacks %q:\n%s", want, r.stdout)
			}
		}
		var events []json.RawMessage
		if err := json.Unmarshal([]byte(c.must("notice", "history", exampleNotice, "-o", "json").stdout), &events); err != nil || len(events) != tableRows(r.stdout) {
			t.Errorf("json: %d events (%v), table %d rows", len(events), err, tableRows(r.stdout))
		}
		var first cascadev1.NoticeEvent
		if err := protojson.Unmarshal(events[0], &first); err != nil || first.GetEvent() != "created" || first.GetActor() != "cascade" {
			t.Errorf("first event %v (%v)", &first, err)
		}
		if r := c.run("notice", "history", exampleID+"/se-kommun-0114x"); r.code != 1 || !strings.Contains(r.stderr, "NotFound") {
			t.Errorf("unknown notice: exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("notice subject-draft and the advisory", func(t *testing.T) {
		// The example breach has no words for the data subjects: a generic
		// letter with placeholders, and nothing to publish.
		r := c.must("notice", "subject-draft", exampleNotice, "--lang", "sv")
		if !strings.Contains(r.stdout, "Information till dig om en personuppgiftsincident") || !strings.Contains(r.stdout, "ATT FYLLA I") {
			t.Errorf("sv letter:\n%s", r.stdout)
		}
		r = c.must("notice", "subject-draft", exampleNotice, "--lang", "en", "--format", "text")
		if !strings.Contains(r.stdout, "What happened?") || strings.Contains(r.stdout, "**") {
			t.Errorf("en text:\n%s", r.stdout)
		}
		r = c.must("notice", "subject-draft", exampleNotice, "--format", "sms")
		if sms := strings.TrimSuffix(r.stdout, "\n"); sms == "" || strings.Contains(sms, "\n") || len([]rune(sms)) > 160 {
			t.Errorf("sms %q", r.stdout)
		}
		if r := c.run("notice", "subject-draft", exampleNotice, "--format", "pdf"); r.code != 2 {
			t.Errorf("--format pdf: exit %d, %s", r.code, r.stderr)
		}
		if r := c.run("breach", "publish-advisory", "EXAMPLE-2025-08-23"); r.code == 0 || !strings.Contains(r.stderr, "subject_notice") {
			t.Errorf("publishing without words: exit %d, %s", r.code, r.stderr)
		}
		if r := c.must("breach", "unpublish-advisory", "EXAMPLE-2025-08-23"); !strings.Contains(r.stdout, "was not published") {
			t.Errorf("unpublish: %s", r.stdout)
		}
	})

	t.Run("notice report", func(t *testing.T) {
		r := c.must("notice", "report", exampleNotice, "--lang", "sv")
		if !strings.Contains(r.stdout, "Integritetsskyddsmyndigheten") {
			t.Errorf("sv draft:\n%s", r.stdout)
		}
		r = c.must("notice", "report", exampleNotice, "--lang", "en")
		if !strings.Contains(r.stdout, "supervisory authority") || strings.Contains(r.stdout, "Integritetsskyddsmyndigheten (IMY)") {
			t.Errorf("en draft:\n%s", r.stdout)
		}
		r = c.must("notice", "report", exampleNotice, "--lang", "en", "--format", "json")
		var draft map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &draft); err != nil {
			t.Errorf("--format json: %v\n%s", err, r.stdout)
		}
		var resp cascadev1.DraftAuthorityReportResponse
		if err := protojson.Unmarshal([]byte(c.must("notice", "report", exampleNotice, "-o", "json").stdout), &resp); err != nil ||
			resp.GetLanguage() != "sv" || resp.GetMarkdown() == "" || resp.GetJson() == "" {
			t.Errorf("-o json: %v %v", err, &resp)
		}
		out := filepath.Join(t.TempDir(), "draft.md")
		r = c.must("notice", "report", exampleNotice, "--out", out)
		data, err := os.ReadFile(out)
		if err != nil || !strings.Contains(string(data), "Integritetsskyddsmyndigheten") || !strings.Contains(r.stdout, out) {
			t.Errorf("--out: %v\nstdout %s\nfile %s", err, r.stdout, data)
		}
		if err := os.WriteFile(out, []byte("mine"), 0o600); err != nil {
			t.Fatal(err)
		}
		r = c.run("notice", "report", exampleNotice, "--out", out)
		if data, _ := os.ReadFile(out); r.code != 1 || !strings.Contains(r.stderr, "already exists") || string(data) != "mine" {
			t.Errorf("existing --out: exit %d, stderr %q, file %q", r.code, r.stderr, data)
		}
	})

	t.Run("evidence export and verify", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "x")
		r := c.must("evidence", "export", "--breach", exampleID, "--dir", dir)
		for _, want := range []string{filepath.Join(dir, "evidence.json"), filepath.Join(dir, "evidence.csv"), filepath.Join(dir, "SHA256SUMS"),
			filepath.Join(dir, "manifest.json"), filepath.Join(dir, "manifest.sig"),
			"sha256sum -c SHA256SUMS", "cascadectl evidence verify " + dir + " --keys keys.json"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
			}
		}
		csv, err := os.ReadFile(filepath.Join(dir, "evidence.csv"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{malmo, vasby, "outcome_recorded", "IMY-2025-0001"} {
			if !strings.Contains(string(csv), want) {
				t.Errorf("evidence.csv lacks %q", want)
			}
		}
		r = c.must("evidence", "verify", dir) // with cascaded's keys
		if !strings.HasPrefix(r.stdout, filepath.Join(dir, "manifest.json")+": signature OK (Cascade key ") ||
			!strings.HasSuffix(r.stdout, "\n"+filepath.Join(dir, "evidence.json")+": OK\n"+filepath.Join(dir, "evidence.csv")+": OK\n"+filepath.Join(dir, "SHA256SUMS")+": OK\n") {
			t.Errorf("verify:\n%s", r.stdout)
		}
		// Evidence is never overwritten.
		r = c.run("evidence", "export", "--breach", exampleID, "--dir", dir)
		if r.code != 1 || !strings.Contains(r.stderr, "already exists") {
			t.Errorf("export into the same directory: exit %d, stderr %q", r.code, r.stderr)
		}
		// One flipped byte is found, and the file named.
		csv[len(csv)/2] ^= 0x01
		if err := os.WriteFile(filepath.Join(dir, "evidence.csv"), csv, 0o644); err != nil {
			t.Fatal(err)
		}
		r = c.run("evidence", "verify", dir)
		if r.code != 1 || !strings.Contains(r.stderr, filepath.Join(dir, "evidence.csv")+": SHA-256 digest mismatch") ||
			strings.Contains(r.stderr, "evidence.json") || !strings.Contains(r.stdout, "evidence.csv: FAILED") {
			t.Errorf("verify after a flipped byte: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
		}
		r = c.run("evidence", "verify", dir, "-o", "json")
		var v verifyJSON
		if err := json.Unmarshal([]byte(r.stdout), &v); r.code != 1 || err != nil || v.OK || !v.Signed || len(v.Files) != 3 || !v.Files[0].OK || v.Files[1].OK || !v.Files[2].OK {
			t.Errorf("verify -o json: exit %d, %v: %s", r.code, err, r.stdout)
		}
		if r := c.run("evidence", "verify", t.TempDir()); r.code != 1 || !strings.Contains(r.stderr, "neither manifest.json nor manifest.sig") {
			t.Errorf("verify an empty directory: exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("breach update no-wait", func(t *testing.T) {
		update := `{"breach_id": "` + exampleID + `", "summary": "The copied files were published.", "likely_consequences": "Publication makes fraud likely."}`
		r := c.runStdin(update, "breach", "update", "-", "--no-wait", "-o", "json")
		var out updateJSON
		if err := json.Unmarshal([]byte(r.stdout), &out); r.code != 0 || err != nil || out.Published == nil || out.Published.Subject != "cascade.breach.update" || out.Revision != nil {
			t.Fatalf("exit %d (%v)\nstdout %s\nstderr %s", r.code, err, r.stdout, r.stderr)
		}
		testkit.Eventually(t, 10*time.Second, func() error {
			r := c.must("breach", "status", exampleID)
			if field(r.stdout, "Latest revision") != "3" || field(r.stdout, "Fan-out complete") != "yes" {
				return fmt.Errorf("revision 3 not delivered yet:\n%s", r.stdout)
			}
			return nil
		})
		n := decodeNotice(t, c.must("notice", "show", exampleNotice, "-o", "json").stdout)
		if n.GetRevisionDelivered() != 3 || n.GetRevisionAcknowledged() != 2 {
			t.Errorf("after revision 3: delivered %d, acknowledged %d", n.GetRevisionDelivered(), n.GetRevisionAcknowledged())
		}
		for _, id := range []string{malmo, vasby} { // resolved or not, every organisation gets the revision
			if n := decodeNotice(t, c.must("notice", "show", id, "-o", "json").stdout); n.GetRevisionDelivered() != 3 {
				t.Errorf("%s (%v): revision_delivered %d, want 3", id, n.GetState(), n.GetRevisionDelivered())
			}
		}
	})

	t.Run("evidence export default directory", func(t *testing.T) {
		t.Chdir(t.TempDir())
		r := c.must("evidence", "export", "--org", "se-kommun-0114", "-o", "json")
		var out evidenceExportJSON
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Files) != 5 || !out.Signed || out.KeyID == "" {
			t.Fatalf("%v: %s", err, r.stdout)
		}
		if !strings.HasPrefix(out.Dir, "."+string(filepath.Separator)+"evidence-se-kommun-0114-") || len(filepath.Base(out.Dir)) != len("evidence-se-kommun-0114-20250824T100000Z") {
			t.Errorf("default directory %q", out.Dir)
		}
		c.must("evidence", "verify", out.Dir)
		if r := c.run("evidence", "export", "--org", "se-kommun-0115"); r.code != 1 || !strings.Contains(r.stderr, "NotFound") {
			t.Errorf("organisation without notices: exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

// TestEndToEndLate runs a daemon with a deadline of seconds: the notice is
// reminded, becomes overdue, and a report after the deadline needs the
// reasons for the delay.
func TestEndToEndLate(t *testing.T) {
	c := startDaemonWith(t, func(o *daemon.Options) {
		o.Deadline = 1500 * time.Millisecond
		o.Remind = []time.Duration{time.Second}
	})
	id := "LATE-1/se-kommun-0114"
	c.runStdin(minimalReport("LATE-1", "Late"), "breach", "publish", "-")
	testkit.Eventually(t, 20*time.Second, func() error {
		n := decodeNotice(t, c.must("notice", "show", id, "-o", "json").stdout)
		if !n.GetOverdue() || n.GetOverdueNotifiedAt() == nil || len(n.GetReminders()) != 1 {
			return fmt.Errorf("not yet reminded and escalated: %v", n)
		}
		return nil
	})
	r := c.must("notice", "show", id)
	wantFields(t, r.stdout, "Overdue", "yes", "Overdue notified", "20", "Reminders", "1s before the deadline: due ", "Deadline", "20")
	if !strings.Contains(field(r.stdout, "Deadline"), " overdue)") {
		t.Errorf("Deadline: %q", field(r.stdout, "Deadline"))
	}
	r = c.run("notice", "record-report", id, "--authority", "IMY", "--reference", "IMY-LATE", "--by", "dpo@vasby")
	if r.code != 1 || !strings.Contains(r.stderr, "InvalidArgument") || !strings.Contains(r.stderr, "\n  delay_reason: ") {
		t.Errorf("late report without a reason: exit %d, stderr %q", r.code, r.stderr)
	}
	r = c.must("notice", "record-report", id, "--authority", "IMY", "--reference", "IMY-LATE", "--by", "dpo@vasby",
		"--delay-reason", "The DPO was on leave.")
	wantFields(t, r.stdout, "State", "RESOLVED", "Reported at", "20", "Delay reason", "The DPO was on leave.", "Overdue", "no")
	if !strings.HasSuffix(field(r.stdout, "Reported at"), "(after the deadline)") {
		t.Errorf("Reported at: %q", field(r.stdout, "Reported at"))
	}
	r = c.must("notice", "history", id)
	for _, want := range []string{" reminded ", " overdue ", " outcome_recorded "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("history lacks %q:\n%s", want, r.stdout)
		}
	}
}
