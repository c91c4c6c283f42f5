package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cascadehq/cascade/internal/evidence"
)

func evidenceVerifyCmd() *command {
	const name = "evidence verify"
	return &command{
		name:    name,
		args:    "DIR",
		summary: "Check exported evidence files against their SHA256SUMS",
		details: `Reads DIR/SHA256SUMS, as written by 'cascadectl evidence export', and
checks the SHA-256 digest of every file it lists, like 'sha256sum -c'.
Prints "<file>: OK" for each file that matches and exits 0 when all do;
otherwise names every file that does not match or cannot be read and
exits 1. Needs no connection to Cascade.`,
		examples: `
# Check exported files against their digests
cascadectl evidence verify evidence`,
		setup: func(*flag.FlagSet) runFunc {
			return func(_ context.Context, a *app, args []string) error {
				if err := wantArgs(name, args, 1); err != nil {
					return err
				}
				return a.verifyEvidence(args[0])
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
	Dir   string           `json:"dir"`
	OK    bool             `json:"ok"`
	Files []verifyFileJSON `json:"files,omitempty"`
	Error string           `json:"error,omitempty"`
}

func (a *app) verifyEvidence(dir string) error {
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
		if a.g.output == outputJSON {
			_ = writeJSON(a.stdout, verifyJSON{Dir: dir, Error: checkErr.Error()})
		}
		if checkErr == nil {
			checkErr = listErr
		}
		return checkErr
	}
	out := verifyJSON{Dir: dir, OK: checkErr == nil}
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
	fmt.Fprintf(a.stderr, "cascadectl: %d of %d files in %s do NOT match %s: the evidence was changed or damaged\n",
		len(failed), len(names), dir, evidence.SumsFile)
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
