package deadline

import (
	"slices"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
)

func nis2Notice() *breach.Notice {
	n := &breach.Notice{ID: breach.NewNoticeID("INC-1", "acme"), State: breach.StatePending, CreatedAt: created,
		Obligations: breach.NewObligations([]breach.Regime{breach.RegimeNIS2}, breach.DefaultNIS2Clocks)}
	n.Deliver(delivered, 72*time.Hour, 1)
	return n
}

// TestObligationThresholds: each obligation's reminders fall at the same
// fractions of its clock as the GDPR ones of --deadline.
func TestObligationThresholds(t *testing.T) {
	p := Policy{Window: 72 * time.Hour, Remind: DefaultRemind}
	n := nis2Notice()
	for k, want := range map[breach.ObligationKind][]time.Duration{
		breach.ObligationNIS2EarlyWarning:         {16 * time.Hour, 8 * time.Hour, 2 * time.Hour, 20 * time.Minute},
		breach.ObligationNIS2IncidentNotification: DefaultRemind,
	} {
		if got := p.ObligationThresholds(n.Obligation(k)); !slices.Equal(got, want) {
			t.Errorf("%s thresholds %v, want %v", k, got, want)
		}
	}
	// The final report: one month after the incident notification's
	// deadline (31 days in March 2024).
	fr := n.Obligation(breach.ObligationNIS2FinalReport)
	if got, want := p.ObligationThresholds(fr), []time.Duration{496 * time.Hour, 248 * time.Hour, 62 * time.Hour, 10*time.Hour + 20*time.Minute}; !slices.Equal(got, want) {
		t.Errorf("final report thresholds %v, want %v", got, want)
	}
}

// TestObligationActionsIndependent: the policy lists each obligation's
// reminders and escalation on its own clock, and stops an obligation's
// once it is resolved, whatever the others.
func TestObligationActionsIndependent(t *testing.T) {
	p := Policy{Window: 72 * time.Hour, Remind: []time.Duration{time.Hour}}
	n := nis2Notice()
	at := delivered.Add(24 * time.Hour) // the early warning's deadline
	var got []string
	for _, a := range p.Due(n, at) {
		got = append(got, string(a.Kind)+"/"+string(a.Obligation))
	}
	if want := []string{"reminder/nis2_early_warning", "overdue/nis2_early_warning"}; !slices.Equal(got, want) {
		t.Fatalf("due at the early warning's deadline: %v, want %v", got, want)
	}
	if next := p.Next(n); !next.Equal(delivered.Add(24*time.Hour - 20*time.Minute)) {
		t.Errorf("next = %v", next)
	}
	if _, err := n.RecordObligationNotApplicable(breach.ObligationNIS2EarlyWarning, at, "ciso", "not significant"); err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, a := range p.Due(n, delivered.Add(72*time.Hour)) {
		got = append(got, string(a.Kind)+"/"+string(a.Obligation))
	}
	want := []string{"reminder/", "reminder/nis2_incident_notification", "overdue/", "overdue/nis2_incident_notification"}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("due at 72 h: %v, want %v", got, want)
	}
	if _, err := n.RecordAuthorityReport(at, "dpo", "IMY", "I", at, ""); err != nil {
		t.Fatal(err)
	}
	for _, a := range p.Due(n, delivered.Add(72*time.Hour)) {
		if a.Obligation == "" {
			t.Errorf("GDPR action %v after its outcome", a)
		}
	}
}
