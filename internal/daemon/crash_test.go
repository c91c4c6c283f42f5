package daemon_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/natsauth"
	"github.com/cascadehq/cascade/internal/natstest"
	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// crashOrgs is the fan-out size of the crash tests: enough organisations
// (10 chunks of 1,000) that every kill lands in the middle of a fan-out;
// killAt checks that it did.
const crashOrgs = 10_000

// crashPoints are the numbers of delivered messages after which the crash
// tests interrupt a fan-out: after the first chunk, around the middle and
// near the end.
var crashPoints = []uint64{1000, 5000, 8000}

// killAt polls the number of messages delivered to organisations until it
// reaches k, then runs kill, and fails the test if the fan-out was already
// complete when kill ran (the test would then prove nothing).
func killAt(t *testing.T, js jetstream.JetStream, k uint64, kill func()) {
	t.Helper()
	var seen uint64
	testkit.Eventually(t, 120*time.Second, func() error {
		s, err := js.Stream(ctx(t), "CASCADE_NOTICES")
		if err != nil {
			return err
		}
		if seen = s.CachedInfo().State.Msgs; seen < k {
			return fmt.Errorf("delivered %d < %d", seen, k)
		}
		return nil
	})
	kill()
	if seen >= crashOrgs {
		t.Fatalf("fan-out already complete (%d messages) when the kill at %d ran; raise crashOrgs", seen, k)
	}
	t.Logf("interrupted after %d of %d deliveries", seen, crashOrgs)
}

// verifyFanout checks the crash-safety invariants of a completed fan-out of
// breach id to n organisations org-00000..: every organisation has exactly
// one notice, recorded once (one ledger record: created and delivered at
// once), delivered at least once, and the summary agrees.
func verifyFanout(t *testing.T, js jetstream.JetStream, bc cascadev1.BreachServiceClient, id string, n int) {
	t.Helper()
	testkit.Eventually(t, 120*time.Second, func() error {
		b, err := bc.GetBreach(ctx(t), &cascadev1.GetBreachRequest{BreachId: id})
		if err != nil {
			return err
		}
		if !b.GetBreach().GetFanoutComplete() {
			return fmt.Errorf("fan-out of %s not complete", id)
		}
		return nil
	})
	ledger, err := js.Stream(ctx(t), "CASCADE_LEDGER")
	if err != nil {
		t.Fatal(err)
	}
	info, err := ledger.Info(ctx(t), jetstream.WithSubjectFilter("cascade.ledger.notice."+id+".*"))
	if err != nil {
		t.Fatal(err)
	}
	notices, err := js.Stream(ctx(t), "CASCADE_NOTICES")
	if err != nil {
		t.Fatal(err)
	}
	dinfo, err := notices.Info(ctx(t), jetstream.WithSubjectFilter("cascade.notice.>"))
	if err != nil {
		t.Fatal(err)
	}
	var repeats int
	for i := range n {
		org := fmt.Sprintf("org-%05d", i)
		if got := info.State.Subjects["cascade.ledger.notice."+id+"."+org]; got != 1 {
			t.Errorf("%s: %d ledger records, want 1 (created and delivered)", org, got)
		}
		switch d := dinfo.State.Subjects["cascade.notice."+org]; {
		case d == 0:
			t.Errorf("%s: never delivered", org)
		case d > 1:
			repeats++
		}
	}
	if len(info.State.Subjects) != n {
		t.Errorf("%d notices in the ledger, want %d", len(info.State.Subjects), n)
	}
	testkit.Eventually(t, 30*time.Second, func() error {
		s, err := bc.GetBreachSummary(ctx(t), &cascadev1.GetBreachSummaryRequest{BreachId: id})
		if err != nil {
			return err
		}
		if s.GetSummary().GetTotal() != int64(n) || s.GetSummary().GetDelivered() != int64(n) {
			return fmt.Errorf("summary = %v", s.GetSummary())
		}
		return nil
	})
	t.Logf("%d notices, each recorded once; %d organisations got a repeated delivery", n, repeats)
}

func grpcClient(t testing.TB, addr string) cascadev1.BreachServiceClient {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cascadev1.NewBreachServiceClient(cc)
}

// TestDaemonStopsMidFanout stops the daemon (its NATS connection and all
// its work) in the middle of a fan-out several times, against one
// JetStream server; a new daemon completes it.
func TestDaemonStopsMidFanout(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	srv := natstest.Start(t)
	opts := daemon.Options{SecretFile: sharedSecret(t), InsecureNATSNoAuth: true, NATSURL: srv.ClientURL(), GRPCAddr: "127.0.0.1:0", InsecureNoAuth: true, Deadline: 72 * time.Hour,
		OrgsFile: writeRegistry(t, crashOrgs), IntakeAckWait: 2 * time.Second, Log: testLogger(t)}
	js, err := jetstream.New(srv.Connect())
	if err != nil {
		t.Fatal(err)
	}
	d, err := daemon.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx(t), "cascade.breach.report", allReport("CRASH-1")); err != nil {
		t.Fatal(err)
	}
	for _, k := range crashPoints {
		killAt(t, js, k, d.Stop)
		if d, err = daemon.Start(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
	}
	defer d.Stop()
	verifyFanout(t, js, grpcClient(t, d.GRPCAddr()), "CRASH-1", crashOrgs)
}

// TestNATSRestartsMidFanout restarts the JetStream server under a running
// daemon in the middle of a fan-out, several times.
func TestNATSRestartsMidFanout(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	srv := natstest.Start(t)
	d, err := daemon.Start(context.Background(), daemon.Options{SecretFile: sharedSecret(t), InsecureNATSNoAuth: true, NATSURL: srv.ClientURL(), GRPCAddr: "127.0.0.1:0", InsecureNoAuth: true, Deadline: 72 * time.Hour,
		OrgsFile: writeRegistry(t, crashOrgs), IntakeAckWait: 2 * time.Second, Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	bc := grpcClient(t, d.GRPCAddr())
	js, err := jetstream.New(srv.Connect())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx(t), "cascade.breach.report", allReport("CRASH-2")); err != nil {
		t.Fatal(err)
	}
	for _, k := range crashPoints {
		killAt(t, js, k, srv.Restart)
	}
	verifyFanout(t, js, bc, "CRASH-2", crashOrgs)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestKill9MidFanout runs the real cascaded binary with its embedded NATS
// server and kills it with SIGKILL in the middle of a fan-out, three times.
func TestKill9MidFanout(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	bin := filepath.Join(t.TempDir(), "cascaded")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/cascaded").CombinedOutput(); err != nil {
		t.Fatalf("build cascaded: %v\n%s", err, out)
	}
	dataDir := t.TempDir()
	natsAddr, grpcAddr := freeAddr(t), freeAddr(t)
	orgs := writeRegistry(t, crashOrgs)
	var logs strings.Builder
	run := func() *exec.Cmd {
		cmd := exec.Command(bin, "--data-dir", dataDir, "--nats-listen", natsAddr, "--grpc-addr", grpcAddr,
			"--http-addr", "", "--orgs", orgs, "--intake-ack-wait", "2s", "--insecure-no-auth")
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	cmd := run()
	var nc *nats.Conn
	testkit.Eventually(t, 30*time.Second, func() (err error) {
		// The daemon creates the NATS users on its first start; the test
		// inspects as the daemon's.
		user, err := natsauth.UserOptionFromFile(filepath.Join(dataDir, daemon.NATSAuthSubdir, natsauth.DaemonSeedFile))
		if err != nil {
			return err
		}
		nc, err = nats.Connect("nats://"+natsAddr, user, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
		return err
	})
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 30*time.Second, func() error {
		_, err := js.Publish(ctx(t), "cascade.breach.report", allReport("KILL-1"))
		return err
	})
	bc := grpcClient(t, grpcAddr)
	for _, k := range crashPoints {
		killAt(t, js, k, func() {
			if err := cmd.Process.Signal(os.Kill); err != nil {
				t.Fatal(err)
			}
		})
		_ = cmd.Wait()
		cmd = run()
	}
	verifyFanout(t, js, bc, "KILL-1", crashOrgs)
	if t.Failed() {
		t.Logf("daemon logs:\n%s", logs.String())
	}
}

// TestRestartKeepsState: breaches, notices, acknowledgements and deadlines
// are the same after a restart.
func TestRestartKeepsState(t *testing.T) {
	opts := options(t)
	e := start(t, opts)
	e.publish(readFile(t, "../../deploy/examples/breach.json"))
	const id = "EXAMPLE-2025-08-23"
	e.waitSummary(id, 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 12 })
	if _, err := e.noticeC.AcknowledgeNotice(ctx(t), &cascadev1.AcknowledgeNoticeRequest{NoticeId: id + "/se-kommun-1480", AcknowledgedBy: "dpo"}); err != nil {
		t.Fatal(err)
	}
	sum := e.waitSummary(id, 10*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetAcknowledged() == 1 })
	before := e.listAll(&cascadev1.ListNoticesRequest{BreachId: id})
	e.d.Stop()

	opts.OrgsFile = "" // the registry is in JetStream already
	e2 := start(t, opts)
	after := e2.listAll(&cascadev1.ListNoticesRequest{BreachId: id})
	if len(after) != len(before) {
		t.Fatalf("%d notices after restart, %d before", len(after), len(before))
	}
	for i := range before {
		b, a := before[i], after[i]
		if b.GetId() != a.GetId() || b.GetState() != a.GetState() || !b.GetDeadline().AsTime().Equal(a.GetDeadline().AsTime()) ||
			!b.GetDeliveredAt().AsTime().Equal(a.GetDeliveredAt().AsTime()) || b.GetAcknowledgedBy() != a.GetAcknowledgedBy() {
			t.Fatalf("notice changed across restart:\nbefore %v\nafter  %v", b, a)
		}
	}
	sum2 := e2.waitSummary(id, 10*time.Second, func(*cascadev1.BreachSummary) bool { return true })
	if sum2.GetTotal() != sum.GetTotal() || sum2.GetAcknowledged() != 1 || !sum2.GetNextDeadline().AsTime().Equal(sum.GetNextDeadline().AsTime()) {
		t.Fatalf("summary changed across restart: %v -> %v", sum, sum2)
	}
	if len(e2.deliveries()) != 12 {
		t.Fatal("restart re-delivered notices")
	}
}
