package daemon_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/natsauth"
	"github.com/cascadehq/cascade/internal/natsembed"
	"github.com/cascadehq/cascade/internal/natstest"
	"github.com/cascadehq/cascade/internal/registry"
	"github.com/cascadehq/cascade/internal/testkit"
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
	testkit.Eventually(t, 10*time.Second, func() error {
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

// TestDefaultEmbeddedServerAuthenticates: without --nats-auth the daemon
// creates the users itself in <data-dir>/nats-auth, owner-only, and the
// embedded server admits nobody without them. The vendor's seed publishes
// a report and nothing more: it cannot read the signing keys or the
// tokens, publish a notice or a ledger record, or purge or delete a
// stream. A grown registry gets new users at the next start; existing
// seeds never change.
func TestDefaultEmbeddedServerAuthenticates(t *testing.T) {
	opts := options(t)
	opts.OrgsFile = writeRegistry(t, 3)
	e := start(t, opts)
	dir := filepath.Join(opts.DataDir, daemon.NATSAuthSubdir)
	if e.d.NATSAuthDir() != dir {
		t.Fatalf("NATSAuthDir = %q, want %q", e.d.NATSAuthDir(), dir)
	}
	for _, f := range []string{natsauth.DaemonSeedFile, natsauth.VendorSeedFile, "orgs/org-00000.nk", "orgs/org-00002.nk"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	if nc, err := nats.Connect(e.d.NATSURL()); err == nil {
		nc.Close()
		t.Fatal("an anonymous client connected to the default daemon")
	} else if !strings.Contains(err.Error(), "Authorization Violation") {
		t.Fatalf("anonymous connect: %v, want an authorization violation", err)
	}

	vendorNC := connectNC(t, e.d, natsauth.VendorSeedFile, nats.PermissionErrOnSubscribe(true),
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
	vendor, err := jetstream.New(vendorNC)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vendor.Publish(ctx(t), "cascade.breach.report", report("AUTH-1", "org-00000", "org-00001")); err != nil {
		t.Fatalf("the vendor cannot publish a report: %v", err)
	}
	e.waitSummary("AUTH-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 2 })

	short := func() context.Context {
		c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		t.Cleanup(cancel)
		return c
	}
	// Every one of these must fail; none may change anything.
	denied := map[string]func() error{
		"read the signing keys": func() error {
			kv, err := vendor.KeyValue(short(), "cascade-keys")
			if err != nil {
				return err
			}
			_, err = kv.Get(short(), "active")
			return err
		},
		"read a token record": func() error {
			_, err := vendor.KeyValue(short(), "cascade-tokens")
			return err
		},
		"publish a notice": func() error {
			_, err := vendor.Publish(short(), "cascade.notice.org-00000", []byte(`{"event":"notice"}`))
			return err
		},
		"publish a ledger record": func() error {
			_, err := vendor.Publish(short(), "cascade.ledger.notice.x", []byte(`{}`))
			return err
		},
		"purge the notices": func() error {
			s, err := vendor.Stream(short(), "CASCADE_NOTICES")
			if err != nil {
				return err
			}
			return s.Purge(short())
		},
		"delete the intake stream": func() error { return vendor.DeleteStream(short(), "CASCADE_INTAKE") },
		"subscribe to another user's replies": func() error {
			sub, err := vendorNC.SubscribeSync("_INBOX.>")
			if err != nil {
				return err
			}
			_, err = sub.NextMsg(5 * time.Second) // the server's refusal, or a timeout
			if errors.Is(err, nats.ErrTimeout) {
				return nil
			}
			return err
		},
	}
	for name, do := range denied {
		if err := do(); err == nil {
			t.Errorf("the vendor's seed could %s", name)
		}
	}
	seed := readFile(t, filepath.Join(dir, natsauth.VendorSeedFile))
	e.d.Stop()

	// A grown registry: a user for the new organisation, the others kept.
	opts.OrgsFile = writeRegistry(t, 4)
	e2 := start(t, opts)
	if got := readFile(t, filepath.Join(dir, natsauth.VendorSeedFile)); string(got) != string(seed) {
		t.Fatal("the vendor's seed changed across a restart")
	}
	if _, err := os.Stat(filepath.Join(dir, "orgs/org-00003.nk")); err != nil {
		t.Fatalf("no user for the new organisation: %v", err)
	}
	org := connectNC(t, e2.d, "orgs/org-00003.nk")
	if _, err := org.SubscribeSync("cascade.notice.org-00003"); err != nil {
		t.Fatal(err)
	}
}

// TestExternalNATSWithoutAuthentication: an external server that admits
// anonymous clients is refused unless the development flag says so; a
// fresh --data-dir with --nats-url gets its bootstrap token file (the
// daemon creates the directories it writes to).
func TestExternalNATSWithoutAuthentication(t *testing.T) {
	srv := natstest.Start(t)
	opts := daemon.Options{NATSURL: srv.ClientURL(), GRPCAddr: "127.0.0.1:0", Deadline: 72 * time.Hour,
		DataDir: filepath.Join(t.TempDir(), "fresh", "data"), Log: testLogger(t)}
	if d, err := daemon.Start(context.Background(), opts); err == nil {
		d.Stop()
		t.Fatal("the daemon started on a NATS server that admits anyone")
	} else if !strings.Contains(err.Error(), "admits clients without credentials") || !strings.Contains(err.Error(), "--nats-auth") {
		t.Fatalf("error %q does not say why and what to do", err)
	}
	opts.InsecureNATSNoAuth = true
	d, err := daemon.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start with --insecure-nats-no-auth on a fresh data dir: %v", err)
	}
	defer d.Stop()
	if fi, err := os.Stat(filepath.Join(opts.DataDir, "vendor.token")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("bootstrap token file: %v, %v", fi, err)
	}
}

// TestEmbeddedServerUpgradeFromGlobalAccount: the data dir of an earlier
// version, whose embedded server kept every stream in the global account
// (no users), keeps its streams when the daemon runs it with accounts: they
// are moved to Cascade's account before the server starts.
func TestEmbeddedServerUpgradeFromGlobalAccount(t *testing.T) {
	opts := options(t)
	old, err := natsembed.Start(natsembed.Config{StoreDir: opts.DataDir, Listen: "127.0.0.1:-1"})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(old.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	ojs, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := ojs.CreateStream(c, jetstream.StreamConfig{Name: "EARLIER", Subjects: []string{"earlier.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ojs.Publish(c, "earlier.x", []byte("stored by an earlier version")); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	old.Shutdown()
	old.WaitForShutdown()

	e := start(t, opts)
	st, err := e.js.Stream(c, "EARLIER")
	if err != nil {
		t.Fatalf("the earlier version's stream after the upgrade: %v", err)
	}
	m, err := st.GetMsg(c, 1)
	if err != nil || string(m.Data) != "stored by an earlier version" {
		t.Fatalf("its message: %v", err)
	}
	if _, err := os.Stat(filepath.Join(opts.DataDir, "jetstream", natsauth.Account, "streams", "EARLIER")); err != nil {
		t.Fatalf("not in %s's directory: %v", natsauth.Account, err)
	}
	// And the daemon works on it: its own streams are there too.
	if _, err := e.js.Stream(c, "CASCADE_INTAKE"); err != nil {
		t.Fatal(err)
	}
}
