package breach

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Regime is a legal regime whose reporting obligations a notice carries.
// GDPR applies to every notice (a personal-data breach); NIS2 (in Sweden
// the Cybersecurity Act, cybersäkerhetslagen 2025:1506) adds its own
// reports for the organisations it covers.
type Regime string

// Regimes.
const (
	RegimeGDPR Regime = "gdpr"
	RegimeNIS2 Regime = "nis2"
)

// ParseRegime parses a regime name ("gdpr" or "nis2", case-insensitive).
func ParseRegime(s string) (Regime, error) {
	switch r := Regime(strings.ToLower(strings.TrimSpace(s))); r {
	case RegimeGDPR, RegimeNIS2:
		return r, nil
	}
	return "", fmt.Errorf("unknown regime %q (want gdpr or nis2)", truncate(s))
}

// ObligationKind names one reporting obligation of a notice.
type ObligationKind string

// Obligation kinds. The GDPR obligation (Art. 33: report to the
// supervisory authority within 72 hours) is the notice's own deadline,
// reminders, escalation and outcome; the NIS2 ones (Art. 23) are the
// notice's Obligations.
const (
	ObligationGDPR                     ObligationKind = "gdpr_art33"
	ObligationNIS2EarlyWarning         ObligationKind = "nis2_early_warning"
	ObligationNIS2IncidentNotification ObligationKind = "nis2_incident_notification"
	ObligationNIS2FinalReport          ObligationKind = "nis2_final_report"
)

// NIS2Kinds are the NIS2 obligations, in the order they fall due.
var NIS2Kinds = []ObligationKind{ObligationNIS2EarlyWarning, ObligationNIS2IncidentNotification, ObligationNIS2FinalReport}

// Title is the obligation's name for people.
func (k ObligationKind) Title() string {
	switch k {
	case ObligationGDPR:
		return "GDPR Art. 33 report"
	case ObligationNIS2EarlyWarning:
		return "NIS2 early warning"
	case ObligationNIS2IncidentNotification:
		return "NIS2 incident notification"
	case ObligationNIS2FinalReport:
		return "NIS2 final report"
	}
	return string(k)
}

// ParseObligationKind parses an obligation kind; "" is the GDPR obligation.
func ParseObligationKind(s string) (ObligationKind, error) {
	switch k := ObligationKind(s); k {
	case "", ObligationGDPR:
		return ObligationGDPR, nil
	case ObligationNIS2EarlyWarning, ObligationNIS2IncidentNotification, ObligationNIS2FinalReport:
		return k, nil
	}
	return "", Invalid("obligation", "unknown", "unknown obligation %q (want %s, %s, %s or %s)", truncate(s),
		ObligationGDPR, ObligationNIS2EarlyWarning, ObligationNIS2IncidentNotification, ObligationNIS2FinalReport)
}

// Period is an obligation's clock: whole calendar months, then a duration.
type Period struct {
	Months   int           `json:"months,omitempty"`
	Duration time.Duration `json:"duration,omitempty"`
}

// After is t plus the period.
func (p Period) After(t time.Time) time.Time { return t.AddDate(0, p.Months, 0).Add(p.Duration) }

// IsZero reports whether the period is empty.
func (p Period) IsZero() bool { return p.Months == 0 && p.Duration == 0 }

func (p Period) String() string {
	switch {
	case p.Months == 0:
		return p.Duration.String()
	case p.Duration == 0 && p.Months == 1:
		return "1 month"
	case p.Duration == 0:
		return fmt.Sprintf("%d months", p.Months)
	}
	return fmt.Sprintf("%d months %s", p.Months, p.Duration)
}

// ParsePeriod parses a Go duration ("24h", "720h") or whole months
// ("1 month", "2 months", "1mo").
func ParsePeriod(s string) (Period, error) {
	t := strings.TrimSpace(s)
	for _, suffix := range []string{" months", " month", "months", "month", "mo"} {
		if n, ok := strings.CutSuffix(t, suffix); ok {
			m, err := strconv.Atoi(strings.TrimSpace(n))
			if err != nil || m <= 0 || m > 12 {
				return Period{}, fmt.Errorf("%q: want a positive number of months (at most 12) or a duration such as 720h", s)
			}
			return Period{Months: m}, nil
		}
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return Period{}, fmt.Errorf("%q: want a duration such as 24h or a number of months such as \"1 month\"", s)
	}
	if d <= 0 {
		return Period{}, fmt.Errorf("%q: must be positive", s)
	}
	return Period{Duration: d}, nil
}

// NIS2Clocks are the NIS2 obligations' clocks (Art. 23(4)): the early
// warning and the incident notification from when the organisation became
// aware (the notice's delivery), the final report after the incident
// notification (after its deadline until it is reported).
type NIS2Clocks struct {
	EarlyWarning         Period
	IncidentNotification Period
	FinalReport          Period
}

// DefaultNIS2Clocks are the Cybersecurity Act's: 24 hours, 72 hours, one month.
var DefaultNIS2Clocks = NIS2Clocks{
	EarlyWarning:         Period{Duration: 24 * time.Hour},
	IncidentNotification: Period{Duration: 72 * time.Hour},
	FinalReport:          Period{Months: 1},
}

// Obligation is one NIS2 reporting obligation of a notice, with its own
// clock, reminders, escalation and outcome. Its deadline is set when the
// notice is first delivered (the final report's moves to one period after
// the incident notification once that is reported).
type Obligation struct {
	Kind       ObligationKind `json:"kind"`
	Period     Period         `json:"period"`
	StartsAt   time.Time      `json:"starts_at,omitzero"`
	Deadline   time.Time      `json:"deadline,omitzero"`
	Reminders  []Reminder     `json:"reminders,omitempty"`
	OverdueAt  time.Time      `json:"overdue_notified_at,omitzero"`
	ResolvedAt time.Time      `json:"resolved_at,omitzero"`
	Outcome    *Outcome       `json:"outcome,omitempty"`
}

// Resolved reports whether the obligation's outcome is recorded.
func (o *Obligation) Resolved() bool { return o.Outcome != nil }

// Reminded reports whether the obligation's reminder for threshold remaining was sent.
func (o *Obligation) Reminded(remaining time.Duration) bool {
	for _, r := range o.Reminders {
		if r.Remaining == remaining {
			return true
		}
	}
	return false
}

// Window is the obligation's clock as a duration (0 before it starts).
func (o *Obligation) Window() time.Duration {
	if o.Deadline.IsZero() || o.StartsAt.IsZero() {
		return 0
	}
	return o.Deadline.Sub(o.StartsAt)
}

// NewObligations are the obligations a notice carries under regimes
// beyond GDPR's (which is the notice itself), with clocks c; nil for GDPR
// alone.
func NewObligations(regimes []Regime, c NIS2Clocks) []Obligation {
	for _, r := range regimes {
		if r == RegimeNIS2 {
			return []Obligation{
				{Kind: ObligationNIS2EarlyWarning, Period: c.EarlyWarning},
				{Kind: ObligationNIS2IncidentNotification, Period: c.IncidentNotification},
				{Kind: ObligationNIS2FinalReport, Period: c.FinalReport},
			}
		}
	}
	return nil
}

// Regimes are the regimes whose obligations n carries: GDPR, and NIS2 if
// it has NIS2 obligations.
func (n *Notice) Regimes() []Regime {
	if len(n.Obligations) > 0 {
		return []Regime{RegimeGDPR, RegimeNIS2}
	}
	return []Regime{RegimeGDPR}
}

// Obligation is n's NIS2 obligation of kind k, or nil if it has none.
func (n *Notice) Obligation(k ObligationKind) *Obligation {
	for i := range n.Obligations {
		if n.Obligations[i].Kind == k {
			return &n.Obligations[i]
		}
	}
	return nil
}

// GDPROpen reports whether the GDPR obligation's clock runs: the notice
// is delivered, not withdrawn, and its Art. 33 outcome is not recorded.
func (n *Notice) GDPROpen() bool { return n.Running() && n.Outcome == nil }

// ObligationOpen reports whether obligation o's clock runs.
func (n *Notice) ObligationOpen(o *Obligation) bool {
	return n.Running() && o.Outcome == nil && !o.Deadline.IsZero()
}

// ObligationOverdue reports whether o is open past its deadline at now.
func (n *Notice) ObligationOverdue(o *Obligation, now time.Time) bool {
	return n.ObligationOpen(o) && !now.Before(o.Deadline)
}

// startObligations starts the NIS2 clocks at at, the first delivery.
func (n *Notice) startObligations(at time.Time) {
	n.Obligations = cloneObligations(n.Obligations)
	var in time.Time
	for i := range n.Obligations {
		o := &n.Obligations[i]
		if o.Kind == ObligationNIS2FinalReport {
			continue
		}
		o.StartsAt, o.Deadline = at, o.Period.After(at)
		if o.Kind == ObligationNIS2IncidentNotification {
			in = o.Deadline
		}
	}
	if fr := n.Obligation(ObligationNIS2FinalReport); fr != nil {
		if in.IsZero() {
			in = at
		}
		fr.StartsAt, fr.Deadline = in, fr.Period.After(in)
	}
}

// cloneObligations copies os so that a change never writes to the slice
// an earlier copy of the notice shares.
func cloneObligations(os []Obligation) []Obligation {
	if os == nil {
		return nil
	}
	out := make([]Obligation, len(os))
	for i, o := range os {
		o.Reminders = append([]Reminder(nil), o.Reminders...)
		out[i] = o
	}
	return out
}

// resetObligations clears every obligation's clock and outcome (a
// withdrawn notice named affected again starts over).
func (n *Notice) resetObligations() {
	n.Obligations = cloneObligations(n.Obligations)
	for i := range n.Obligations {
		o := &n.Obligations[i]
		*o = Obligation{Kind: o.Kind, Period: o.Period}
	}
}

// RemindObligation records obligation k's reminder for threshold
// remaining. It returns "" when that reminder was recorded before or the
// obligation is resolved (idempotent).
func (n *Notice) RemindObligation(k ObligationKind, remaining time.Duration, dueAt, now time.Time, late bool) Event {
	o := n.Obligation(k)
	if o == nil || !n.ObligationOpen(o) || o.Reminded(remaining) {
		return ""
	}
	n.Obligations = cloneObligations(n.Obligations)
	o = n.Obligation(k)
	o.Reminders = append(o.Reminders, Reminder{Remaining: remaining, DueAt: dueAt, SentAt: now, Late: late})
	return EventReminded
}

// MarkObligationOverdue records that obligation k's overdue escalation
// was sent at now; "" when recorded before or the obligation is resolved.
func (n *Notice) MarkObligationOverdue(k ObligationKind, now time.Time) Event {
	o := n.Obligation(k)
	if o == nil || !n.ObligationOpen(o) || !o.OverdueAt.IsZero() {
		return ""
	}
	n.Obligations = cloneObligations(n.Obligations)
	n.Obligation(k).OverdueAt = now
	return EventOverdue
}

// obligationsResolved reports whether every NIS2 obligation is resolved.
func (n *Notice) obligationsResolved() bool {
	for i := range n.Obligations {
		if n.Obligations[i].Outcome == nil {
			return false
		}
	}
	return true
}

// settle makes the notice RESOLVED once its GDPR outcome and every NIS2
// obligation's are recorded (a withdrawn notice stays WITHDRAWN); until
// then an outcome recorded makes a DELIVERED notice ACKNOWLEDGED, as
// recording one implies it was received.
func (n *Notice) settle() {
	switch {
	case n.State == StateWithdrawn:
	case n.Outcome != nil && n.obligationsResolved():
		n.State = StateResolved
	case n.State == StateDelivered:
		n.State = StateAcknowledged
	}
}

// obligationFor is obligation k of n for recording an outcome: an
// InvalidError-free ErrIllegalTransition when n does not carry it.
func (n *Notice) obligationFor(k ObligationKind) (*Obligation, error) {
	o := n.Obligation(k)
	if o == nil {
		return nil, fmt.Errorf("%w: notice %s carries no %s obligation (its organisation's regimes: %s)",
			ErrIllegalTransition, n.ID, k, regimeList(n.Regimes()))
	}
	if o.Deadline.IsZero() {
		return nil, fmt.Errorf("%w: the %s of notice %s has no clock yet: the notice has not been delivered", ErrIllegalTransition, k.Title(), n.ID)
	}
	return o, nil
}

func regimeList(rs []Regime) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

// RecordObligationReport resolves obligation k as reported (authority,
// reference, when; delayReason required when reported after its
// deadline). k == ObligationGDPR is RecordAuthorityReport. Recording the
// same report again changes nothing; another outcome is ErrIllegalTransition.
// Reporting the incident notification moves the final report's deadline
// to one period after it was reported.
func (n *Notice) RecordObligationReport(k ObligationKind, now time.Time, by, authority, reference string, reportedAt time.Time, delayReason string) (Event, error) {
	if k == ObligationGDPR || k == "" {
		return n.RecordAuthorityReport(now, by, authority, reference, reportedAt, delayReason)
	}
	if err := n.validateReport(now, by, authority, reference, reportedAt, delayReason); err != nil {
		return "", err
	}
	if err := n.resolvable(); err != nil {
		return "", err
	}
	o, err := n.obligationFor(k)
	if err != nil {
		return "", err
	}
	if err := sameOutcome(n.ID, k, o.Outcome, OutcomeReported, authority, reference, ""); err != nil || o.Outcome != nil {
		return "", err
	}
	late := reportedAt.After(o.Deadline)
	if late && delayReason == "" {
		return "", Invalid("delay_reason", "required",
			"the %s was made %s after its deadline (%s): give the reasons for the delay",
			k.Title(), reportedAt.Sub(o.Deadline).Round(time.Minute), o.Deadline.Format(time.RFC3339))
	}
	n.resolveObligation(k, now, by, &Outcome{Kind: OutcomeReported, Authority: authority, Reference: reference,
		ReportedAt: reportedAt, DelayReason: delayReason, Late: late})
	if k == ObligationNIS2IncidentNotification {
		if fr := n.Obligation(ObligationNIS2FinalReport); fr != nil && fr.Outcome == nil {
			fr.StartsAt, fr.Deadline = reportedAt, fr.Period.After(reportedAt)
			fr.Reminders, fr.OverdueAt = nil, time.Time{} // those were for the deadline before
		}
	}
	return EventOutcomeRecorded, nil
}

// RecordObligationNotApplicable resolves obligation k as not applicable
// (for NIS2: not a significant incident), with the controller's reason.
// k == ObligationGDPR is RecordNotReportable.
func (n *Notice) RecordObligationNotApplicable(k ObligationKind, now time.Time, by, justification string) (Event, error) {
	if k == ObligationGDPR || k == "" {
		return n.RecordNotReportable(now, by, justification)
	}
	var vs violations
	textField(&vs, "recorded_by", by, true, MaxActor)
	textField(&vs, "justification", justification, true, MaxLongText)
	if err := vs.err(); err != nil {
		return "", err
	}
	if err := n.resolvable(); err != nil {
		return "", err
	}
	o, err := n.obligationFor(k)
	if err != nil {
		return "", err
	}
	if err := sameOutcome(n.ID, k, o.Outcome, OutcomeNotReportable, "", "", justification); err != nil || o.Outcome != nil {
		return "", err
	}
	n.resolveObligation(k, now, by, &Outcome{Kind: OutcomeNotReportable, Justification: justification})
	return EventOutcomeRecorded, nil
}

// sameOutcome is nil when prev is nil or is the outcome described (a
// repeat), else the ErrIllegalTransition of changing an outcome.
func sameOutcome(id NoticeID, k ObligationKind, prev *Outcome, kind OutcomeKind, authority, reference, justification string) error {
	switch {
	case prev == nil:
		return nil
	case prev.Kind == kind && prev.Authority == authority && prev.Reference == reference && prev.Justification == justification:
		return nil
	case prev.Kind == OutcomeReported && kind == OutcomeReported:
		return fmt.Errorf("%w: the %s of notice %s was already reported to %s with reference %q; a report is recorded once",
			ErrIllegalTransition, k.Title(), id, prev.Authority, prev.Reference)
	}
	return fmt.Errorf("%w: the %s of notice %s is already resolved as %s; an outcome cannot be changed", ErrIllegalTransition, k.Title(), id, prev.Kind)
}

func (n *Notice) resolveObligation(k ObligationKind, now time.Time, by string, out *Outcome) {
	n.Obligations = cloneObligations(n.Obligations)
	o := n.Obligation(k)
	n.markReceived(now, by)
	out.RecordedAt, out.RecordedBy = now, by
	o.Outcome, o.ResolvedAt = out, now
	n.settle()
}

// ObligationDetail is the history detail of an action on obligation k
// (empty k: the GDPR obligation, whose details are unchanged).
func ObligationDetail(k ObligationKind, detail string) string {
	if k == "" || k == ObligationGDPR {
		return detail
	}
	return string(k) + ": " + detail
}
