package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func deadletterListCmd() *command {
	const name = "deadletter list"
	return &command{
		name:    name,
		summary: "List messages that could not be delivered by webhook or e-mail",
		details: `Lists the dead letters, oldest first: messages to an organisation that
failed on its webhook or e-mail channel through every retry (about a day)
and were given up on. The organisation did not receive them there: follow
up by other means. Each shows the notice, the channel, the message (event,
revision, id), where it was sent (the webhook URL without its query, or
the addresses), the attempts and the last error.

Vendor, and viewers without an organisation.`,
		examples: `
# Every dead letter
cascadectl deadletter list
# One breach's, as JSON lines
cascadectl deadletter list --breach EXAMPLE-2025-08-23 -o json`,
		setup: func(fs *flag.FlagSet) runFunc {
			breachID := fs.String("breach", "", "only this breach's (`id`)")
			org := fs.String("org", "", "only this organisation's (`id`)")
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs(name, args, 0); err != nil {
					return err
				}
				ctx, cancel := a.withTimeout(ctx)
				defer cancel()
				c, err := a.dial()
				if err != nil {
					return err
				}
				defer c.Close()
				client := cascadev1.NewDeliveryServiceClient(c.conn)
				req := &cascadev1.ListDeadLettersRequest{BreachId: strings.TrimSpace(*breachID), OrgId: strings.TrimSpace(*org), PageSize: 1000}
				var all []*cascadev1.DeadLetter
				for {
					resp, err := client.ListDeadLetters(ctx, req)
					if err != nil {
						return err
					}
					all = append(all, resp.GetDeadLetters()...)
					if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
						break
					}
				}
				if a.g.output == outputJSON {
					return writeProtoList(a.stdout, all)
				}
				return renderDeadLetters(a.stdout, all)
			}
		},
	}
}

// channelName is a delivery channel without its enum prefix, e.g. "webhook".
func channelName(c cascadev1.DeliveryChannel) string {
	if c == cascadev1.DeliveryChannel_DELIVERY_CHANNEL_UNSPECIFIED {
		return none
	}
	return strings.ToLower(strings.TrimPrefix(c.String(), "DELIVERY_CHANNEL_"))
}

// renderDeadLetters writes the dead-letter table.
func renderDeadLetters(w io.Writer, ds []*cascadev1.DeadLetter) error {
	if len(ds) == 0 {
		_, err := io.WriteString(w, "No dead letters: every webhook and e-mail message was delivered or is still being retried.\n")
		return err
	}
	tw := newTable(w)
	row(tw, "NOTICE", "CHANNEL", "EVENT", "REV", "DESTINATION", "ATTEMPTS", "GIVEN UP", "LAST ERROR")
	for _, d := range ds {
		row(tw, d.GetNoticeId(), channelName(d.GetChannel()), d.GetEvent(), fmt.Sprint(d.GetRevision()), truncate(d.GetDestination(), 50),
			fmt.Sprint(d.GetAttempts()), formatTime(d.GetDeadLetteredAt()), truncate(d.GetLastError(), 80))
	}
	return tw.Flush()
}
