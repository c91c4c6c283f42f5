package cli

import (
	"context"
	"flag"
	"fmt"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

const advisoryDetails = `The advisory page is the breach's public page on the daemon's --http-addr,
/advisories/<breach_id>: the processor's words for the data subjects
(subject_notice), advice, its contact and how to tell a genuine message
from phishing; never the affected organisations or their numbers. It needs
no token, so controllers can link to it in a public communication
(Art. 34(3)(c)); its address never changes. Until it is published, and
again once withdrawn, it answers 404 as for a breach that does not exist.
Vendor only.`

func breachAdvisoryPublishCmd() *command {
	const name = "breach publish-advisory"
	return &command{
		name:    name,
		args:    "BREACH_ID",
		summary: "Publish the breach's public advisory page (vendor only)",
		details: "Publishes the advisory page. The breach needs a subject_notice (send one\nwith an update first). Publishing it again changes nothing.\n\n" + advisoryDetails,
		examples: `
# Publish the example breach's advisory page (then: curl http://127.0.0.1:7401/advisories/EXAMPLE-2025-08-23)
cascadectl breach publish-advisory EXAMPLE-2025-08-23`,
		setup: func(*flag.FlagSet) runFunc {
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs(name, args, 1); err != nil {
					return err
				}
				ctx, cancel := a.withTimeout(ctx)
				defer cancel()
				c, err := a.dial()
				if err != nil {
					return err
				}
				defer c.Close()
				resp, err := c.breach.PublishAdvisory(ctx, &cascadev1.PublishAdvisoryRequest{BreachId: args[0]})
				if err != nil {
					return err
				}
				if a.g.output == outputJSON {
					return writeProto(a.stdout, resp)
				}
				b := resp.GetBreach()
				at := b.GetAdvisoryPublishedAt().AsTime().UTC().Format("2006-01-02 15:04 UTC")
				if resp.GetAlreadyPublished() {
					fmt.Fprintf(a.stdout, "The advisory of breach %s was already published (since %s): %s\n", args[0], at, b.GetAdvisoryPath())
					return nil
				}
				fmt.Fprintf(a.stdout, "Published the advisory of breach %s at %s: %s on the daemon's HTTP address.\n", args[0], at, b.GetAdvisoryPath())
				return nil
			}
		},
	}
}

func breachAdvisoryUnpublishCmd() *command {
	const name = "breach unpublish-advisory"
	return &command{
		name:    name,
		args:    "BREACH_ID",
		summary: "Withdraw the breach's public advisory page (vendor only)",
		details: "Withdraws the advisory page: it answers 404 again. Withdrawing a page that\nis not published changes nothing.\n\n" + advisoryDetails,
		examples: `
# Withdraw it: the page answers 404 again
cascadectl breach unpublish-advisory EXAMPLE-2025-08-23`,
		setup: func(*flag.FlagSet) runFunc {
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs(name, args, 1); err != nil {
					return err
				}
				ctx, cancel := a.withTimeout(ctx)
				defer cancel()
				c, err := a.dial()
				if err != nil {
					return err
				}
				defer c.Close()
				resp, err := c.breach.UnpublishAdvisory(ctx, &cascadev1.UnpublishAdvisoryRequest{BreachId: args[0]})
				if err != nil {
					return err
				}
				if a.g.output == outputJSON {
					return writeProto(a.stdout, resp)
				}
				if resp.GetAlreadyUnpublished() {
					fmt.Fprintf(a.stdout, "The advisory of breach %s was not published.\n", args[0])
					return nil
				}
				fmt.Fprintf(a.stdout, "Withdrew the advisory of breach %s: %s answers 404.\n", args[0], resp.GetBreach().GetAdvisoryPath())
				return nil
			}
		},
	}
}
