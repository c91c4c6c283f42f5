package cli

import (
	"fmt"
	"io"
	"time"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// formatPromise is the processor's promise of its next update in one
// line, evaluated at now: "2025-08-24T10:00:00Z (3h0m left)",
// "LATE by 2h15m (promised by 2025-08-24T10:00:00Z)", or "none promised".
func formatPromise(p *cascadev1.UpdatePromise, now time.Time) string {
	by := p.GetNextUpdateBy()
	switch {
	case by == nil:
		return "none promised"
	case !now.Before(by.AsTime()):
		return fmt.Sprintf("LATE by %s (promised by %s)", formatDuration(now.Sub(by.AsTime())), formatTime(by))
	}
	return fmt.Sprintf("promised by %s (%s left)", formatTime(by), formatDuration(by.AsTime().Sub(now)))
}

// promiseRows adds the processor's promise to a breach status table, when
// it ever made one.
func promiseRows(tw io.Writer, b *cascadev1.Breach, now time.Time) {
	p := b.GetNextUpdate()
	if p == nil {
		return
	}
	row(tw, "Next update:", formatPromise(p, now))
	row(tw, "Promises:", fmt.Sprintf("%d kept, %d missed", p.GetKept(), p.GetMissed()))
}

// promiseOutcome is what a revision did to the promise open when it
// arrived, as a suffix of its status line.
func promiseOutcome(r *cascadev1.BreachRevision) string {
	switch r.GetPromiseOutcome() {
	case cascadev1.PromiseOutcome_PROMISE_OUTCOME_KEPT:
		return ", promise kept"
	case cascadev1.PromiseOutcome_PROMISE_OUTCOME_LATE:
		return ", LATE for the promise"
	}
	return ""
}
