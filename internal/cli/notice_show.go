package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func noticeShowCmd() *command {
	return &command{
		name:    "notice show",
		args:    "ID",
		summary: "Show every field of a notice",
		details: `ID is "<breach_id>/<org_id>", e.g. EXAMPLE-2025-08-23/se-kommun-0180.`,
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
	row(tw, "Created:", formatTime(n.GetCreatedAt()))
	row(tw, "Delivered:", formatTime(n.GetDeliveredAt()))
	row(tw, "Deliveries:", fmt.Sprint(n.GetDeliveryCount()))
	row(tw, "Deadline:", formatDeadline(n.GetDeadline(), now))
	row(tw, "Overdue:", yesNo(n.GetOverdue()))
	row(tw, "Acknowledged:", formatTime(n.GetAcknowledgedAt()))
	row(tw, "Acknowledged by:", orNone(n.GetAcknowledgedBy()))
	row(tw, "Note:", orNone(n.GetAcknowledgementNote()))
	row(tw, "Approx. subjects:", count(n.GetApproxSubjects()))
	row(tw, "Approx. records:", count(n.GetApproxRecords()))
	row(tw, "Processor delay:", formatProtoDuration(n.GetProcessorDelay()))
	return tw.Flush()
}
