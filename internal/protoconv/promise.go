package protoconv

import (
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/cascadehq/cascade/internal/breach"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// PromiseProto converts the processor's promise; overdue and late_by are
// evaluated at now (a zero now leaves them unset). Nil when no promise was
// ever made.
func PromiseProto(p *breach.Promise, now time.Time) *cascadev1.UpdatePromise {
	if *p == (breach.Promise{}) {
		return nil
	}
	out := &cascadev1.UpdatePromise{
		NextUpdateBy:      pts(p.By),
		PromisedAt:        pts(p.MadeAt),
		PromisedRevision:  int32(p.Revision),
		RemindedAt:        pts(p.RemindedAt),
		OverdueNotifiedAt: pts(p.OverdueAt),
		Kept:              int32(p.Kept),
		Missed:            int32(p.Missed),
	}
	if !now.IsZero() && p.Overdue(now) {
		out.Overdue = true
		out.LateBy = durationpb.New(p.LateBy(now))
	}
	return out
}

// BreachProtoAt is BreachProto with the promise evaluated at now.
func BreachProtoAt(b *breach.Breach, now time.Time) *cascadev1.Breach {
	out := BreachProto(b)
	out.NextUpdate = PromiseProto(&b.Promise, now)
	return out
}

// SummaryPromise sets the promise fields of a breach summary, evaluated at now.
func SummaryPromise(s *cascadev1.BreachSummary, p *breach.Promise, now time.Time) *cascadev1.BreachSummary {
	s.NextUpdateBy = pts(p.By)
	s.NextUpdateOverdue = p.Overdue(now)
	s.PromisesMissed = int32(p.Missed)
	return s
}

// PromiseHistoryProto converts a breach's promise history.
func PromiseHistoryProto(evs []breach.PromiseEvent) []*cascadev1.PromiseEvent {
	var out []*cascadev1.PromiseEvent
	for _, e := range evs {
		out = append(out, &cascadev1.PromiseEvent{Event: e.Event, At: pts(e.At), NextUpdateBy: pts(e.By),
			Revision: int32(e.Revision), Detail: e.Detail})
	}
	return out
}

func promiseOutcomeProto(o string) cascadev1.PromiseOutcome {
	switch o {
	case breach.PromiseKept:
		return cascadev1.PromiseOutcome_PROMISE_OUTCOME_KEPT
	case breach.PromiseLate:
		return cascadev1.PromiseOutcome_PROMISE_OUTCOME_LATE
	}
	return cascadev1.PromiseOutcome_PROMISE_OUTCOME_UNSPECIFIED
}
