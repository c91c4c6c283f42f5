package cli

import (
	"context"
	"flag"
	"fmt"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func keysRotateCmd() *command {
	const name = "keys rotate"
	return &command{
		name:    name,
		summary: "Make a new signing key active (vendor only)",
		details: `Creates a new signing key and makes it active: new messages are signed with
it. The previous key stops signing but verifies messages for an overlap
(90 days by default), so notices already received still verify. The new key set is published on
cascade.keys at once; whoever verifies offline needs it saved again
('cascadectl keys list --save FILE').`,
		examples: `
# Make a new signing key active; the previous one keeps verifying
cascadectl keys rotate`,
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
				resp, err := c.keys.RotateSigningKey(ctx, &cascadev1.RotateSigningKeyRequest{})
				if err != nil {
					return err
				}
				k := resp.GetKey()
				if a.g.output == outputJSON {
					return writeProto(a.stdout, k)
				}
				fmt.Fprintf(a.stdout, "Signing key %s is now active. Replaced keys verify messages until they expire:\n\n", k.GetKeyId())
				keys := []*cascadev1.SigningKey{k}
				if all, err := c.keys.ListSigningKeys(ctx, &cascadev1.ListSigningKeysRequest{}); err == nil {
					keys = all.GetKeys()
				}
				if err := renderKeys(a.stdout, keys); err != nil {
					return err
				}
				_, err = fmt.Fprintln(a.stdout, "\nWhoever verifies offline needs the new set: cascadectl keys list --save FILE")
				return err
			}
		},
	}
}
