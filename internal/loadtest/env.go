package loadtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/natsauth"
	"github.com/cascadehq/cascade/internal/registry"
	"github.com/cascadehq/cascade/internal/secret"
	"github.com/cascadehq/cascade/internal/store"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// runner holds what the scenarios share: the configuration, the report,
// a temporary directory and the progress output.
type runner struct {
	cfg      Config
	rep      *Report
	tmp      string
	progress io.Writer
	start    time.Time
	log      *slog.Logger

	mu            sync.Mutex
	registries    map[int]string // registry CSVs by size
	templates     map[int]string // stopped daemons' data dirs holding only a registry, by size
	registryLoads []registryLoad
	live          []*instance // daemons not yet stopped, stopped at the end
	serial        int
	blockRate     int       // block profile rate (--blockprofile), 0: off
	big           *bigStore // the restart/timers store in use
	storeRates    []float64 // notices/s of each big store created
	clientPID     int       // the last client process started
}

// afterServerStart sets the block profile rate again: an embedded
// nats-server sets it to its own option (0) when it starts.
func (r *runner) afterServerStart() {
	if r.blockRate > 0 {
		runtime.SetBlockProfileRate(r.blockRate)
	}
}

// progressf prints one progress line to stderr.
func (r *runner) progressf(format string, args ...any) {
	fmt.Fprintf(r.progress, "[cascade-load %6.1fs] %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

// ticker says when to print the next progress line of a long step.
type ticker struct{ next time.Time }

func (t *ticker) due() bool {
	now := time.Now()
	if t.next.IsZero() {
		t.next = now.Add(5 * time.Second)
		return false
	}
	if now.Before(t.next) {
		return false
	}
	t.next = now.Add(5 * time.Second)
	return true
}

// registry writes (once) a registry CSV of n organisations org-000000.. and returns its path.
func (r *runner) registry(n int) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.registries[n]; ok {
		return p, nil
	}
	p := filepath.Join(r.tmp, fmt.Sprintf("orgs-%d.csv", n))
	f, err := os.Create(p)
	if err != nil {
		return "", err
	}
	w := bufio.NewWriter(f)
	w.WriteString("id,name\n")
	for i := range n {
		fmt.Fprintf(w, "%s,Organisation %d\n", orgID(i), i)
	}
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		return "", err
	}
	r.registries[n] = p
	return p, nil
}

func orgID(i int) string { return fmt.Sprintf("org-%06d", i) }

// instance is one running daemon with clients for both of its interfaces.
type instance struct {
	r    *runner
	name string
	opts daemon.Options
	d    *daemon.Daemon
	nc   *nats.Conn
	js   jetstream.JetStream
	cc   *grpc.ClientConn
	bc   cascadev1.BreachServiceClient
	ncl  cascadev1.NoticeServiceClient
	tc   cascadev1.TokenServiceClient
	// token is the first vendor token, with which the tool calls an
	// authenticating daemon (empty with --insecure-no-auth).
	token string
}

// external reports whether the daemons run against an external NATS server.
func (r *runner) external() bool { return r.cfg.NATSURL != "" }

// baseOptions: an embedded daemon on loopback ports in its own data dir,
// authentication off, the durable default (fsync on every write),
// redelivery off (so no background redeliveries during long runs).
func (r *runner) baseOptions(name string) (daemon.Options, error) {
	r.mu.Lock()
	r.serial++
	dir := filepath.Join(r.tmp, fmt.Sprintf("%s-%d", name, r.serial))
	r.mu.Unlock()
	o := daemon.Options{
		DataDir:        dir,
		NATSURL:        r.cfg.NATSURL,
		NATSListen:     "127.0.0.1:-1",
		GRPCAddr:       "127.0.0.1:0",
		Deadline:       daemon.DefaultDeadline,
		Redeliver:      []time.Duration{},
		InsecureNoAuth: true,
		SyncInterval:   r.cfg.DaemonSyncInterval,
		Log:            r.log,
	}
	if r.external() {
		// An external server of this tool is on loopback (Config.validate)
		// and admits the tool without credentials.
		o.InsecureNATSNoAuth = true
		// Every daemon on the external server shares one deployment secret.
		o.DataDir, o.SecretFile = "", filepath.Join(r.tmp, "secret.key")
		if _, err := secret.Load(o.SecretFile, true); err != nil {
			return daemon.Options{}, err
		}
	}
	return o, nil
}

// startFresh starts a daemon on an empty store holding a registry of
// orgs organisations (org-000000...): a new data dir, or with an external
// server, after deleting Cascade's streams (the previous daemon must be
// stopped). The registry is not loaded by daemon.Start (which allows 30
// seconds for it) but with the daemon's own code (registry.LoadFile,
// store.PutOrgs) from the tool's connection; with the embedded server
// the loaded store is kept as a template and copied for later starts.
func (r *runner) startFresh(ctx context.Context, name string, orgs int, mod func(*daemon.Options)) (*instance, error) {
	o, err := r.baseOptions(name)
	if err != nil {
		return nil, err
	}
	if mod != nil {
		mod(&o)
	}
	if r.external() {
		if err := r.wipeExternal(ctx); err != nil {
			return nil, err
		}
		in, err := r.startInstance(ctx, name, o)
		if err != nil {
			return nil, err
		}
		if err := r.loadRegistry(ctx, in, orgs); err != nil {
			in.stop()
			return nil, err
		}
		return in, nil
	}
	if orgs > 0 {
		tmpl, err := r.template(ctx, orgs)
		if err != nil {
			return nil, err
		}
		if err := copyDir(tmpl, o.DataDir); err != nil {
			return nil, fmt.Errorf("copy the registry template: %w", err)
		}
	}
	return r.startInstance(ctx, name, o)
}

// template returns (creating it once) a stopped daemon's data dir that
// holds a registry of n organisations and nothing else.
func (r *runner) template(ctx context.Context, n int) (string, error) {
	r.mu.Lock()
	dir, ok := r.templates[n]
	r.mu.Unlock()
	if ok {
		return dir, nil
	}
	o, err := r.baseOptions(fmt.Sprintf("template-%d", n))
	if err != nil {
		return "", err
	}
	in, err := r.startInstance(ctx, "template", o)
	if err != nil {
		return "", err
	}
	err = r.loadRegistry(ctx, in, n)
	in.stop()
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	r.templates[n] = o.DataDir
	r.mu.Unlock()
	return o.DataDir, nil
}

// loadRegistry upserts organisations 0..n-1 into the running daemon's
// registry bucket, as daemon.Start does with --orgs, and reports the rate.
func (r *runner) loadRegistry(ctx context.Context, in *instance, n int) error {
	if n <= 0 {
		return nil
	}
	path, err := r.registry(n)
	if err != nil {
		return err
	}
	orgs, err := registry.LoadFile(path)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, in.nc, store.Config{Replicas: in.opts.Replicas}, r.log)
	if err != nil {
		return err
	}
	r.progressf("%s: loading a registry of %d organisations", in.name, n)
	lctx, cancel := context.WithTimeout(ctx, 2*time.Minute+time.Duration(n)*2*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := st.PutOrgs(lctx, orgs); err != nil {
		return fmt.Errorf("load a registry of %d organisations: %w", n, err)
	}
	d := time.Since(start)
	r.mu.Lock()
	r.registryLoads = append(r.registryLoads, registryLoad{n, d})
	r.mu.Unlock()
	r.progressf("%s: registry of %d organisations loaded in %.1fs (%.0f/s)", in.name, n, d.Seconds(), rate(n, d))
	return nil
}

// registryLoad is one registry load: how long upserting n organisations took.
type registryLoad struct {
	n int
	d time.Duration
}

// copyDir copies the directory tree src to dst (which must not exist).
func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

func (r *runner) startInstance(ctx context.Context, name string, o daemon.Options) (*instance, error) {
	d, err := daemon.Start(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("%s: start daemon: %w", name, err)
	}
	r.afterServerStart()
	in := &instance{r: r, name: name, opts: o, d: d}
	if err := in.connect(); err != nil {
		d.Stop()
		return nil, err
	}
	r.mu.Lock()
	r.live = append(r.live, in)
	r.mu.Unlock()
	return in, nil
}

func (in *instance) connect() error {
	var err error
	opts := []nats.Option{nats.Name("cascade-load"), nats.MaxReconnects(-1)}
	if dir := in.d.NATSAuthDir(); dir != "" {
		// The embedded server authenticates; the tool measures with the
		// daemon's user, which may use every stream.
		user, err := natsauth.UserOptionFromFile(filepath.Join(dir, natsauth.DaemonSeedFile))
		if err != nil {
			return err
		}
		opts = append(opts, user)
	}
	if in.nc, err = nats.Connect(in.d.NATSURL(), opts...); err != nil {
		return fmt.Errorf("connect to NATS: %w", err)
	}
	if in.js, err = jetstream.New(in.nc, jetstream.WithPublishAsyncMaxPending(4096)); err != nil {
		in.nc.Close()
		return err
	}
	var dialOpts []grpc.DialOption
	if !in.opts.InsecureNoAuth {
		path := in.opts.BootstrapTokenFile
		if path == "" {
			path = filepath.Join(in.opts.DataDir, "vendor.token")
		}
		b, err := os.ReadFile(path)
		if err != nil {
			in.nc.Close()
			return fmt.Errorf("%s: the first vendor token: %w", in.name, err)
		}
		in.token = strings.TrimSpace(string(b))
		dialOpts = append(dialOpts, grpc.WithPerRPCCredentials(bearer(in.token)))
	}
	if in.cc, err = dialGRPC(in.d.GRPCAddr(), dialOpts...); err != nil {
		in.nc.Close()
		return err
	}
	in.bc = cascadev1.NewBreachServiceClient(in.cc)
	in.ncl = cascadev1.NewNoticeServiceClient(in.cc)
	in.tc = cascadev1.NewTokenServiceClient(in.cc)
	return nil
}

// bearer sends a token with every call.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}
func (bearer) RequireTransportSecurity() bool { return false }

// natsForClients is the NATS URL and the seed file (empty: none) with
// which the client process connects to this daemon's server, as the
// daemon's user.
func (in *instance) natsForClients() (url, seed string) {
	if dir := in.d.NATSAuthDir(); dir != "" {
		seed = filepath.Join(dir, natsauth.DaemonSeedFile)
	}
	return in.d.NATSURL(), seed
}

func dialGRPC(addr string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64 << 20))}, opts...)...)
}

// stop stops the daemon and closes the clients (idempotent).
func (in *instance) stop() {
	if in.d == nil {
		return
	}
	in.cc.Close()
	in.nc.Close()
	in.d.Stop()
	in.d = nil
	in.r.mu.Lock()
	for i, l := range in.r.live {
		if l == in {
			in.r.live = append(in.r.live[:i], in.r.live[i+1:]...)
			break
		}
	}
	in.r.mu.Unlock()
}

// discard stops the daemon and deletes its data dir (embedded server).
func (in *instance) discard() {
	in.stop()
	if in.opts.DataDir != "" && !in.r.external() {
		_ = os.RemoveAll(in.opts.DataDir)
	}
}

// restart stops the daemon and starts it again on the same store with
// options changed by mod (the registry is not loaded again). It returns
// the time daemon.Start took.
func (in *instance) restart(ctx context.Context, mod func(*daemon.Options)) (time.Time, error) {
	in.stop()
	o := in.opts
	o.OrgsFile = ""
	if mod != nil {
		mod(&o)
	}
	freeMemory()
	start := time.Now()
	d, err := daemon.Start(ctx, o)
	if err != nil {
		return start, fmt.Errorf("%s: restart daemon: %w", in.name, err)
	}
	in.r.afterServerStart()
	in.d, in.opts = d, o
	if err := in.connect(); err != nil {
		d.Stop()
		in.d = nil
		return start, err
	}
	in.r.mu.Lock()
	in.r.live = append(in.r.live, in)
	in.r.mu.Unlock()
	return start, nil
}

// stopAll stops every daemon still running.
func (r *runner) stopAll() {
	r.mu.Lock()
	live := append([]*instance(nil), r.live...)
	r.mu.Unlock()
	for _, in := range live {
		in.stop()
	}
}

// wipeExternal deletes Cascade's streams and buckets, and this tool's, on
// the external server (allowed by --wipe-external, or when the tool itself
// created them in this run).
func (r *runner) wipeExternal(ctx context.Context) error {
	nc, err := nats.Connect(r.cfg.NATSURL, nats.Name("cascade-load"))
	if err != nil {
		return fmt.Errorf("connect to %s: %w", r.cfg.NATSURL, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	names := js.StreamNames(ctx)
	var del []string
	for n := range names.Name() {
		if ownStream(n) {
			del = append(del, n)
		}
	}
	if err := names.Err(); err != nil {
		return fmt.Errorf("list streams: %w", err)
	}
	for _, n := range del {
		if err := js.DeleteStream(ctx, n); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("delete stream %s: %w", n, err)
		}
	}
	return nil
}

func ownStream(name string) bool {
	return strings.HasPrefix(name, "CASCADE_") || strings.HasPrefix(name, "KV_cascade-") || strings.HasPrefix(name, "LOADTEST_") ||
		strings.HasPrefix(name, "KV_loadtest")
}

// checkExternal refuses to touch an external server that already holds
// Cascade's streams, unless --wipe-external allows it.
func (r *runner) checkExternal(ctx context.Context) (version string, err error) {
	nc, err := nats.Connect(r.cfg.NATSURL, nats.Name("cascade-load"))
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", r.cfg.NATSURL, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return "", err
	}
	if _, err := js.AccountInfo(ctx); err != nil {
		return "", fmt.Errorf("%s: JetStream not available: %w", r.cfg.NATSURL, err)
	}
	names := js.StreamNames(ctx)
	var found []string
	for n := range names.Name() {
		if ownStream(n) {
			found = append(found, n)
		}
	}
	if len(found) > 0 && !r.cfg.WipeExternal {
		return "", fmt.Errorf("%s already holds %s: cascade-load deletes them between scenarios; pass --wipe-external if that is intended",
			r.cfg.NATSURL, strings.Join(found, ", "))
	}
	return nc.ConnectedServerVersion(), nil
}

// publishReport publishes a breach report on the intake subject and waits for its PubAck.
func (in *instance) publishReport(ctx context.Context, body []byte) error {
	_, err := in.js.Publish(ctx, "cascade.breach.report", body)
	return err
}

// allReport is a valid all_customers report.
func allReport(id string) []byte {
	return []byte(fmt.Sprintf(`{"id":%q,"processor":"Load Test AB","title":"Load test breach","nature":"copied database",`+
		`"discovered_at":"2025-08-23T14:00:00Z","all_customers":true,"contact":{"email":"sec@loadtest.example.org"}}`, id))
}

// fanoutTimes are the times from publishing a report until every notice
// was durable (summary total) and every delivery was durable (summary
// delivered, or the breach's fanout_complete).
type fanoutTimes struct{ notices, delivered time.Duration }

// waitFanout polls the breach until all n notices are delivered and the
// summary has folded them, and returns when each condition was first seen
// (from start).
func (in *instance) waitFanout(ctx context.Context, id string, n int, start time.Time, label string) (fanoutTimes, error) {
	var ft fanoutTimes
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute+time.Duration(n)*10*time.Millisecond)
	defer cancel()
	var tk ticker
	var last *cascadev1.BreachSummary
	folded := false
	for {
		s, err := in.bc.GetBreachSummary(ctx, &cascadev1.GetBreachSummaryRequest{BreachId: id})
		now := time.Since(start)
		if err == nil {
			last = s.GetSummary()
			if ft.notices == 0 && last.GetTotal() >= int64(n) {
				ft.notices = now
			}
			if last.GetDelivered() >= int64(n) {
				if ft.delivered == 0 {
					ft.delivered = now
				}
				folded = true
			}
		}
		// GetBreach decodes the whole breach record (with an affected
		// list, large): poll it only once every notice exists.
		if ft.delivered == 0 && ft.notices > 0 {
			b, err := in.bc.GetBreach(ctx, &cascadev1.GetBreachRequest{BreachId: id})
			if err == nil && b.GetBreach().GetFanoutComplete() {
				ft.delivered = time.Since(start)
				if bc := b.GetBreach().GetNoticeCount(); bc != int64(n) {
					return ft, fmt.Errorf("breach %s: %d notices, want %d", id, bc, n)
				}
			}
		}
		// Every delivery durable implies every notice durable; the summary
		// may show it a fold later.
		if ft.delivered > 0 && (ft.notices == 0 || ft.notices > ft.delivered) {
			if ft.notices == 0 {
				ft.notices = ft.delivered
			}
		}
		if ft.delivered > 0 && folded {
			return ft, nil
		}
		if tk.due() {
			in.r.progressf("%s: %d/%d notices, %d delivered (%.0fs)", label, last.GetTotal(), n, last.GetDelivered(), now.Seconds())
		}
		// Poll resolution: ≤ 0.5% of the elapsed time, between 2 and 50 ms.
		wait := min(max(now/200, 2*time.Millisecond), 50*time.Millisecond)
		select {
		case <-ctx.Done():
			return ft, fmt.Errorf("%s: fan-out of %d not complete: %w (summary %v)", label, n, ctx.Err(), last)
		case <-time.After(wait):
		}
	}
}

// rss is the process's resident set (VmRSS) in bytes, or -1.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return kb * 1024
				}
			}
		}
	}
	return -1
}

// cpuTime is the CPU time (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter measures the cores this process kept busy over an interval.
type cpuMeter struct {
	wall time.Time
	cpu  time.Duration
}

func startCPU() cpuMeter { return cpuMeter{wall: time.Now(), cpu: cpuTime()} }

// cores is the CPU time used since start divided by the wall time.
func (m cpuMeter) cores() float64 {
	w := time.Since(m.wall)
	if w <= 0 {
		return 0
	}
	return float64(cpuTime()-m.cpu) / float64(w)
}

// freeMemory collects garbage and returns freed memory to the OS, so
// that RSS readings are not inflated by garbage of earlier steps.
func freeMemory() { runtime.GC(); debug.FreeOSMemory() }

// machine describes where the run happens.
func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), OS: runtime.GOOS, Arch: runtime.GOARCH, Go: runtime.Version(), CPUModel: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				if f := strings.Fields(rest); len(f) > 0 {
					if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
						m.MemTotalBytes = kb * 1024
					}
				}
			}
		}
	}
	return m
}
