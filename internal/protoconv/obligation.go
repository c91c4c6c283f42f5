package protoconv

import (
	"time"

	"github.com/cascadehq/cascade/internal/breach"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

var obligationKinds = map[breach.ObligationKind]cascadev1.ObligationKind{
	breach.ObligationGDPR:                     cascadev1.ObligationKind_OBLIGATION_KIND_GDPR_ART33,
	breach.ObligationNIS2EarlyWarning:         cascadev1.ObligationKind_OBLIGATION_KIND_NIS2_EARLY_WARNING,
	breach.ObligationNIS2IncidentNotification: cascadev1.ObligationKind_OBLIGATION_KIND_NIS2_INCIDENT_NOTIFICATION,
	breach.ObligationNIS2FinalReport:          cascadev1.ObligationKind_OBLIGATION_KIND_NIS2_FINAL_REPORT,
}

// ObligationKindProto converts an obligation kind.
func ObligationKindProto(k breach.ObligationKind) cascadev1.ObligationKind { return obligationKinds[k] }

// ObligationKind converts a wire obligation kind: unspecified is the GDPR
// obligation; an unknown value is an InvalidError.
func ObligationKind(k cascadev1.ObligationKind) (breach.ObligationKind, error) {
	if k == cascadev1.ObligationKind_OBLIGATION_KIND_UNSPECIFIED {
		return breach.ObligationGDPR, nil
	}
	for b, w := range obligationKinds {
		if w == k {
			return b, nil
		}
	}
	return "", breach.Invalid("obligation", "unknown", "unknown obligation kind %d", int32(k))
}

// ObligationsProto are n's obligations: the GDPR one (from the notice's
// own deadline, reminders, escalation and outcome) first, then its NIS2
// ones; overdue is evaluated at now.
func ObligationsProto(n *breach.Notice, now time.Time) []*cascadev1.Obligation {
	out := []*cascadev1.Obligation{{
		Kind:              cascadev1.ObligationKind_OBLIGATION_KIND_GDPR_ART33,
		StartsAt:          pts(n.DeliveredAt),
		Deadline:          pts(n.Deadline),
		Overdue:           n.Overdue(now),
		Reminders:         remindersProto(n.Reminders),
		OverdueNotifiedAt: pts(n.OverdueAt),
		ResolvedAt:        pts(n.ResolvedAt),
		Outcome:           outcomeProto(n.Outcome),
	}}
	for i := range n.Obligations {
		o := &n.Obligations[i]
		out = append(out, &cascadev1.Obligation{
			Kind:              ObligationKindProto(o.Kind),
			StartsAt:          pts(o.StartsAt),
			Deadline:          pts(o.Deadline),
			Overdue:           n.ObligationOverdue(o, now),
			Reminders:         remindersProto(o.Reminders),
			OverdueNotifiedAt: pts(o.OverdueAt),
			ResolvedAt:        pts(o.ResolvedAt),
			Outcome:           outcomeProto(o.Outcome),
		})
	}
	return out
}

// ObligationSummariesProto are s's counts per obligation at now.
func ObligationSummariesProto(s *breach.Summary, now time.Time) []*cascadev1.ObligationSummary {
	cs := s.ObligationCounts(now)
	out := make([]*cascadev1.ObligationSummary, len(cs))
	for i, c := range cs {
		out[i] = &cascadev1.ObligationSummary{Kind: ObligationKindProto(c.Kind), Open: c.Open, Resolved: c.Resolved,
			Overdue: c.Overdue, NextDeadline: pts(c.NextDeadline)}
	}
	return out
}
