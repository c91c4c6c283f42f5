package cli

import (
	"context"
	"flag"
	"math"
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
ID is "<breach_id>/<org_id>".

A breach updated with follow-up information has revisions; the notice
shows the latest revision delivered and the latest acknowledged. Without
--revision the latest delivered revision is acknowledged; --revision N
acknowledges revision N (and so the ones before it), never a later one.`,
		examples: `
# Acknowledge as the organisation's DPO, with a controller token
cascadectl --token-file stockholm.token notice ack EXAMPLE-2025-08-23/se-kommun-0180 --by dpo@stockholm.example.org --note "received, assessing"
# Acknowledge revision 2 of the breach
cascadectl notice ack EXAMPLE-2025-08-23/se-kommun-0180 --by dpo@stockholm.example.org --revision 2`,
		setup: func(fs *flag.FlagSet) runFunc {
			by := fs.String("by", "", "`name` or e-mail address of who acknowledges (required)")
			note := fs.String("note", "", "optional `text` to record with the acknowledgement")
			revision := fs.Int("revision", 0, "acknowledge breach revision `N`; 0 means the latest delivered")
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs("notice ack", args, 1); err != nil {
					return err
				}
				if strings.TrimSpace(*by) == "" {
					return usageErrorf("notice ack", "--by is required: who acknowledges the notice (a name or e-mail address)")
				}
				if *revision < 0 || *revision > math.MaxInt32 {
					return usageErrorf("notice ack", "--revision must be a revision number (1, 2, ...), or 0 for the latest delivered")
				}
				ctx, cancel := a.withTimeout(ctx)
				defer cancel()
				c, err := a.dial()
				if err != nil {
					return err
				}
				defer c.Close()
				resp, err := c.notices.AcknowledgeNotice(ctx, &cascadev1.AcknowledgeNoticeRequest{
					NoticeId: args[0], AcknowledgedBy: *by, Note: *note, Revision: int32(*revision),
				})
				if err != nil {
					return err
				}
				return a.writeNotice(resp.GetNotice())
			}
		},
	}
}
