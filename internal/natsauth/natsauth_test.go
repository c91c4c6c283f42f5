package natsauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/natsembed"
	"github.com/cascadehq/cascade/internal/testkit"
)

const waitFor = 10 * time.Second

func orgs(ids ...breach.OrgID) []breach.Org {
	out := make([]breach.Org, len(ids))
	for i, id := range ids {
		out[i] = breach.Org{ID: id, Name: "Org " + string(id)}
	}
	return out
}

func generate(t *testing.T, ids ...breach.OrgID) Set {
	t.Helper()
	s, err := Generate(orgs(ids...))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustOrg(t *testing.T, s Set, id breach.OrgID) Credentials {
	t.Helper()
	c, ok := s.Org(id)
	if !ok {
		t.Fatalf("no user for organisation %s", id)
	}
	return c
}

// startServer runs the embedded server with the set's users.
func startServer(t *testing.T, s Set) *server.Server {
	t.Helper()
	srv, err := natsembed.Start(natsembed.Config{StoreDir: t.TempDir(), Listen: "127.0.0.1:-1", Auth: s.Config(), JetStreamAccount: Account})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return srv
}

// client is a connection as one user that records its asynchronous errors.
type client struct {
	*nats.Conn
	t    *testing.T
	name string

	mu   sync.Mutex
	errs []error
}

func connect(t *testing.T, url string, c Credentials) *client {
	t.Helper()
	cl := &client{t: t, name: c.Name}
	nc, err := nats.Connect(url, UserOption(c.Seed), nats.Name(c.Name), nats.PermissionErrOnSubscribe(true),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			cl.mu.Lock()
			cl.errs = append(cl.errs, err)
			cl.mu.Unlock()
		}))
	if err != nil {
		t.Fatalf("connect as %s: %v", c.Name, err)
	}
	t.Cleanup(nc.Close)
	cl.Conn = nc
	return cl
}

// awaitViolation waits until the server has reported want (for example
// `Permissions Violation for Subscription to "cascade.notice.b"`).
func (cl *client) awaitViolation(want string) {
	cl.t.Helper()
	testkit.Eventually(cl.t, waitFor, func() error {
		cl.mu.Lock()
		defer cl.mu.Unlock()
		for _, err := range cl.errs {
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), want) {
				return nil
			}
		}
		return fmt.Errorf("%s: no async error %q; got %v", cl.name, want, cl.errs)
	})
}

func (cl *client) subscribe(subject string) *nats.Subscription {
	cl.t.Helper()
	sub, err := cl.SubscribeSync(subject)
	if err != nil {
		cl.t.Fatalf("%s: subscribe %s: %v", cl.name, subject, err)
	}
	if err := cl.Flush(); err != nil {
		cl.t.Fatal(err)
	}
	return sub
}

func (cl *client) publish(subject, data string) {
	cl.t.Helper()
	if err := cl.Publish(subject, []byte(data)); err != nil {
		cl.t.Fatalf("%s: publish %s: %v", cl.name, subject, err)
	}
	if err := cl.Flush(); err != nil {
		cl.t.Fatal(err)
	}
}

func next(t *testing.T, sub *nats.Subscription) *nats.Msg {
	t.Helper()
	m, err := sub.NextMsg(waitFor)
	if err != nil {
		t.Fatalf("receive on %s: %v", sub.Subject, err)
	}
	return m
}

// noneExcept fails if sub has received a message other than on the
// allowed subjects; what arrived before a later marker has been received.
func noneExcept(t *testing.T, sub *nats.Subscription, allowed ...string) {
	t.Helper()
	for {
		m, err := sub.NextMsg(0)
		if err != nil {
			return
		}
		if !slices.Contains(allowed, m.Subject) {
			t.Fatalf("received %q on %s", m.Data, m.Subject)
		}
	}
}

func TestOrgReceivesOwnNoticesFromDaemon(t *testing.T) {
	set := generate(t, "a", "b")
	srv := startServer(t, set)
	daemon := connect(t, srv.ClientURL(), set.Daemon)
	a := connect(t, srv.ClientURL(), mustOrg(t, set, "a"))

	sub := a.subscribe("cascade.notice.a")
	keys := a.subscribe("cascade.keys")
	daemon.publish("cascade.notice.a", "notice for a")
	daemon.publish("cascade.keys", "keys")
	if m := next(t, sub); string(m.Data) != "notice for a" {
		t.Fatalf("a received %q", m.Data)
	}
	if m := next(t, keys); string(m.Data) != "keys" {
		t.Fatalf("a received %q on cascade.keys", m.Data)
	}
}

func TestOrgCannotSubscribeToAnotherOrg(t *testing.T) {
	set := generate(t, "a", "b")
	srv := startServer(t, set)
	checkOrgCannotSubscribeToAnother(t, srv.ClientURL(), set)
}

// checkOrgCannotSubscribeToAnother: organisation a's subscriptions to b's
// subject (or any wider one, or other users' replies) are refused and
// receive nothing, while b receives its notice.
func checkOrgCannotSubscribeToAnother(t *testing.T, url string, set Set) {
	t.Helper()
	daemon := connect(t, url, set.Daemon)
	a := connect(t, url, mustOrg(t, set, "a"))
	b := connect(t, url, mustOrg(t, set, "b"))

	bOwn := b.subscribe("cascade.notice.b")
	aOwn := a.subscribe("cascade.notice.a")
	var stolen []*nats.Subscription
	for _, subj := range []string{"cascade.notice.b", "cascade.notice.*", "cascade.notice.>", "cascade.>", ">", "_INBOX.>", "cascade.events.>", "cascade.breach.report"} {
		stolen = append(stolen, a.subscribe(subj))
		a.awaitViolation(fmt.Sprintf("Permissions Violation for Subscription to %q", subj))
	}

	daemon.publish("cascade.notice.b", "notice for b")
	daemon.publish("cascade.notice.a", "notice for a") // after b's: a has it only once b's would have arrived
	if m := next(t, bOwn); string(m.Data) != "notice for b" {
		t.Fatalf("b received %q", m.Data)
	}
	if m := next(t, aOwn); string(m.Data) != "notice for a" {
		t.Fatalf("a received %q", m.Data)
	}
	for _, sub := range stolen {
		if _, err := sub.NextMsg(0); !errors.Is(err, nats.ErrPermissionViolation) {
			t.Fatalf("a's subscription to %s: NextMsg returned %v, want the permissions violation", sub.Subject, err)
		}
		if n, _, _ := sub.Pending(); n != 0 {
			t.Fatalf("a's subscription to %s received %d messages", sub.Subject, n)
		}
	}
}

func TestOrgCannotPublish(t *testing.T) {
	set := generate(t, "a", "b")
	srv := startServer(t, set)
	daemon := connect(t, srv.ClientURL(), set.Daemon)
	a := connect(t, srv.ClientURL(), mustOrg(t, set, "a"))
	all := daemon.subscribe(">")

	for _, subj := range []string{"cascade.breach.report", "cascade.breach.update", "cascade.notice.a", "cascade.notice.b", "cascade.keys", "$KV.cascade-orgs.a", "_INBOX.x"} {
		a.publish(subj, "forged")
		a.awaitViolation(fmt.Sprintf("Permissions Violation for Publish to %q", subj))
	}
	// Not even a request: the server would answer on the reply subject a
	// names, another organisation's notice subject here.
	if err := a.PublishRequest("$JS.API.DIRECT.GET.CASCADE_KEYS.cascade.keys", "cascade.notice.b", nil); err != nil {
		t.Fatal(err)
	}
	a.awaitViolation(`Permissions Violation for Publish to "$JS.API.DIRECT.GET.CASCADE_KEYS.cascade.keys"`)

	// The server drops a refused message before telling the publisher, so
	// after one round trip of the daemon's it would have had every one.
	if err := daemon.Flush(); err != nil {
		t.Fatal(err)
	}
	noneExcept(t, all)
}

func TestVendor(t *testing.T) {
	set := generate(t, "a", "b")
	srv := startServer(t, set)
	daemon := connect(t, srv.ClientURL(), set.Daemon)
	vendor := connect(t, srv.ClientURL(), set.Vendor)
	a := connect(t, srv.ClientURL(), mustOrg(t, set, "a"))
	all := daemon.subscribe(">")
	aOwn := a.subscribe("cascade.notice.a")

	for _, subj := range []string{"cascade.notice.a", "cascade.ledger.notice.x.a", "cascade.timer.at.x.0", "$KV.cascade-orgs.a", "$JS.ACK.CASCADE_INTAKE.cascade-intake.1.1.1.1.0"} {
		vendor.publish(subj, "forged")
		vendor.awaitViolation(fmt.Sprintf("Permissions Violation for Publish to %q", subj))
	}
	vendor.publish("cascade.breach.report", `{"title":"x"}`) // after the refused ones
	for {
		m := next(t, all)
		if m.Subject == "cascade.breach.report" {
			if string(m.Data) != `{"title":"x"}` {
				t.Fatalf("daemon received %q", m.Data)
			}
			break
		}
		t.Fatalf("daemon received %q on %s", m.Data, m.Subject)
	}
	if n, _, _ := aOwn.Pending(); n != 0 {
		t.Fatalf("a received %d messages", n)
	}

	for _, subj := range []string{"cascade.notice.a", "cascade.notice.*", "cascade.ledger.>", "_INBOX.>", "$KV.>"} {
		vendor.subscribe(subj)
		vendor.awaitViolation(fmt.Sprintf("Permissions Violation for Subscription to %q", subj))
	}
	rejected := vendor.subscribe("cascade.breach.rejected")
	events := vendor.subscribe("cascade.events.>")
	daemon.publish("cascade.breach.rejected", "rejection")
	daemon.publish("cascade.events.b1.a", "event")
	if m := next(t, rejected); string(m.Data) != "rejection" {
		t.Fatalf("vendor received %q", m.Data)
	}
	if m := next(t, events); string(m.Data) != "event" {
		t.Fatalf("vendor received %q", m.Data)
	}
}

// TestVendorJetStream: the vendor's JetStream allowances suffice for what
// cascadectl breach publish does, and no more.
func TestVendorJetStream(t *testing.T) {
	set := generate(t, "a")
	srv := startServer(t, set)
	daemon := connect(t, srv.ClientURL(), set.Daemon)
	vendor := connect(t, srv.ClientURL(), set.Vendor)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	djs, err := jetstream.New(daemon.Conn)
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []jetstream.StreamConfig{
		{Name: streamIntake, Subjects: []string{subjectReport, subjectUpdate}},
		{Name: streamRejected, Subjects: []string{subjectRejected}},
		{Name: streamEvents, Subjects: []string{subjectEvents}},
		{Name: "CASCADE_NOTICES", Subjects: []string{"cascade.notice.*"}, AllowDirect: true},
	} {
		if _, err := djs.CreateStream(ctx, cfg); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := djs.CreateOrUpdateConsumer(ctx, streamIntake, jetstream.ConsumerConfig{Durable: intakeConsumer, AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	if _, err := djs.Publish(ctx, "cascade.notice.a", []byte("notice")); err != nil {
		t.Fatal(err)
	}

	js, err := jetstream.New(vendor.Conn)
	if err != nil {
		t.Fatal(err)
	}
	// What cascadectl breach publish does, in order.
	start := time.Now()
	rw, err := js.OrderedConsumer(ctx, streamRejected, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subjectRejected}, DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &start,
	})
	if err != nil {
		t.Fatalf("ordered consumer on %s: %v", streamRejected, err)
	}
	got := make(chan jetstream.Msg, 10)
	cc, err := rw.Consume(func(m jetstream.Msg) { got <- m })
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Stop()
	msg := &nats.Msg{Subject: subjectReport, Data: []byte(`{"id":"B1"}`), Header: nats.Header{}}
	ack, err := js.PublishMsg(ctx, msg, jetstream.WithExpectStream(streamIntake), jetstream.WithMsgID("cli/B1"))
	if err != nil {
		t.Fatalf("vendor publish: %v", err)
	}
	st, err := js.Stream(ctx, streamIntake)
	if err != nil {
		t.Fatalf("vendor stream info: %v", err)
	}
	stored, err := st.GetMsg(ctx, ack.Sequence)
	if err != nil {
		t.Fatalf("vendor reads the stored report: %v", err)
	}
	if !bytes.Equal(stored.Data, msg.Data) {
		t.Fatalf("stored report %q", stored.Data)
	}
	ic, err := js.Consumer(ctx, streamIntake, intakeConsumer)
	if err != nil {
		t.Fatalf("vendor reads the intake consumer: %v", err)
	}
	if _, err := ic.Info(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := djs.Publish(ctx, subjectRejected, []byte("rejected B1")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if string(m.Data()) != "rejected B1" {
			t.Fatalf("vendor read %q", m.Data())
		}
	case <-ctx.Done():
		t.Fatal("the vendor's ordered consumer read nothing")
	}
	if _, err := rw.Info(ctx); err != nil {
		t.Fatalf("vendor reads its consumer's info: %v", err)
	}
	ev, err := js.OrderedConsumer(ctx, streamEvents, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("ordered consumer on %s: %v", streamEvents, err)
	}
	if _, err := djs.Publish(ctx, "cascade.events.B1.a", []byte("reminder")); err != nil {
		t.Fatal(err)
	}
	if m, err := ev.Next(jetstream.FetchMaxWait(waitFor)); err != nil || string(m.Data()) != "reminder" {
		t.Fatalf("vendor reads %s: %v", streamEvents, err)
	}

	// No more: the notices, the daemons' intake consumer, acknowledgements.
	short := func() context.Context {
		c, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		t.Cleanup(cancel)
		return c
	}
	if _, err := js.Stream(short(), "CASCADE_NOTICES"); err == nil {
		t.Fatal("vendor read CASCADE_NOTICES' info")
	}
	vendor.awaitViolation(`Permissions Violation for Publish to "$JS.API.STREAM.INFO.CASCADE_NOTICES"`)
	if _, err := js.OrderedConsumer(short(), "CASCADE_NOTICES", jetstream.OrderedConsumerConfig{}); err == nil {
		t.Fatal("vendor created a consumer on CASCADE_NOTICES")
	}
	if _, err := js.CreateOrUpdateConsumer(short(), streamIntake, jetstream.ConsumerConfig{Durable: "steal"}); err == nil {
		t.Fatal("vendor created a consumer on CASCADE_INTAKE")
	}
	// A refused pull request shows only as an empty batch.
	if batch, err := ic.Fetch(1, jetstream.FetchMaxWait(200*time.Millisecond)); err == nil {
		for m := range batch.Messages() {
			t.Fatalf("vendor pulled %q from the daemons' intake consumer", m.Data())
		}
	}
	vendor.awaitViolation(`Permissions Violation for Publish to "$JS.API.CONSUMER.MSG.NEXT.CASCADE_INTAKE.cascade-intake"`)
}

func TestConnectWithoutCredentialsFails(t *testing.T) {
	set := generate(t, "a")
	srv := startServer(t, set)
	if nc, err := nats.Connect(srv.ClientURL()); err == nil {
		nc.Close()
		t.Fatal("connected without credentials")
	} else if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("connect without credentials: %v, want %v", err, nats.ErrAuthorization)
	}
	stranger := generate(t, "a") // same organisation, keys the server does not know
	if nc, err := nats.Connect(srv.ClientURL(), UserOption(stranger.Daemon.Seed)); err == nil {
		nc.Close()
		t.Fatal("connected with an unknown key")
	}
	if _, err := nats.Connect(srv.ClientURL(), UserOption([]byte("SUNOTASEED"))); err == nil || !strings.Contains(err.Error(), "natsauth") {
		t.Fatalf("connect with a bad seed: %v", err)
	}
}

func TestEmbeddedServerWithoutUsersIsOpen(t *testing.T) {
	srv, err := natsembed.Start(natsembed.Config{StoreDir: t.TempDir(), Listen: "127.0.0.1:-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatalf("connect to a server without users: %v", err)
	}
	nc.Close()
	if _, err := natsembed.Start(natsembed.Config{StoreDir: t.TempDir(), Listen: "127.0.0.1:-1", Auth: "# no users\n"}); err == nil {
		t.Fatal("started a server that nobody could connect to")
	}
	if _, err := natsembed.Start(natsembed.Config{StoreDir: t.TempDir(), Listen: "127.0.0.1:-1", Auth: "accounts { A { users = [ "}); err == nil ||
		!strings.Contains(err.Error(), "users and accounts") {
		t.Fatalf("started with a configuration that does not parse: %v", err)
	}
}

func TestGenerate(t *testing.T) {
	set := generate(t, "b", "a")
	if set.Daemon.Name != DaemonName || set.Daemon.Role != RoleDaemon || set.Vendor.Name != VendorName || set.Vendor.Role != RoleVendor {
		t.Fatalf("daemon %+v, vendor %+v", set.Daemon, set.Vendor)
	}
	if len(set.Orgs) != 2 || set.Orgs[0].Org != "a" || set.Orgs[0].Name != "org-a" || set.Orgs[1].Org != "b" || set.Orgs[0].Role != RoleOrg {
		t.Fatalf("orgs %+v", set.Orgs)
	}
	for _, c := range set.All() {
		if err := c.checkSeed(); err != nil {
			t.Fatal(err)
		}
		if !nkeys.IsValidPublicUserKey(c.Public) {
			t.Fatalf("%s: public key %q", c.Name, c.Public)
		}
	}
	if _, err := Generate(orgs("a", "Not Valid")); err == nil {
		t.Fatal("generated a user for an invalid organisation id")
	}
}

func TestUpdateKeepsExistingKeys(t *testing.T) {
	set := generate(t, "a", "b")
	grown, err := set.Update(orgs("c", "a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	if !sameKeys(grown.Daemon, set.Daemon) || !sameKeys(grown.Vendor, set.Vendor) {
		t.Fatal("Update changed the daemon's or the vendor's key")
	}
	if len(grown.Orgs) != 3 {
		t.Fatalf("%d organisations after update", len(grown.Orgs))
	}
	for _, id := range []breach.OrgID{"a", "b"} {
		if !sameKeys(mustOrg(t, grown, id), mustOrg(t, set, id)) {
			t.Fatalf("Update changed %s's key", id)
		}
	}
	if c := mustOrg(t, grown, "c"); c.Public == "" || c.Name != "org-c" {
		t.Fatalf("new organisation: %+v", c)
	}
	if len(set.Orgs) != 2 {
		t.Fatal("Update changed the set it was called on")
	}
	// A shrunk registry keeps the users (the registry is upserted).
	shrunk, err := grown.Update(orgs("a"))
	if err != nil || len(shrunk.Orgs) != 3 {
		t.Fatalf("update with fewer organisations: %v, %d", err, len(shrunk.Orgs))
	}
}

func sameKeys(x, y Credentials) bool {
	return x.Name == y.Name && x.Role == y.Role && x.Org == y.Org && x.Public == y.Public && bytes.Equal(x.Seed, y.Seed)
}

func TestWriteDirLoadDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nats-auth")
	set := generate(t, "a", "b")
	if err := set.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	for path, mode := range map[string]os.FileMode{
		"":                             0o700 | os.ModeDir,
		OrgsDir:                        0o700 | os.ModeDir,
		DaemonSeedFile:                 0o600,
		VendorSeedFile:                 0o600,
		filepath.Join(OrgsDir, "a.nk"): 0o600,
		filepath.Join(OrgsDir, "b.nk"): 0o600,
		ConfigFile:                     0o644,
	} {
		fi, err := os.Stat(filepath.Join(dir, path))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != mode {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), mode)
		}
	}
	conf, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil || string(conf) != set.Config() {
		t.Fatalf("%s: %v\n%s", ConfigFile, err, conf)
	}
	for _, c := range set.All() {
		if bytes.Contains(conf, c.Seed) {
			t.Fatalf("the configuration holds %s's seed", c.Name)
		}
	}

	loaded, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !sameKeys(loaded.Daemon, set.Daemon) || !sameKeys(loaded.Vendor, set.Vendor) || len(loaded.Orgs) != 2 ||
		!sameKeys(loaded.Orgs[0], set.Orgs[0]) || !sameKeys(loaded.Orgs[1], set.Orgs[1]) {
		t.Fatalf("loaded %+v\nwrote %+v", loaded, set)
	}

	// Writing the same set again changes nothing.
	if err := loaded.WriteDir(dir); err != nil {
		t.Fatalf("rewrite the same set: %v", err)
	}
	// Another set's keys are never written over these.
	other := generate(t, "a", "b")
	if err := other.WriteDir(dir); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("write other keys over a directory: %v", err)
	}
	if again, err := LoadDir(dir); err != nil || !sameKeys(again.Daemon, set.Daemon) || !sameKeys(again.Orgs[0], set.Orgs[0]) {
		t.Fatalf("after a refused write: %v", err)
	}

	// A grown registry: load, update, write adds the new organisation only.
	grown, err := loaded.Update(orgs("a", "b", "c"))
	if err != nil {
		t.Fatal(err)
	}
	if err := grown.WriteDir(dir); err != nil {
		t.Fatalf("write the updated set: %v", err)
	}
	reloaded, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(reloaded.Orgs) != 3 || !sameKeys(reloaded.Daemon, set.Daemon) || !sameKeys(mustOrg(t, reloaded, "a"), mustOrg(t, set, "a")) ||
		!sameKeys(mustOrg(t, reloaded, "c"), mustOrg(t, grown, "c")) {
		t.Fatalf("reloaded %+v", reloaded)
	}
	if conf, _ := os.ReadFile(filepath.Join(dir, ConfigFile)); string(conf) != grown.Config() {
		t.Fatal("the configuration was not updated")
	}
	// A set without an organisation whose key is in the directory is refused.
	if err := set.WriteDir(dir); err == nil || !strings.Contains(err.Error(), "does not have") {
		t.Fatalf("write a set lacking organisation c: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, OrgsDir))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Fatalf("temporary file left: %s", e.Name())
		}
	}
}

func TestLoadDirErrors(t *testing.T) {
	if _, err := LoadDir(t.TempDir()); err == nil {
		t.Fatal("loaded an empty directory")
	}
	dir := t.TempDir()
	if err := generate(t, "a").WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, OrgsDir, "b.nk")
	if err := os.WriteFile(bad, []byte("not a seed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "b.nk") {
		t.Fatalf("load a bad seed: %v", err)
	}
	// An account seed is not a user seed.
	akp, _ := nkeys.CreateAccount()
	aseed, _ := akp.Seed()
	if err := os.WriteFile(bad, aseed, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "not a user") {
		t.Fatalf("load an account seed: %v", err)
	}
}

// serverConfig is a complete server configuration including ConfigFile.
func serverConfig(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "server.conf")
	conf := fmt.Sprintf("host: 127.0.0.1\nport: -1\njetstream {\n  store_dir: %q\n}\ninclude ./%s\n", filepath.Join(dir, "js"), ConfigFile)
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigRunsServer(t *testing.T) {
	dir := t.TempDir()
	set := generate(t, "a", "b")
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(set.Config()), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(serverConfig(t, dir))
	if err != nil {
		t.Fatalf("parse:\n%s\n%v", set.Config(), err)
	}
	checkUsers(t, opts, set)
	opts.NoLog, opts.NoSigs = true, true
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(waitFor) {
		t.Fatal("server not ready")
	}
	if nc, err := nats.Connect(srv.ClientURL()); err == nil {
		nc.Close()
		t.Fatal("connected without credentials")
	}
	checkOrgCannotSubscribeToAnother(t, srv.ClientURL(), set)
}

// checkUsers checks that opts (parsed from set.Config()) has exactly the
// set's users, each with its permissions and in its account: the vendor in
// VendorAccount, the others in Account.
func checkUsers(t *testing.T, opts *server.Options, set Set) {
	t.Helper()
	if len(opts.Nkeys) != len(set.All()) || len(opts.Users) != 0 {
		t.Fatalf("%d nkey users, %d users; want the set's %d", len(opts.Nkeys), len(opts.Users), len(set.All()))
	}
	byKey := map[string]Credentials{}
	for _, c := range set.All() {
		byKey[c.Public] = c
	}
	for _, u := range opts.Nkeys {
		c, ok := byKey[u.Nkey]
		if !ok {
			t.Fatalf("user %s is not in the set", u.Nkey)
		}
		delete(byKey, u.Nkey)
		account := Account
		if c.Role == RoleVendor {
			account = VendorAccount
		}
		if u.Account == nil || u.Account.Name != account {
			t.Fatalf("user %s in account %v, want %s", c.Name, u.Account, account)
		}
		if want := c.Permissions(); !samePerms(u.Permissions, want) {
			t.Fatalf("user %s: permissions %+v %+v, want %+v %+v", c.Name, u.Permissions.Publish, u.Permissions.Subscribe, want.Publish, want.Subscribe)
		}
	}
}

func samePerms(x, y *server.Permissions) bool {
	eq := func(a, b *server.SubjectPermission) bool {
		return (a == nil) == (b == nil) && (a == nil || slices.Equal(a.Allow, b.Allow) && slices.Equal(a.Deny, b.Deny))
	}
	return x != nil && y != nil && eq(x.Publish, y.Publish) && eq(x.Subscribe, y.Subscribe)
}

// TestExampleConfig checks deploy/nats-auth/nats-auth.conf: it is what
// Config renders for its own public keys, a server configuration by itself,
// and included in the cluster configurations. -update regenerates it.
func TestExampleConfig(t *testing.T) {
	example := filepath.Join("..", "..", "deploy", "nats-auth", ConfigFile)
	if testkit.Update() {
		set := generate(t, "se-kommun-0180", "se-kommun-1480", "se-kommun-1280")
		if err := os.WriteFile(example, []byte(set.Config()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	set := publicOnly(t, string(data))
	if len(set.Orgs) != 3 {
		t.Fatalf("%d organisations in the example", len(set.Orgs))
	}
	if set.Config() != string(data) {
		t.Fatalf("%s is not what Config renders; regenerate it with go test ./internal/natsauth -run TestExampleConfig -update", example)
	}
	if _, err := server.ProcessConfigFile(example); err != nil {
		t.Fatalf("%s by itself: %v", example, err)
	}
	for _, node := range []string{"n1", "n2", "n3"} {
		cluster, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nats-cluster", node+".conf"))
		if err != nil {
			t.Fatal(err)
		}
		// The node's includes in place: this example (set.Config() is
		// data, checked above) and a route-auth.conf.
		opts, err := server.ProcessConfigFile(materialize(t, t.TempDir(), node+".conf", string(cluster), set))
		if err != nil {
			t.Fatalf("%s with the example included: %v", node, err)
		}
		if len(opts.Nkeys) != 5 || len(opts.Routes) != 3 || len(opts.Accounts) != 2 {
			t.Fatalf("%s: %d users, %d routes", node, len(opts.Nkeys), len(opts.Routes))
		}
	}
}

// publicOnly rebuilds a set, without seeds, from a rendered configuration.
func publicOnly(t *testing.T, conf string) Set {
	t.Helper()
	re := regexp.MustCompile(`(?m)^      # (\S+) \((\w+)\)\n      \{\n        nkey: (U[A-Z0-9]+)$`)
	var s Set
	for _, m := range re.FindAllStringSubmatch(conf, -1) {
		c := Credentials{Name: m[1], Role: m[2], Public: m[3]}
		switch c.Role {
		case RoleDaemon:
			s.Daemon = c
		case RoleVendor:
			s.Vendor = c
		default:
			c.Org = breach.OrgID(strings.TrimPrefix(c.Name, orgPrefix))
			s.Orgs = append(s.Orgs, c)
		}
	}
	if err := s.validate(); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestVendorRepliesStayInItsAccount: whatever reply subject the vendor
// names on a request it may make, the answer never appears in Account (where
// Cascade's streams would store it); it reaches the vendor on that subject
// in its own account.
func TestVendorRepliesStayInItsAccount(t *testing.T) {
	set := generate(t, "a")
	srv := startServer(t, set)
	daemon := connect(t, srv.ClientURL(), set.Daemon)
	vendor := connect(t, srv.ClientURL(), set.Vendor)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	djs, err := jetstream.New(daemon.Conn)
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []jetstream.StreamConfig{
		{Name: streamIntake, Subjects: []string{subjectReport, subjectUpdate}},
		{Name: streamRejected, Subjects: []string{subjectRejected}},
	} {
		if _, err := djs.CreateStream(ctx, cfg); err != nil {
			t.Fatal(err)
		}
	}
	all := daemon.subscribe(">")
	targets := []string{"$KV.cascade-orgs.a", "$KV.cascade-keys.active", "cascade.ledger.notice.B1.a", "cascade.notice.a", "_INBOX.x"}
	requests := []struct{ subject, data string }{
		{subjectReport, `{"id":"B1"}`},
		{jsAPI + "STREAM.INFO." + streamIntake, ""},
		{jsAPI + "STREAM.MSG.GET." + streamIntake, `{"seq":1}`},
		{jsAPI + "CONSUMER.CREATE." + streamRejected + ".x", `{"stream_name":"CASCADE_REJECTED","config":{"name":"x","ack_policy":"none"}}`},
		{jsAPI + "CONSUMER.MSG.NEXT." + streamRejected + ".x", `{"batch":1,"no_wait":true}`},
	}
	own := set.Vendor.InboxPrefix() + ".own"
	got := vendor.subscribe(own)
	for _, target := range append(targets, own) {
		for _, r := range requests {
			if err := vendor.PublishRequest(r.subject, target, []byte(r.data)); err != nil {
				t.Fatal(err)
			}
			// Answers reach the vendor, in its account, on the subject
			// it named.
			if target == own {
				next(t, got)
			}
		}
	}
	if err := vendor.Flush(); err != nil {
		t.Fatal(err)
	}
	// The vendor's own requests arrive in Account on their subjects (the
	// report is stored); nothing else does, in particular no answer.
	want := map[string]bool{}
	for _, r := range requests {
		want[r.subject] = true
	}
	st, err := djs.Stream(ctx, streamIntake)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, waitFor, func() error {
		if n := st.CachedInfo().State.Msgs; n < uint64(len(targets)+1) {
			st, _ = djs.Stream(ctx, streamIntake)
			return fmt.Errorf("%d reports stored", n)
		}
		return nil
	})
	if err := daemon.Flush(); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := all.NextMsg(0)
		if err != nil {
			break
		}
		if !want[m.Subject] && !strings.HasPrefix(m.Subject, "_R_.") && !strings.HasPrefix(m.Subject, "$JS.EVENT.") &&
			!strings.HasPrefix(m.Subject, "$JS.API.") && !strings.HasPrefix(m.Subject, "_INBOX."+set.Daemon.Public) {
			t.Fatalf("the daemon's account received %q on %s (reply %q)", m.Data, m.Subject, m.Reply)
		}
		if slices.Contains(targets, m.Subject) {
			t.Fatalf("an answer reached %s in the daemon's account", m.Subject)
		}
	}
}
