package daemon_test

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/natsauth"
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
	opts := daemon.Options{DataDir: dir, NATSListen: "127.0.0.1:-1", GRPCAddr: "127.0.0.1:0", InsecureNoAuth: true, Deadline: 72 * time.Hour, OrgsFile: reg}
	d, err := daemon.Start(context.Background(), opts)
	if err != nil {
		b.Fatal(err)
	}
	nc := connectNC(b, d, natsauth.DaemonSeedFile)
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
	if _, err := store.PublishAll(ctx, js, msgs); err != nil {
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

// BenchmarkReminderLateness fans one breach out to N organisations with a
// reminder threshold that falls due for all of them within seconds of each
// other, and reports how late the reminders were sent (p50, p99, max) and
// how many message schedules the server held for them.
func BenchmarkReminderLateness(b *testing.B) {
	const n = 10_000
	for i := 0; i < b.N; i++ {
		opts := daemon.Options{DataDir: b.TempDir(), NATSListen: "127.0.0.1:-1", GRPCAddr: "127.0.0.1:0", InsecureNoAuth: true,
			Deadline: 40 * time.Second, Remind: []time.Duration{20 * time.Second}, Redeliver: []time.Duration{},
			OrgsFile: writeRegistry(b, n)}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		d, nc, js := startWithBreach(ctx, b, opts, "LATE")
		cc := grpcClient(b, d.GRPCAddr())
		var schedules int
		for {
			r, err := cc.GetBreachSummary(ctx, &cascadev1.GetBreachSummaryRequest{BreachId: "LATE"})
			if err == nil && r.GetSummary().GetDelivered() == n && schedules == 0 {
				ts, _ := js.Stream(ctx, "CASCADE_TIMERS")
				info, _ := ts.Info(ctx, jetstream.WithSubjectFilter("cascade.timer.at.>"))
				schedules = len(info.State.Subjects)
			}
			if err == nil && r.GetSummary().GetDelivered() == n && lastReminded(ctx, b, d.GRPCAddr(), n) {
				break
			}
			<-time.After(500 * time.Millisecond)
		}
		var late []time.Duration
		nsc := noticeClient(b, d.GRPCAddr())
		req := &cascadev1.ListNoticesRequest{BreachId: "LATE", PageSize: 1000}
		for {
			r, err := nsc.ListNotices(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			for _, nt := range r.GetNotices() {
				for _, rm := range nt.GetReminders() {
					late = append(late, rm.GetSentAt().AsTime().Sub(rm.GetDueAt().AsTime()))
				}
			}
			if req.PageToken = r.GetNextPageToken(); req.PageToken == "" {
				break
			}
		}
		cancel()
		nc.Close()
		d.Stop()
		if len(late) != n {
			b.Fatalf("%d reminders for %d notices", len(late), n)
		}
		slices.Sort(late)
		b.ReportMetric(float64(late[len(late)/2].Milliseconds()), "p50-ms")
		b.ReportMetric(float64(late[len(late)*99/100].Milliseconds()), "p99-ms")
		b.ReportMetric(float64(late[len(late)-1].Milliseconds()), "max-ms")
		b.ReportMetric(float64(schedules), "schedules")
		b.ReportMetric(0, "ns/op")
	}
}

func noticeClient(t testing.TB, addr string) cascadev1.NoticeServiceClient {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cascadev1.NewNoticeServiceClient(cc)
}

// lastReminded reports whether the last organisation's reminder was sent.
func lastReminded(ctx context.Context, t testing.TB, addr string, n int) bool {
	r, err := noticeClient(t, addr).GetNotice(ctx, &cascadev1.GetNoticeRequest{NoticeId: fmt.Sprintf("LATE/org-%05d", n-1)})
	return err == nil && len(r.GetNotice().GetReminders()) == 1
}

// BenchmarkReminderThroughput measures the timers' hot path alone: one
// breach fanned out to N organisations, the daemon's clock moved to the
// first reminder, every chunk fired at once (what the server does when
// their schedules fall due together); timed until every reminder is sent
// (every organisation's reminder is in CASCADE_NOTICES). Reported:
// reminders/s. With CASCADE_BENCH_CPUPROFILE=file it writes a CPU profile
// of the timed part of the first run (without the fan-out before it).
func BenchmarkReminderThroughput(b *testing.B) {
	const n = 20_000
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		var offset atomic.Int64
		opts := daemon.Options{DataDir: b.TempDir(), NATSListen: "127.0.0.1:-1", GRPCAddr: "127.0.0.1:0", InsecureNoAuth: true,
			Deadline: 72 * time.Hour, Remind: []time.Duration{48 * time.Hour}, Redeliver: []time.Duration{},
			OrgsFile: writeRegistry(b, n), Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		d, nc, js := startWithBreach(ctx, b, opts, "REMIND")
		bc := grpcClient(b, d.GRPCAddr())
		for {
			r, err := bc.GetBreachSummary(ctx, &cascadev1.GetBreachSummaryRequest{BreachId: "REMIND"})
			if err == nil && r.GetSummary().GetDelivered() == n {
				break
			}
			<-time.After(5 * time.Millisecond)
		}
		offset.Store(int64(24*time.Hour + time.Second))
		msgs := make([]*nats.Msg, 0, n/store.MembersChunk+1)
		for c := 0; c*store.MembersChunk < n; c++ {
			msgs = append(msgs, &nats.Msg{Subject: fmt.Sprintf("%s.REMIND.%d", store.SubjectTimerFire, c), Data: []byte(`{}`)})
		}
		notices, err := js.Stream(ctx, store.StreamNotices)
		if err != nil {
			b.Fatal(err)
		}
		stopProfile := profileTimed(b, i)
		b.StartTimer()
		start := time.Now()
		if _, err := store.PublishAll(ctx, js, msgs); err != nil {
			b.Fatal(err)
		}
		for {
			info, err := notices.Info(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if info.State.Msgs >= 2*n { // the notices, then the reminders
				break
			}
			<-time.After(2 * time.Millisecond)
		}
		total += time.Since(start)
		b.StopTimer()
		stopProfile()
		for _, name := range []string{store.StreamNotices, store.StreamEvents, store.StreamLedger} {
			if st, err := js.Stream(ctx, name); err == nil {
				if info, err := st.Info(ctx); err == nil {
					b.Logf("%s: %d messages, %d bytes each", name, info.State.Msgs, info.State.Bytes/max(info.State.Msgs, 1))
				}
			}
		}
		cancel()
		nc.Close()
		d.Stop()
	}
	b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "reminders/s")
	b.ReportMetric(0, "ns/op")
}

// startWithBreach starts a daemon with opts and publishes an all_customers
// breach id to it over NATS.
func startWithBreach(ctx context.Context, b *testing.B, opts daemon.Options, id string) (*daemon.Daemon, *nats.Conn, jetstream.JetStream) {
	d, err := daemon.Start(context.Background(), opts)
	if err != nil {
		b.Fatal(err)
	}
	nc := connectNC(b, d, natsauth.DaemonSeedFile)
	js, _ := jetstream.New(nc)
	if _, err := js.Publish(ctx, "cascade.breach.report", allReport(id)); err != nil {
		b.Fatal(err)
	}
	return d, nc, js
}

// profileTimed starts a CPU profile of run 0 into $CASCADE_BENCH_CPUPROFILE
// and returns what stops it.
func profileTimed(b *testing.B, run int) func() {
	path := os.Getenv("CASCADE_BENCH_CPUPROFILE")
	if path == "" || run != 0 {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}
