package loadtest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/trace"
	"time"
)

// stallAfter is how long without a reminder sent, while some are due,
// counts as a stall.
const stallAfter = time.Second

// maxStallTraces bounds the traces one run writes.
const maxStallTraces = 3

// stallTracer keeps a flight recorder (the last seconds of the process's
// execution trace) running while reminders fall due, and writes it out
// when the reminders stop moving for stallAfter and then move again: the
// trace then covers the seconds before the stall, the stall and its end.
// A nil *stallTracer (no --stall-trace) does nothing.
type stallTracer struct {
	r        *runner
	dir      string
	fr       *trace.FlightRecorder
	last     uint64    // messages sent at the last progress
	lastAt   time.Time // when it was seen
	stalled  time.Time // start of the stall being watched, zero if none
	dueSince time.Time // since when reminders are due and unsent, zero if not
	written  int
	traced   []tracedStall // this repetition's
}

// tracedStall is one stall with a trace.
type tracedStall struct {
	from, to time.Time
	path     string
}

func (r *runner) newStallTracer() (*stallTracer, error) {
	if r.cfg.StallTrace == "" {
		return nil, nil
	}
	if err := os.MkdirAll(r.cfg.StallTrace, 0o755); err != nil {
		return nil, fmt.Errorf("--stall-trace: %w", err)
	}
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: 10 * time.Second, MaxBytes: 256 << 20})
	if err := fr.Start(); err != nil {
		return nil, fmt.Errorf("--stall-trace: flight recorder: %w", err)
	}
	return &stallTracer{r: r, dir: r.cfg.StallTrace, fr: fr, lastAt: time.Now()}, nil
}

// observe takes the count of reminders sent so far; due says whether some
// are due and unsent.
func (s *stallTracer) observe(sent uint64, due bool) {
	if s == nil {
		return
	}
	now := time.Now()
	if !due {
		s.dueSince = time.Time{}
	} else if s.dueSince.IsZero() {
		s.dueSince = now
	}
	if sent == s.last {
		// Quiet since the last progress, or since reminders became due.
		since := s.lastAt
		if s.dueSince.After(since) {
			since = s.dueSince
		}
		if due && s.stalled.IsZero() && now.Sub(since) >= stallAfter {
			s.stalled = since
		}
		return
	}
	s.last, s.lastAt = sent, now
	if s.stalled.IsZero() {
		return
	}
	stall := now.Sub(s.stalled)
	s.stalled = time.Time{}
	if s.written >= maxStallTraces {
		return
	}
	s.written++
	path := filepath.Join(s.dir, fmt.Sprintf("stall-%d.trace", s.written))
	if err := s.write(path); err != nil {
		s.r.progressf("timers: stall trace: %v", err)
		return
	}
	s.traced = append(s.traced, tracedStall{from: now.Add(-stall), to: now, path: path})
	s.r.progressf("timers: no reminder sent for %.1fs (at %d sent); execution trace of it in %s", stall.Seconds(), sent, path)
}

// reset starts a repetition: counts start from zero again.
func (s *stallTracer) reset() {
	if s == nil {
		return
	}
	s.last, s.lastAt, s.stalled, s.dueSince, s.traced = 0, time.Now(), time.Time{}, time.Time{}, nil
}

// explain says, for each stall traced in this repetition, how many
// reminders fell due during it and how late they were sent: none, or a
// lateness no larger than usual, means the daemon was quiet because little
// was due (a gap between two fan-outs' deliveries), not held up.
func (s *stallTracer) explain(sent []sentReminder) {
	if s == nil {
		return
	}
	for _, t := range s.traced {
		var late []time.Duration
		for _, x := range sent {
			if !x.due.Before(t.from) && x.due.Before(t.to) {
				late = append(late, x.late)
			}
		}
		l := LatencyOf(late)
		s.r.progressf("timers: %s: %d reminders fell due during the %.1fs without sending; their lateness p50 %.0f ms, max %.0f ms",
			t.path, l.Count, t.to.Sub(t.from).Seconds(), l.P50ms, l.Maxms)
	}
}

func (s *stallTracer) stop() {
	if s != nil {
		s.fr.Stop()
	}
}

func (s *stallTracer) write(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := s.fr.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
