package cli

import (
	"context"
	"flag"
	"fmt"
	"io"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func noticeHistoryCmd() *command {
	return &command{
		name:    "notice history",
		args:    "ID",
		summary: "List every event of a notice, oldest first",
		details: `Lists the notice's append-only history (its Art. 33(5) documentation):
created, delivered, redelivered, revision_delivered, reminded, overdue,
acknowledged, revision_acknowledged, outcome_recorded and
subject_communication_recorded, with when, who ("cascade" for what Cascade
did, else the name the caller typed), the state after the event, a detail
and the principal: who made the change through the API as Cascade
authenticated the call (the token's id, label, role and organisation, or
the client certificate's subject; "-" for what Cascade did itself and for
changes recorded before principals were). SEQ is the event's position in
the ledger. ID is "<breach_id>/<org_id>".`,
		examples: `
# What happened to a notice, oldest first
cascadectl notice history EXAMPLE-2025-08-23/se-kommun-0180`,
		setup: func(*flag.FlagSet) runFunc {
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs("notice history", args, 1); err != nil {
					return err
				}
				ctx, cancel := a.withTimeout(ctx)
				defer cancel()
				c, err := a.dial()
				if err != nil {
					return err
				}
				defer c.Close()
				resp, err := c.notices.GetNoticeHistory(ctx, &cascadev1.GetNoticeHistoryRequest{NoticeId: args[0]})
				if err != nil {
					return err
				}
				if a.g.output == outputJSON {
					return writeProtoList(a.stdout, resp.GetEvents())
				}
				return renderHistory(a.stdout, resp.GetEvents())
			}
		},
	}
}

// renderHistory writes the event table of a notice.
func renderHistory(w io.Writer, events []*cascadev1.NoticeEvent) error {
	tw := newTable(w)
	row(tw, "SEQ", "AT", "EVENT", "ACTOR", "STATE", "DETAIL", "PRINCIPAL")
	for _, e := range events {
		row(tw, fmt.Sprint(e.GetSequence()), formatTime(e.GetAt()), orNone(e.GetEvent()), orNone(e.GetActor()),
			stateName(e.GetState()), orNone(e.GetDetail()), orNone(e.GetPrincipal().GetDisplay()))
	}
	return tw.Flush()
}
