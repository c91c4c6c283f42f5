package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func keysListCmd() *command {
	const name = "keys list"
	return &command{
		name:    name,
		summary: "List the public keys that verify Cascade's signed messages",
		details: `Lists every key that verifies messages now, newest first: the active one,
which signs new messages, and replaced ones until they expire. Any
authenticated caller may list them.

--save FILE also writes the key set as JSON, {"keys": [...]} as published
on cascade.keys, for verifying offline:
  cascadectl keys list --save keys.json
  cascadectl verify message.json --keys keys.json
FILE is replaced if it exists; save the set again after every rotation.`,
		examples: `
# The public keys, saved for offline verification
cascadectl keys list --save keys.json`,
		setup: func(fs *flag.FlagSet) runFunc {
			save := fs.String("save", "", "also write the key set as JSON to `file`, for 'cascadectl verify --keys'")
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
				resp, err := c.keys.ListSigningKeys(ctx, &cascadev1.ListSigningKeysRequest{})
				if err != nil {
					return err
				}
				if *save != "" {
					if err := saveKeySet(*save, resp.GetKeys()); err != nil {
						return err
					}
					fmt.Fprintf(a.stderr, "Saved %s to %s (for cascadectl verify --keys %s).\n",
						plural(int64(len(resp.GetKeys())), "key", "keys"), *save, *save)
				}
				if a.g.output == outputJSON {
					return writeProtoList(a.stdout, resp.GetKeys())
				}
				return renderKeys(a.stdout, resp.GetKeys())
			}
		},
	}
}

// renderKeys writes the key table.
func renderKeys(w io.Writer, ks []*cascadev1.SigningKey) error {
	tw := newTable(w)
	row(tw, "ID", "ALGORITHM", "CREATED", "ACTIVE", "EXPIRES")
	for _, k := range ks {
		row(tw, k.GetKeyId(), k.GetAlgorithm(), formatTime(k.GetCreatedAt()), yesNo(k.GetActive()), formatTime(k.GetExpiresAt()))
	}
	return tw.Flush()
}

// saveKeySet writes keys to path in the JSON form of signing.KeySet,
// after checking that they can verify. The file is replaced whole: a
// reader never sees half a set.
func saveKeySet(path string, keys []*cascadev1.SigningKey) error {
	ks := keySetFromProto(keys)
	if err := ks.Validate(); err != nil {
		return fmt.Errorf("keys from cascaded, not saved: %w", err)
	}
	data, err := json.MarshalIndent(ks, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("--save: %w", err)
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	err = errors.Join(werr, cerr)
	if err == nil {
		err = os.Chmod(f.Name(), 0o644) // public keys: readable by everyone
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("--save %s: %w", path, err)
	}
	return nil
}
