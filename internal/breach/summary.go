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
	return p == nil || p.State != c.Notice.State || p.RevisionAcked != c.Notice.RevisionAcked || !p.Deadline.Equal(c.Notice.Deadline)
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
	if n.State >= StateDelivered && n.State != StateResolved {
		if s.Deadlines == nil {
			s.Deadlines = make(map[int64]int64)
		}
		k := n.Deadline.Unix()
		if n.Deadline.Nanosecond() > 0 {
			k++ // round up: never overdue early
		}
		s.Deadlines[k] += sign
		if s.Deadlines[k] == 0 {
			delete(s.Deadlines, k)
		}
	}
}

// Overdue is the number of unresolved delivered notices whose deadline has passed at now.
func (s *Summary) Overdue(now time.Time) int64 {
	var n int64
	for k, c := range s.Deadlines {
		if k <= now.Unix() {
			n += c
		}
	}
	return n
}

// NextDeadline is the earliest deadline after now among unresolved notices,
// or the zero time if there is none.
func (s *Summary) NextDeadline(now time.Time) time.Time {
	keys := make([]int64, 0, len(s.Deadlines))
	for k := range s.Deadlines {
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
