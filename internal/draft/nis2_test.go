package draft

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
)

// nis2Fixture is the fixture's notice for an organisation under NIS2.
func nis2Fixture(t *testing.T) (*breach.Breach, *breach.Notice, *breach.Org) {
	t.Helper()
	b, _, org := fixture(t)
	n := &breach.Notice{ID: breach.NewNoticeID(breachID, orgID), OrgName: "Exempelby kommun", State: breach.StatePending,
		CreatedAt: tDelivered.Add(-time.Second), DiscoveredAt: tDiscovered,
		Obligations: breach.NewObligations([]breach.Regime{breach.RegimeNIS2}, breach.DefaultNIS2Clocks)}
	n.Deliver(tDelivered, 72*time.Hour, 1)
	return b, n, org
}

// TestEarlyWarning: the NIS2 early-warning draft names CERT-SE, the
// early warning's deadline and time left, fills in the suspected
// malicious act when the processor's description names an attack (in
// Swedish here: intrång, utpressning), and leaves the rest to complete.
func TestEarlyWarning(t *testing.T) {
	b, n, org := nis2Fixture(t)
	now := tDelivered.Add(20 * time.Hour)
	for _, lang := range []Lang{Swedish, English} {
		w := BuildEarlyWarning(b, n, org, lang, now)
		if w.Authority != AuthorityCERTSE || !w.Deadline.Equal(tDelivered.Add(24*time.Hour)) || w.TimeRemaining != "4h" || w.Late {
			t.Errorf("%s: %+v", lang, w)
		}
		if w.SuspectedMalicious != "suspected" || !strings.Contains(w.MaliciousHint, "intrång") {
			t.Errorf("%s: suspected %q, hint %q", lang, w.SuspectedMalicious, w.MaliciousHint)
		}
		if want := []string{FieldSignificance, FieldCrossBorder, FieldAffectedServices, FieldOrganisationNumber}; !slices.Equal(w.FieldsToComplete, want) {
			t.Errorf("%s: fields to complete %v, want %v", lang, w.FieldsToComplete, want)
		}
		md := w.Markdown()
		for _, want := range map[Lang][]string{
			Swedish: {"# Utkast: tidig varning enligt cybersäkerhetslagen (NIS2)", "CERT-SE", "Exempelby kommun", "gränsöverskridande"},
			English: {"# Draft: NIS2 early warning", "CERT-SE", "Exempelby kommun", "cross-border"},
		}[lang] {
			if !strings.Contains(md, want) {
				t.Errorf("%s markdown lacks %q:\n%s", lang, want, md)
			}
		}
		if _, err := w.JSON(); err != nil {
			t.Fatal(err)
		}
	}
	// Late, then reported: no time left, then the recorded authority.
	if w := BuildEarlyWarning(b, n, org, English, tDelivered.Add(25*time.Hour)); !w.Late || w.TimeRemaining != "" {
		t.Errorf("late: %+v", w)
	}
	at := tDelivered.Add(25 * time.Hour)
	if _, err := n.RecordObligationReport(breach.ObligationNIS2EarlyWarning, at, "ciso", "CERT-SE (MSB)", "C-1", at, "weekend"); err != nil {
		t.Fatal(err)
	}
	if w := BuildEarlyWarning(b, n, org, English, at); !w.Reported || w.Authority != "CERT-SE (MSB)" || w.Late {
		t.Errorf("reported: %+v", w)
	}
}

// TestEarlyWarningPlainFacts: without an attack named, the suspected
// malicious act is the organisation's to fill in; the processor's text
// cannot add markup to the draft.
func TestEarlyWarningPlainFacts(t *testing.T) {
	b, n, org := nis2Fixture(t)
	b.Report.Title = "Lost backup tape"
	b.Report.Nature = "# A tape was lost in transit\n<script>alert(1)</script> [link](http://x.example)"
	b.Revisions = nil
	w := BuildEarlyWarning(b, n, org, English, tNow)
	if w.SuspectedMalicious != "" || !slices.Contains(w.FieldsToComplete, FieldSuspectedMalicious) {
		t.Errorf("suspected %q, fields %v", w.SuspectedMalicious, w.FieldsToComplete)
	}
	md := w.Markdown()
	if strings.Contains(md, "<script>") || strings.Contains(md, "\n# A tape") || !strings.Contains(md, `\[link\](http`) {
		t.Errorf("processor text became markup:\n%s", md)
	}
	var j map[string]any
	data, _ := w.JSON()
	if err := json.Unmarshal(data, &j); err != nil || j["obligation"] != "nis2_early_warning" {
		t.Errorf("JSON %s: %v", data, err)
	}
}
