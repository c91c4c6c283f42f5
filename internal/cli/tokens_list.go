package cli

import (
	"context"
	"flag"
	"io"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func tokensListCmd() *command {
	const name = "tokens list"
	return &command{
		name:    name,
		summary: "List the issued tokens, revoked ones included (vendor only)",
		details: `Lists every token by issue time, fetching every page: its id,
organisation, role, label, when it was issued and when it was revoked
("-" while valid). Tokens themselves are never shown: cascaded does not
keep them.`,
		examples: `
# Every token, with its role, organisation and revocation
cascadectl tokens list`,
		setup: func(fs *flag.FlagSet) runFunc {
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
				var all []*cascadev1.TokenInfo
				req := &cascadev1.ListTokensRequest{PageSize: 1000}
				for {
					resp, err := c.tokens.ListTokens(ctx, req)
					if err != nil {
						return err
					}
					all = append(all, resp.GetTokens()...)
					if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
						break
					}
				}
				if a.g.output == outputJSON {
					return writeProtoList(a.stdout, all)
				}
				return renderTokens(a.stdout, all)
			}
		},
	}
}

// renderTokens writes the token table.
func renderTokens(w io.Writer, ts []*cascadev1.TokenInfo) error {
	tw := newTable(w)
	row(tw, "ID", "ORG", "ROLE", "LABEL", "ISSUED", "REVOKED")
	for _, t := range ts {
		role := roleName(t.GetRole())
		if t.GetProcessorId() != "" {
			role += " of " + t.GetProcessorId()
		}
		row(tw, t.GetTokenId(), orNone(t.GetOrgId()), role, orNone(truncate(t.GetLabel(), 40)),
			formatTime(t.GetIssuedAt()), formatTime(t.GetRevokedAt()))
	}
	return tw.Flush()
}

// renderToken writes one token's fields as a key-value table.
func renderToken(w io.Writer, t *cascadev1.TokenInfo) error {
	tw := newTable(w)
	row(tw, "ID:", t.GetTokenId())
	row(tw, "Org:", orNone(t.GetOrgId()))
	row(tw, "Role:", roleName(t.GetRole()))
	if t.GetProcessorId() != "" {
		row(tw, "Processor:", t.GetProcessorId())
	}
	row(tw, "Label:", orNone(t.GetLabel()))
	row(tw, "Issued:", formatTime(t.GetIssuedAt()))
	if t.GetRevokedAt() != nil {
		row(tw, "Revoked:", formatTime(t.GetRevokedAt()))
	}
	return tw.Flush()
}
