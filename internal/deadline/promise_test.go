package deadline

import (
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
)

func TestPromisePolicy(t *testing.T) {
	t0 := time.Date(2025, 8, 23, 14, 0, 0, 0, time.UTC)
	p := Policy{UpdateReminder: time.Hour}
	long := breach.Promise{By: t0.Add(24 * time.Hour), MadeAt: t0}
	short := breach.Promise{By: t0.Add(2 * time.Hour), MadeAt: t0}
	if got := p.PromiseRemindAt(&long); !got.Equal(long.By.Add(-time.Hour)) {
		t.Fatalf("long promise reminded at %s", got)
	}
	if got := p.PromiseRemindAt(&short); !got.Equal(short.By.Add(-30 * time.Minute)) {
		t.Fatalf("short promise reminded at %s; want a quarter of 2h before", got)
	}
	if got := (Policy{}).PromiseRemindAt(&long); !got.Equal(long.By.Add(-DefaultUpdateReminder)) {
		t.Fatalf("default reminder at %s", got)
	}
	if got := (Policy{UpdateReminder: -1}).PromiseRemindAt(&long); !got.IsZero() {
		t.Fatalf("no reminder wanted, got %s", got)
	}
	for _, tc := range []struct {
		name string
		pr   breach.Promise
		now  time.Time
		want PromiseAction
		next time.Time
	}{
		{"none open", breach.Promise{Kept: 1}, t0, PromiseNone, time.Time{}},
		{"before the reminder", long, t0, PromiseNone, long.By.Add(-time.Hour)},
		{"reminder due", long, long.By.Add(-time.Hour), PromiseRemind, long.By.Add(-time.Hour)},
		{"reminded", withReminded(long, long.By.Add(-time.Hour)), long.By.Add(-time.Minute), PromiseNone, long.By},
		{"passed, not reminded", long, long.By, PromiseOverdue, long.By.Add(-time.Hour)},
		{"told", withOverdue(long, long.By), long.By.Add(time.Hour), PromiseNone, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.PromiseDue(&tc.pr, tc.now); got != tc.want {
				t.Fatalf("due %q; want %q", got, tc.want)
			}
			if got := p.PromiseNext(&tc.pr); !got.Equal(tc.next) {
				t.Fatalf("next %s; want %s", got, tc.next)
			}
		})
	}
}

func withReminded(p breach.Promise, at time.Time) breach.Promise { p.RemindedAt = at; return p }
func withOverdue(p breach.Promise, at time.Time) breach.Promise  { p.OverdueAt = at; return p }
