package cli

import (
	"context"
	"flag"
	"strings"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func noticeAckCmd() *command {
	return &command{
		name:    "notice ack",
		args:    "ID",
		summary: "Acknowledge a notice on behalf of its organisation",
		details: `Records that the organisation has received the notice, then prints it.
Acknowledging again changes nothing. Acknowledging never moves the deadline.
ID is "<breach_id>/<org_id>".`,
		setup: func(fs *flag.FlagSet) runFunc {
			by := fs.String("by", "", "`name` or e-mail address of who acknowledges (required)")
			note := fs.String("note", "", "optional `text` to record with the acknowledgement")
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs("notice ack", args, 1); err != nil {
					return err
				}
				if strings.TrimSpace(*by) == "" {
					return usageErrorf("notice ack", "--by is required: who acknowledges the notice (a name or e-mail address)")
				}
				ctx, cancel := a.withTimeout(ctx)
				defer cancel()
				c, err := a.dial()
				if err != nil {
					return err
				}
				defer c.Close()
				resp, err := c.notices.AcknowledgeNotice(ctx, &cascadev1.AcknowledgeNoticeRequest{
					NoticeId: args[0], AcknowledgedBy: *by, Note: *note,
				})
				if err != nil {
					return err
				}
				return a.writeNotice(resp.GetNotice())
			}
		},
	}
}
