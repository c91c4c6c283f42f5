package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// obligationNames are the values of --obligation, by kind.
var obligationNames = map[string]cascadev1.ObligationKind{
	"gdpr":                       cascadev1.ObligationKind_OBLIGATION_KIND_GDPR_ART33,
	"nis2-early-warning":         cascadev1.ObligationKind_OBLIGATION_KIND_NIS2_EARLY_WARNING,
	"nis2-incident-notification": cascadev1.ObligationKind_OBLIGATION_KIND_NIS2_INCIDENT_NOTIFICATION,
	"nis2-final-report":          cascadev1.ObligationKind_OBLIGATION_KIND_NIS2_FINAL_REPORT,
}

// obligationFlagHelp is the help of --obligation.
const obligationFlagHelp = "which `obligation`: gdpr (Art. 33, the default), nis2-early-warning, nis2-incident-notification or nis2-final-report"

// parseObligation parses --obligation (empty: GDPR); underscores are
// accepted for dashes.
func parseObligation(cmd, v string) (cascadev1.ObligationKind, error) {
	k := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(v)), "_", "-")
	if k == "" {
		return cascadev1.ObligationKind_OBLIGATION_KIND_GDPR_ART33, nil
	}
	if o, ok := obligationNames[k]; ok {
		return o, nil
	}
	return 0, usageErrorf(cmd, "--obligation must be gdpr, nis2-early-warning, nis2-incident-notification or nis2-final-report, not %q", v)
}

// obligationTitle is an obligation's name for people.
func obligationTitle(k cascadev1.ObligationKind) string {
	switch k {
	case cascadev1.ObligationKind_OBLIGATION_KIND_GDPR_ART33:
		return "GDPR Art. 33"
	case cascadev1.ObligationKind_OBLIGATION_KIND_NIS2_EARLY_WARNING:
		return "NIS2 early warning"
	case cascadev1.ObligationKind_OBLIGATION_KIND_NIS2_INCIDENT_NOTIFICATION:
		return "NIS2 incident notification"
	case cascadev1.ObligationKind_OBLIGATION_KIND_NIS2_FINAL_REPORT:
		return "NIS2 final report"
	}
	return strings.TrimPrefix(k.String(), "OBLIGATION_KIND_")
}

// renderObligations writes one row per NIS2 obligation of n (a notice
// under GDPR alone shows none: its GDPR obligation is the rows above).
func renderObligations(tw io.Writer, n *cascadev1.Notice, now time.Time) {
	obs := n.GetObligations()
	if len(obs) < 2 {
		return
	}
	for i, o := range obs[1:] {
		label := ""
		if i == 0 {
			label = "Obligations:"
		}
		s := obligationTitle(o.GetKind()) + ": deadline " + formatDeadline(o.GetDeadline(), now)
		switch out := o.GetOutcome(); out.GetKind() {
		case cascadev1.OutcomeKind_OUTCOME_KIND_REPORTED_TO_AUTHORITY:
			s += fmt.Sprintf("; reported to %s, reference %s, at %s", safeText(out.GetAuthority()), safeText(out.GetReference()),
				formatTime(out.GetReportedAt()))
			if out.GetLate() {
				s += " (after the deadline: " + safeText(out.GetDelayReason()) + ")"
			}
		case cascadev1.OutcomeKind_OUTCOME_KIND_NOT_REPORTABLE:
			s += "; not applicable: " + safeText(out.GetJustification())
		default:
			if o.GetOverdue() {
				s += "; OVERDUE"
			} else {
				s += "; open"
			}
			s += fmt.Sprintf(", %d reminders", len(o.GetReminders()))
		}
		row(tw, label, s)
	}
}
