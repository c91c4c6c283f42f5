package breach

import (
	"sort"
	"time"
)

// Summary is the cumulative progress of one breach. It is maintained
// incrementally from notice changes (Apply), never by scanning notices.
// Deadlines counts unresolved delivered notices per deadline, rounded up to
// the whole second (Unix time), so Overdue and NextDeadline need only now;
// the summary thus reports a notice overdue, and its deadline, at most one
// second after the notice's exact deadline.
type Summary struct {
	Breach       BreachID `json:"breach_id"`
	Total        int64    `json:"total"`
	Delivered    int64    `json:"delivered"`
	Acknowledged int64    `json:"acknowledged"`
	Resolved     int64    `json:"resolved"`
	// Withdrawn counts withdrawn notices: they count in Total and here
	// only (never delivered, acknowledged, resolved or overdue).
	Withdrawn int64           `json:"withdrawn,omitempty"`
	Deadlines map[int64]int64 `json:"deadlines,omitempty"`
	// RevisionAcked counts notices by the latest revision they acknowledged.
	RevisionAcked map[int]int64 `json:"revision_acked,omitempty"`
	// Obligations counts the NIS2 obligations of the notices that carry
	// them, per kind. The GDPR obligation's counts derive from the fields
	// above (GDPR). Deadlines above counts the notices whose GDPR outcome
	// is not recorded; Resolved, the notices RESOLVED (every obligation).
	Obligations map[ObligationKind]ObligationTally `json:"obligations,omitempty"`
}

// ObligationTally counts one kind of obligation of a breach's delivered,
// not withdrawn notices: open (by deadline, rounded up to the whole
// second like Summary.Deadlines) and resolved.
type ObligationTally struct {
	Resolved  int64           `json:"resolved,omitempty"`
	Deadlines map[int64]int64 `json:"deadlines,omitempty"`
}

// ObligationCounts is one obligation's progress at a time.
type ObligationCounts struct {
	Kind         ObligationKind
	Open         int64
	Resolved     int64
	Overdue      int64
	NextDeadline time.Time
}

// ObligationCounts are the counts per obligation at now: GDPR's first
// (every delivered notice carries it), then each NIS2 kind any notice
// carries, in the order they fall due.
func (s *Summary) ObligationCounts(now time.Time) []ObligationCounts {
	open := sumCounts(s.Deadlines)
	out := []ObligationCounts{{Kind: ObligationGDPR, Open: open, Resolved: s.Delivered - open,
		Overdue: s.Overdue(now), NextDeadline: s.NextDeadline(now)}}
	for _, k := range NIS2Kinds {
		t, ok := s.Obligations[k]
		if !ok {
			continue
		}
		out = append(out, ObligationCounts{Kind: k, Open: sumCounts(t.Deadlines), Resolved: t.Resolved,
			Overdue: overdueOf(t.Deadlines, now), NextDeadline: nextOf(t.Deadlines, now)})
	}
	return out
}

func sumCounts(m map[int64]int64) int64 {
	var n int64
	for _, c := range m {
		n += c
	}
	return n
}

// AcknowledgedRevision is the number of notices that acknowledged revision rev.
func (s *Summary) AcknowledgedRevision(rev int) int64 { return s.RevisionAcked[rev] }

// AcknowledgedSince is the number of notices that acknowledged revision
// rev or a later one.
func (s *Summary) AcknowledgedSince(rev int) int64 {
	var n int64
	for r, c := range s.RevisionAcked {
		if r >= rev {
			n += c
		}
	}
	return n
}

// Apply folds one notice change into the summary: prev is the notice before
// the change (nil when it was created), next after it.
func (s *Summary) Apply(prev, next *Notice) {
	s.count(prev, -1)
	s.count(next, +1)
}

// MovesSummary reports whether folding c into a summary changes it: false
// when the notice's state, acknowledged revision and deadline are what
// they were (a reminder, an escalation, a redelivery, a channel attempt),
// which are all that count reads.
func MovesSummary(c Change) bool {
	p := c.PrevNotice()
	if p != nil && p.State == StateWithdrawn && c.Notice.State == StateWithdrawn {
		return false // a withdrawn notice counts in Total and Withdrawn only
	}
	return p == nil || p.State != c.Notice.State || p.RevisionAcked != c.Notice.RevisionAcked || !p.Deadline.Equal(c.Notice.Deadline) ||
		(p.Outcome == nil) != (c.Notice.Outcome == nil) || obligationsMoved(p, &c.Notice)
}

// obligationsMoved reports whether an obligation's deadline or
// resolution differs between p and n.
func obligationsMoved(p, n *Notice) bool {
	if len(p.Obligations) != len(n.Obligations) {
		return true
	}
	for i := range p.Obligations {
		a, b := &p.Obligations[i], &n.Obligations[i]
		if a.Kind != b.Kind || !a.Deadline.Equal(b.Deadline) || (a.Outcome == nil) != (b.Outcome == nil) {
			return true
		}
	}
	return false
}

// deadlineKey is t's key in a deadline count: Unix seconds, rounded up
// (never overdue early).
func deadlineKey(t time.Time) int64 {
	k := t.Unix()
	if t.Nanosecond() > 0 {
		k++
	}
	return k
}

func addCount(m *map[int64]int64, k, sign int64) {
	if *m == nil {
		*m = make(map[int64]int64)
	}
	(*m)[k] += sign
	if (*m)[k] == 0 {
		delete(*m, k)
	}
}

// countObligations folds n's NIS2 obligations (delivered: their clocks
// started) into the per-kind tallies.
func (s *Summary) countObligations(n *Notice, sign int64) {
	for i := range n.Obligations {
		o := &n.Obligations[i]
		if o.Deadline.IsZero() {
			continue
		}
		if s.Obligations == nil {
			s.Obligations = make(map[ObligationKind]ObligationTally)
		}
		t := s.Obligations[o.Kind]
		if o.Outcome != nil {
			t.Resolved += sign
		} else {
			addCount(&t.Deadlines, deadlineKey(o.Deadline), sign)
		}
		if len(t.Deadlines) == 0 {
			t.Deadlines = nil
		}
		if t.Resolved == 0 && len(t.Deadlines) == 0 {
			delete(s.Obligations, o.Kind)
			continue
		}
		s.Obligations[o.Kind] = t
	}
}

func (s *Summary) count(n *Notice, sign int64) {
	if n == nil {
		return
	}
	s.Total += sign
	if n.State == StateWithdrawn {
		s.Withdrawn += sign
		return
	}
	if n.State >= StateDelivered {
		s.Delivered += sign
	}
	if n.State >= StateAcknowledged {
		s.Acknowledged += sign
	}
	if n.State == StateResolved {
		s.Resolved += sign
	}
	if n.RevisionAcked > 0 {
		if s.RevisionAcked == nil {
			s.RevisionAcked = make(map[int]int64)
		}
		s.RevisionAcked[n.RevisionAcked] += sign
		if s.RevisionAcked[n.RevisionAcked] == 0 {
			delete(s.RevisionAcked, n.RevisionAcked)
		}
	}
	if n.State >= StateDelivered && n.State != StateResolved && n.Outcome == nil { // the GDPR obligation is open
		addCount(&s.Deadlines, deadlineKey(n.Deadline), sign)
	}
	if n.State >= StateDelivered {
		s.countObligations(n, sign)
	}
}

// Overdue is the number of unresolved delivered notices whose deadline has passed at now.
func (s *Summary) Overdue(now time.Time) int64 { return overdueOf(s.Deadlines, now) }

func overdueOf(deadlines map[int64]int64, now time.Time) int64 {
	var n int64
	for k, c := range deadlines {
		if k <= now.Unix() {
			n += c
		}
	}
	return n
}

// NextDeadline is the earliest deadline after now among unresolved notices,
// or the zero time if there is none.
func (s *Summary) NextDeadline(now time.Time) time.Time { return nextOf(s.Deadlines, now) }

func nextOf(deadlines map[int64]int64, now time.Time) time.Time {
	keys := make([]int64, 0, len(deadlines))
	for k := range deadlines {
		if k > now.Unix() {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return time.Time{}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return time.Unix(keys[0], 0).UTC()
}
