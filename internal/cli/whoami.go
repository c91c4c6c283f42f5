package cli

import (
	"context"
	"flag"
	"io"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func whoamiCmd() *command {
	const name = "whoami"
	return &command{
		name:    name,
		summary: "Show who the daemon takes you for: role, organisation, token id and label",
		details: `Asks cascaded who the credentials you pass are (a token or a client
certificate), as it authenticated them: the role, the organisation the
caller acts for (none for the vendor and for viewers of every
organisation), the token's id and label. Any role may ask; without
credentials the answer is Unauthenticated. With cascaded
--insecure-no-auth it says that nobody is authenticated.`,
		examples: `
# Which token is in CASCADE_TOKEN, and for which organisation
cascadectl whoami
# The same, for a script
cascadectl whoami -o json`,
		setup: func(*flag.FlagSet) runFunc {
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
				resp, err := c.tokens.WhoAmI(ctx, &cascadev1.WhoAmIRequest{})
				if err != nil {
					return err
				}
				if a.g.output == outputJSON {
					return writeProto(a.stdout, resp)
				}
				return renderWhoAmI(a.stdout, resp)
			}
		},
	}
}

// renderWhoAmI writes the caller's identity as a key-value table.
func renderWhoAmI(w io.Writer, r *cascadev1.WhoAmIResponse) error {
	tw := newTable(w)
	if r.GetInsecureNoAuth() {
		row(tw, "Identity:", "nobody is authenticated: cascaded runs with --insecure-no-auth (every call is allowed)")
		return tw.Flush()
	}
	row(tw, "Role:", roleName(r.GetRole()))
	org := orNone(r.GetOrgId())
	if r.GetOrgName() != "" {
		org += " (" + r.GetOrgName() + ")"
	}
	row(tw, "Org:", org)
	if r.GetProcessorId() != "" {
		proc := r.GetProcessorId()
		if r.GetProcessorName() != "" {
			proc += " (" + r.GetProcessorName() + ")"
		}
		row(tw, "Processor:", proc)
	}
	row(tw, "Token id:", orNone(r.GetTokenId()))
	row(tw, "Label:", orNone(r.GetLabel()))
	row(tw, "Principal:", r.GetPrincipal().GetDisplay())
	return tw.Flush()
}
