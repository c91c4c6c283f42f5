package cli

import (
	"context"
	"flag"
	"io"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func noticeListCmd() *command {
	return &command{
		name:    "notice list",
		summary: "List notices, filtered by breach, organisation, state or overdue",
		details: `Notices are listed by breach id, then organisation id. Every page is
fetched unless --limit is given. --state takes PENDING, DELIVERED,
ACKNOWLEDGED or RESOLVED.`,
		examples: `
# Every notice of a breach
cascadectl notice list --breach EXAMPLE-2025-08-23
# The notices past their deadline and not resolved, of every breach
cascadectl notice list --overdue
# One organisation's notices that are delivered but not yet acknowledged
cascadectl notice list --org se-kommun-0180 --state delivered`,
		setup: func(fs *flag.FlagSet) runFunc {
			breachID := fs.String("breach", "", "only notices of the breach with this `id`")
			orgID := fs.String("org", "", "only notices of the organisation with this `id`")
			stateName := fs.String("state", "", "only notices in this `state`")
			overdue := fs.Bool("overdue", false, "only notices past their deadline and not resolved")
			processor := fs.String("processor", "", "only notices of this registered processor's breaches (`id`)")
			limit := fs.Int("limit", 0, "list at most `n` notices; 0 means all")
			pageSize := fs.Int("page-size", 0, "`n` notices per request; 0 means the server's default (100), at most 1000")
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs("notice list", args, 0); err != nil {
					return err
				}
				if *pageSize < 0 || *limit < 0 {
					return usageErrorf("notice list", "--page-size and --limit must not be negative")
				}
				req := &cascadev1.ListNoticesRequest{BreachId: *breachID, OrgId: *orgID, OverdueOnly: *overdue, ProcessorId: *processor,
					PageSize: int32(min(*pageSize, 1000))}
				if *stateName != "" {
					st, err := parseState(*stateName)
					if err != nil {
						return usageErrorf("notice list", "--state: %v", err)
					}
					req.State = st
				}
				if *limit > 0 && (*pageSize == 0 || *limit < *pageSize) {
					req.PageSize = int32(min(*limit, 1000))
				}
				ctx, cancel := a.withTimeout(ctx)
				defer cancel()
				c, err := a.dial()
				if err != nil {
					return err
				}
				defer c.Close()
				var all []*cascadev1.Notice
				for {
					resp, err := c.notices.ListNotices(ctx, req)
					if err != nil {
						return err
					}
					all = append(all, resp.GetNotices()...)
					if *limit > 0 && len(all) >= *limit {
						all = all[:*limit]
						break
					}
					if resp.GetNextPageToken() == "" {
						break
					}
					req.PageToken = resp.GetNextPageToken()
				}
				if a.g.output == outputJSON {
					return writeProtoList(a.stdout, all)
				}
				return renderNotices(a.stdout, all)
			}
		},
	}
}

// renderNotices writes the notice table.
func renderNotices(w io.Writer, ns []*cascadev1.Notice) error {
	tw := newTable(w)
	row(tw, "NOTICE", "ORG", "STATE", "DELIVERED", "DEADLINE", "ACKNOWLEDGED BY", "OVERDUE")
	for _, n := range ns {
		overdue := "no"
		if n.GetOverdue() {
			overdue = "OVERDUE"
		}
		row(tw, n.GetId(), n.GetOrgId(), stateName(n.GetState()), formatTime(n.GetDeliveredAt()),
			formatTime(n.GetDeadline()), orNone(n.GetAcknowledgedBy()), overdue)
	}
	return tw.Flush()
}
