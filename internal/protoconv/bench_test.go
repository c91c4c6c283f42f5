package protoconv

import (
	"os"
	"testing"
	"time"
)

// BenchmarkDecodeValidateReport: the intake's per-report work before any
// storage, on the example report (JSON).
func BenchmarkDecodeValidateReport(b *testing.B) {
	data, err := os.ReadFile("../../deploy/examples/breach.json")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		w, err := DecodeReport(data, "application/json")
		if err != nil {
			b.Fatal(err)
		}
		r := Report(w)
		if err := r.Validate(now); err != nil {
			b.Fatal(err)
		}
		_ = r.Digest()
	}
}
