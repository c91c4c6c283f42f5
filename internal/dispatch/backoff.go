package dispatch

import (
	"math/rand/v2"
	"time"
)

// Backoff is the retry schedule of one message on the webhook and e-mail
// channels: after attempt n fails the next comes Initial·2^(n-1) later,
// at most Max, each delay varied by ±Jitter so that messages that failed
// together (one receiver down for many notices) do not retry in lockstep.
// A message is given up on (dead-lettered) once it has been tried at
// least MinAttempts times and was published GiveUp ago or earlier.
type Backoff struct {
	Initial     time.Duration
	Max         time.Duration
	GiveUp      time.Duration
	MinAttempts int
	Jitter      float64 // fraction, 0 to 0.5; 0 is none
}

// DefaultBackoff: 30 s doubling to an hourly cap, given up after 24 hours
// (about 30 attempts): minutes cover a receiver's restart or deploy, the
// hourly cap a receiver down overnight without hammering it, and after a
// day a third of the controller's 72 hours is gone, so the vendor must
// follow up by other means, and the dead letter says so.
var DefaultBackoff = Backoff{Initial: 30 * time.Second, Max: time.Hour, GiveUp: 24 * time.Hour, MinAttempts: 3, Jitter: 0.2}

// withDefaults is DefaultBackoff for the zero Backoff, else b with its
// unset durations and attempts from DefaultBackoff (Jitter as given).
func (b Backoff) withDefaults() Backoff {
	if b == (Backoff{}) {
		return DefaultBackoff
	}
	if b.Initial <= 0 {
		b.Initial = DefaultBackoff.Initial
	}
	if b.Max <= 0 {
		b.Max = max(DefaultBackoff.Max, b.Initial)
	}
	if b.GiveUp <= 0 {
		b.GiveUp = DefaultBackoff.GiveUp
	}
	if b.MinAttempts <= 0 {
		b.MinAttempts = DefaultBackoff.MinAttempts
	}
	b.Jitter = min(max(b.Jitter, 0), 0.5)
	return b
}

// Delay is how long to wait after failed attempt n (1, 2, ...); r in [0, 1)
// draws the jitter.
func (b Backoff) Delay(n int, r float64) time.Duration {
	d := b.Initial
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return time.Duration(float64(d) * (1 - b.Jitter + 2*b.Jitter*r))
}

// Exhausted reports whether a message tried attempts times, published age
// ago, is given up on.
func (b Backoff) Exhausted(attempts int, age time.Duration) bool {
	return attempts >= b.MinAttempts && age >= b.GiveUp
}

func jitter() float64 { return rand.Float64() }
