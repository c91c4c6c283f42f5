package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cascadehq/cascade/internal/evidence"
	"github.com/cascadehq/cascade/internal/signing"
)

func evidenceVerifyCmd() *command {
	const name = "evidence verify"
	return &command{
		name:    name,
		args:    "DIR",
		summary: "Check exported evidence files against their signed manifest",
		details: `Checks an export written by 'cascadectl evidence export': first
Cascade's signature of DIR/manifest.json (in DIR/manifest.sig), then every
file the manifest lists (size and SHA-256), and that DIR holds no other
file. With --keys, checks offline against a key set saved by
'cascadectl keys list --save keys.json'; otherwise asks cascaded for its
keys over gRPC. Prints "<file>: OK" for each file that matches and exits 0
when all do; otherwise says what does not match and exits 1:
  - a file changed (its size or SHA-256 is not the manifest's),
  - a file missing, or a file added,
  - the manifest changed, say a file and its digest both changed, or the
    signature changed: the signature does not match,
  - a key that is not in the key set (another deployment's, or a key set
    older than the export) or that has expired.

An export without manifest.sig (made by a cascaded before signed
manifests) fails, unless --unsigned: then its files are checked against
SHA256SUMS alone, like 'sha256sum -c', with a warning: digests alone
cannot show a file changed together with its digest.`,
		examples: `
# Check an export offline with the keys saved from cascade.keys
cascadectl evidence verify evidence --keys keys.json
# Check an export made before signed manifests, against SHA256SUMS only
cascadectl evidence verify old-evidence --unsigned`,
		setup: func(fs *flag.FlagSet) runFunc {
			keysFile := fs.String("keys", "", "verify offline with the key `file` saved by 'cascadectl keys list --save'")
			unsigned := fs.Bool("unsigned", false, "accept an export without a signed manifest, checking SHA256SUMS only")
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs(name, args, 1); err != nil {
					return err
				}
				return a.verifyEvidence(ctx, args[0], *keysFile, *unsigned)
			}
		},
	}
}

// verifyFileJSON is one checked file in -o json.
type verifyFileJSON struct {
	File  string `json:"file"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// verifyJSON is the -o json form of evidence verify.
type verifyJSON struct {
	Dir        string           `json:"dir"`
	OK         bool             `json:"ok"`
	Signed     bool             `json:"signed"` // the manifest's signature holds
	KeyID      string           `json:"key_id,omitempty"`
	Scope      *evidence.Scope  `json:"scope,omitempty"`
	ExportedAt *time.Time       `json:"exported_at,omitempty"`
	Files      []verifyFileJSON `json:"files,omitempty"`
	Error      string           `json:"error,omitempty"`
	Warning    string           `json:"warning,omitempty"`
}

func (a *app) verifyEvidence(ctx context.Context, dir, keysFile string, unsigned bool) error {
	if fi, err := os.Stat(dir); err != nil {
		return err
	} else if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory (name the directory evidence export wrote)", dir)
	}
	var keys signing.KeySet
	switch _, err := os.Lstat(filepath.Join(dir, evidence.SignatureFile)); {
	case err == nil:
		if keys, err = a.signingKeys(ctx, keysFile); err != nil {
			return err
		}
	case unsigned && errors.Is(err, fs.ErrNotExist):
		return a.verifyUnsigned(dir)
	}
	v, err := evidence.VerifyDir(dir, keys, time.Now())
	if err != nil {
		return a.evidenceFailed(dir, err)
	}
	out := verifyJSON{Dir: dir, OK: v.Err() == nil, Signed: true, KeyID: v.KeyID, Scope: &v.Manifest.Scope, ExportedAt: &v.Manifest.ExportedAt}
	for _, f := range v.Files {
		fj := verifyFileJSON{File: f.Name, OK: f.Err == nil}
		if f.Err != nil {
			fj.Error = f.Err.Error()
		}
		out.Files = append(out.Files, fj)
	}
	if a.g.output == outputJSON {
		if err := writeJSON(a.stdout, out); err != nil {
			return err
		}
	} else {
		m := v.Manifest
		fmt.Fprintf(a.stdout, "%s: signature OK (Cascade key %s; %s %s, exported %s)\n", filepath.Join(dir, evidence.ManifestFile),
			v.KeyID, m.Scope.Kind, m.Scope.ID, m.ExportedAt.UTC().Format(time.RFC3339))
		for _, f := range out.Files {
			status := "OK"
			if !f.OK {
				status = "FAILED"
			}
			fmt.Fprintf(a.stdout, "%s: %s\n", filepath.Join(dir, f.File), status)
		}
	}
	if out.OK {
		return nil
	}
	var changed, added int
	for _, f := range v.Files {
		switch {
		case f.Err == nil:
		case errors.Is(f.Err, evidence.ErrExtraFile):
			added++
		default:
			changed++
		}
		if f.Err != nil {
			fmt.Fprintf(a.stderr, "cascadectl: %v\n", f.Err)
		}
	}
	fmt.Fprintf(a.stderr, "cascadectl: %s does NOT match its signed manifest (%d of %s changed or missing, %d not in it): the evidence was changed or damaged\n",
		dir, changed, plural(int64(len(v.Manifest.Files)), "file", "files"), added)
	return &exitError{code: 1}
}

// evidenceFailed reports an export whose manifest cannot be trusted.
func (a *app) evidenceFailed(dir string, err error) error {
	if a.g.output == outputJSON {
		if werr := writeJSON(a.stdout, verifyJSON{Dir: dir, Error: err.Error()}); werr != nil {
			return werr
		}
	} else {
		fmt.Fprintf(a.stdout, "%s: FAILED\n", filepath.Join(dir, evidence.ManifestFile))
	}
	switch {
	case errors.Is(err, evidence.ErrNotSigned):
		return &hintError{err: err, hint: "(an export made before signed manifests can be checked against SHA256SUMS alone with --unsigned; that cannot show a file changed together with its digest)"}
	case errors.Is(err, signing.ErrBadSignature):
		return &hintError{err: err, hint: "(the evidence was changed: no file in " + dir + " can be trusted, even one that matches its digest)"}
	case errors.Is(err, signing.ErrUnknownKey):
		return &hintError{err: err, hint: "(check the keys are this Cascade deployment's and no older than the export: cascadectl keys list --save keys.json)"}
	case errors.Is(err, signing.ErrKeyExpired):
		return &hintError{err: err, hint: "(the key was replaced and its overlap has passed: the signature can no longer be trusted)"}
	}
	return err
}

// unsignedWarningVerify is said of an export checked with --unsigned.
const unsignedWarningVerify = "not signed: checked against SHA256SUMS only, which whoever changed a file could have changed too"

// verifyUnsigned checks an export without a signed manifest against its
// SHA256SUMS, as sha256sum -c would.
func (a *app) verifyUnsigned(dir string) error {
	fmt.Fprintf(a.stderr, "WARNING: %s is %s\n", dir, unsignedWarningVerify)
	checkErr := evidence.CheckFiles(dir)
	names, listErr := listedFiles(dir)
	var failures []error
	if checkErr != nil {
		if j, ok := checkErr.(interface{ Unwrap() []error }); ok {
			failures = j.Unwrap()
		} else {
			failures = []error{checkErr}
		}
	}
	// Which listed file each failure is about: CheckFiles names the path.
	failed := map[string]error{}
	var other []error
	for _, f := range failures {
		matched := false
		for _, n := range names {
			if strings.Contains(f.Error(), filepath.Join(dir, n)+":") {
				failed[n], matched = f, true
				break
			}
		}
		if !matched {
			other = append(other, f)
		}
	}
	if listErr != nil || len(other) > 0 { // the sums file itself is unusable
		if checkErr == nil {
			checkErr = listErr
		}
		if a.g.output == outputJSON {
			_ = writeJSON(a.stdout, verifyJSON{Dir: dir, Error: checkErr.Error(), Warning: unsignedWarningVerify})
		}
		return checkErr
	}
	out := verifyJSON{Dir: dir, OK: checkErr == nil, Warning: unsignedWarningVerify}
	for _, n := range names {
		f := verifyFileJSON{File: n, OK: failed[n] == nil}
		if err := failed[n]; err != nil {
			f.Error = err.Error()
		}
		out.Files = append(out.Files, f)
	}
	if a.g.output == outputJSON {
		if err := writeJSON(a.stdout, out); err != nil {
			return err
		}
	} else {
		for _, f := range out.Files {
			status := "OK"
			if !f.OK {
				status = "FAILED"
			}
			fmt.Fprintf(a.stdout, "%s: %s\n", safeText(filepath.Join(dir, f.File)), status)
		}
	}
	if checkErr == nil {
		return nil
	}
	for _, n := range names {
		if err := failed[n]; err != nil {
			fmt.Fprintf(a.stderr, "cascadectl: %s\n", safeText(err.Error()))
		}
	}
	fmt.Fprintf(a.stderr, "cascadectl: %d of %s in %s %s NOT match %s: the evidence was changed or damaged\n",
		len(failed), plural(int64(len(names)), "file", "files"), dir, map[bool]string{true: "does", false: "do"}[len(failed) == 1], evidence.SumsFile)
	return &exitError{code: 1}
}

// listedFiles are the file names dir/SHA256SUMS lists, in order.
func listedFiles(dir string) ([]string, error) {
	f, err := os.Open(filepath.Join(dir, evidence.SumsFile))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			continue
		}
		_, name, ok := strings.Cut(line, " ")
		if !ok || name == "" {
			return nil, errors.New("malformed " + evidence.SumsFile)
		}
		names = append(names, name[1:]) // after the mode marker
	}
	return names, sc.Err()
}
