package cli

import (
	"context"
	"flag"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func noticeRecordNotReportableCmd() *command {
	const name = "notice record-not-reportable"
	return &command{
		name:    name,
		args:    "ID",
		summary: "Record that the breach is not reportable for the organisation",
		details: `Resolves the notice as documented not reportable: the breach is unlikely to
result in a risk to the rights and freedoms of natural persons (Art. 33(1)).
The justification is kept as the documentation Art. 33(5) requires. Then
prints the notice. Recording the same justification again changes nothing;
any other outcome on a resolved notice is refused (FailedPrecondition).
ID is "<breach_id>/<org_id>".

For an organisation under NIS2, --obligation records that one of its NIS2
reports does not apply (e.g. not a significant incident), with the
justification: nis2-early-warning, nis2-incident-notification or
nis2-final-report.`,
		examples: `
# Record why the breach is not reportable for the organisation
cascadectl notice record-not-reportable EXAMPLE-2025-08-23/se-kommun-0180 --justification "only encrypted backups were copied" --by dpo@stockholm.example.org`,
		setup: func(fs *flag.FlagSet) runFunc {
			justification := fs.String("justification", "", "why the breach is unlikely to result in a risk, as `text` (required)")
			by := fs.String("by", "", "`name` or e-mail address of who records this (required)")
			obligation := fs.String("obligation", "", obligationFlagHelp)
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs(name, args, 1); err != nil {
					return err
				}
				ob, err := parseObligation(name, *obligation)
				if err != nil {
					return err
				}
				if err := requireFlag(name, "justification", *justification, "why the breach is unlikely to result in a risk"); err != nil {
					return err
				}
				if err := requireFlag(name, "by", *by, "who records the decision (a name or e-mail address)"); err != nil {
					return err
				}
				return a.recordNotice(ctx, func(ctx context.Context, c *clients) (*cascadev1.Notice, error) {
					resp, err := c.notices.RecordNotReportable(ctx, &cascadev1.RecordNotReportableRequest{
						NoticeId: args[0], Justification: *justification, RecordedBy: *by, Obligation: ob,
					})
					return resp.GetNotice(), err
				})
			}
		},
	}
}
