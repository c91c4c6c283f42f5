package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func noticeShowCmd() *command {
	return &command{
		name:    "notice show",
		args:    "ID",
		summary: "Show every field of a notice",
		details: `ID is "<breach_id>/<org_id>", e.g. EXAMPLE-2025-08-23/se-kommun-0180.

Besides the delivery, deadline and acknowledgement, it shows the breach
revisions delivered to and acknowledged by the organisation, the reminders
sent (time left when due, when due, when sent, whether late), when the
overdue escalation was sent, the recorded outcome (reported to the
authority, or not reportable) and the decision on informing the data
subjects (Art. 34). 'cascadectl notice history ID' lists every event.`,
		examples: `
# Every field of Stockholm's notice of the example breach
cascadectl notice show EXAMPLE-2025-08-23/se-kommun-0180`,
		setup: func(*flag.FlagSet) runFunc {
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs("notice show", args, 1); err != nil {
					return err
				}
				ctx, cancel := a.withTimeout(ctx)
				defer cancel()
				c, err := a.dial()
				if err != nil {
					return err
				}
				defer c.Close()
				resp, err := c.notices.GetNotice(ctx, &cascadev1.GetNoticeRequest{NoticeId: args[0]})
				if err != nil {
					return err
				}
				return a.writeNotice(resp.GetNotice())
			}
		},
	}
}

// writeNotice prints one notice in the chosen format.
func (a *app) writeNotice(n *cascadev1.Notice) error {
	if a.g.output == outputJSON {
		return writeProto(a.stdout, n)
	}
	return renderNotice(a.stdout, n, time.Now())
}

// renderNotice writes every field of a notice; time left is counted from now.
func renderNotice(w io.Writer, n *cascadev1.Notice, now time.Time) error {
	count := func(v int64) string {
		if v == 0 {
			return "unknown"
		}
		return fmt.Sprint(v)
	}
	org := n.GetOrgId()
	if name := n.GetOrgName(); name != "" {
		org += " (" + name + ")"
	}
	tw := newTable(w)
	row(tw, "Notice:", n.GetId())
	row(tw, "Breach:", n.GetBreachId())
	row(tw, "Organisation:", org)
	row(tw, "State:", stateName(n.GetState()))
	if st := n.GetAffectedStatus(); st > cascadev1.AffectedStatus_AFFECTED_STATUS_CONFIRMED { // shown only when not confirmed
		row(tw, "Affected:", strings.TrimPrefix(st.String(), "AFFECTED_STATUS_"))
	}
	if n.GetWithdrawnAt() != nil {
		row(tw, "Withdrawn:", formatTime(n.GetWithdrawnAt())+": "+safeText(n.GetWithdrawalStatement()))
	}
	row(tw, "Created:", formatTime(n.GetCreatedAt()))
	row(tw, "Delivered:", formatTime(n.GetDeliveredAt()))
	row(tw, "Deliveries:", fmt.Sprint(n.GetDeliveryCount()))
	renderChannels(tw, n.GetChannels())
	row(tw, "Revision:", formatRevisions(n))
	if n.GetState() == cascadev1.NoticeState_NOTICE_STATE_WITHDRAWN {
		row(tw, "Deadline:", formatTime(n.GetDeadline())+" (withdrawn: no longer applies)")
	} else {
		row(tw, "Deadline:", formatDeadline(n.GetDeadline(), now))
	}
	row(tw, "Overdue:", yesNo(n.GetOverdue()))
	row(tw, "Overdue notified:", formatTime(n.GetOverdueNotifiedAt()))
	reminders := n.GetReminders()
	if len(reminders) == 0 {
		row(tw, "Reminders:", "none sent")
	}
	for i, r := range reminders {
		label := ""
		if i == 0 {
			label = "Reminders:"
		}
		row(tw, label, formatReminder(r))
	}
	for i, e := range n.GetEscalatedTo() { // shown only when escalated, so other notices read as before
		label := ""
		if i == 0 {
			label = "Escalated to:"
		}
		row(tw, label, formatEscalation(e))
	}
	row(tw, "Acknowledged:", formatTime(n.GetAcknowledgedAt()))
	row(tw, "Acknowledged by:", orNone(n.GetAcknowledgedBy()))
	row(tw, "Note:", orNone(n.GetAcknowledgementNote()))
	row(tw, "Resolved:", formatTime(n.GetResolvedAt()))
	renderOutcome(tw, n.GetOutcome())
	renderObligations(tw, n, now)
	renderSubjectCommunication(tw, n.GetSubjectCommunication())
	row(tw, "Approx. subjects:", count(n.GetApproxSubjects()))
	row(tw, "Approx. records:", count(n.GetApproxRecords()))
	row(tw, "Processor delay:", formatProtoDuration(n.GetProcessorDelay()))
	if q := n.GetQuestions(); q > 0 {
		row(tw, "Questions:", fmt.Sprintf("%d asked, %d unanswered (cascadectl notice questions --breach %s --org %s)",
			q, n.GetOpenQuestions(), n.GetBreachId(), n.GetOrgId()))
	}
	return tw.Flush()
}

// formatRevisions is e.g. "2 delivered, 1 acknowledged".
func formatRevisions(n *cascadev1.Notice) string {
	if n.GetRevisionDelivered() == 0 {
		return none
	}
	acked := "none acknowledged"
	if r := n.GetRevisionAcknowledged(); r > 0 {
		acked = fmt.Sprintf("%d acknowledged", r)
	}
	return fmt.Sprintf("%d delivered, %s", n.GetRevisionDelivered(), acked)
}

// formatReminder is e.g. "24h00m before the deadline: due 2025-08-25T16:30:05Z, sent 2025-08-25T16:30:06Z".
func formatReminder(r *cascadev1.Reminder) string {
	left := formatProtoDuration(r.GetRemaining())
	if d := r.GetRemaining().AsDuration(); d > 0 && d < time.Minute { // short test schedules
		left = d.String()
	}
	s := fmt.Sprintf("%s before the deadline: due %s, sent %s", left, formatTime(r.GetDueAt()), formatTime(r.GetSentAt()))
	if r.GetLate() {
		s += " (LATE: the daemon was down)"
	}
	return s
}

// renderOutcome writes the rows of the recorded Art. 33 outcome.
func renderOutcome(tw io.Writer, o *cascadev1.Outcome) {
	switch o.GetKind() {
	case cascadev1.OutcomeKind_OUTCOME_KIND_REPORTED_TO_AUTHORITY:
		row(tw, "Outcome:", "reported to "+orNone(o.GetAuthority())+", reference "+orNone(o.GetReference()))
		reported := formatTime(o.GetReportedAt())
		if o.GetLate() {
			reported += " (after the deadline)"
		}
		row(tw, "Reported at:", reported)
		if o.GetDelayReason() != "" || o.GetLate() {
			row(tw, "Delay reason:", orNone(o.GetDelayReason()))
		}
	case cascadev1.OutcomeKind_OUTCOME_KIND_NOT_REPORTABLE:
		row(tw, "Outcome:", "not reportable (unlikely to result in a risk)")
		row(tw, "Justification:", orNone(o.GetJustification()))
	case cascadev1.OutcomeKind_OUTCOME_KIND_UNSPECIFIED:
		if o == nil {
			row(tw, "Outcome:", none)
			return
		}
		row(tw, "Outcome:", "unknown")
	default:
		row(tw, "Outcome:", strings.TrimPrefix(o.GetKind().String(), "OUTCOME_KIND_"))
	}
	row(tw, "Outcome recorded:", formatRecorded(o.GetRecordedAt(), o.GetRecordedBy()))
}

// renderSubjectCommunication writes the rows of the recorded Art. 34 decision.
func renderSubjectCommunication(tw io.Writer, c *cascadev1.SubjectCommunication) {
	if c == nil {
		row(tw, "Data subjects:", "not recorded")
		return
	}
	switch c.GetKind() {
	case cascadev1.SubjectCommunicationKind_SUBJECT_COMMUNICATION_KIND_COMMUNICATED:
		row(tw, "Data subjects:", "informed at "+formatTime(c.GetCommunicatedAt())+" by "+orNone(c.GetHow()))
	case cascadev1.SubjectCommunicationKind_SUBJECT_COMMUNICATION_KIND_NOT_REQUIRED:
		row(tw, "Data subjects:", "not informed: not required (unlikely high risk)")
	case cascadev1.SubjectCommunicationKind_SUBJECT_COMMUNICATION_KIND_EXEMPT:
		row(tw, "Data subjects:", "not informed: exempt under "+exemptionName(c.GetExemption()))
		if c.GetPublicCommunication() != "" {
			row(tw, "Public notice:", c.GetPublicCommunication())
		}
	default:
		row(tw, "Data subjects:", strings.TrimPrefix(c.GetKind().String(), "SUBJECT_COMMUNICATION_KIND_"))
	}
	if c.GetJustification() != "" {
		row(tw, "Art. 34 reason:", c.GetJustification())
	}
	row(tw, "Art. 34 recorded:", formatRecorded(c.GetRecordedAt(), c.GetRecordedBy()))
}

// exemptionName is e.g. "Art. 34(3)(c) (disproportionate effort)".
func exemptionName(e cascadev1.Art34Exemption) string {
	switch e {
	case cascadev1.Art34Exemption_ART34_EXEMPTION_A_UNINTELLIGIBLE:
		return "Art. 34(3)(a) (data unintelligible, e.g. encrypted)"
	case cascadev1.Art34Exemption_ART34_EXEMPTION_B_RISK_REMOVED:
		return "Art. 34(3)(b) (high risk removed by later measures)"
	case cascadev1.Art34Exemption_ART34_EXEMPTION_C_DISPROPORTIONATE:
		return "Art. 34(3)(c) (disproportionate effort; public communication instead)"
	}
	return "Art. 34(3), ground not recorded"
}

// formatRecorded is e.g. "2025-08-24T10:00:00Z by dpo@example.org".
func formatRecorded(at *timestamppb.Timestamp, by string) string {
	s := formatTime(at)
	if by != "" {
		s += " by " + by
	}
	return s
}

// recordNotice runs one call that changes a notice and prints the notice
// it returns.
func (a *app) recordNotice(ctx context.Context, call func(context.Context, *clients) (*cascadev1.Notice, error)) error {
	ctx, cancel := a.withTimeout(ctx)
	defer cancel()
	c, err := a.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	n, err := call(ctx, c)
	if err != nil {
		return err
	}
	return a.writeNotice(n)
}

// parseTimeFlag parses the RFC 3339 value of a time flag.
func parseTimeFlag(cmd, name, v string) (*timestamppb.Timestamp, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
	if err != nil {
		return nil, usageErrorf(cmd, "--%s: %q is not an RFC 3339 time such as 2025-08-24T10:00:00Z or 2025-08-24T12:00:00+02:00", name, v)
	}
	return timestamppb.New(t), nil
}

// requireFlag is a usage error unless v is set.
func requireFlag(cmd, name, v, what string) error {
	if strings.TrimSpace(v) == "" {
		return usageErrorf(cmd, "--%s is required: %s", name, what)
	}
	return nil
}

// formatEscalation is one message sent to the escalation contact: to
// whom, which message and when.
func formatEscalation(e *cascadev1.Escalation) string {
	s := e.GetEmail()
	if e.GetPhone() != "" {
		s += " (phone " + e.GetPhone() + ")"
	}
	what := e.GetEvent()
	if e.GetRemaining() != nil {
		what = "last reminder, " + formatProtoDuration(e.GetRemaining()) + " left"
	}
	return s + ": " + what + ", " + formatTime(e.GetSentAt())
}
