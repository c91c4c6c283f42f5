package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/natstest"
	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// TestDaemonStopsMidWithdrawal stops the daemon in the middle of a
// revision that withdraws most organisations of a breach; a new daemon
// completes it: every withdrawn notice is withdrawn once (one withdrawn
// entry in its ledger), its organisation got one withdrawal message, the
// organisations the revision does not name got nothing, and the summary
// agrees.
func TestDaemonStopsMidWithdrawal(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	const orgs, withdrawn = 3000, 2400
	srv := natstest.Start(t)
	opts := daemon.Options{SecretFile: sharedSecret(t), InsecureNATSNoAuth: true, NATSURL: srv.ClientURL(), GRPCAddr: "127.0.0.1:0", InsecureNoAuth: true, Deadline: 72 * time.Hour,
		OrgsFile: writeRegistry(t, orgs), IntakeAckWait: 2 * time.Second, Log: testLogger(t)}
	js, err := jetstream.New(srv.Connect())
	if err != nil {
		t.Fatal(err)
	}
	d, err := daemon.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx(t), "cascade.breach.report", allReport("CRASH-WD")); err != nil {
		t.Fatal(err)
	}
	verifyFanout(t, js, grpcClient(t, d.GRPCAddr()), "CRASH-WD", orgs)
	type wd struct {
		Org       string `json:"org_id"`
		Statement string `json:"statement"`
	}
	u := struct {
		Breach   string `json:"breach_id"`
		Summary  string `json:"summary"`
		Withdraw []wd   `json:"withdraw"`
	}{Breach: "CRASH-WD", Summary: "Most customers were not affected."}
	for i := range withdrawn {
		u.Withdraw = append(u.Withdraw, wd{Org: fmt.Sprintf("org-%05d", i), Statement: "not in the copied tenant"})
	}
	body, _ := json.Marshal(u)
	if _, err := js.Publish(ctx(t), "cascade.breach.update", body); err != nil {
		t.Fatal(err)
	}
	// Stop once some, not all, withdrawals are recorded.
	var seen int64
	testkit.Eventually(t, 120*time.Second, func() error {
		r, err := grpcClient(t, d.GRPCAddr()).GetBreachSummary(ctx(t), &cascadev1.GetBreachSummaryRequest{BreachId: "CRASH-WD"})
		if err != nil {
			return err
		}
		if seen = r.GetSummary().GetWithdrawn(); seen < 300 {
			return fmt.Errorf("withdrawn %d", seen)
		}
		return nil
	})
	d.Stop()
	if seen >= withdrawn {
		t.Fatalf("the withdrawal was complete (%d) when the daemon stopped; the test proves nothing", seen)
	}
	t.Logf("stopped after %d of %d withdrawals", seen, withdrawn)
	if d, err = daemon.Start(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	bc := grpcClient(t, d.GRPCAddr())
	testkit.Eventually(t, 120*time.Second, func() error {
		b, err := bc.GetBreach(ctx(t), &cascadev1.GetBreachRequest{BreachId: "CRASH-WD"})
		if err != nil {
			return err
		}
		if rs := b.GetBreach().GetRevisions(); len(rs) != 1 || !rs[0].GetFanoutComplete() || rs[0].GetWithdrawn() != withdrawn {
			return fmt.Errorf("revisions = %v", rs)
		}
		return nil
	})
	ledger, err := js.Stream(ctx(t), "CASCADE_LEDGER")
	if err != nil {
		t.Fatal(err)
	}
	info, err := ledger.Info(ctx(t), jetstream.WithSubjectFilter("cascade.ledger.notice.CRASH-WD.*"))
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
	for i := range orgs {
		org := fmt.Sprintf("org-%05d", i)
		entries, msgs := uint64(1), uint64(1) // created and delivered; the notice
		if i < withdrawn {
			entries, msgs = 2, 2 // and withdrawn; and the withdrawal
		}
		if got := info.State.Subjects["cascade.ledger.notice.CRASH-WD."+org]; got != entries {
			t.Errorf("%s: %d ledger entries, want %d", org, got, entries)
		}
		if got := dinfo.State.Subjects["cascade.notice."+org]; got != msgs {
			t.Errorf("%s: %d messages, want %d", org, got, msgs)
		}
	}
	testkit.Eventually(t, 30*time.Second, func() error {
		r, err := bc.GetBreachSummary(ctx(t), &cascadev1.GetBreachSummaryRequest{BreachId: "CRASH-WD"})
		if err != nil {
			return err
		}
		if s := r.GetSummary(); s.GetTotal() != orgs || s.GetWithdrawn() != withdrawn || s.GetDelivered() != orgs-withdrawn {
			return fmt.Errorf("summary = %v", s)
		}
		return nil
	})
}
