package daemon_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/store"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// BenchmarkFanout measures one all_customers breach fanned out to N
// organisations on the embedded server with the durable default (fsync on
// every write), until every notice is recorded and delivered, and beside it
// the raw limit in the same run: JetStream async publish of N messages of a
// notice's size to a file stream on the same server. Reported:
// notices/s, raw msgs/s, and the ratio fanout time / raw time.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{310, 10_000} {
		b.Run(fmt.Sprintf("orgs=%d", n), func(b *testing.B) {
			var fan, raw, restart time.Duration
			for i := 0; i < b.N; i++ {
				f, r, rs := fanoutOnce(b, n)
				fan += f
				raw += r
				restart += rs
			}
			b.ReportMetric(float64(restart.Milliseconds())/float64(b.N), "restart-ms")
			b.ReportMetric(float64(n)*float64(b.N)/fan.Seconds(), "notices/s")
			b.ReportMetric(float64(n)*float64(b.N)/raw.Seconds(), "raw-msgs/s")
			b.ReportMetric(fan.Seconds()/raw.Seconds(), "x-raw")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func fanoutOnce(b *testing.B, n int) (fanout, raw, restart time.Duration) {
	b.StopTimer()
	dir := b.TempDir()
	reg := writeRegistry(b, n)
	opts := daemon.Options{DataDir: dir, NATSListen: "127.0.0.1:-1", GRPCAddr: "127.0.0.1:0", Deadline: 72 * time.Hour, OrgsFile: reg}
	d, err := daemon.Start(context.Background(), opts)
	if err != nil {
		b.Fatal(err)
	}
	nc, err := nats.Connect(d.NATSURL())
	if err != nil {
		b.Fatal(err)
	}
	js, _ := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bc := grpcClient(b, d.GRPCAddr())
	b.StartTimer()

	start := time.Now()
	if _, err := js.Publish(ctx, "cascade.breach.report", allReport("BENCH")); err != nil {
		b.Fatal(err)
	}
	for {
		r, err := bc.GetBreach(ctx, &cascadev1.GetBreachRequest{BreachId: "BENCH"})
		if err == nil && r.GetBreach().GetFanoutComplete() {
			break
		}
		<-time.After(2 * time.Millisecond)
	}
	fanout = time.Since(start)

	// Raw limit, same server, same storage, same fsync policy: N async
	// publishes of a notice-sized message.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "RAW", Subjects: []string{"raw.>"}, Storage: jetstream.FileStorage}); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 2048)
	msgs := make([]*nats.Msg, n)
	for i := range msgs {
		msgs[i] = &nats.Msg{Subject: fmt.Sprintf("raw.%d", i), Data: payload}
	}
	start = time.Now()
	if _, err := store.PublishAll(ctx, js, msgs, nil); err != nil {
		b.Fatal(err)
	}
	raw = time.Since(start)

	// Restart: from Start to serving the correct summary.
	nc.Close()
	d.Stop()
	opts.OrgsFile = ""
	start = time.Now()
	if d, err = daemon.Start(context.Background(), opts); err != nil {
		b.Fatal(err)
	}
	defer d.Stop()
	bc = grpcClient(b, d.GRPCAddr())
	for {
		r, err := bc.GetBreachSummary(ctx, &cascadev1.GetBreachSummaryRequest{BreachId: "BENCH"})
		if err == nil && r.GetSummary().GetDelivered() == int64(n) {
			break
		}
		<-time.After(time.Millisecond)
	}
	restart = time.Since(start)
	return fanout, raw, restart
}
