package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/signing"
	"github.com/cascadehq/cascade/internal/verify"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func verifyCmd() *command {
	const name = "verify"
	return &command{
		name:    name,
		args:    "FILE|-",
		summary: "Check that a saved message was sent by Cascade (its signature)",
		details: `Checks the Cascade-Signature of a message saved to FILE in any of these forms:
  - the attachment cascade-message.json of Cascade's e-mail, or the whole
    e-mail (.eml) it is attached to; this is also cascadectl's own form:
    {"subject": "cascade.notice.<org_id>",
     "headers": {"Cascade-Signature": ["v1;kid=...;sig=..."], "Cascade-Notice-Id": ["..."], ...},
     "data": "<the body, base64>"}
  - a webhook request saved with its headers: the request line (optional),
    the headers, an empty line and the body byte for byte; or JSON
    {"headers": {"Cascade-Signature": "...", ...}, "body": "<the body as text>"}
  - what 'nats stream get STREAM SEQ --json' prints, or a file written by
    'nats sub SUBJECT --dump DIR' (one message of 'nats sub --dump -')
With --keys, checks offline against a key set saved from cascade.keys
(JSON {"keys": [...]}); otherwise asks cascaded for its keys over gRPC.
Prints "OK: signed by Cascade key ..." and the subject, notice and event
it was signed for, and exits 0; or "FAILED: <reason>" and exits 1. Check
that the subject is your organisation's: a genuine message to another
organisation verifies too.

A notice a processor forwarded from its own supplier (BreachService.
ForwardNotice) carries the supplier's message inside it: verify checks it
too (the chain), with the keys of --upstream-keys when the supplier uses
another Cascade (default: the same keys), and prints whose notice it
forwards, to which organisation it was sent and by which key it is signed.
A chain that does not verify fails the check.`,
		examples: `
# Check a saved message with the keys from 'cascadectl keys list --save'
cascadectl verify MSG.json --keys keys.json
# Check one from stdin, fetching the keys from cascaded
cascadectl verify - < MSG.json
# Check a message kept in a stream, as the nats CLI prints it
nats stream get CASCADE_NOTICES 42 --json | cascadectl verify - --keys keys.json
# Check a forwarded notice and the supplier's notice inside it
cascadectl verify MSG.json --keys keys.json --upstream-keys supplier-keys.json`,
		setup: func(fs *flag.FlagSet) runFunc {
			keysFile := fs.String("keys", "", "verify offline with the key `file` saved from cascade.keys")
			upstreamFile := fs.String("upstream-keys", "", "key set `file` of the supplier's Cascade, for a forwarded notice's chain (default: the same keys)")
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs(name, args, 1); err != nil {
					return err
				}
				return a.verifyMessage(ctx, args[0], *keysFile, *upstreamFile)
			}
		},
	}
}

// verifyResultJSON is the -o json form of verify.
type verifyResultJSON struct {
	OK           bool       `json:"ok"`
	Error        string     `json:"error,omitempty"`
	Reason       string     `json:"reason,omitempty"` // verify.Reason: no_signature, unknown_key, key_expired, tampered, malformed
	Advice       string     `json:"advice,omitempty"` // what to do about it
	Format       string     `json:"format"`           // the form the file was read in (verify.Format)
	KeyID        string     `json:"key_id,omitempty"`
	KeyCreatedAt *time.Time `json:"key_created_at,omitempty"`
	KeyActive    bool       `json:"key_active,omitempty"`
	KeyExpiresAt *time.Time `json:"key_expires_at,omitempty"`
	Subject      string     `json:"subject"`
	OrgID        string     `json:"org_id,omitempty"`
	NoticeID     string     `json:"notice_id,omitempty"`
	Event        string     `json:"event,omitempty"`
	// Upstream is the chain of a forwarded notice: the supplier's message
	// inside it.
	Upstream *upstreamJSON `json:"upstream,omitempty"`
}

// upstreamJSON is the -o json form of a forwarded notice's chain.
type upstreamJSON struct {
	OK        bool   `json:"ok"`
	Error     string `json:"error,omitempty"`
	NoticeID  string `json:"notice_id,omitempty"`
	Revision  int    `json:"revision,omitempty"`
	Processor string `json:"processor,omitempty"`
	OrgID     string `json:"org_id,omitempty"` // whom the supplier sent it to: the forwarding processor
	KeyID     string `json:"key_id,omitempty"`
}

func (a *app) verifyMessage(ctx context.Context, file, keysFile, upstreamFile string) error {
	data, err := a.readSaved(file)
	if err != nil {
		return err
	}
	msg, format, err := verify.Parse(data)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	keys, err := a.signingKeys(ctx, keysFile)
	if err != nil {
		return err
	}
	res := verify.CheckMessage(msg, format, keys, time.Now())
	kid, verr, key := res.KeyID, res.Err, res.Key
	out := verifyResultJSON{OK: res.Verified, Format: string(format), Subject: res.Subject, OrgID: res.OrgID,
		NoticeID: res.NoticeID, Event: res.Event}
	if verr != nil {
		out.Error, out.Reason, out.Advice = verr.Error(), string(res.Reason), verify.Advice[res.Reason]
	} else {
		out.KeyID, out.KeyCreatedAt, out.KeyActive = kid, utc(key.CreatedAt), key.Active
		out.KeyExpiresAt = utc(key.ExpiresAt)
	}
	if verr == nil {
		if out.Upstream, err = a.verifyChain(ctx, res.Body, keys, upstreamFile); err != nil {
			return err
		}
		if out.Upstream != nil && !out.Upstream.OK {
			out.OK = false
		}
	}
	if a.g.output == outputJSON {
		if err := writeJSON(a.stdout, out); err != nil {
			return err
		}
	} else if verr != nil {
		fmt.Fprintf(a.stdout, "FAILED: %s\n", safeText(verr.Error()))
	} else {
		state := "active"
		if !key.Active {
			state = "replaced, valid until " + key.ExpiresAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(a.stdout, "OK: signed by Cascade key %s (created %s, %s)\n", kid, key.CreatedAt.UTC().Format(time.RFC3339), state)
		fmt.Fprintf(a.stdout, "  for subject %s, notice %s, event %s\n", safeText(msg.Subject), safeText(out.NoticeID), safeText(out.Event))
		if u := out.Upstream; u != nil && u.OK {
			fmt.Fprintf(a.stdout, "  forwards %s's notice %s (revision %d), sent to organisation %s: OK, signed by key %s\n",
				safeText(u.Processor), safeText(u.NoticeID), u.Revision, safeText(u.OrgID), safeText(u.KeyID))
		} else if u != nil {
			fmt.Fprintf(a.stdout, "FAILED: the forwarded notice inside it does not verify: %s\n", safeText(u.Error))
		}
	}
	if !out.OK {
		return &exitError{code: 1}
	}
	return nil
}

// verifyChain checks the upstream notice a verified forwarded notice
// carries (nil if it carries none), against the keys of upstreamFile, or
// keys without one.
func (a *app) verifyChain(ctx context.Context, body json.RawMessage, keys signing.KeySet, upstreamFile string) (*upstreamJSON, error) {
	var v struct {
		Breach *struct {
			Upstream *breach.Upstream `json:"upstream"`
		} `json:"breach"`
	}
	if body == nil || json.Unmarshal(body, &v) != nil || v.Breach == nil || v.Breach.Upstream == nil {
		return nil, nil
	}
	if upstreamFile != "" {
		var err error
		if keys, err = a.signingKeys(ctx, upstreamFile); err != nil {
			return nil, err
		}
	}
	up := v.Breach.Upstream
	org, _ := strings.CutPrefix(up.Message.Subject, "cascade.notice.")
	claimed := *up
	out := &upstreamJSON{OrgID: org}
	if _, err := verify.Upstream(up, keys, breach.OrgID(org), time.Now()); err != nil {
		out.Error = err.Error()
		if strings.Contains(err.Error(), "unknown_key") && upstreamFile == "" {
			out.Error += " (give the supplier's Cascade keys with --upstream-keys)"
		}
		return out, nil
	}
	if up.Notice != claimed.Notice || up.Revision != claimed.Revision {
		out.Error = fmt.Sprintf("the forwarded notice says it is %s revision %d; its message is %s revision %d", claimed.Notice, claimed.Revision, up.Notice, up.Revision)
		return out, nil
	}
	out.OK, out.NoticeID, out.Revision, out.Processor, out.KeyID = true, up.Notice.String(), up.Revision, up.Processor, up.KeyID
	return out, nil
}

// maxSavedBytes bounds a saved message: a body of NATS's largest payload
// (64 MiB) in base64, with its headers.
const maxSavedBytes = 96 << 20

// readSaved reads a saved message from file, or stdin for "-".
func (a *app) readSaved(file string) ([]byte, error) {
	r := a.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxSavedBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	if len(data) > maxSavedBytes {
		return nil, fmt.Errorf("%s: a saved message may have at most %d bytes", file, maxSavedBytes)
	}
	return data, nil
}

// signingKeys reads the key set from keysFile, or asks cascaded for it.
func (a *app) signingKeys(ctx context.Context, keysFile string) (signing.KeySet, error) {
	if keysFile != "" {
		data, err := os.ReadFile(keysFile)
		if err != nil {
			return signing.KeySet{}, err
		}
		ks, err := signing.ParseKeySet(data)
		if err != nil {
			return signing.KeySet{}, fmt.Errorf("%s: %w", keysFile, err)
		}
		return ks, nil
	}
	ctx, cancel := a.withTimeout(ctx)
	defer cancel()
	c, err := a.dial()
	if err != nil {
		return signing.KeySet{}, err
	}
	defer c.Close()
	resp, err := c.keys.ListSigningKeys(ctx, &cascadev1.ListSigningKeysRequest{})
	if err != nil {
		return signing.KeySet{}, &hintError{err: fmt.Errorf("fetch signing keys: %w", err),
			hint: "(or verify offline with --keys FILE, the key set saved from cascade.keys)"}
	}
	ks := keySetFromProto(resp.GetKeys())
	if err := ks.Validate(); err != nil {
		return signing.KeySet{}, errors.New("keys from cascaded: " + err.Error())
	}
	return ks, nil
}

// keySetFromProto converts the keys ListSigningKeys returns.
func keySetFromProto(keys []*cascadev1.SigningKey) signing.KeySet {
	var ks signing.KeySet
	for _, k := range keys {
		p := signing.PublicKey{ID: k.GetKeyId(), Algorithm: k.GetAlgorithm(), Public: k.GetPublicKey(), Active: k.GetActive()}
		if k.GetCreatedAt() != nil {
			p.CreatedAt = k.GetCreatedAt().AsTime()
		}
		if k.GetExpiresAt() != nil {
			p.ExpiresAt = k.GetExpiresAt().AsTime()
		}
		ks.Keys = append(ks.Keys, p)
	}
	return ks
}

// utc is t in UTC, or nil when zero.
func utc(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
