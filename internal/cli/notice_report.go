package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strings"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
	"google.golang.org/protobuf/proto"
)

// Formats of a report draft (--format).
const (
	draftMarkdown = "markdown"
	draftJSON     = "json"
)

func noticeReportCmd() *command {
	const name = "notice report"
	return &command{
		name:    name,
		args:    "ID",
		summary: "Draft the organisation's Art. 33(3) report to the authority",
		details: `Prints a draft of the organisation's report to the supervisory authority
(Art. 33(3)), pre-filled from the breach as the processor reported it and
its latest revision: the nature of the breach, categories and approximate
numbers of data subjects and records, likely consequences, measures, the
contact point, when the organisation became aware (the notice's delivery)
and its deadline. Fields only the organisation can fill in are marked.

--lang chooses Swedish (sv) or English (en); without it, the organisation's
locale, else Swedish. --format json gives the same draft as JSON, for forms
and tools. --out writes the draft to a new file instead of stdout; an
existing file is never overwritten. With -o json, the whole answer (both
forms and the language) is printed as JSON. ID is "<breach_id>/<org_id>".

--obligation nis2-early-warning drafts the NIS2 early warning (to CERT-SE)
instead, for an organisation under NIS2: whether the incident is suspected
of being caused by unlawful or malicious acts (filled in when the
processor's description says so) and whether it could have a cross-border
impact, with what only the organisation can say marked.`,
		examples: `
# Draft the report to IMY in Swedish, to a file
cascadectl notice report EXAMPLE-2025-08-23/se-kommun-0180 --lang sv --out report.md
# The draft's fields as JSON
cascadectl notice report EXAMPLE-2025-08-23/se-kommun-0180 --format json
# Draft Östersund's NIS2 early warning in English
cascadectl notice report EXAMPLE-ALL-1/se-kommun-2380 --obligation nis2-early-warning --lang en`,
		setup: func(fs *flag.FlagSet) runFunc {
			lang := fs.String("lang", "", "`language` of the draft: sv or en (default: the organisation's locale, else sv)")
			format := fs.String("format", draftMarkdown, "`format` of the draft: markdown or json")
			out := fs.String("out", "", "write the draft to this new `file` instead of stdout")
			obligation := fs.String("obligation", "", "which `report` to draft: gdpr (Art. 33(3), the default) or nis2-early-warning")
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs(name, args, 1); err != nil {
					return err
				}
				ob, err := parseObligation(name, *obligation)
				if err != nil {
					return err
				}
				l := strings.ToLower(strings.TrimSpace(*lang))
				if l != "" && l != "sv" && l != "en" {
					return usageErrorf(name, "--lang must be sv or en, not %q", *lang)
				}
				f := strings.ToLower(strings.TrimSpace(*format))
				if f != draftMarkdown && f != draftJSON {
					return usageErrorf(name, "--format must be %s or %s, not %q", draftMarkdown, draftJSON, *format)
				}
				if *out != "" {
					// Refuse before asking the daemon; the write checks again.
					if _, err := os.Lstat(*out); err == nil {
						return draftExists(*out)
					}
				}
				ctx, cancel := a.withTimeout(ctx)
				defer cancel()
				c, err := a.dial()
				if err != nil {
					return err
				}
				defer c.Close()
				resp, err := c.notices.DraftAuthorityReport(ctx, &cascadev1.DraftAuthorityReportRequest{NoticeId: args[0], Language: l, Obligation: ob})
				if err != nil {
					return err
				}
				text := resp.GetMarkdown()
				if f == draftJSON {
					text = resp.GetJson()
				}
				return a.writeDraft(draftOutput{text: text, resp: resp, language: resp.GetLanguage(), format: f,
					what: "the draft report", notice: args[0], out: *out})
			}
		},
	}
}

func draftExists(path string) error {
	return &hintError{err: fmt.Errorf("%s already exists; a draft is never written over an existing file", path),
		hint: "(choose another file with --out, or remove it first)"}
}

// writeNewFile creates path, which must not exist, with data.
func writeNewFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return draftExists(path)
	}
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path) // a partial draft is worse than none
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// draftOutput is a draft the CLI prints or writes to a file.
type draftOutput struct {
	text     string
	resp     proto.Message // printed as it is with -o json and no --out
	language string
	format   string
	what     string // e.g. "the draft report"
	notice   string
	out      string // the file, or "" for standard output
}

// writeDraft prints d, or writes it to a new file and says so.
func (a *app) writeDraft(d draftOutput) error {
	text := d.text
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	if d.out == "" {
		if a.g.output == outputJSON {
			return writeProto(a.stdout, d.resp)
		}
		_, err := fmt.Fprint(a.stdout, safeMultiline(text))
		return err
	}
	if err := writeNewFile(d.out, []byte(text)); err != nil {
		return err
	}
	if a.g.output == outputJSON {
		return writeJSON(a.stdout, map[string]string{"path": d.out, "language": d.language, "format": d.format})
	}
	fmt.Fprintf(a.stdout, "Wrote %s (%s, %s) of notice %s to %s.\n", d.what, orNone(d.language), d.format, d.notice, d.out)
	return nil
}
