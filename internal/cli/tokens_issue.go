package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func tokensIssueCmd() *command {
	const name = "tokens issue"
	return &command{
		name:    name,
		summary: "Issue a bearer token for an organisation and role (vendor only)",
		details: `Issues a token for the gRPC API and prints it. The token is shown once:
cascaded keeps only its hash, so store it safely right away; a lost token
cannot be shown again, only revoked and replaced.

Roles: controller (acts on its own organisation's notices; needs --org),
viewer (reads its organisation's notices, or everything without --org)
and vendor (publishes and reads everything; no --org).

In a deployment shared by several processors (cascaded --processors), a
vendor or viewer token with --processor acts for that registered processor
only: it publishes, reads and answers that processor's breaches, and
nothing else. The default processor's vendor (the bootstrap token) issues
them; a processor's vendor issues tokens for its own processor only.
Controller tokens belong to no processor: they see what every processor
sent their organisation.

With -q only the token is printed, on one line, for scripts:
  cascadectl tokens issue --org se-kommun-0180 --role controller -q > controller.token
With -o json the whole response is printed, token included. Callers send
the token with --token-file, --token or ` + EnvToken + `.`,
		examples: `
# A token for Stockholm's DPO, printed alone so it can be stored
cascadectl tokens issue --org se-kommun-0180 --role controller --label "Stockholm DPO" -q > stockholm.token
# A read-only token for an auditor
cascadectl tokens issue --role viewer --label auditor
# The vendor token of a registered processor
cascadectl tokens issue --role vendor --processor alfa-lon --label "Alfa Lön security team" -q > alfa-lon.token`,
		setup: func(fs *flag.FlagSet) runFunc {
			org := fs.String("org", "", "organisation `id` the token acts for (required for controllers)")
			roleName := fs.String("role", "", "`role`: controller, vendor or viewer (required)")
			label := fs.String("label", "", "free `text` to record with the token: who holds it, what for")
			processor := fs.String("processor", "", "registered processor `id` a vendor or viewer token acts for")
			quiet := fs.Bool("q", false, "print only the token, on one line")
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs(name, args, 0); err != nil {
					return err
				}
				if strings.TrimSpace(*roleName) == "" {
					return usageErrorf(name, "--role is required: controller, vendor or viewer")
				}
				role, err := parseRole(*roleName)
				if err != nil {
					return usageErrorf(name, "--role: %v", err)
				}
				*org = strings.TrimSpace(*org)
				switch {
				case role == cascadev1.Role_ROLE_CONTROLLER && *org == "":
					return usageErrorf(name, "--org is required with --role controller: the organisation whose notices the token acts on")
				case role == cascadev1.Role_ROLE_VENDOR && *org != "":
					return usageErrorf(name, "--org does not go with --role vendor: a vendor token acts for no organisation")
				case *quiet && a.g.output == outputJSON:
					return usageErrorf(name, "-q prints only the token; it does not go with -o json")
				}
				ctx, cancel := a.withTimeout(ctx)
				defer cancel()
				c, err := a.dial()
				if err != nil {
					return err
				}
				defer c.Close()
				resp, err := c.tokens.IssueToken(ctx, &cascadev1.IssueTokenRequest{OrgId: *org, Role: role, Label: *label,
					ProcessorId: strings.TrimSpace(*processor)})
				if err != nil {
					return err
				}
				switch {
				case *quiet:
					_, err = fmt.Fprintln(a.stdout, resp.GetToken())
					return err
				case a.g.output == outputJSON:
					return writeProto(a.stdout, resp)
				}
				fmt.Fprintf(a.stdout, "Token (shown once, store it safely): %s\n\n", resp.GetToken())
				return renderToken(a.stdout, resp.GetInfo())
			}
		},
	}
}

// parseRole accepts "controller", "Vendor" or "ROLE_VIEWER".
func parseRole(s string) (cascadev1.Role, error) {
	n := strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(n, "ROLE_") {
		n = "ROLE_" + n
	}
	v, ok := cascadev1.Role_value[n]
	if !ok || v == 0 {
		return 0, fmt.Errorf("unknown role %q: want controller, vendor or viewer", s)
	}
	return cascadev1.Role(v), nil
}

// roleName is a role as the flags spell it, e.g. "controller".
func roleName(r cascadev1.Role) string {
	if r == cascadev1.Role_ROLE_UNSPECIFIED {
		return none
	}
	return strings.ToLower(strings.TrimPrefix(r.String(), "ROLE_"))
}
