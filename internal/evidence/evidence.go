// Package evidence builds the exportable record of a breach or an
// organisation: every notice with its full append-only history, as JSON and
// CSV with SHA-256 digests and a manifest of them signed by Cascade (see
// manifest.go), so a later copy can be checked. It supports the
// controller's documentation duty under GDPR Art. 33(5).
//
// The JSON form is the complete record; the CSV form has one row per
// history entry for spreadsheets. Both are rendered deterministically: the
// same Export always gives the same bytes, so a digest taken at export time
// still identifies the record later.
package evidence

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
)

// Format names the export format; it changes only when a field changes
// meaning or is removed, so readers can tell versions apart.
const Format = "cascade-evidence/v1"

// ScopeKind says what an export covers.
type ScopeKind string

// Scope kinds.
const (
	ScopeBreach       ScopeKind = "breach"       // one breach, every affected organisation
	ScopeOrganisation ScopeKind = "organisation" // one organisation, every breach that affected it
)

// Scope is what an export covers: one breach or one organisation.
type Scope struct {
	Kind ScopeKind `json:"kind"`
	ID   string    `json:"id"`
}

// BreachScope is the scope of an export of breach id.
func BreachScope(id breach.BreachID) Scope { return Scope{Kind: ScopeBreach, ID: string(id)} }

// OrganisationScope is the scope of an export of organisation id.
func OrganisationScope(id breach.OrgID) Scope {
	return Scope{Kind: ScopeOrganisation, ID: string(id)}
}

// Entry is one event of a notice's history, with the notice's state after
// it. It carries what changes over a notice's life (state, and the breach
// revisions delivered and acknowledged) but not the whole notice, to keep
// exports small: the notice as it is now is NoticeRecord.Notice, and what
// is set once (delivery time, deadline, outcome) never changes afterwards.
type Entry struct {
	Seq   uint64       `json:"seq"` // position in the notice's history, from 1
	Event breach.Event `json:"event"`
	At    time.Time    `json:"at"`
	Actor string       `json:"actor"`
	// Principal is who made the change through the API, as authenticated
	// (Actor is the name typed); absent for what Cascade did itself and
	// for changes recorded before principals were.
	Principal         *breach.Principal `json:"principal,omitempty"`
	Prev              breach.State      `json:"prev_state"` // UNSPECIFIED for the entry that created the notice
	State             breach.State      `json:"state"`
	Detail            string            `json:"detail,omitempty"`
	RevisionDelivered int               `json:"revision_delivered,omitempty"`    // latest breach revision delivered, after the event
	RevisionAcked     int               `json:"revision_acknowledged,omitempty"` // latest breach revision acknowledged, after the event
}

// NoticeRecord is one notice as it is now, with its history oldest first.
type NoticeRecord struct {
	Notice  breach.Notice `json:"notice"`
	History []Entry       `json:"history"`
}

// NewNoticeRecord makes the record of one notice from its complete history,
// oldest first (what the store's History returns). Entries are numbered
// from 1 in that order; the notice is the state after the last change.
// An empty history, or changes of more than one notice, is an error.
func NewNoticeRecord(history []breach.Change) (NoticeRecord, error) {
	if len(history) == 0 {
		return NoticeRecord{}, fmt.Errorf("evidence: a notice record needs at least one change")
	}
	id := history[0].Notice.ID
	r := NoticeRecord{
		Notice:  history[len(history)-1].Notice,
		History: make([]Entry, len(history)),
	}
	for i, c := range history {
		if c.Notice.ID != id {
			return NoticeRecord{}, fmt.Errorf("evidence: change %d is of notice %s, not %s", i+1, c.Notice.ID, id)
		}
		r.History[i] = Entry{
			Seq:               uint64(i + 1),
			Event:             c.Event,
			At:                c.At.UTC(),
			Actor:             c.Actor,
			Principal:         c.Principal,
			Prev:              c.Prev,
			State:             c.Notice.State,
			Detail:            c.Detail,
			RevisionDelivered: c.Notice.Revision,
			RevisionAcked:     c.Notice.RevisionAcked,
		}
	}
	return r, nil
}

// Export is the evidence record of one scope at one time.
type Export struct {
	Format      string          `json:"format"` // always Format
	GeneratedAt time.Time       `json:"generated_at"`
	Scope       Scope           `json:"scope"`
	Breaches    []breach.Breach `json:"breaches"` // the breaches concerned, with their revisions, by id
	Notices     []NoticeRecord  `json:"notices"`  // by breach id, then organisation id
}

// Build assembles an export generated at now. It sorts copies of breaches
// (by id) and notices (by breach id, then organisation id) so the result
// does not depend on the order the caller read them in; the caller's
// slices are not modified. History entries keep their order.
func Build(scope Scope, now time.Time, breaches []breach.Breach, notices []NoticeRecord) Export {
	bs := slices.Clone(breaches)
	if bs == nil {
		bs = []breach.Breach{}
	}
	slices.SortStableFunc(bs, func(a, b breach.Breach) int { return cmp.Compare(a.ID, b.ID) })
	ns := slices.Clone(notices)
	if ns == nil {
		ns = []NoticeRecord{}
	}
	slices.SortStableFunc(ns, func(a, b NoticeRecord) int { return compareNoticeID(a.Notice.ID, b.Notice.ID) })
	return Export{
		Format:      Format,
		GeneratedAt: now.UTC(),
		Scope:       scope,
		Breaches:    bs,
		Notices:     ns,
	}
}

func compareNoticeID(a, b breach.NoticeID) int {
	return cmp.Or(cmp.Compare(a.Breach, b.Breach), cmp.Compare(a.Org, b.Org))
}
