package cli

import (
	"context"
	"flag"
	"os"
	"strings"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// Formats of a draft to the data subjects (--format).
const (
	subjectMarkdown = "markdown"
	subjectText     = "text"
	subjectSMS      = "sms"
)

func noticeSubjectDraftCmd() *command {
	const name = "notice subject-draft"
	return &command{
		name:    name,
		args:    "ID",
		summary: "Draft the organisation's Art. 34 communication to its data subjects",
		details: `Prints a draft of the organisation's communication to its own data subjects
(Art. 34): a letter in plain language, pre-filled with the organisation's
name and numbers and the processor's words for the data subjects
(subject_notice) as of the latest revision; without them, generic advice
and marked placeholders. It says how to recognise phishing that imitates
the breach. What only the organisation can say is marked and listed at the
end.

--format chooses the letter as markdown (the default) or plain text, or
one SMS of at most 160 GSM-7 characters without a link. --lang chooses
Swedish (sv) or English (en); without it, the organisation's locale, else
Swedish. --out writes the draft to a new file instead of stdout; an
existing file is never overwritten. With -o json, the whole answer (every
form, the language and the fields to complete) is printed as JSON. ID is
"<breach_id>/<org_id>".`,
		examples: `
# The letter in Swedish, to a file
cascadectl notice subject-draft EXAMPLE-2025-08-23/se-kommun-0180 --lang sv --out brev.md
# The SMS in English
cascadectl notice subject-draft EXAMPLE-2025-08-23/se-kommun-0180 --lang en --format sms`,
		setup: func(fs *flag.FlagSet) runFunc {
			lang := fs.String("lang", "", "`language` of the draft: sv or en (default: the organisation's locale, else sv)")
			format := fs.String("format", subjectMarkdown, "`format` of the draft: markdown, text or sms")
			out := fs.String("out", "", "write the draft to this new `file` instead of stdout")
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs(name, args, 1); err != nil {
					return err
				}
				l := strings.ToLower(strings.TrimSpace(*lang))
				if l != "" && l != "sv" && l != "en" {
					return usageErrorf(name, "--lang must be sv or en, not %q", *lang)
				}
				f := strings.ToLower(strings.TrimSpace(*format))
				if f != subjectMarkdown && f != subjectText && f != subjectSMS {
					return usageErrorf(name, "--format must be %s, %s or %s, not %q", subjectMarkdown, subjectText, subjectSMS, *format)
				}
				if *out != "" {
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
				resp, err := c.notices.DraftSubjectCommunication(ctx, &cascadev1.DraftSubjectCommunicationRequest{NoticeId: args[0], Language: l})
				if err != nil {
					return err
				}
				text := resp.GetMarkdown()
				switch f {
				case subjectText:
					text = resp.GetPlainText()
				case subjectSMS:
					text = resp.GetSms()
				}
				return a.writeDraft(draftOutput{text: text, resp: resp, language: resp.GetLanguage(), format: f,
					what: "the draft to the data subjects", notice: args[0], out: *out})
			}
		},
	}
}
