package deadline

import (
	"log/slog"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
)

// rounds counts what one fired chunk did, by kind and reminder threshold,
// for one INFO line each: the story of a breach's clock in the log.
type rounds []round

type round struct {
	kind      ActionKind
	remaining time.Duration // reminders: the threshold
	orgs      int
	late      int
}

func (rs *rounds) add(a Action, late bool) {
	var r *round
	for i := range *rs {
		if (*rs)[i].kind == a.Kind && (*rs)[i].remaining == a.Remaining {
			r = &(*rs)[i]
		}
	}
	if r == nil {
		*rs = append(*rs, round{kind: a.Kind, remaining: a.Remaining})
		r = &(*rs)[len(*rs)-1]
	}
	r.orgs++
	if late {
		r.late++
	}
}

// log writes one line per round (a retried chunk logs its rounds again).
func (rs rounds) log(log *slog.Logger, id breach.BreachID, chunk int) {
	for _, r := range rs {
		attrs := []any{"breach_id", id, "kind", string(r.kind), "organisations", r.orgs}
		msg := "notices redelivered"
		switch r.kind {
		case ActRemind:
			msg = "reminders sent"
			attrs = append(attrs, "remaining", r.remaining)
		case ActOverdue:
			msg = "notices overdue"
		}
		if r.late > 0 {
			attrs = append(attrs, "late", r.late)
		}
		log.Info(msg, append(attrs, "chunk", chunk)...)
	}
}
