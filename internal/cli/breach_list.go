package cli

import (
	"context"
	"flag"
	"fmt"
	"io"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func breachListCmd() *command {
	return &command{
		name:    "breach list",
		summary: "List breaches, in id order",
		details: "Fetches every page unless --limit is given.",
		examples: `
# Every breach
cascadectl breach list
# The first ten, as JSON
cascadectl breach list --limit 10 -o json`,
		setup: func(fs *flag.FlagSet) runFunc {
			pageSize := fs.Int("page-size", 0, "`n` breaches per request; 0 means the server's default (100), at most 1000")
			limit := fs.Int("limit", 0, "list at most `n` breaches; 0 means all")
			processor := fs.String("processor", "", "only this registered processor's breaches (`id`)")
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs("breach list", args, 0); err != nil {
					return err
				}
				if *pageSize < 0 || *limit < 0 {
					return usageErrorf("breach list", "--page-size and --limit must not be negative")
				}
				ctx, cancel := a.withTimeout(ctx)
				defer cancel()
				c, err := a.dial()
				if err != nil {
					return err
				}
				defer c.Close()
				var all []*cascadev1.Breach
				req := &cascadev1.ListBreachesRequest{PageSize: int32(min(*pageSize, 1000)), ProcessorId: *processor}
				if *limit > 0 && (*pageSize == 0 || *limit < *pageSize) {
					req.PageSize = int32(min(*limit, 1000))
				}
				for {
					resp, err := c.breach.ListBreaches(ctx, req)
					if err != nil {
						return err
					}
					all = append(all, resp.GetBreaches()...)
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
				return renderBreaches(a.stdout, all)
			}
		},
	}
}

// renderBreaches writes the breach table.
func renderBreaches(w io.Writer, bs []*cascadev1.Breach) error {
	tw := newTable(w)
	row(tw, "BREACH", "REVISION", "NOTICES", "UNKNOWN ORGS", "FAN-OUT", "RECEIVED", "TITLE")
	for _, b := range bs {
		fanout := "running"
		if b.GetFanoutComplete() {
			fanout = "complete"
		}
		row(tw, b.GetId(), fmt.Sprint(latestRevision(b)), fmt.Sprint(b.GetNoticeCount()), fmt.Sprint(len(unknownOrgs(b))),
			fanout, formatTime(b.GetReceivedAt()), truncate(b.GetReport().GetTitle(), 60))
	}
	return tw.Flush()
}
