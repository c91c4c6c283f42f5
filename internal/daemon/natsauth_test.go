package daemon_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/natsauth"
	"github.com/cascadehq/cascade/internal/registry"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// TestEmbeddedServerWithOrganisationPermissions runs the whole cascade on
// an embedded server that admits only generated users: the vendor
// publishes, the daemon fans out, an organisation receives its notice on
// its own subject and cannot listen on another's.
func TestEmbeddedServerWithOrganisationPermissions(t *testing.T) {
	orgs, err := registry.LoadFile(exampleOrgs)
	if err != nil {
		t.Fatal(err)
	}
	set, err := natsauth.Generate(orgs)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "nats-auth")
	if err := set.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	opts := options(t)
	opts.NATSAuthDir = dir
	e := start(t, opts)
	connect := func(seed []byte, errs chan<- error) *nats.Conn {
		nc, err := nats.Connect(e.d.NATSURL(), natsauth.UserOption(seed), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errs != nil {
				errs <- err
			}
		}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	a, _ := set.Org("se-kommun-0180")
	aErrs := make(chan error, 10)
	orgA := connect(a.Seed, aErrs)
	own, err := orgA.SubscribeSync("cascade.notice.se-kommun-0180")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := orgA.SubscribeSync("cascade.notice.se-kommun-1480"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() error {
		select {
		case err := <-aErrs:
			if strings.Contains(err.Error(), `Permissions Violation for Subscription to "cascade.notice.se-kommun-1480"`) {
				return nil
			}
			return err
		default:
			return errString("no permissions violation yet")
		}
	})
	if err := orgA.Flush(); err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(connect(set.Vendor.Seed, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx(t), "cascade.breach.report", report("NA-1", "se-kommun-0180", "se-kommun-1480")); err != nil {
		t.Fatalf("vendor publish: %v", err)
	}
	m, err := own.NextMsg(20 * time.Second)
	if err != nil {
		t.Fatalf("organisation A got no notice: %v", err)
	}
	if m.Header.Get("Cascade-Notice-Id") != "NA-1/se-kommun-0180" || m.Header.Get("Cascade-Signature") == "" {
		t.Fatalf("notice headers = %v", m.Header)
	}
	// Without credentials, nobody gets in.
	if nc, err := nats.Connect(e.d.NATSURL()); err == nil {
		nc.Close()
		t.Fatal("connected without credentials")
	}
	e.waitSummary("NA-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 2 })
}

type errString string

func (e errString) Error() string { return string(e) }
