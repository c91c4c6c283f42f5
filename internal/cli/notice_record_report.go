package cli

import (
	"context"
	"flag"

	"google.golang.org/protobuf/types/known/timestamppb"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func noticeRecordReportCmd() *command {
	const name = "notice record-report"
	return &command{
		name:    name,
		args:    "ID",
		summary: "Record the organisation's report to the supervisory authority",
		details: `Resolves the notice as reported to the supervisory authority (Art. 33(1)),
with the authority (e.g. IMY), the report's reference and when it was made
(--reported-at, RFC 3339; now if not given), then prints the notice.

A report made after the notice's deadline needs --delay-reason: the reasons
for the delay (Art. 33(1)). Recording the same report again changes
nothing; another reference, or any outcome on a resolved notice, is
refused (FailedPrecondition). ID is "<breach_id>/<org_id>".

For an organisation under NIS2 (registry column regimes), --obligation
records one of its NIS2 reports instead: nis2-early-warning,
nis2-incident-notification or nis2-final-report (to CERT-SE, say), each
with its own deadline; the notice is resolved once every obligation is.
A NIS2 obligation on a notice without it is refused (FailedPrecondition).`,
		examples: `
# Record the report to IMY, made now
cascadectl notice record-report EXAMPLE-2025-08-23/se-kommun-0180 --authority IMY --reference IMY-2025-1234 --by dpo@stockholm.example.org
# Record a late report, with its reasons
cascadectl notice record-report EXAMPLE-2025-08-23/se-kommun-0180 --authority IMY --reference IMY-2025-1234 --reported-at 2025-08-27T09:00:00Z --delay-reason "the supplier's extract arrived late" --by dpo@stockholm.example.org
# Record Östersund's NIS2 early warning to CERT-SE (the all-customers example breach, deploy/examples/breach-all.json)
cascadectl notice record-report EXAMPLE-ALL-1/se-kommun-2380 --obligation nis2-early-warning --authority CERT-SE --reference CERT-SE-2025-0042 --by ciso@ostersund.example.org`,
		setup: func(fs *flag.FlagSet) runFunc {
			authority := fs.String("authority", "", "`name` of the supervisory authority notified, e.g. IMY (required)")
			reference := fs.String("reference", "", "reference of the report, an `id`: the authority's case number or your own (required)")
			reportedAt := fs.String("reported-at", "", "when the authority was notified, an RFC 3339 `time`; now if not given")
			delayReason := fs.String("delay-reason", "", "reasons for the delay, as `text`; required when reported after the deadline")
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
				if err := requireFlag(name, "authority", *authority, "the supervisory authority notified, e.g. IMY"); err != nil {
					return err
				}
				if err := requireFlag(name, "reference", *reference, "the reference of the report to the authority"); err != nil {
					return err
				}
				if err := requireFlag(name, "by", *by, "who records the report (a name or e-mail address)"); err != nil {
					return err
				}
				at := timestamppb.Now()
				if *reportedAt != "" {
					var err error
					if at, err = parseTimeFlag(name, "reported-at", *reportedAt); err != nil {
						return err
					}
				}
				return a.recordNotice(ctx, func(ctx context.Context, c *clients) (*cascadev1.Notice, error) {
					resp, err := c.notices.RecordAuthorityReport(ctx, &cascadev1.RecordAuthorityReportRequest{
						NoticeId: args[0], Authority: *authority, Reference: *reference, ReportedAt: at,
						DelayReason: *delayReason, RecordedBy: *by, Obligation: ob,
					})
					return resp.GetNotice(), err
				})
			}
		},
	}
}
