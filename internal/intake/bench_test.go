package intake

import (
	"fmt"
	"testing"

	"github.com/cascadehq/cascade/internal/breach"
)

// BenchmarkComputeFanout: resolving an all_customers report against a
// registry of 100,000 organisations into the sorted membership.
func BenchmarkComputeFanout(b *testing.B) {
	known := make(map[breach.OrgID]breach.Org, 100_000)
	for i := range 100_000 {
		id := breach.OrgID(fmt.Sprintf("org-%06d", i))
		known[id] = breach.Org{ID: id, Name: fmt.Sprintf("Organisation %d", i)}
	}
	r := &breach.Report{AllCustomers: true}
	for b.Loop() {
		if ms := members(r, known); len(ms) != len(known) {
			b.Fatalf("%d members", len(ms))
		}
	}
}
