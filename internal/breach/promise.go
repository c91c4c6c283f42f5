package breach

import (
	"fmt"
	"time"
)

// Bounds on a promise of further information (next_update_by), relative
// to when Cascade received the report or update that makes it.
const (
	// PromiseSkew is how far before its receipt a promise may lie (clock
	// skew between the processor and Cascade).
	PromiseSkew = 5 * time.Minute
	// MaxPromiseAhead is how far ahead a promise may lie.
	MaxPromiseAhead = 90 * 24 * time.Hour
)

// ValidatePromise checks a next_update_by received at received: zero (no
// promise) is valid; otherwise it must lie between received-PromiseSkew
// and received+MaxPromiseAhead. The error is an *InvalidError on field
// next_update_by.
func ValidatePromise(next, received time.Time) error {
	var vs violations
	switch {
	case next.IsZero():
	case !timeField(&vs, "next_update_by", next):
	case next.Before(received.Add(-PromiseSkew)):
		vs.add("next_update_by", "past", "next_update_by %s is in the past (received at %s): promise a time ahead",
			next.UTC().Format(time.RFC3339), received.UTC().Format(time.RFC3339))
	case next.After(received.Add(MaxPromiseAhead)):
		vs.add("next_update_by", "too_far", "next_update_by %s is more than %d days ahead; promise a nearer time (a later update may promise again)",
			next.UTC().Format(time.RFC3339), int(MaxPromiseAhead/(24*time.Hour)))
	}
	return vs.err()
}

// Promise is the processor's own clock (Art. 33(4): information in
// phases): its open promise of the next update, if any, and how its
// promises went. The latest report or update sets it; an update that
// arrives by the promised time keeps the open promise, a later one is late
// (the promise missed), and either replaces it with the promise it carries
// or with none.
type Promise struct {
	By       time.Time `json:"by,omitzero"`        // the open promise; zero: none open
	MadeAt   time.Time `json:"made_at,omitzero"`   // when the report or update that made it was received
	Revision int       `json:"revision,omitempty"` // the revision that made it
	// RemindedAt and OverdueAt: when the processor was reminded of the
	// open promise, and told that it passed.
	RemindedAt time.Time `json:"reminded_at,omitzero"`
	OverdueAt  time.Time `json:"overdue_at,omitzero"`
	Kept       int       `json:"kept,omitempty"`
	Missed     int       `json:"missed,omitempty"`
}

// Outcomes of an update for the promise open when it arrived
// (Revision.PromiseOutcome).
const (
	PromiseKept = "kept"
	PromiseLate = "late"
)

// Open reports whether a promise is open.
func (p *Promise) Open() bool { return !p.By.IsZero() }

// Overdue reports whether the open promise passed without an update at now.
func (p *Promise) Overdue(now time.Time) bool { return p.Open() && now.After(p.By) }

// LateBy is how late the update is at now (0 unless overdue).
func (p *Promise) LateBy(now time.Time) time.Duration {
	if !p.Overdue(now) {
		return 0
	}
	return now.Sub(p.By)
}

// Make opens the promise by, made by revision rev received at at,
// replacing any open one (settle that first). A zero by leaves none open.
func (p *Promise) Make(by, at time.Time, rev int) {
	p.By, p.RemindedAt, p.OverdueAt = by, time.Time{}, time.Time{}
	p.MadeAt, p.Revision = time.Time{}, 0
	if !by.IsZero() {
		p.MadeAt, p.Revision = at, rev
	}
}

// Settle records an update received at at against the open promise and
// closes it: kept if at is no later than the promised time, late
// otherwise (counted missed unless MarkOverdue counted it). It returns the
// outcome, "" when no promise was open.
func (p *Promise) Settle(at time.Time) string {
	if !p.Open() {
		return ""
	}
	out := PromiseKept
	if at.After(p.By) {
		out = PromiseLate
		if p.OverdueAt.IsZero() {
			p.Missed++
		}
	} else {
		p.Kept++
	}
	p.Make(time.Time{}, time.Time{}, 0)
	return out
}

// MarkOverdue records, once, that the open promise by passed without an
// update (told to the processor at now); false if it is no longer the
// open promise, has not passed, or was marked before.
func (p *Promise) MarkOverdue(by, now time.Time) bool {
	if !p.Open() || !p.By.Equal(by) || !p.OverdueAt.IsZero() || now.Before(p.By) {
		return false
	}
	p.OverdueAt = now
	p.Missed++
	return true
}

// MarkReminded records, once, that the processor was reminded of the open
// promise by at now; false if it is no longer the open promise or was
// reminded (or told it passed) before.
func (p *Promise) MarkReminded(by, now time.Time) bool {
	if !p.Open() || !p.By.Equal(by) || !p.RemindedAt.IsZero() || !p.OverdueAt.IsZero() {
		return false
	}
	p.RemindedAt = now
	return true
}

// PromiseEvent is one entry of a breach's promise history (the ledger).
type PromiseEvent struct {
	Event    string    `json:"event"` // promised, kept, late, reminded, overdue
	At       time.Time `json:"at"`
	By       time.Time `json:"next_update_by,omitzero"` // the promise it is about
	Revision int       `json:"revision,omitempty"`      // the revision that made, kept or broke it
	Detail   string    `json:"detail,omitempty"`
}

// Events of the promise history.
const (
	PromiseEventPromised = "promised"
	PromiseEventKept     = PromiseKept
	PromiseEventLate     = PromiseLate
	PromiseEventReminded = "reminded"
	PromiseEventOverdue  = "overdue"
)

// PromiseDetail says in words how late or early at is for a promise by.
func PromiseDetail(by, at time.Time) string {
	if at.After(by) {
		return fmt.Sprintf("%s after the promised %s", at.Sub(by).Round(time.Second), by.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("%s before the promised %s", by.Sub(at).Round(time.Second), by.UTC().Format(time.RFC3339))
}
