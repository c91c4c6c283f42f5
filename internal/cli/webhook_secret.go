package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func webhookSecretCmd() *command {
	const name = "webhook secret"
	return &command{
		name:    name,
		summary: "Issue a new webhook signing secret for an organisation (vendor only)",
		details: `Issues a new secret for the organisation's webhook and prints it, once:
Cascade signs every webhook request with it (header Cascade-Webhook-Signature:
t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>). Give it to the
organisation over a trusted channel. Until a secret is issued, deliveries to
the organisation's webhook fail and are retried.

Running it again rotates the secret: the previous one keeps signing beside
the new one (a second v1=) for 24 hours, so the receiver can switch
without losing messages.`,
		examples: `
# Issue (or rotate) Stockholm's webhook secret
cascadectl webhook secret --org se-kommun-0180
# Only the secret, for a script
cascadectl webhook secret --org se-kommun-0180 -q > stockholm.whsec`,
		setup: func(fs *flag.FlagSet) runFunc {
			org := fs.String("org", "", "organisation `id` (required)")
			quiet := fs.Bool("q", false, "print only the secret, on one line")
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs(name, args, 0); err != nil {
					return err
				}
				if err := requireFlag(name, "org", *org, "the organisation whose webhook the secret signs for"); err != nil {
					return err
				}
				if *quiet && a.g.output == outputJSON {
					return usageErrorf(name, "-q prints only the secret; it does not go with -o json")
				}
				ctx, cancel := a.withTimeout(ctx)
				defer cancel()
				c, err := a.dial()
				if err != nil {
					return err
				}
				defer c.Close()
				resp, err := cascadev1.NewDeliveryServiceClient(c.conn).RotateWebhookSecret(ctx,
					&cascadev1.RotateWebhookSecretRequest{OrgId: strings.TrimSpace(*org)})
				if err != nil {
					return err
				}
				switch {
				case *quiet:
					_, err = fmt.Fprintln(a.stdout, resp.GetSecret())
					return err
				case a.g.output == outputJSON:
					return writeProto(a.stdout, resp)
				}
				fmt.Fprintf(a.stdout, "Webhook secret for %s (shown once, give it to the organisation over a trusted channel):\n\n  %s\n\n",
					resp.GetOrgId(), resp.GetSecret())
				tw := newTable(a.stdout)
				row(tw, "Issued:", formatTime(resp.GetCreatedAt()))
				if resp.GetPreviousValidUntil() != nil {
					row(tw, "Previous secret signs until:", formatTime(resp.GetPreviousValidUntil()))
				}
				return tw.Flush()
			}
		},
	}
}
