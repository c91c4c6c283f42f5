// Package testkit is what the tests of several packages share: a real
// SMTP server on loopback, golden files, and polling for a condition
// instead of sleeping. It is imported by tests only.
package testkit

import (
	"testing"
	"time"
)

// Eventually polls cond every 10ms until it returns nil or timeout passes,
// then fails the test with cond's last error.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = cond(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %s: %v", timeout, err)
		}
		<-time.After(10 * time.Millisecond)
	}
}
