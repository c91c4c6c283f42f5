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
Cascade signs every webhook request with it per the Standard Webhooks
specification (headers webhook-id, webhook-timestamp and webhook-signature:
v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">, the key being the
secret after whsec_, base64-decoded), and, deprecated, in the header
Cascade-Webhook-Signature. Give it to the organisation over a trusted
channel. Until a secret is issued, deliveries to the organisation's webhook
fail and are retried.

Running it again rotates the secret: the previous one keeps signing beside
the new one (a second v1 signature) for 24 hours, so the receiver can switch
without losing messages.

An organisation without a webhook (its registry row has no webhook_url, or
its channels column does not name webhook) is refused: add the webhook to
the registry first, or pass --prepare to issue the secret in advance (it
signs once the registry gives the organisation a webhook).`,
		examples: `
# Issue (or rotate) Stockholm's webhook secret
cascadectl webhook secret --org se-kommun-0180
# Only the secret, for a script
cascadectl webhook secret --org se-kommun-0180 -q > stockholm.whsec
# Prepare the secret of an organisation whose webhook is not in the registry yet
cascadectl webhook secret --org se-kommun-0114 --prepare`,
		setup: func(fs *flag.FlagSet) runFunc {
			org := fs.String("org", "", "organisation `id` (required)")
			quiet := fs.Bool("q", false, "print only the secret, on one line")
			prepare := fs.Bool("prepare", false, "issue the secret although the organisation has no webhook in the registry yet")
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
					&cascadev1.RotateWebhookSecretRequest{OrgId: strings.TrimSpace(*org), Prepare: *prepare})
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
				if resp.GetPrepared() {
					row(tw, "Prepared:", "the organisation has no webhook in the registry yet; the secret signs once it has one")
				}
				return tw.Flush()
			}
		},
	}
}
