package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/protoconv"
	"github.com/cascadehq/cascade/internal/verify"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func breachForwardCmd() *command {
	const name = "breach forward"
	return &command{
		name:    name,
		args:    "[NOTICE_ID]",
		summary: "Forward a notice your processor received from its own supplier to your customers",
		details: `For a processor whose own supplier (a sub-processor) had the breach: forwards
the notice your organisation received as your own breach, to your own
customers, in one step (BreachService.ForwardNotice). The new breach carries
the supplier's notice id, name, facts and signed message, so each of your
customers can verify the whole chain offline (cascadectl verify). Their
clocks start when they receive it.

Needs a vendor token of a registered processor whose processor registry row
names the organisation it receives notices as (org_id). Within one Cascade
give the notice id, <breach_id>/<your org_id>. From another Cascade give
the message as you received it with --message FILE (any form cascadectl
verify reads: the e-mail's cascade-message.json, a saved webhook request,
nats output); this Cascade must trust that Cascade's keys (cascaded
--upstream-keys).

Forwarding the same notice again does nothing; forwarding it after the
supplier updated it sends the update to your customers as a revision.`,
		examples: `
# Forward the hosting provider's notice to every customer of yours
cascadectl breach forward drift-hosting__DH-7/se-foretag-alfa-lon --all-customers
# Forward a notice received from another Cascade, to two customers
cascadectl breach forward --message cascade-message.json --affected se-kommun-0180,se-kommun-1480`,
		setup: func(fs *flag.FlagSet) runFunc {
			msgFile := fs.String("message", "", "the upstream message as received (`file`, or - for stdin), instead of NOTICE_ID")
			id := fs.String("id", "", "the forwarded breach's `id` (default: the supplier's breach id)")
			affected := fs.String("affected", "", "your customers it affects: organisation `ids`, comma- or space-separated")
			all := fs.Bool("all-customers", false, "it affects every customer of yours")
			advice := fs.String("advice", "", "your own advice to your customers (`text`; default: the supplier's)")
			return func(ctx context.Context, a *app, args []string) error {
				if len(args) > 1 || (len(args) == 1) == (*msgFile != "") {
					return usageErrorf(name, "give the upstream NOTICE_ID or --message FILE (one of them)")
				}
				if (*affected != "") == *all {
					return usageErrorf(name, "give --affected IDS or --all-customers (one of them)")
				}
				req := &cascadev1.ForwardNoticeRequest{Id: *id, AllCustomers: *all, AdviceToControllers: *advice}
				for _, o := range strings.FieldsFunc(*affected, func(r rune) bool { return r == ',' || r == ' ' }) {
					req.Affected = append(req.Affected, &cascadev1.AffectedOrganisation{OrgId: o})
				}
				if len(args) == 1 {
					req.NoticeId = args[0]
				} else {
					data, err := a.readSaved(*msgFile)
					if err != nil {
						return err
					}
					msg, _, err := verify.Parse(data)
					if err != nil {
						return fmt.Errorf("%s: %w", *msgFile, err)
					}
					req.Message = protoconv.SignedMessageProto(&breach.SignedMessage{Subject: msg.Subject, Headers: msg.Headers, Data: msg.Data})
				}
				ctx, cancel := a.withTimeout(ctx)
				defer cancel()
				c, err := a.dial()
				if err != nil {
					return err
				}
				defer c.Close()
				resp, err := c.breach.ForwardNotice(ctx, req)
				if err != nil {
					return err
				}
				if a.g.output == outputJSON {
					return writeProto(a.stdout, resp)
				}
				b := resp.GetBreach()
				up := protoconv.Upstream(b.GetReport().GetUpstream())
				switch {
				case resp.GetAlreadyForwarded():
					fmt.Fprintf(a.stdout, "Already forwarded: breach %s carries it (revision %d).\n", b.GetId(), resp.GetRevision())
				case resp.GetRevision() > 1:
					fmt.Fprintf(a.stdout, "Forwarded the supplier's update as revision %d of breach %s.\n", resp.GetRevision(), b.GetId())
				default:
					fmt.Fprintf(a.stdout, "Forwarded %s's notice %s as breach %s.\n", safeText(up.Processor), up.Notice, b.GetId())
				}
				b, s, err := fetchStatus(ctx, c, b.GetId())
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout)
				return renderBreachStatus(a.stdout, b, s, time.Now())
			}
		},
	}
}
