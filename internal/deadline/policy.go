// Package deadline is the controller's clock: the deadline after delivery,
// the reminder thresholds, the overdue escalation and the redelivery
// backoff (Policy, pure functions of a notice and now), and the durable
// timers that act on them (Timers, on JetStream message schedules).
package deadline

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
)

// Defaults of the public flags.
var (
	DefaultRemind    = []time.Duration{48 * time.Hour, 24 * time.Hour, 6 * time.Hour, time.Hour}
	DefaultRedeliver = []time.Duration{15 * time.Minute, time.Hour, 4 * time.Hour, 12 * time.Hour}
)

// DefaultLateAfter: an action performed this long after it was due is marked late.
const DefaultLateAfter = time.Minute

// Policy says when a notice needs a reminder, an overdue escalation or a
// redelivery. It holds no state: everything derives from the notice.
type Policy struct {
	Window    time.Duration   // deadline = delivered_at + Window
	Remind    []time.Duration // remaining-time thresholds, any order
	Redeliver []time.Duration // backoff after each delivery while unacknowledged; the last repeats
	LateAfter time.Duration
	// UpdateReminder is how long before a promised update (the
	// processor's next_update_by) the processor is reminded; 0 means
	// DefaultUpdateReminder, negative none. See PromiseRemindAt.
	UpdateReminder time.Duration
}

// ActionKind is what a due action does.
type ActionKind string

// Action kinds.
const (
	ActRemind    ActionKind = "reminder"
	ActOverdue   ActionKind = "overdue"
	ActRedeliver ActionKind = "redeliver"
)

// Action is one thing due for a notice.
type Action struct {
	Kind ActionKind
	// Obligation is the NIS2 obligation a reminder or escalation is for;
	// empty for the GDPR obligation (the notice's own deadline) and for
	// redeliveries.
	Obligation breach.ObligationKind
	Remaining  time.Duration // for reminders: the threshold
	DueAt      time.Time
	Attempt    int // for redeliveries: 1, 2, ...
}

// Late reports whether performing a at now is late.
func (p Policy) Late(a Action, now time.Time) bool { return now.Sub(a.DueAt) > p.LateAfter }

// thresholds are the reminder thresholds that fall after delivery, largest first.
func (p Policy) thresholds() []time.Duration {
	out := make([]time.Duration, 0, len(p.Remind))
	for _, r := range p.Remind {
		if r > 0 && r < p.Window {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return slices.Compact(out)
}

// LastReminder is the threshold of the last reminder before the deadline
// (the smallest that falls after delivery), which escalates; 0 if no
// reminder does.
func (p Policy) LastReminder() time.Duration {
	if ts := p.thresholds(); len(ts) > 0 {
		return ts[len(ts)-1]
	}
	return 0
}

// ObligationThresholds are the reminder thresholds of obligation o: the
// thresholds of the GDPR clock (Remind within Window) scaled to o's clock,
// so they fall at the same fractions of it (with the defaults, 16h, 8h,
// 2h and 20m before a 24-hour early warning), largest first.
func (p Policy) ObligationThresholds(o *breach.Obligation) []time.Duration {
	w := o.Window()
	if w <= 0 || p.Window <= 0 {
		return nil
	}
	var out []time.Duration
	for _, r := range p.thresholds() {
		s := time.Duration(float64(r) / float64(p.Window) * float64(w)).Round(time.Millisecond)
		if s > 0 && s < w {
			out = append(out, s)
		}
	}
	return slices.Compact(out)
}

// LastObligationReminder is the threshold of o's last reminder before its
// deadline, which escalates; 0 if none.
func (p Policy) LastObligationReminder(o *breach.Obligation) time.Duration {
	if ts := p.ObligationThresholds(o); len(ts) > 0 {
		return ts[len(ts)-1]
	}
	return 0
}

// pending lists every action the notice will still need, due or not, in
// the order they fall due. A withdrawn notice needs none: its reminders,
// redeliveries and escalation stop. Each obligation has its own
// reminders and escalation, until its own outcome is recorded.
func (p Policy) pending(n *breach.Notice) []Action {
	if n.State < breach.StateDelivered || n.State == breach.StateWithdrawn {
		return nil
	}
	var out []Action
	if n.State != breach.StateResolved {
		for i := range n.Obligations {
			o := &n.Obligations[i]
			if o.Outcome != nil || o.Deadline.IsZero() {
				continue
			}
			for _, r := range p.ObligationThresholds(o) {
				if !o.Reminded(r) {
					out = append(out, Action{Kind: ActRemind, Obligation: o.Kind, Remaining: r, DueAt: o.Deadline.Add(-r)})
				}
			}
			if o.OverdueAt.IsZero() {
				out = append(out, Action{Kind: ActOverdue, Obligation: o.Kind, DueAt: o.Deadline})
			}
		}
	}
	if n.State != breach.StateResolved && n.Outcome == nil {
		for _, r := range p.thresholds() {
			if !n.Reminded(r) {
				out = append(out, Action{Kind: ActRemind, Remaining: r, DueAt: n.Deadline.Add(-r)})
			}
		}
		if n.OverdueAt.IsZero() {
			out = append(out, Action{Kind: ActOverdue, DueAt: n.Deadline})
		}
	}
	if n.NeedsAck() && len(p.Redeliver) > 0 {
		k := min(n.Redeliveries, len(p.Redeliver)-1)
		out = append(out, Action{Kind: ActRedeliver, Attempt: n.Redeliveries + 1, DueAt: n.LastDeliveryAt.Add(p.Redeliver[k])})
	}
	slices.SortStableFunc(out, func(a, b Action) int { return a.DueAt.Compare(b.DueAt) })
	return out
}

// Due returns the actions due at now, in the order they fell due.
func (p Policy) Due(n *breach.Notice, now time.Time) []Action {
	var out []Action
	for _, a := range p.pending(n) {
		if !a.DueAt.After(now) {
			out = append(out, a)
		}
	}
	return out
}

// Next is when the notice next needs something, or the zero time if never.
func (p Policy) Next(n *breach.Notice) time.Time {
	if ps := p.pending(n); len(ps) > 0 {
		return ps[0].DueAt
	}
	return time.Time{}
}

// ParseDurations parses a comma-separated list such as "48h,24h,6h,1h".
func ParseDurations(s string) ([]time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []time.Duration
	for _, f := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q: %w", f, err)
		}
		if d <= 0 {
			return nil, fmt.Errorf("%q: must be positive", f)
		}
		out = append(out, d)
	}
	return out, nil
}

// FormatDurations is the inverse of ParseDurations.
func FormatDurations(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}
