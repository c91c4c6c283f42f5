package protoconv

import (
	"os"
	"testing"
	"time"
)

// FuzzDecodeReport feeds arbitrary bytes, as JSON and as protobuf, through
// the intake's decoder and validation: it must never panic, and a report
// it accepts must stay valid after a round trip through the wire type.
func FuzzDecodeReport(f *testing.F) {
	if b, err := os.ReadFile("../../deploy/examples/breach.json"); err == nil {
		f.Add(b, false)
	}
	f.Add([]byte(`{"id":"X","processor":"P","title":"T","nature":"N","discovered_at":"2025-08-23T14:00:00Z","all_customers":true,"contact":{"email":"a@b.se"}}`), false)
	f.Add([]byte(`{"affected":[{"org_id":"a","approx_subjects":"-1"}]}`), false)
	f.Add([]byte{0x0a, 0x01, 0x41}, true)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte, binary bool) {
		ct := "application/json"
		if binary {
			ct = ContentTypeProtobuf
		}
		w, err := DecodeReport(data, ct)
		if err != nil {
			return
		}
		r := Report(w)
		if r.Validate(now) != nil {
			return
		}
		back := Report(ReportProto(&r))
		if err := back.Validate(now); err != nil {
			t.Fatalf("valid report invalid after a round trip: %v", err)
		}
		if back.Digest() != r.Digest() {
			t.Fatal("round trip changed the report")
		}
	})
}
