package cli

import (
	"strings"
	"testing"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// TestEndToEndNIS2Obligations: the all-customers example breach notifies
// Östersund (under NIS2 in the example registry); the commands of the
// verbs' help record its early warning and draft it, and notice show lists
// its NIS2 reports; a NIS2 obligation on Stockholm (GDPR alone) is refused.
func TestEndToEndNIS2Obligations(t *testing.T) {
	c := startDaemon(t)
	c.must("breach", "publish", "../../deploy/examples/breach-all.json")
	const ostersund = "EXAMPLE-ALL-1/se-kommun-2380"

	r := c.must("notice", "report", ostersund, "--obligation", "nis2-early-warning", "--lang", "en")
	for _, want := range []string{"# Draft: NIS2 early warning", "CERT-SE", "Suspected: the processor's description mentions"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("early-warning draft lacks %q:\n%s", want, r.stdout)
		}
	}
	c.must("notice", "record-report", ostersund, "--obligation", "nis2-early-warning", "--authority", "CERT-SE",
		"--reference", "CERT-SE-2025-0042", "--by", "ciso@ostersund.example.org")
	n := decodeNotice(t, c.must("notice", "show", ostersund, "-o", "json").stdout)
	if len(n.GetObligations()) != 4 || n.GetObligations()[1].GetOutcome().GetReference() != "CERT-SE-2025-0042" ||
		n.GetState() == cascadev1.NoticeState_NOTICE_STATE_RESOLVED {
		t.Fatalf("after the early warning: %v", n)
	}
	r = c.must("notice", "show", ostersund)
	for _, want := range []string{"Obligations:", "NIS2 early warning: deadline", "reported to CERT-SE, reference CERT-SE-2025-0042",
		"NIS2 incident notification: deadline", "NIS2 final report: deadline"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("notice show lacks %q:\n%s", want, r.stdout)
		}
	}
	r = c.must("breach", "status", "EXAMPLE-ALL-1")
	for _, want := range []string{"Obligations:", "GDPR Art. 33: 0 resolved, 310 open", "NIS2 early warning: 1 resolved, 27 open, 0 overdue, next deadline"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("breach status lacks %q:\n%s", want, r.stdout)
		}
	}
	c.must("notice", "record-not-reportable", ostersund, "--obligation", "nis2_final_report", "--justification", "not significant", "--by", "ciso")
	// Stockholm is under GDPR alone: refused, naming the obligation.
	res := c.run("notice", "record-not-reportable", "EXAMPLE-ALL-1/se-kommun-0180", "--obligation", "nis2-final-report",
		"--justification", "x", "--by", "dpo")
	if res.code == 0 || !strings.Contains(res.stderr, "carries no nis2_final_report obligation") {
		t.Errorf("NIS2 on a GDPR-only notice: exit %d, stderr %s", res.code, res.stderr)
	}
	// A misspelt obligation is a usage error.
	if res := c.run("notice", "record-report", ostersund, "--obligation", "nis3", "--authority", "A", "--reference", "R", "--by", "x"); res.code != 2 ||
		!strings.Contains(res.stderr, "--obligation must be") {
		t.Errorf("bad --obligation: exit %d, stderr %s", res.code, res.stderr)
	}
}
