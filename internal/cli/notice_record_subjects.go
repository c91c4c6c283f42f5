package cli

import (
	"context"
	"flag"
	"strings"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func noticeRecordSubjectsCmd() *command {
	const name = "notice record-subjects"
	return &command{
		name:    name,
		args:    "ID",
		summary: "Record the decision on informing the data subjects (Art. 34)",
		details: `Records whether the organisation informed the data subjects of the breach
(Art. 34), in exactly one of three ways, then prints the notice:

  --communicated --at TIME --how TEXT
      the data subjects were informed, at TIME (RFC 3339), by TEXT (e.g.
      "letter and e-mail to every employee")
  --not-required --justification TEXT
      not required: the breach is unlikely to result in a high risk
  --exempt a|b|c [--public TEXT] [--justification TEXT]
      high risk, but exempt under Art. 34(3): (a) the data was made
      unintelligible, e.g. encrypted; (b) later measures removed the high
      risk; (c) informing each would take disproportionate effort, so a
      public communication is used instead: --public says where and how
      (required for (c))

The decision is recorded once: the same decision again changes nothing,
another one is refused (FailedPrecondition). It does not change the
notice's state. ID is "<breach_id>/<org_id>".`,
		examples: `
# The data subjects were informed by letter
cascadectl notice record-subjects EXAMPLE-2025-08-23/se-kommun-0180 --communicated --at 2025-08-25T10:00:00Z --how "letter to every employee" --by dpo@stockholm.example.org
# Exempt under Art. 34(3)(c), with a public communication instead
cascadectl notice record-subjects EXAMPLE-2025-08-23/se-kommun-0180 --exempt c --public "press release on stockholm.se" --by dpo@stockholm.example.org`,
		setup: func(fs *flag.FlagSet) runFunc {
			communicated := fs.Bool("communicated", false, "the data subjects were informed (with --at and --how)")
			at := fs.String("at", "", "when the data subjects were informed, an RFC 3339 `time`")
			how := fs.String("how", "", "how the data subjects were informed, as `text`")
			notRequired := fs.Bool("not-required", false, "informing the data subjects is not required (with --justification)")
			exempt := fs.String("exempt", "", "exempt under Art. 34(3) `ground` a, b or c")
			public := fs.String("public", "", "where and how the public was informed, as `text` (required with --exempt c)")
			justification := fs.String("justification", "", "why informing is not required, or more on the exemption, as `text`")
			by := fs.String("by", "", "`name` or e-mail address of who records this (required)")
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs(name, args, 1); err != nil {
					return err
				}
				modes := 0
				for _, set := range []bool{*communicated, *notRequired, *exempt != ""} {
					if set {
						modes++
					}
				}
				if modes != 1 {
					return usageErrorf(name, "choose exactly one of --communicated, --not-required or --exempt a|b|c")
				}
				only := func(flagName, value, mode string, inMode bool) error {
					if value != "" && !inMode {
						return usageErrorf(name, "--%s goes only with %s", flagName, mode)
					}
					return nil
				}
				for _, err := range []error{
					only("at", *at, "--communicated", *communicated),
					only("how", *how, "--communicated", *communicated),
					only("public", *public, "--exempt", *exempt != ""),
					only("justification", *justification, "--not-required or --exempt", !*communicated),
				} {
					if err != nil {
						return err
					}
				}
				if err := requireFlag(name, "by", *by, "who records the decision (a name or e-mail address)"); err != nil {
					return err
				}
				sc := &cascadev1.SubjectCommunication{Justification: *justification}
				switch {
				case *communicated:
					sc.Kind, sc.How = cascadev1.SubjectCommunicationKind_SUBJECT_COMMUNICATION_KIND_COMMUNICATED, *how
					if *at != "" {
						t, err := parseTimeFlag(name, "at", *at)
						if err != nil {
							return err
						}
						sc.CommunicatedAt = t
					}
				case *notRequired:
					sc.Kind = cascadev1.SubjectCommunicationKind_SUBJECT_COMMUNICATION_KIND_NOT_REQUIRED
				default:
					e, ok := parseExemption(*exempt)
					if !ok {
						return usageErrorf(name, "--exempt must be a, b or c (the ground of Art. 34(3)), not %q", *exempt)
					}
					sc.Kind, sc.Exemption, sc.PublicCommunication = cascadev1.SubjectCommunicationKind_SUBJECT_COMMUNICATION_KIND_EXEMPT, e, *public
				}
				return a.recordNotice(ctx, func(ctx context.Context, c *clients) (*cascadev1.Notice, error) {
					resp, err := c.notices.RecordSubjectCommunication(ctx, &cascadev1.RecordSubjectCommunicationRequest{
						NoticeId: args[0], Communication: sc, RecordedBy: *by,
					})
					return resp.GetNotice(), err
				})
			}
		},
	}
}

// parseExemption accepts a, b or c, also as "(c)" or "C".
func parseExemption(s string) (cascadev1.Art34Exemption, bool) {
	switch strings.ToLower(strings.Trim(strings.TrimSpace(s), "()")) {
	case "a":
		return cascadev1.Art34Exemption_ART34_EXEMPTION_A_UNINTELLIGIBLE, true
	case "b":
		return cascadev1.Art34Exemption_ART34_EXEMPTION_B_RISK_REMOVED, true
	case "c":
		return cascadev1.Art34Exemption_ART34_EXEMPTION_C_DISPROPORTIONATE, true
	}
	return 0, false
}
