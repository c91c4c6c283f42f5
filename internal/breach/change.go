package breach

import "time"

// Change is one entry of a notice's audit trail: what happened, when, by
// whom, and the notice's full state after it. A notice's changes, in
// order, are its complete history (Art. 33(5) documentation); the last one
// is its current state.
type Change struct {
	Event Event     `json:"event"`
	At    time.Time `json:"at"`
	// Actor is the name recorded: "cascade" for what Cascade did, else
	// the name the caller typed (not checked).
	Actor string `json:"actor"`
	// Principal is who made the change through the API, as authenticated;
	// nil for what Cascade did itself and in records stored before
	// principals were recorded.
	Principal *Principal `json:"principal,omitempty"`
	Prev      State      `json:"prev_state"` // UNSPECIFIED when the notice was created
	Detail    string     `json:"detail,omitempty"`
	// PrevRevisionAcked is the revision acknowledged before the change, so
	// summaries can count acknowledgements of the latest revision.
	PrevRevisionAcked int `json:"prev_revision_acked,omitempty"`
	// Created marks a record that created the notice and recorded its
	// first delivery at once (Event delivered, Prev UNSPECIFIED): the
	// notice's history reads it as two entries, created then delivered
	// (see Split). Older records are one each.
	Created bool   `json:"created,omitempty"`
	Notice  Notice `json:"notice"`
}

// Split is c as the history shows it: a record that created and delivered
// the notice at once is its creation (at the notice's creation time,
// PENDING) followed by its delivery; any other record is itself.
func (c Change) Split() []Change {
	if !c.Created {
		return []Change{c}
	}
	created := Change{Event: EventCreated, At: c.Notice.CreatedAt, Actor: c.Actor, Principal: c.Principal, Notice: c.Notice}
	n := &created.Notice
	n.State, n.Revision, n.DeliveredAt, n.Deadline = StatePending, 0, time.Time{}, time.Time{}
	n.DeliveryCount, n.LastDeliveryAt, n.Redeliveries = 0, time.Time{}, 0
	delivered := c
	delivered.Created, delivered.Prev = false, StatePending
	return []Change{created, delivered}
}

// PrevNotice is the notice as it was before c (nil if c created it), as far
// as summaries need: state and acknowledged revision. The deadline, once
// set, never moves.
func (c Change) PrevNotice() *Notice {
	if c.Prev == StateUnspecified {
		return nil
	}
	p := c.Notice
	p.State = c.Prev
	p.RevisionAcked = c.PrevRevisionAcked
	return &p
}
