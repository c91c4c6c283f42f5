package daemon_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/natsauth"
	"github.com/cascadehq/cascade/internal/store"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// BenchmarkSector is a whole sector on one Cascade: 50 processors with
// 300 customers each among 1,000 organisations (every organisation a
// customer of 15 processors on average), each reporting one breach to all
// its customers at once, over its own intake subject: 15,000 notices. It
// reports the notices/s of the 50 concurrent fan-outs against a raw
// JetStream publish of as many notice-sized messages on the same server
// (x-raw), and the p50/p99 of a controller's inbox (ListNotices of one
// organisation: its notices from every processor) and of one processor's
// slice of it (processor_id), read while nothing else runs.
func BenchmarkSector(b *testing.B) {
	const procs, customers, orgs = 50, 300, 1000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		var reg strings.Builder
		reg.WriteString("id,name,customers\n")
		for p := range procs {
			var cs []string
			for k := range customers {
				cs = append(cs, fmt.Sprintf("org-%05d", (p*(orgs/procs)*7+k)%orgs))
			}
			fmt.Fprintf(&reg, "p%02d,Processor %d,%s\n", p, p, strings.Join(cs, " "))
		}
		procFile := filepath.Join(dir, "processors.csv")
		if err := os.WriteFile(procFile, []byte(reg.String()), 0o600); err != nil {
			b.Fatal(err)
		}
		opts := daemon.Options{DataDir: filepath.Join(dir, "data"), NATSListen: "127.0.0.1:-1", GRPCAddr: "127.0.0.1:0", InsecureNoAuth: true,
			Deadline: 72 * time.Hour, OrgsFile: writeRegistry(b, orgs), ProcessorsFile: procFile}
		d, err := daemon.Start(context.Background(), opts)
		if err != nil {
			b.Fatal(err)
		}
		nc := connectNC(b, d, natsauth.DaemonSeedFile)
		js, _ := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		bc := grpcClient(b, d.GRPCAddr())
		nsc := cascadev1.NewNoticeServiceClient(grpcConn(b, d.GRPCAddr()))
		b.StartTimer()

		start := time.Now()
		g, gctx := errgroup.WithContext(ctx)
		for p := range procs {
			g.Go(func() error {
				_, err := js.Publish(gctx, fmt.Sprintf("cascade.processor.p%02d.breach.report", p), allReport("SECTOR"))
				return err
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
		for p := range procs {
			id := fmt.Sprintf("p%02d__SECTOR", p)
			for {
				r, err := bc.GetBreach(ctx, &cascadev1.GetBreachRequest{BreachId: id})
				if err == nil && r.GetBreach().GetFanoutComplete() {
					if r.GetBreach().GetNoticeCount() != customers {
						b.Fatalf("%s: %d notices, want %d", id, r.GetBreach().GetNoticeCount(), customers)
					}
					break
				}
				<-time.After(2 * time.Millisecond)
			}
		}
		fan := time.Since(start)
		b.StopTimer()

		// One organisation's inbox, all processors and one.
		var all, one []time.Duration
		inbox := 0
		for k := range 200 {
			org := fmt.Sprintf("org-%05d", (k*37)%orgs)
			t0 := time.Now()
			r, err := nsc.ListNotices(ctx, &cascadev1.ListNoticesRequest{OrgId: org})
			if err != nil {
				b.Fatal(err)
			}
			all = append(all, time.Since(t0))
			inbox += len(r.GetNotices())
			t0 = time.Now()
			if _, err := nsc.ListNotices(ctx, &cascadev1.ListNoticesRequest{OrgId: org, ProcessorId: "p07"}); err != nil {
				b.Fatal(err)
			}
			one = append(one, time.Since(t0))
		}

		// Raw: as many notice-sized messages, async, same server.
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "RAW", Subjects: []string{"raw.>"}, Storage: jetstream.FileStorage}); err != nil {
			b.Fatal(err)
		}
		payload := make([]byte, 2048)
		msgs := make([]*nats.Msg, procs*customers)
		for i := range msgs {
			msgs[i] = &nats.Msg{Subject: fmt.Sprintf("raw.%d", i), Data: payload}
		}
		t0 := time.Now()
		if _, err := store.PublishAll(ctx, js, msgs); err != nil {
			b.Fatal(err)
		}
		raw := time.Since(t0)
		cancel()
		nc.Close()
		d.Stop()

		b.ReportMetric(float64(procs*customers)/fan.Seconds(), "notices/s")
		b.ReportMetric(fan.Seconds()/raw.Seconds(), "x-raw")
		b.ReportMetric(float64(inbox)/200, "inbox-notices")
		b.ReportMetric(ms(pct(all, 50)), "inbox-p50-ms")
		b.ReportMetric(ms(pct(all, 99)), "inbox-p99-ms")
		b.ReportMetric(ms(pct(one, 50)), "inbox-1proc-p50-ms")
		b.ReportMetric(0, "ns/op")
	}
}

func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
