package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// tokenPrefix starts every Cascade token (not its id).
const tokenPrefix = "cas_"

func tokensRevokeCmd() *command {
	const name = "tokens revoke"
	return &command{
		name:    name,
		args:    "TOKEN_ID",
		summary: "Revoke a token by its id (vendor only)",
		details: `Revokes the token with TOKEN_ID, the 16-character id shown when it was
issued and by 'cascadectl tokens list'. From then on every call with the
token is Unauthenticated. Revoking cannot be undone: issue a new token.`,
		examples: `
# Revoke a token by the id 'cascadectl tokens list' shows
cascadectl tokens revoke 0123456789abcdef`,
		setup: func(fs *flag.FlagSet) runFunc {
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs(name, args, 1); err != nil {
					return err
				}
				id := strings.TrimSpace(args[0])
				if strings.HasPrefix(id, tokenPrefix) {
					// Never echo what looks like a secret.
					return usageErrorf(name, "that is a token, not its id: pass the 16-character ID that 'cascadectl tokens list' shows")
				}
				if len(id) != 16 || strings.Trim(strings.ToLower(id), "0123456789abcdef") != "" {
					return usageErrorf(name, "%q is not a token id: 16 hexadecimal characters, as 'cascadectl tokens list' shows", truncate(id, 20))
				}
				id = strings.ToLower(id)
				ctx, cancel := a.withTimeout(ctx)
				defer cancel()
				c, err := a.dial()
				if err != nil {
					return err
				}
				defer c.Close()
				resp, err := c.tokens.RevokeToken(ctx, &cascadev1.RevokeTokenRequest{TokenId: id})
				if err != nil {
					return err
				}
				if a.g.output == outputJSON {
					return writeProto(a.stdout, resp.GetInfo())
				}
				fmt.Fprintf(a.stdout, "Token %s revoked.\n\n", resp.GetInfo().GetTokenId())
				return renderToken(a.stdout, resp.GetInfo())
			}
		},
	}
}
