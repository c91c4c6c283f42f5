package natsauth

// Tests of the NATS server configurations in deploy/: every one requires
// authentication, for clients and for routes, and a cluster started from
// deploy/nats-cluster lets only the daemon's user write Cascade's streams
// and buckets.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/store"
	"github.com/cascadehq/cascade/internal/testkit"
)

var deployDir = filepath.Join("..", "..", "deploy")

// routeAuthFile is the file every cluster configuration in deploy/
// includes inside cluster {}: the routes' user and password and the routes
// with it, as deploy/nats-auth/route-auth.sh prints it.
const (
	routeAuthFile = "route-auth.conf"
	routeUser     = "cascade-route"
)

var (
	includeRe   = regexp.MustCompile(`(?m)^\s*include\s+"?([^"\s;]+)"?`)
	routeAuthRe = regexp.MustCompile(`route-auth\.sh ([^>\n]+)>`)
)

// routeAuth runs deploy/nats-auth/route-auth.sh as the comment in conf
// tells to.
func routeAuth(t *testing.T, name, conf string) string {
	t.Helper()
	m := routeAuthRe.FindStringSubmatch(conf)
	if m == nil {
		t.Fatalf("%s includes %s but does not say how to create it (route-auth.sh HOST:PORT... >)", name, routeAuthFile)
	}
	cmd := exec.Command("sh", append([]string{filepath.Join(deployDir, "nats-auth", "route-auth.sh")}, strings.Fields(m[1])...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("route-auth.sh %s: %v", m[1], err)
	}
	return string(out)
}

// materialize writes conf as dir/name together with every file it
// includes: the set's ConfigFile and route-auth.conf. An include of any
// other file fails the test, so that a new one is checked here too.
func materialize(t *testing.T, dir, name, conf string, set Set) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, m := range includeRe.FindAllStringSubmatch(conf, -1) {
		inc := filepath.Join(filepath.Dir(path), m[1])
		var data string
		switch filepath.Base(inc) {
		case ConfigFile:
			data = set.Config()
		case routeAuthFile:
			data = routeAuth(t, name, conf)
		default:
			t.Fatalf("%s includes %s: not a file this test knows", name, m[1])
		}
		if err := os.MkdirAll(filepath.Dir(inc), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(inc, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// deployConfigs are every nats-server configuration in deploy/, by name:
// the *.conf files and the configuration in the ConfigMap of
// k8s/nats.yaml.
func deployConfigs(t *testing.T) map[string]string {
	t.Helper()
	confs := map[string]string{}
	err := filepath.WalkDir(deployDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".conf") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(deployDir, path)
		confs[rel] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	k8s, err := os.ReadFile(filepath.Join(deployDir, "k8s", "nats.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	conf, ok := yamlBlock(string(k8s), "nats-server.conf")
	if !ok {
		t.Fatal("k8s/nats.yaml: no nats-server.conf in a ConfigMap")
	}
	// Mounted as /etc/nats/config/nats-server.conf.
	confs[filepath.Join("k8s", "config", "nats-server.conf")] = conf
	for _, want := range []string{"nats-cluster/n1.conf", "compose/nats-n1.conf", "nats-auth/nats-auth.conf"} {
		if _, ok := confs[filepath.FromSlash(want)]; !ok {
			t.Fatalf("no %s in deploy/", want)
		}
	}
	return confs
}

// yamlBlock is the content of the literal block scalar `key: |` in a
// YAML document, de-indented.
func yamlBlock(doc, key string) (string, bool) {
	lines := strings.Split(doc, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != key+": |" {
			continue
		}
		indent := -1
		var b strings.Builder
		for _, body := range lines[i+1:] {
			if strings.TrimSpace(body) == "" {
				b.WriteString("\n")
				continue
			}
			n := len(body) - len(strings.TrimLeft(body, " "))
			if indent < 0 {
				indent = n
			}
			if n < indent {
				break
			}
			b.WriteString(body[indent:] + "\n")
		}
		return b.String(), indent > 0
	}
	return "", false
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// TestDeployConfigsRequireAuth: every nats-server configuration in
// deploy/, parsed by the server's own parser with its includes in place,
// admits only the generated NKey users, authenticates its routes, keeps
// its monitoring port on loopback and opens no other port; without the
// included files it does not parse (the server would not start, rather
// than start open).
func TestDeployConfigsRequireAuth(t *testing.T) {
	set := generate(t, "a", "b")
	t.Setenv("SERVER_NAME", "nats-0") // k8s: the pod name
	for name, conf := range deployConfigs(t) {
		t.Run(name, func(t *testing.T) {
			want := set
			if filepath.Base(name) == ConfigFile { // the example itself: its own users
				want = publicOnly(t, conf)
			}
			path := materialize(t, t.TempDir(), name, conf, set)
			opts, err := server.ProcessConfigFile(path)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if opts.Authorization != "" || opts.NoAuthUser != "" || len(opts.TrustedOperators) != 0 || len(opts.Accounts) != 2 {
				t.Fatalf("clients: token %t, no_auth_user %q, %d operators, %d accounts (want %s and %s)",
					opts.Authorization != "", opts.NoAuthUser, len(opts.TrustedOperators), len(opts.Accounts), Account, VendorAccount)
			}
			checkUsers(t, opts, want)
			if opts.Cluster.Port != 0 || len(opts.Routes) != 0 {
				if opts.Cluster.Username != routeUser || len(opts.Cluster.Password) != 64 {
					t.Fatalf("cluster port %d: route user %q, a password of %d characters: routes are not authenticated",
						opts.Cluster.Port, opts.Cluster.Username, len(opts.Cluster.Password))
				}
				for _, r := range opts.Routes {
					if pass, _ := r.User.Password(); r.User == nil || r.User.Username() != routeUser || pass != opts.Cluster.Password {
						t.Fatalf("route %s does not present the routes' credentials", r.Redacted())
					}
				}
				if len(opts.Routes) != 3 || !opts.JetStream || !opts.SyncAlways {
					t.Fatalf("%d routes, JetStream %t, sync always %t", len(opts.Routes), opts.JetStream, opts.SyncAlways)
				}
			}
			if opts.HTTPPort != 0 && !isLoopback(opts.HTTPHost) || opts.HTTPSPort != 0 {
				t.Fatalf("monitoring on %s:%d (https %d): it has no authentication, keep it on loopback", opts.HTTPHost, opts.HTTPPort, opts.HTTPSPort)
			}
			if opts.LeafNode.Port != 0 || opts.Gateway.Port != 0 || opts.Websocket.Port != 0 || opts.MQTT.Port != 0 {
				t.Fatalf("other listeners: leafnode %d, gateway %d, websocket %d, mqtt %d", opts.LeafNode.Port, opts.Gateway.Port, opts.Websocket.Port, opts.MQTT.Port)
			}

			// Fail closed: without the included files there is no server.
			for _, m := range includeRe.FindAllStringSubmatch(conf, -1) {
				bare := filepath.Join(t.TempDir(), name)
				if err := os.MkdirAll(filepath.Dir(bare), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(bare, []byte(conf), 0o600); err != nil {
					t.Fatal(err)
				}
				if _, err := server.ProcessConfigFile(bare); err == nil {
					t.Fatalf("parsed without %s", m[1])
				}
				break
			}
		})
	}
}

// startDeployCluster runs the three nodes of deploy/nats-cluster in
// process with set's users and route password: the files as they are,
// but for free ports instead of 42xx, 62xx and 82xx and a temporary store.
func startDeployCluster(t *testing.T, set Set) (urls string, routeAddrs []string) {
	t.Helper()
	dir := t.TempDir()
	ports := map[string]int{}
	portRe := regexp.MustCompile(`127\.0\.0\.1:([468]22[1-3])\b`)
	free := func(old string) int {
		if p, ok := ports[old]; ok {
			return p
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports[old] = l.Addr().(*net.TCPAddr).Port
		return ports[old]
	}
	storeRe := regexp.MustCompile(`(?m)^(\s*store_dir:\s*)"\./nats-data/(n\d)"`)
	var paths []string
	for _, node := range []string{"n1", "n2", "n3"} {
		data, err := os.ReadFile(filepath.Join(deployDir, "nats-cluster", node+".conf"))
		if err != nil {
			t.Fatal(err)
		}
		conf := portRe.ReplaceAllStringFunc(string(data), func(s string) string {
			return "127.0.0.1:" + strconv.Itoa(free(strings.TrimPrefix(s, "127.0.0.1:")))
		})
		if !storeRe.MatchString(conf) {
			t.Fatalf("%s: no store_dir \"./nats-data/%s\"", node, node)
		}
		conf = storeRe.ReplaceAllString(conf, fmt.Sprintf("${1}%q", filepath.Join(dir, "nats-data", node)))
		// The nodes share dir, so each writes route-auth.conf anew; all
		// are parsed after the last, with one password.
		paths = append(paths, materialize(t, dir, node+".conf", conf, set))
	}
	if len(ports) != 9 {
		t.Fatalf("deploy/nats-cluster uses %d of the ports 4221-4223, 6221-6223, 8221-8223", len(ports))
	}
	var servers []*server.Server
	for i, path := range paths {
		opts, err := server.ProcessConfigFile(path)
		if err != nil {
			t.Fatal(err)
		}
		opts.NoLog, opts.NoSigs = true, true
		srv, err := server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		go srv.Start()
		t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
		if !srv.ReadyForConnections(30 * time.Second) {
			t.Fatalf("node %d not ready", i+1)
		}
		servers = append(servers, srv)
		routeAddrs = append(routeAddrs, fmt.Sprintf("127.0.0.1:%d", ports["622"+strconv.Itoa(i+1)]))
	}
	var us []string
	for _, srv := range servers {
		us = append(us, srv.ClientURL())
	}
	return strings.Join(us, ","), routeAddrs
}

// routeConnect connects to a route port as a server would, with the given
// credentials, and returns the server's first answer to CONNECT and PING.
func routeConnect(t *testing.T, addr, user, pass string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	info, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(info, "INFO ") {
		t.Fatalf("route port %s: %q, %v", addr, info, err)
	}
	connect := fmt.Sprintf(`CONNECT {"verbose":false,"pedantic":false,"user":%q,"pass":%q,"name":"intruder","cluster":"cascade","headers":true}`+"\r\nPING\r\n", user, pass)
	if _, err := conn.Write([]byte(connect)); err != nil {
		t.Fatal(err)
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return "closed: " + err.Error()
		}
		if line = strings.TrimSpace(line); !strings.HasPrefix(line, "INFO ") {
			return line
		}
	}
}

// streamStates are the message counts and last sequences of every stream.
func streamStates(t *testing.T, ctx context.Context, js jetstream.JetStream) map[string]jetstream.StreamState {
	t.Helper()
	states := map[string]jetstream.StreamState{}
	names := js.StreamNames(ctx)
	for name := range names.Name() {
		st, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		states[name] = st.CachedInfo().State
	}
	if err := names.Err(); err != nil {
		t.Fatal(err)
	}
	return states
}

// TestDeployClusterPermissions starts deploy/nats-cluster (3 nodes, the
// generated users included, routes authenticated) and checks that only
// the daemon's user may write Cascade's streams and buckets: anonymous
// clients and routes without the password are refused; the vendor may
// publish a breach report but not write a KV bucket, a notice, the ledger
// or a timer, nor purge, delete or change a stream or the daemons'
// consumer; an organisation may write nothing; the daemon may do all of it.
func TestDeployClusterPermissions(t *testing.T) {
	set := generate(t, "a", "b")
	urls, routeAddrs := startDeployCluster(t, set)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// Nobody without credentials: clients, and servers joining as routes.
	if nc, err := nats.Connect(urls); err == nil {
		nc.Close()
		t.Fatal("connected to the cluster without credentials")
	} else if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("anonymous connect: %v, want %v", err, nats.ErrAuthorization)
	}
	if nc, err := nats.Connect(urls, UserOption(generate(t, "a").Daemon.Seed)); err == nil {
		nc.Close()
		t.Fatal("connected with a key the cluster does not know")
	}
	for _, c := range []struct{ user, pass string }{{"", ""}, {routeUser, ""}, {routeUser, "wrong"}, {routeUser, strings.Repeat("0", 64)}} {
		if got := routeConnect(t, routeAddrs[0], c.user, c.pass); got != "-ERR 'Authorization Violation'" {
			t.Fatalf("route connect as %q/%q: %q, want the authorization violation", c.user, c.pass, got)
		}
	}

	// The daemon creates Cascade's streams and buckets, R3, as cascaded does.
	daemon := connect(t, urls, set.Daemon)
	djs, err := jetstream.New(daemon.Conn)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 60*time.Second, func() error {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := djs.AccountInfo(c)
		return err
	})
	st, err := store.Open(ctx, daemon.Conn, store.Config{Replicas: 3}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("the daemon creates the streams: %v", err)
	}
	if _, err := st.JetStream().Publish(ctx, "cascade.breach.rejected", []byte("a rejection")); err != nil {
		t.Fatal(err)
	}
	before := streamStates(t, ctx, djs)
	for _, want := range []string{store.StreamIntake, store.StreamNotices, store.StreamLedger, store.StreamTimers, "KV_" + store.BucketOrgs, "KV_" + store.BucketBreaches} {
		if _, ok := before[want]; !ok {
			t.Fatalf("no stream %s: %v", want, slices.Collect(func(yield func(string) bool) {
				for n := range before {
					if !yield(n) {
						return
					}
				}
			}))
		}
	}

	vendor := connect(t, urls, set.Vendor)
	org := connect(t, urls, mustOrg(t, set, "a"))
	forged := []string{
		"$KV." + store.BucketOrgs + ".a", "$KV." + store.BucketBreaches + ".B1", "$KV.cascade-tokens.x",
		"cascade.notice.a", "cascade.ledger.notice.B1.a", "cascade.timer.at.B1.0", "cascade.events.B1._reminder",
		"cascade.breach.rejected", "$JS.ACK.CASCADE_INTAKE.cascade-intake.1.1.1.1.0",
	}
	api := []string{
		"STREAM.PURGE." + store.StreamLedger, "STREAM.PURGE.KV_" + store.BucketOrgs, "STREAM.PURGE." + store.StreamIntake,
		"STREAM.DELETE." + store.StreamNotices, "STREAM.UPDATE." + store.StreamIntake, "STREAM.MSG.DELETE." + store.StreamIntake,
		"STREAM.CREATE.FORGED", "CONSUMER.DELETE." + store.StreamIntake + ".cascade-intake",
		"CONSUMER.CREATE." + store.StreamIntake, "DIRECT.GET.KV_" + store.BucketOrgs, "STREAM.MSG.GET." + store.StreamNotices,
	}
	for _, subj := range forged {
		vendor.publish(subj, "forged")
		vendor.awaitViolation(fmt.Sprintf("Permissions Violation for Publish to %q", subj))
		org.publish(subj, "forged")
		org.awaitViolation(fmt.Sprintf("Permissions Violation for Publish to %q", subj))
	}
	for _, req := range api {
		subj := "$JS.API." + req
		if _, err := vendor.Request(subj, []byte(`{}`), 200*time.Millisecond); err == nil {
			t.Fatalf("the vendor's %s was answered", subj)
		}
		vendor.awaitViolation(fmt.Sprintf("Permissions Violation for Publish to %q", subj))
	}
	// What the vendor may do: report a breach (stored, acknowledged).
	vjs, err := jetstream.New(vendor.Conn)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := vjs.Publish(ctx, "cascade.breach.report", []byte(`{"id":"B1"}`), jetstream.WithExpectStream(store.StreamIntake))
	if err != nil {
		t.Fatalf("the vendor reports a breach: %v", err)
	}
	after := streamStates(t, ctx, djs)
	for name, was := range before {
		now := after[name]
		want := was.Msgs
		if name == store.StreamIntake {
			want++
			if now.LastSeq != ack.Sequence {
				t.Fatalf("%s: last sequence %d, the vendor's PubAck %d", name, now.LastSeq, ack.Sequence)
			}
		}
		if now.Msgs != want || now.LastSeq-was.LastSeq != want-was.Msgs {
			t.Fatalf("%s: %d messages (last %d) before the vendor's and the organisation's attempts, %d (last %d) after",
				name, was.Msgs, was.LastSeq, now.Msgs, now.LastSeq)
		}
	}
	if len(after) != len(before) {
		t.Fatalf("streams before %d, after %d", len(before), len(after))
	}

	// The daemon may: a registry entry, a notice, a ledger entry, a purge.
	orgs, err := djs.KeyValue(ctx, store.BucketOrgs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := orgs.Put(ctx, "a", []byte(`{"id":"a"}`)); err != nil {
		t.Fatalf("the daemon writes %s: %v", store.BucketOrgs, err)
	}
	for _, subj := range []string{"cascade.notice.a", "cascade.ledger.notice.B1.a"} {
		if _, err := djs.Publish(ctx, subj, []byte("by the daemon")); err != nil {
			t.Fatalf("the daemon publishes %s: %v", subj, err)
		}
	}
	rejected, err := djs.Stream(ctx, store.StreamRejected)
	if err != nil {
		t.Fatal(err)
	}
	if err := rejected.Purge(ctx); err != nil {
		t.Fatalf("the daemon purges %s: %v", store.StreamRejected, err)
	}
	final := streamStates(t, ctx, djs)
	if final["KV_"+store.BucketOrgs].Msgs != after["KV_"+store.BucketOrgs].Msgs+1 || final[store.StreamNotices].Msgs != after[store.StreamNotices].Msgs+1 ||
		final[store.StreamLedger].Msgs != after[store.StreamLedger].Msgs+1 || final[store.StreamRejected].Msgs != 0 {
		t.Fatalf("after the daemon's writes: %+v", final)
	}
}

// yamlDocs are the documents of a YAML stream, by kind and name.
func yamlDocs(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kindRe := regexp.MustCompile(`(?m)^kind:\s*(\S+)`)
	nameRe := regexp.MustCompile(`(?m)^metadata:\n(?:\s+.*\n)*?  name:\s*(\S+)`)
	docs := map[string]string{}
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		k, n := kindRe.FindStringSubmatch(doc), nameRe.FindStringSubmatch(doc)
		if k == nil || n == nil {
			continue
		}
		docs[k[1]+"/"+n[1]] = doc
	}
	return docs
}

// yamlItems are the items of the block list under the first line
// `key:` in doc (each with its continuation lines), or nil.
func yamlItems(doc, key string) []string {
	lines := strings.Split(doc, "\n")
	for i, l := range lines {
		indent := len(l) - len(strings.TrimLeft(l, " "))
		k := strings.TrimSpace(l)
		if rest, ok := strings.CutPrefix(k, "- "); ok { // the first key of a list item
			k, indent = rest, indent+2
		}
		if k != key+":" {
			continue
		}
		var items []string
		for _, body := range lines[i+1:] {
			trimmed := strings.TrimLeft(body, " ")
			n := len(body) - len(trimmed)
			if trimmed == "" || strings.HasPrefix(trimmed, "#") {
				continue
			}
			if n < indent || n == indent && !strings.HasPrefix(trimmed, "- ") {
				break
			}
			if strings.HasPrefix(trimmed, "- ") && (len(items) == 0 || n == itemIndent(items[0])) {
				items = append(items, body)
				continue
			}
			if len(items) == 0 {
				break
			}
			items[len(items)-1] += "\n" + body
		}
		return items
	}
	return nil
}

func itemIndent(item string) int { return len(item) - len(strings.TrimLeft(item, " ")) }

// TestDeployManifests: deploy/k8s exposes NATS on no NodePort or
// LoadBalancer, not on a host port, its monitoring port not at all, and has
// a NetworkPolicy that admits NATS clients only from the cascaded pods and
// the vendor's namespace and routes only from the NATS pods; the NATS pods
// take their users and route password from Secrets and cascaded its NATS
// user and deployment secret. deploy/compose publishes only on loopback,
// never a route or monitoring port, and gives the seeds to cascaded only.
func TestDeployManifests(t *testing.T) {
	k8s := filepath.Join(deployDir, "k8s")
	kust, err := os.ReadFile(filepath.Join(k8s, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{}
	for _, item := range yamlItems(string(kust), "resources") {
		for k, v := range yamlDocs(t, filepath.Join(k8s, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(item), "- ")))) {
			docs[k] = v
		}
	}
	natsPorts := regexp.MustCompile(`(?m)^\s*(?:- )?(?:port|targetPort|containerPort|nodePort|hostPort):\s*(4222|6222|8222)\b`)
	for name, doc := range docs {
		if strings.Contains(doc, "hostNetwork: true") || strings.Contains(doc, "hostPort:") {
			t.Errorf("%s uses the host's network or ports", name)
		}
		if !strings.HasPrefix(name, "Service/") {
			continue
		}
		exposed := strings.Contains(doc, "type: NodePort") || strings.Contains(doc, "type: LoadBalancer") ||
			strings.Contains(doc, "nodePort:") || strings.Contains(doc, "externalIPs:") || strings.Contains(doc, "loadBalancer")
		if exposed && (natsPorts.MatchString(doc) || strings.Contains(doc, "app.kubernetes.io/name: nats")) {
			t.Errorf("%s exposes NATS outside the cluster", name)
		}
	}
	svc, ok := docs["Service/nats"]
	if !ok || !strings.Contains(svc, "clusterIP: None") || strings.Contains(svc, "8222") {
		t.Errorf("Service/nats: want headless, without the monitoring port:\n%s", svc)
	}
	sts := docs["StatefulSet/nats"]
	for _, want := range []string{"secretName: nats-auth", "secretName: nats-route", "http://127.0.0.1:8222/healthz"} {
		if !strings.Contains(sts, want) {
			t.Errorf("StatefulSet/nats has no %q", want)
		}
	}
	if strings.Contains(sts, "containerPort: 8222") || strings.Contains(sts, "port: monitor") {
		t.Error("StatefulSet/nats exposes its monitoring port")
	}
	dep := docs["Deployment/cascaded"]
	for _, want := range []string{"- --nats-auth", "secretName: cascade-nats-daemon", "name: CASCADE_SECRET_FILE", "secretName: cascade-secret"} {
		if !strings.Contains(dep, want) {
			t.Errorf("Deployment/cascaded has no %q", want)
		}
	}

	np, ok := docs["NetworkPolicy/nats"]
	if !ok {
		t.Fatal("no NetworkPolicy/nats in deploy/k8s")
	}
	if sel := yamlItems(np, "policyTypes"); !slices.ContainsFunc(sel, func(s string) bool { return strings.TrimSpace(s) == "- Ingress" }) ||
		!regexp.MustCompile(`(?m)^  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: nats$`).MatchString(np) {
		t.Fatalf("NetworkPolicy/nats does not restrict ingress to the NATS pods:\n%s", np)
	}
	rules := yamlItems(np, "ingress")
	if len(rules) != 2 {
		t.Fatalf("NetworkPolicy/nats: %d ingress rules, want 2 (clients, routes):\n%s", len(rules), np)
	}
	for _, rule := range rules {
		from, ports := yamlItems(rule, "from"), yamlItems(rule, "ports")
		if len(from) == 0 || len(ports) != 1 {
			t.Fatalf("NetworkPolicy/nats: a rule admits every source or port:\n%s", rule)
		}
		switch port := regexp.MustCompile(`port:\s*(\d+)`).FindStringSubmatch(ports[0]); {
		case port != nil && port[1] == "4222":
			if len(from) != 2 || !strings.Contains(from[0], "app.kubernetes.io/name: cascaded") || strings.Contains(from[0], "namespaceSelector") ||
				!strings.Contains(from[1], "namespaceSelector:") || !strings.Contains(from[1], "kubernetes.io/metadata.name: cascade-vendor") {
				t.Fatalf("NetworkPolicy/nats: clients not only from the cascaded pods and the vendor's namespace:\n%s", rule)
			}
		case port != nil && port[1] == "6222":
			if len(from) != 1 || !strings.Contains(from[0], "app.kubernetes.io/name: nats") || strings.Contains(from[0], "namespaceSelector") {
				t.Fatalf("NetworkPolicy/nats: routes not only from the NATS pods:\n%s", rule)
			}
		default:
			t.Fatalf("NetworkPolicy/nats admits another port:\n%s", rule)
		}
	}

	compose, err := os.ReadFile(filepath.Join(deployDir, "compose", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	services := yamlItemsMap(string(compose), "services")
	if len(services) < 6 {
		t.Fatalf("compose.yaml: services %v", slices.Sorted(func(yield func(string) bool) {
			for k := range services {
				if !yield(k) {
					return
				}
			}
		}))
	}
	published := regexp.MustCompile(`^\s*- "?([^":]*):(\d+):(\d+)"?\s*$`)
	for name, svc := range services {
		for _, p := range yamlItems(svc, "ports") {
			m := published.FindStringSubmatch(p)
			if m == nil || !isLoopback(m[1]) || m[3] == "6222" || m[3] == "8222" {
				t.Errorf("compose %s publishes %s: only loopback, never a route or monitoring port", name, strings.TrimSpace(p))
			}
		}
		switch {
		case strings.HasPrefix(name, "nats-"):
			if !strings.Contains(svc, "nats-conf:/etc/nats/auth:ro") || strings.Contains(svc, "nats-auth:") || strings.Contains(svc, "secret:") {
				t.Errorf("compose %s: want the nats-conf volume and no seeds:\n%s", name, svc)
			}
		case strings.HasPrefix(name, "cascaded-"):
			for _, want := range []string{"<<: *cascaded", "condition: service_completed_successfully"} {
				if !strings.Contains(svc, want) {
					t.Errorf("compose %s has no %q", name, want)
				}
			}
		}
	}
	for _, want := range []string{"- --nats-auth\n    - /nats-auth/users", "CASCADE_SECRET_FILE: /secret/secret.key", "- nats-auth:/nats-auth:ro"} {
		if !strings.Contains(string(compose), want) {
			t.Errorf("compose.yaml: cascaded has no %q", want)
		}
	}
}

// yamlItemsMap are the entries of the block mapping under the top-level
// key in doc, by key (each with its body).
func yamlItemsMap(doc, key string) map[string]string {
	out := map[string]string{}
	_, body, ok := strings.Cut(doc, "\n"+key+":\n")
	if !ok {
		return out
	}
	var cur string
	for _, l := range strings.Split(body, "\n") {
		switch {
		case l != "" && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "#"):
			return out
		case strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "   ") && strings.HasSuffix(l, ":") && !strings.HasPrefix(strings.TrimSpace(l), "#"):
			cur = strings.TrimSuffix(strings.TrimSpace(l), ":")
			out[cur] = ""
		case cur != "":
			out[cur] += l + "\n"
		}
	}
	return out
}
