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
	Created bool `json:"created,omitempty"`
	// PrevMarks is what summaries count of a notice with NIS2 obligations
	// before a change that resolved one of them (or its GDPR obligation)
	// or moved a deadline (MarksOf); nil otherwise.
	PrevMarks *Marks `json:"prev_marks,omitempty"`
	Notice    Notice `json:"notice"`
}

// Marks are the obligation facts summaries count of a notice with NIS2
// obligations: whether its GDPR outcome is recorded, and each
// obligation's deadline and resolution.
type Marks struct {
	GDPRResolved bool   `json:"gdpr_resolved,omitempty"`
	Obligations  []Mark `json:"obligations,omitempty"`
}

// Mark is one obligation's part of Marks.
type Mark struct {
	Kind     ObligationKind `json:"kind"`
	Deadline time.Time      `json:"deadline,omitzero"`
	Resolved bool           `json:"resolved,omitempty"`
}

// MarksOf is n's Marks, or nil when n carries no NIS2 obligation (its
// state says all summaries need).
func MarksOf(n *Notice) *Marks {
	if len(n.Obligations) == 0 {
		return nil
	}
	m := &Marks{GDPRResolved: n.Outcome != nil, Obligations: make([]Mark, len(n.Obligations))}
	for i, o := range n.Obligations {
		m.Obligations[i] = Mark{Kind: o.Kind, Deadline: o.Deadline, Resolved: o.Outcome != nil}
	}
	return m
}

// PrevMarksFor is what a change from prev (MarksOf the notice before it)
// to next records as its PrevMarks: prev when the marks differ, else nil.
func PrevMarksFor(prev *Marks, next *Notice) *Marks {
	m := MarksOf(next)
	if prev == nil || m == nil || prev.equal(m) {
		return nil
	}
	return prev
}

func (m *Marks) equal(o *Marks) bool {
	if m.GDPRResolved != o.GDPRResolved || len(m.Obligations) != len(o.Obligations) {
		return false
	}
	for i := range m.Obligations {
		a, b := m.Obligations[i], o.Obligations[i]
		if a.Kind != b.Kind || !a.Deadline.Equal(b.Deadline) || a.Resolved != b.Resolved {
			return false
		}
	}
	return true
}

// apply gives n the marks m (as far as summaries count them).
func (m *Marks) apply(n *Notice) {
	if !m.GDPRResolved {
		n.Outcome = nil
	} else if n.Outcome == nil {
		n.Outcome = &Outcome{}
	}
	n.Obligations = cloneObligations(n.Obligations)
	for _, k := range m.Obligations {
		o := n.Obligation(k.Kind)
		if o == nil {
			continue
		}
		o.Deadline = k.Deadline
		switch {
		case !k.Resolved:
			o.Outcome = nil
		case o.Outcome == nil:
			o.Outcome = &Outcome{}
		}
	}
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
// as summaries need: state, acknowledged revision and, for a notice with
// NIS2 obligations, PrevMarks. The GDPR deadline, once set, never moves.
func (c Change) PrevNotice() *Notice {
	if c.Prev == StateUnspecified {
		return nil
	}
	p := c.Notice
	p.State = c.Prev
	p.RevisionAcked = c.PrevRevisionAcked
	switch {
	case c.PrevMarks != nil:
		c.PrevMarks.apply(&p)
	case len(p.Obligations) == 0 && p.State != StateResolved:
		p.Outcome = nil // GDPR alone: the outcome is what made it RESOLVED
	}
	return &p
}
