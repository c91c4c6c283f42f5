package dispatch

import (
	"testing"
	"time"
)

func TestDefaultBackoff(t *testing.T) {
	b := DefaultBackoff.withDefaults()
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute,
		32 * time.Minute, time.Hour, time.Hour}
	for i, w := range want {
		if got := b.Delay(i+1, 0.5); got != w {
			t.Errorf("after attempt %d: %s, want %s", i+1, got, w)
		}
	}
	if lo, hi := b.Delay(3, 0), b.Delay(3, 0.999999); lo != 96*time.Second || hi < 143*time.Second || hi > 144*time.Second {
		t.Errorf("jitter of 2m: %s to %s, want 1m36s to 2m24s", lo, hi)
	}
	// Without jitter: how many attempts fit before the message is given up on.
	var elapsed time.Duration
	attempts := 1
	for !b.Exhausted(attempts, elapsed) {
		elapsed += b.Delay(attempts, 0.5)
		attempts++
	}
	if attempts < 28 || attempts > 32 || elapsed < 24*time.Hour || elapsed > 25*time.Hour {
		t.Errorf("given up after %d attempts and %s", attempts, elapsed)
	}
	if b.Exhausted(2, 48*time.Hour) {
		t.Error("given up before the minimum number of attempts")
	}
	if got := (Backoff{}).withDefaults(); got != DefaultBackoff || got.Jitter != 0.2 {
		t.Errorf("zero Backoff: %+v", got)
	}
	if got := (Backoff{Initial: time.Second}).withDefaults(); got.Max != time.Hour || got.GiveUp != 24*time.Hour || got.MinAttempts != 3 {
		t.Errorf("defaults filled: %+v", got)
	}
}
