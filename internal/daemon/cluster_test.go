package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/natstest"
	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// The cluster tests run Cascade with Replicas: 3 on a 3-node JetStream
// cluster (natstest.StartCluster) and stop NATS nodes or daemons under
// load. nats-server's election timeouts (4-9 s) are not shortened, so each
// stop of a node that leads a stream stalls writes for some seconds.

// clusterFanoutOrgs is the fan-out of TestClusterNodeDiesMidFanout. On 2
// cores an undisturbed R3 fan-out of 10,000 takes about 1.5 s without and
// about 12 s with the race detector, so the full size fits the budget.
const clusterFanoutOrgs = 10_000

// clusterOptions are a daemon's options on cluster c with a registry file.
func clusterOptions(t *testing.T, c *natstest.Cluster, orgs string) daemon.Options {
	return daemon.Options{SecretFile: sharedSecret(t), InsecureNATSNoAuth: true, NATSURL: c.URLs(), Replicas: 3, GRPCAddr: "127.0.0.1:0", InsecureNoAuth: true,
		Deadline: 72 * time.Hour, OrgsFile: orgs, IntakeAckWait: 2 * time.Second, Log: testLogger(t)}
}

func startClusterDaemon(t *testing.T, opts daemon.Options) *daemon.Daemon {
	t.Helper()
	d, err := daemon.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start daemon: %v", err)
	}
	t.Cleanup(d.Stop)
	return d
}

// clusterJS is a JetStream client on every node of c.
func clusterJS(t *testing.T, c *natstest.Cluster) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(c.Connect())
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// publishUntilAcked publishes body on cascade.breach.report until JetStream
// acknowledges it (a stream leader may be being elected).
func publishUntilAcked(t *testing.T, js jetstream.JetStream, body []byte) {
	t.Helper()
	testkit.Eventually(t, 60*time.Second, func() error {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := js.Publish(c, "cascade.breach.report", body)
		return err
	})
}

// clusterCallTimeout bounds each polling call: a request lost with a stopped
// node must not hold a poll for the test's whole budget.
const clusterCallTimeout = 5 * time.Second

// shortCtx is a context for one call of a poll, ended at cleanup.
func shortCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), clusterCallTimeout)
	t.Cleanup(cancel)
	return c
}

// fetchSummary reads the breach's summary with clusterCallTimeout and logs a slow call.
func fetchSummary(t *testing.T, bc cascadev1.BreachServiceClient, id string) (*cascadev1.BreachSummary, error) {
	c, cancel := context.WithTimeout(context.Background(), clusterCallTimeout)
	defer cancel()
	start := time.Now()
	s, err := bc.GetBreachSummary(c, &cascadev1.GetBreachSummaryRequest{BreachId: id})
	if d := time.Since(start); d > time.Second {
		t.Logf("GetBreachSummary took %s: %v", d.Round(time.Millisecond), err)
	}
	return s.GetSummary(), err
}

// pollSummary polls the breach's summary until cond holds.
func pollSummary(t *testing.T, bc cascadev1.BreachServiceClient, id string, timeout time.Duration, cond func(*cascadev1.BreachSummary) bool) {
	t.Helper()
	testkit.Eventually(t, timeout, func() error {
		s, err := fetchSummary(t, bc, id)
		if err != nil {
			return err
		}
		if !cond(s) {
			return fmt.Errorf("summary of %s: %v", id, s)
		}
		return nil
	})
}

// published is the number of messages on CASCADE_NOTICES: on a cluster
// with one breach, the deliveries so far. Unlike the summary, which is
// folded from the ledger and lags it by seconds under the race detector,
// it tells how far a fan-out really is.
func published(t *testing.T, js jetstream.JetStream) int64 {
	return streamMsgs(t, js, "CASCADE_NOTICES")
}

// streamMsgs is how many messages stream holds (-1 if it cannot tell now).
func streamMsgs(t *testing.T, js jetstream.JetStream, stream string) int64 {
	// A short timeout: while a stream leader is elected the call fails,
	// and a poll must not miss the fan-out resuming meanwhile.
	c, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s, err := js.Stream(c, stream)
	if err != nil {
		return -1
	}
	return int64(s.CachedInfo().State.Msgs)
}

// waitPublished polls until at least k notices are on CASCADE_NOTICES.
func waitPublished(t *testing.T, js jetstream.JetStream, k int64) int64 {
	t.Helper()
	return waitStream(t, js, "CASCADE_NOTICES", k)
}

// waitStream polls until stream holds at least k messages.
func waitStream(t *testing.T, js jetstream.JetStream, stream string, k int64) int64 {
	t.Helper()
	var got int64
	testkit.Eventually(t, 120*time.Second, func() error {
		if got = streamMsgs(t, js, stream); got < k {
			return fmt.Errorf("%d messages on %s, waiting for %d", got, stream, k)
		}
		return nil
	})
	return got
}

// intakeLog is a log handler that remembers which fan-out milestones a
// daemon's intake logged ("breach recorded", "resuming fan-out", "fan-out
// complete"), so a test knows which daemon works on a report.
type intakeLog struct {
	slog.Handler
	seen *sync.Map // message → true
}

func watchIntake(h slog.Handler) *intakeLog { return &intakeLog{Handler: h, seen: &sync.Map{}} }

func (l *intakeLog) Handle(ctx context.Context, r slog.Record) error {
	switch r.Message {
	case "breach recorded", "resuming fan-out", "fan-out complete":
		l.seen.Store(r.Message, true)
	}
	return l.Handler.Handle(ctx, r)
}

func (l *intakeLog) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= slog.LevelInfo || l.Handler.Enabled(ctx, level)
}

func (l *intakeLog) WithAttrs(as []slog.Attr) slog.Handler {
	return &intakeLog{Handler: l.Handler.WithAttrs(as), seen: l.seen}
}

func (l *intakeLog) WithGroup(name string) slog.Handler {
	return &intakeLog{Handler: l.Handler.WithGroup(name), seen: l.seen}
}

func (l *intakeLog) logged(msg string) bool { _, ok := l.seen.Load(msg); return ok }

// TestClusterNodeDiesMidFanout stops one NATS node of three in the middle
// of a 10,000-organisation R3 fan-out and restarts it four tenths later
// (or at nine tenths): a node the daemon is not connected to once the
// first notices are created and none delivered, the one it is connected
// to at 30% and at 70% delivered.
func TestClusterNodeDiesMidFanout(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster crash test")
	}
	const chunks = clusterFanoutOrgs / 1000 // membership records on the ledger
	for _, tc := range []struct {
		name      string
		connected bool   // stop the node the daemon is connected to
		stream    string // stop it once this stream holds
		at        int64  // this many messages
	}{
		// After the first chunk's notices are created, before any is delivered.
		{"other-node-after-first-creations", false, "CASCADE_LEDGER", chunks + 1000},
		{"connected-node-at-3/10-delivered", true, "CASCADE_NOTICES", clusterFanoutOrgs * 3 / 10},
		{"connected-node-at-7/10-delivered", true, "CASCADE_NOTICES", clusterFanoutOrgs * 7 / 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			const n, id = clusterFanoutOrgs, "CLUSTER-1"
			c := natstest.StartCluster(t, 3)
			d := startClusterDaemon(t, clusterOptions(t, c, writeRegistry(t, n)))
			js := clusterJS(t, c)
			bc := grpcClient(t, d.GRPCAddr())
			ready := time.Now()
			publishUntilAcked(t, js, allReport(id))

			waitStream(t, js, tc.stream, tc.at)
			conn := c.Index(d.NATSURL())
			if conn < 0 {
				t.Fatalf("daemon connected to %q, not a cluster node (%s)", d.NATSURL(), c.URLs())
			}
			victim := conn
			if !tc.connected {
				victim = (conn + 1) % c.N()
			}
			at, records := published(t, js), streamMsgs(t, js, "CASCADE_LEDGER")
			if at >= n {
				t.Fatalf("the fan-out had finished (%d delivered) before node %d was stopped", at, victim)
			}
			c.Stop(victim)
			stopped := time.Now()
			t.Logf("stopped node %d (daemon connected to node %d) at %d delivered, %d ledger records", victim, conn, at, records)

			at = waitPublished(t, js, min(max(at, 0)+n*4/10, n*9/10))
			c.Restart(victim)
			t.Logf("restarted node %d at %d delivered, %s after the stop; daemon now on %s",
				victim, at, time.Since(stopped).Round(time.Millisecond), d.NATSURL())
			if at >= n {
				t.Logf("note: the fan-out had finished before node %d was restarted", victim)
			}

			verifyFanout(t, js, bc, id, n)
			t.Logf("timings: cluster and daemon %s, fan-out and verification %s",
				ready.Sub(start).Round(time.Millisecond), time.Since(ready).Round(time.Millisecond))
		})
	}
}

// retryableCode reports the gRPC errors after which an idempotent request may
// simply be repeated.
func retryableCode(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return true
	}
	return false
}

// waitReplicasCurrent polls until every replica of stream is current, so that
// reads served by any replica see every acknowledged write.
func waitReplicasCurrent(t *testing.T, js jetstream.JetStream, stream string) {
	t.Helper()
	testkit.Eventually(t, 60*time.Second, func() error {
		c, cancel := context.WithTimeout(context.Background(), clusterCallTimeout)
		defer cancel()
		s, err := js.Stream(c, stream)
		if err != nil {
			return err
		}
		cl := s.CachedInfo().Cluster
		if cl == nil || cl.Leader == "" || len(cl.Replicas) != 2 {
			return fmt.Errorf("%s: cluster %+v", stream, cl)
		}
		for _, r := range cl.Replicas {
			if !r.Current || r.Lag > 0 || r.Offline {
				return fmt.Errorf("%s: replica %s current=%v lag=%d offline=%v", stream, r.Name, r.Current, r.Lag, r.Offline)
			}
		}
		return nil
	})
}

// TestClusterNodeDiesDuringAcks: 16 clients acknowledge 500 notices while
// the NATS node the daemon is connected to, made the leader of the ledger
// stream, is stopped and restarted. Every request that fails with
// Unavailable or DeadlineExceeded is repeated unchanged (acknowledging is
// idempotent); in the end every notice has exactly one "acknowledged"
// entry and the summary counts 500.
func TestClusterNodeDiesDuringAcks(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster crash test")
	}
	start := time.Now()
	const n, id, clients = 500, "CLUSTER-ACK", 16
	c := natstest.StartCluster(t, 3)
	d := startClusterDaemon(t, clusterOptions(t, c, writeRegistry(t, n)))
	js := clusterJS(t, c)
	cc := grpcConn(t, d.GRPCAddr())
	bc, nc := cascadev1.NewBreachServiceClient(cc), cascadev1.NewNoticeServiceClient(cc)
	publishUntilAcked(t, js, allReport(id))
	verifyFanout(t, js, bc, id, n)
	fanned := time.Now()

	// The node to stop: the one the daemon is connected to, made the
	// leader of CASCADE_LEDGER, where every acknowledgement is written. So
	// requests in flight are lost with the connection, and writes the
	// leader took may or may not have been replicated: the repeated
	// requests must find them applied, or apply them, never both.
	victim := c.Index(d.NATSURL())
	if victim < 0 {
		t.Fatalf("daemon connected to %q, not a cluster node", d.NATSURL())
	}
	c.MoveStreamLeader("CASCADE_LEDGER", victim, 30*time.Second)

	var acked, retries atomic.Int64
	var staleMu sync.Mutex
	var stale []string // acknowledged, yet read back unacknowledged right after
	callCtx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for w := range clients {
		wg.Go(func() {
			for i := w; i < n; i += clients {
				req := &cascadev1.AcknowledgeNoticeRequest{NoticeId: fmt.Sprintf("%s/org-%05d", id, i),
					AcknowledgedBy: fmt.Sprintf("dpo-%d@example.org", i), Note: "received"}
				for {
					rc, cancel := context.WithTimeout(callCtx, clusterCallTimeout)
					_, err := nc.AcknowledgeNotice(rc, req)
					cancel()
					if err == nil {
						acked.Add(1)
						break
					}
					if !retryableCode(err) || callCtx.Err() != nil {
						t.Errorf("acknowledge %s: %v", req.NoticeId, err)
						return
					}
					retries.Add(1)
					select { // back off a little before repeating the request
					case <-time.After(20 * time.Millisecond):
					case <-callCtx.Done():
					}
				}
				// Read your write: the notice as the API now shows it.
				rc, cancel := context.WithTimeout(callCtx, clusterCallTimeout)
				g, err := nc.GetNotice(rc, &cascadev1.GetNoticeRequest{NoticeId: req.NoticeId})
				cancel()
				if err == nil && g.GetNotice().GetState() != cascadev1.NoticeState_NOTICE_STATE_ACKNOWLEDGED {
					staleMu.Lock()
					stale = append(stale, fmt.Sprintf("%s (%s)", req.NoticeId, g.GetNotice().GetState()))
					staleMu.Unlock()
				}
			}
		})
	}
	testkit.Eventually(t, 60*time.Second, func() error {
		if k := acked.Load(); k < clients {
			return fmt.Errorf("%d acknowledged", k)
		}
		return nil
	})
	c.Stop(victim)
	atStop := acked.Load()
	stopped := time.Now()
	testkit.Eventually(t, 90*time.Second, func() error {
		if k := acked.Load(); k < n/2 {
			return fmt.Errorf("%d acknowledged since node %d stopped", k, victim)
		}
		return nil
	})
	atRestart := acked.Load()
	c.Restart(victim)
	t.Logf("stopped node %d (ledger leader, daemon's server) at %d acknowledged, restarted it at %d, %s later",
		victim, atStop, atRestart, time.Since(stopped).Round(time.Millisecond))
	wg.Wait()
	if atStop >= n {
		t.Errorf("every notice was acknowledged before node %d stopped: nothing was acknowledged during the outage", victim)
	}
	acksDone := time.Now()
	t.Logf("%d acknowledgements, %d retried requests", acked.Load(), retries.Load())
	if t.Failed() {
		return
	}

	// Reads may be served by any replica (direct gets, R1 consumers): let
	// the restarted one catch up before checking every history.
	waitReplicasCurrent(t, js, "CASCADE_LEDGER")
	caughtUp := time.Now()
	checkHistories(t, nc, id, n)
	histories := time.Now()
	pollSummary(t, bc, id, 120*time.Second, func(s *cascadev1.BreachSummary) bool {
		return s.GetAcknowledged() == n && s.GetDelivered() == n && s.GetTotal() == n
	})
	t.Logf("timings: set-up and fan-out %s, acknowledgements %s, replicas current %s, histories %s, summary %s",
		fanned.Sub(start).Round(time.Millisecond), acksDone.Sub(fanned).Round(time.Millisecond), caughtUp.Sub(acksDone).Round(time.Millisecond),
		histories.Sub(caughtUp).Round(time.Millisecond), time.Since(histories).Round(time.Millisecond))

	t.Run("read-your-writes", func(t *testing.T) {
		// Notice reads on a replicated ledger go through the stream leader
		// (no direct gets), so an acknowledgement is visible at once.
		if len(stale) > 0 {
			t.Errorf("%d of %d notices read back unacknowledged by GetNotice right after AcknowledgeNotice returned OK: %s",
				len(stale), n, strings.Join(stale, ", "))
		}
	})
}

// checkHistories reads every notice's history, 16 at a time: each must
// hold exactly one "acknowledged" entry and end ACKNOWLEDGED. On a
// cluster about 1-3% of history reads stall for about 10 s (the ordered
// consumer the store scans with, created on an R3 stream, sometimes
// delivers nothing until nats.go resets it), so each call may take 15 s.
func checkHistories(t *testing.T, nc cascadev1.NoticeServiceClient, id string, n int) {
	t.Helper()
	var slow atomic.Int64
	ids := make(chan string)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for nid := range ids {
				var h *cascadev1.GetNoticeHistoryResponse
				var err error
				for attempt := 0; attempt < 3; attempt++ {
					c, cancel := context.WithTimeout(context.Background(), 15*time.Second)
					start := time.Now()
					h, err = nc.GetNoticeHistory(c, &cascadev1.GetNoticeHistoryRequest{NoticeId: nid})
					cancel()
					if time.Since(start) > 2*time.Second {
						slow.Add(1)
					}
					if !retryableCode(err) {
						break
					}
				}
				if err != nil {
					t.Errorf("GetNoticeHistory(%s): %v", nid, err)
					continue
				}
				var events []string
				acks := 0
				for _, e := range h.GetEvents() {
					events = append(events, e.GetEvent())
					if e.GetEvent() == "acknowledged" {
						acks++
					}
				}
				last := &cascadev1.NoticeEvent{}
				if len(h.GetEvents()) > 0 {
					last = h.GetEvents()[len(h.GetEvents())-1]
				}
				if acks != 1 || last.GetState() != cascadev1.NoticeState_NOTICE_STATE_ACKNOWLEDGED {
					t.Errorf("%s: history %s, last state %s; want exactly one acknowledged, ending ACKNOWLEDGED",
						nid, strings.Join(events, ","), last.GetState())
				}
			}
		})
	}
	for i := range n {
		ids <- fmt.Sprintf("%s/org-%05d", id, i)
	}
	close(ids)
	wg.Wait()
	if k := slow.Load(); k > 0 {
		t.Logf("%d of %d GetNoticeHistory calls took more than 2 s", k, n)
	}
}

// TestTwoDaemonsOneDies: two daemons share the intake on a 3-node cluster;
// the one fanning out a 5,000-organisation breach is stopped (at 20% and
// at 60% of the fan-out; at 40% in the reminders case) and the other
// completes the fan-out after IntakeAckWait. With short clocks (deadline
// 6 s, one reminder 3 s before it, no redelivery) every organisation also
// gets exactly one reminder although a daemon died.
func TestTwoDaemonsOneDies(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster crash test")
	}
	const n = 5000
	// run starts both daemons, publishes the report, stops the daemon
	// that recorded the breach at tenths/10 of the fan-out and returns the
	// other one once it has completed the fan-out.
	run := func(t *testing.T, id string, tenths int64, tune func(*daemon.Options)) (jetstream.JetStream, *daemon.Daemon) {
		t.Helper()
		c := natstest.StartCluster(t, 3)
		var ds [2]*daemon.Daemon
		var logs [2]*intakeLog
		for i := range ds {
			opts := clusterOptions(t, c, "")
			if i == 0 {
				opts.OrgsFile = writeRegistry(t, n)
			}
			tune(&opts)
			logs[i] = watchIntake(testLogger(t).Handler())
			opts.Log = slog.New(logs[i])
			ds[i] = startClusterDaemon(t, opts)
		}
		js := clusterJS(t, c)
		publishUntilAcked(t, js, allReport(id))
		working := -1
		testkit.Eventually(t, 60*time.Second, func() error {
			for i, l := range logs {
				if l.logged("breach recorded") {
					working = i
					return nil
				}
			}
			return fmt.Errorf("no daemon has recorded %s yet", id)
		})
		other := 1 - working
		at := waitPublished(t, js, n*tenths/10)
		ds[working].Stop()
		stopped := published(t, js)
		t.Logf("stopped daemon %d, which recorded the breach, at %d of %d notices delivered (%d once it had stopped)", working+1, at, n, stopped)
		if stopped >= n {
			t.Errorf("daemon %d finished the fan-out before it stopped", working+1)
		}
		testkit.Eventually(t, 120*time.Second, func() error {
			if !logs[other].logged("fan-out complete") {
				return fmt.Errorf("daemon %d has not completed the fan-out of %s", other+1, id)
			}
			return nil
		})
		return js, ds[other]
	}

	for _, tenths := range []int64{2, 6} {
		t.Run(fmt.Sprintf("fanout-at-%d/10", tenths), func(t *testing.T) {
			start := time.Now()
			id := fmt.Sprintf("TWO-1-%d", tenths)
			js, d2 := run(t, id, tenths, func(*daemon.Options) {})
			stopped := time.Now()
			verifyFanout(t, js, grpcClient(t, d2.GRPCAddr()), id, n)
			t.Logf("timings: until a daemon stopped and the other completed the fan-out %s, verification %s",
				stopped.Sub(start).Round(time.Millisecond), time.Since(stopped).Round(time.Millisecond))
		})
	}

	t.Run("reminders", func(t *testing.T) {
		start := time.Now()
		const id = "TWO-2"
		js, d2 := run(t, id, 4, func(o *daemon.Options) {
			o.Deadline, o.Remind, o.Redeliver = 6*time.Second, []time.Duration{3 * time.Second}, []time.Duration{}
		})
		stopped := time.Now()
		bc2 := grpcClient(t, d2.GRPCAddr())
		testkit.Eventually(t, 120*time.Second, func() error {
			b, err := bc2.GetBreach(shortCtx(t), &cascadev1.GetBreachRequest{BreachId: id})
			if err != nil {
				return err
			}
			if !b.GetBreach().GetFanoutComplete() {
				return fmt.Errorf("fan-out of %s not complete", id)
			}
			return nil
		})
		// Wait until every notice is overdue: two records on its ledger
		// subject (created and delivered, then overdue; the reminder before
		// the escalation is recorded in its chunk's reminder record).
		testkit.Eventually(t, 150*time.Second, func() error {
			s, err := js.Stream(shortCtx(t), "CASCADE_LEDGER")
			if err != nil {
				return err
			}
			info, err := s.Info(shortCtx(t), jetstream.WithSubjectFilter("cascade.ledger.notice."+id+".*"))
			if err != nil {
				return err
			}
			done := 0
			for _, k := range info.State.Subjects {
				if k >= 2 {
					done++
				}
			}
			if done < n {
				return fmt.Errorf("%d of %d notices overdue", done, n)
			}
			return nil
		})
		clocked := time.Now()
		events := noticeEvents(t, js)
		for i := range n {
			org := fmt.Sprintf("org-%05d", i)
			ev := events[org]
			if ev["reminder"] != 1 || ev["overdue"] != 1 || ev["notice"] < 1 {
				t.Errorf("%s received %v; want exactly one reminder, one overdue and at least one notice", org, ev)
			}
		}
		// Recorded once each: the chunks' reminder records name every
		// organisation once.
		ledger, err := js.Stream(shortCtx(t), "CASCADE_LEDGER")
		if err != nil {
			t.Fatal(err)
		}
		recorded := map[string]int{}
		for c := 0; c*1000 < n; c++ {
			m, err := ledger.GetLastMsgForSubject(shortCtx(t), fmt.Sprintf("cascade.ledger.reminders.%s.%d", id, c))
			if err != nil {
				t.Fatalf("reminder record of chunk %d: %v", c, err)
			}
			var rec struct {
				Rounds []struct {
					Orgs string `json:"orgs"`
				} `json:"rounds"`
			}
			if err := json.Unmarshal(m.Data, &rec); err != nil {
				t.Fatal(err)
			}
			for _, r := range rec.Rounds {
				for _, o := range strings.Split(r.Orgs, ",") {
					recorded[o]++
				}
			}
		}
		for i := range n {
			if org := fmt.Sprintf("org-%05d", i); recorded[org] != 1 {
				t.Errorf("%s: reminder recorded %d times", org, recorded[org])
			}
		}
		t.Logf("timings: until the fan-out was completed by the surviving daemon %s, until every notice was overdue %s, counting %s",
			stopped.Sub(start).Round(time.Millisecond), clocked.Sub(stopped).Round(time.Millisecond), time.Since(clocked).Round(time.Millisecond))
	})
}

// noticeEvents counts, per organisation, the messages on CASCADE_NOTICES
// by their Cascade-Event header.
func noticeEvents(t *testing.T, js jetstream.JetStream) map[string]map[string]int {
	t.Helper()
	s, err := js.Stream(ctx(t), "CASCADE_NOTICES")
	if err != nil {
		t.Fatal(err)
	}
	total := s.CachedInfo().State.Msgs
	cons, err := s.OrderedConsumer(ctx(t), jetstream.OrderedConsumerConfig{HeadersOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(500))
	if err != nil {
		t.Fatal(err)
	}
	defer it.Stop()
	out := map[string]map[string]int{}
	var last uint64
	for last < total {
		m, err := it.Next()
		if err != nil {
			t.Fatalf("read CASCADE_NOTICES after sequence %d of %d: %v", last, total, err)
		}
		md, err := m.Metadata()
		if err != nil {
			t.Fatal(err)
		}
		if md.Sequence.Stream <= last { // an ordered consumer may repeat after a reset
			continue
		}
		last = md.Sequence.Stream
		org := strings.TrimPrefix(m.Subject(), "cascade.notice.")
		if out[org] == nil {
			out[org] = map[string]int{}
		}
		out[org][m.Headers().Get("Cascade-Event")]++
	}
	return out
}

// TestClusterIntakeLeaderDies stops the NATS node that leads the intake
// consumer (and, made so, the notices' and the ledger's streams, and the
// daemon's connection) at 30% of a 10,000-
// organisation fan-out, with the default --intake-ack-wait of 30 s: the
// fan-out usually goes on within seconds of the new leaders instead of
// waiting out AckWait, and every notice is still delivered exactly once.
func TestClusterIntakeLeaderDies(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster crash test")
	}
	const n, id = clusterFanoutOrgs, "CLUSTER-LEADER"
	c := natstest.StartCluster(t, 3)
	opts := clusterOptions(t, c, writeRegistry(t, n))
	opts.IntakeAckWait = 0 // the default, 30 s: a stall would show
	d := startClusterDaemon(t, opts)
	js := clusterJS(t, c)
	bc := grpcClient(t, d.GRPCAddr())
	// The node the daemon is connected to leads the intake consumer, the
	// notices and the ledger: its loss fails the fan-out's next writes
	// and every acknowledgement or nak until new leaders are elected.
	victim := c.Index(d.NATSURL())
	if victim < 0 {
		t.Fatalf("daemon connected to %q, not a cluster node", d.NATSURL())
	}
	c.MoveConsumerLeader("CASCADE_INTAKE", "cascade-intake", victim, 30*time.Second)
	c.MoveStreamLeader("CASCADE_NOTICES", victim, 30*time.Second)
	c.MoveStreamLeader("CASCADE_LEDGER", victim, 30*time.Second)
	publishUntilAcked(t, js, allReport(id))
	at := waitPublished(t, js, n*3/10)
	if at >= n {
		t.Fatalf("the fan-out had finished before the node was stopped")
	}
	c.Stop(victim)
	stopped := time.Now()
	// The fan-out completes (recorded on the breach); how long after the
	// stop is logged.
	testkit.Eventually(t, 90*time.Second, func() error {
		b, err := bc.GetBreach(ctx(t), &cascadev1.GetBreachRequest{BreachId: id})
		if err != nil {
			return err
		}
		if !b.GetBreach().GetFanoutComplete() {
			return fmt.Errorf("fan-out of %s not complete", id)
		}
		return nil
	})
	took := time.Since(stopped)
	t.Logf("fan-out complete %s after the intake consumer's leader (node %d) stopped at %d delivered", took.Round(time.Millisecond), victim, at)
	// Measured: 9-15 s in most runs, about 35 s in one of eight (a nak
	// lost with the leader after the in-place retries ran out), and so in
	// one run of two without the in-place retries. The bound catches a
	// report waiting out AckWait more than once, or never finishing.
	if took > 60*time.Second {
		t.Fatalf("the fan-out completed %s after the intake consumer's leader stopped; want well within two AckWaits", took.Round(time.Millisecond))
	}
	c.Restart(victim)
	verifyFanout(t, js, bc, id, n)
}
