package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/store"
)

// BenchmarkCAS compares the CAS helper (store.UpdateNotice: read the
// notice, change it, append with the expected sequence) with raw KV
// compare-and-set on the same server, at 1 and 64 concurrent writers, each
// on its own key. Reported: ops/s of both and their ratio (x-raw > 1 means
// the helper is faster: concurrent changes share fsyncs in group commits).
func BenchmarkCAS(b *testing.B) {
	for _, writers := range []int{1, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			st := open(b)
			ctx := context.Background()
			ids := make([]breach.NoticeID, writers)
			cs := make([]store.Change, writers)
			for i := range ids {
				cs[i] = newNotice("BENCH", fmt.Sprintf("org-%03d", i))
				ids[i] = cs[i].Notice.ID
			}
			if _, err := st.AppendChanges(ctx, cs, make([]uint64, writers)); err != nil {
				b.Fatal(err)
			}
			kv, err := st.JetStream().CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "bench-raw", Storage: jetstream.FileStorage})
			if err != nil {
				b.Fatal(err)
			}
			val := make([]byte, 1024)
			revs := make([]uint64, writers)
			for i := range revs {
				if revs[i], err = kv.Put(ctx, fmt.Sprintf("k%03d", i), val); err != nil {
					b.Fatal(err)
				}
			}
			run := func(op func(w int) error) float64 {
				var next atomic.Int64
				start := time.Now()
				done := make(chan error, writers)
				for w := range writers {
					go func() {
						for next.Add(1) <= int64(b.N) {
							if err := op(w); err != nil {
								done <- err
								return
							}
						}
						done <- nil
					}()
				}
				for range writers {
					if err := <-done; err != nil {
						b.Fatal(err)
					}
				}
				return float64(b.N) / time.Since(start).Seconds()
			}
			b.ResetTimer()
			helper := run(func(w int) error {
				_, err := st.UpdateNotice(ctx, ids[w], "bench", t0, func(n *breach.Notice) (breach.Event, error) {
					n.AckNote += "."
					if len(n.AckNote) > 100 {
						n.AckNote = ""
					}
					return breach.EventAcknowledged, nil
				})
				return err
			})
			raw := run(func(w int) error {
				r, err := kv.Update(ctx, fmt.Sprintf("k%03d", w), val, revs[w])
				revs[w] = r
				return err
			})
			b.ReportMetric(helper, "helper-ops/s")
			b.ReportMetric(raw, "raw-kv-cas-ops/s")
			b.ReportMetric(helper/raw, "x-raw")
		})
	}
}

// BenchmarkDecodeChange: decoding one delivered notice's ledger record,
// what every notice read costs (a timer chunk reads 1,000).
func BenchmarkDecodeChange(b *testing.B) {
	at := time.Date(2025, 8, 23, 10, 0, 0, 0, time.UTC)
	n := breach.Notice{
		ID: breach.NewNoticeID("MILJODATA-2025-08-23", "se-kommun-0180"), OrgName: "Stockholms kommun",
		State: breach.StateDelivered, CreatedAt: at, DeliveredAt: at, Deadline: at.Add(72 * time.Hour),
		ApproxSubjects: 120000, ApproxRecords: 450000, DiscoveredAt: at.Add(-20 * time.Hour),
		DeliveryCount: 1, Revision: 1, LastDeliveryAt: at, Chunk: 3,
	}
	data, err := store.EncodeChange(store.Change{Event: breach.EventDelivered, At: at, Actor: "cascade", Prev: breach.StatePending, Notice: n})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := store.DecodeChange(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadOrgs loads a registry of 100,000 organisations into an
// empty bucket (new) and loads it again (unchanged: nothing written).
// Reported: organisations/s.
func BenchmarkLoadOrgs(b *testing.B) {
	orgs := make([]breach.Org, 100_000)
	for i := range orgs {
		orgs[i] = breach.Org{ID: breach.OrgID(fmt.Sprintf("org-%06d", i)), Name: fmt.Sprintf("Kommun %d", i),
			DPOEmail: fmt.Sprintf("dpo@org-%06d.example", i), Locale: "sv"}
	}
	ctx := context.Background()
	for _, again := range []bool{false, true} {
		name := "new"
		if again {
			name = "unchanged"
		}
		b.Run(name, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				b.StopTimer()
				st := open(b)
				if again {
					if _, err := st.LoadOrgs(ctx, orgs); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				start := time.Now()
				if _, err := st.LoadOrgs(ctx, orgs); err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
			}
			b.ReportMetric(float64(len(orgs)*b.N)/total.Seconds(), "orgs/s")
		})
	}
}
