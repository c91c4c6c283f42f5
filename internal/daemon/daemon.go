package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/cascadehq/cascade/internal/api"
	"github.com/cascadehq/cascade/internal/auth"
	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/deadline"
	"github.com/cascadehq/cascade/internal/delivery"
	"github.com/cascadehq/cascade/internal/dispatch"
	"github.com/cascadehq/cascade/internal/email"
	"github.com/cascadehq/cascade/internal/intake"
	"github.com/cascadehq/cascade/internal/metrics"
	"github.com/cascadehq/cascade/internal/natsauth"
	"github.com/cascadehq/cascade/internal/natsembed"
	"github.com/cascadehq/cascade/internal/registry"
	"github.com/cascadehq/cascade/internal/signing"
	"github.com/cascadehq/cascade/internal/store"
	"github.com/cascadehq/cascade/internal/summary"
	"github.com/cascadehq/cascade/internal/webhook"
)

// Daemon is a running Cascade.
type Daemon struct {
	opts Options
	log  *slog.Logger
	ns   *server.Server // nil with an external NATS
	// natsAuthDir holds the NATS users' seeds: <data-dir>/nats-auth or
	// --nats-auth; empty with an external NATS and no --nats-auth.
	natsAuthDir string
	publicKeys  func() []signing.PublicKey // the ring's, for the dashboard's check page
	nc          *nats.Conn
	st          *store.Store
	grpc        *grpc.Server
	grpcLn      net.Listener
	http        *http.Server
	httpLn      net.Listener
	guard       *auth.Guard // the dashboard's live views count with the gRPC streams
	pageKey     []byte      // encrypts the List RPCs' page tokens (from the deployment secret)
	metrics     *metrics.Metrics
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	cleanups    []func() // run in reverse order by Stop
	stopOnce    sync.Once
	// webhookSeal seals the webhook secrets (from the deployment secret).
	webhookSeal store.WebhookSealing
}

// Start brings Cascade up and returns once it serves. Stop it with Stop.
func Start(ctx context.Context, opts Options) (_ *Daemon, err error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts.setDefaults()
	d := &Daemon{opts: opts, log: opts.Log}
	defer func() {
		if err != nil {
			d.Stop()
		}
	}()

	// The addresses are taken first: one in use ends the start at once,
	// before NATS and JetStream take their time.
	if err := d.listen(); err != nil {
		return nil, err
	}
	// The registry is read first: the embedded server's users follow it.
	orgs, err := loadRegistry(opts.OrgsFile)
	if err != nil {
		return nil, err
	}
	procs, err := loadProcessors(opts.ProcessorsFile)
	if err != nil {
		return nil, err
	}
	if err := d.connectNATS(orgs, procs); err != nil {
		return nil, err
	}

	openCtx, cancelOpen := context.WithTimeout(ctx, 30*time.Second)
	defer cancelOpen()
	ring, tokens, err := d.openStore(ctx, openCtx, orgs, procs)
	if err != nil {
		return nil, err
	}
	pub, err := delivery.NewPublisher(openCtx, d.st, ring)
	if err != nil {
		return nil, err
	}
	d.metrics = metrics.New(opts.metricsRegistry())
	pub.CountDeliveries(d.metrics)

	runCtx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	in, chans, err := d.startWork(openCtx, runCtx, pub)
	if err != nil {
		return nil, err
	}
	creds, err := d.guardAccess(openCtx, tokens)
	if err != nil {
		return nil, err
	}
	if err := d.serveGRPC(runCtx, api.Config{Checker: in, Tokens: tokens, Keys: ring, Creds: creds,
		Channels: chans, Teller: pub, Answerer: pub}); err != nil {
		return nil, err
	}
	if err := d.serveHTTP(); err != nil {
		return nil, err
	}
	return d, nil
}

// setDefaults fills in the logger and the clock.
func (o *Options) setDefaults() {
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// metricsRegistry is the registry of the daemon's metrics: Registry, or
// one of its own.
func (o *Options) metricsRegistry() *prometheus.Registry {
	if o.Registry == nil {
		return prometheus.NewRegistry()
	}
	return o.Registry
}

// deadlinePolicy is the timers' policy, defaults filled in.
func (o *Options) deadlinePolicy() deadline.Policy {
	policy := deadline.Policy{Window: o.Deadline, Remind: o.Remind, Redeliver: o.Redeliver, LateAfter: o.LateAfter,
		UpdateReminder: o.UpdateReminder}
	if policy.LateAfter == 0 {
		policy.LateAfter = deadline.DefaultLateAfter
	}
	if policy.Remind == nil {
		policy.Remind = deadline.DefaultRemind
	}
	if policy.Redeliver == nil {
		policy.Redeliver = deadline.DefaultRedeliver
	}
	return policy
}

// loadRegistry reads the registry file, if one is given.
// loadRegistry reads the registry: one CSV file, or several separated by
// commas (an organisation in two of them is an error).
func loadRegistry(files string) ([]breach.Org, error) {
	if files == "" {
		return nil, nil
	}
	var all []breach.Org
	from := map[breach.OrgID]string{}
	for _, f := range strings.Split(files, ",") {
		orgs, err := registry.LoadFile(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		for _, o := range orgs {
			if prev, dup := from[o.ID]; dup {
				return nil, fmt.Errorf("load registry: organisation %s is in %s and in %s", o.ID, prev, f)
			}
			from[o.ID] = f
		}
		all = append(all, orgs...)
	}
	return all, nil
}

// loadUpstreamKeys reads the key sets of --upstream-keys: the public keys
// of upstream Cascade deployments whose signed notices a processor here
// may forward.
func loadUpstreamKeys(files []string) ([]signing.PublicKey, error) {
	var out []signing.PublicKey
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("--upstream-keys: %w", err)
		}
		ks, err := signing.ParseKeySet(data)
		if err != nil {
			return nil, fmt.Errorf("--upstream-keys %s: %w", f, err)
		}
		out = append(out, ks.Keys...)
	}
	return out, nil
}

func loadProcessors(file string) ([]breach.Processor, error) {
	if file == "" {
		return nil, nil
	}
	return registry.LoadProcessorsFile(file)
}

// loadProcessors stores the processor registry, warning about customers
// that are not in the organisation registry (they get no notice).
func (d *Daemon) loadProcessors(ctx context.Context, procs []breach.Processor) error {
	known := map[breach.OrgID]bool{}
	if slices.ContainsFunc(procs, func(p breach.Processor) bool { return len(p.Customers) > 0 }) {
		all, err := d.st.AllOrgs(ctx) // the whole registry: earlier loads count too
		if err != nil {
			return err
		}
		for _, o := range all {
			known[o.ID] = true
		}
	}
	for _, p := range procs {
		var unknown []breach.OrgID
		for _, c := range p.Customers {
			if !known[c] {
				unknown = append(unknown, c)
			}
		}
		if len(unknown) > 0 {
			d.log.Warn("processor's customers not in the organisation registry: its breaches cannot reach them",
				"processor_id", p.ID, "unknown", len(unknown), "first_unknown", unknown[:min(len(unknown), 10)])
		}
	}
	res, err := d.st.PutProcessors(ctx, procs)
	if err != nil {
		return err
	}
	d.log.Info("processor registry loaded", "file", d.opts.ProcessorsFile, "processors", len(procs), "written", res.Written, "unchanged", res.Unchanged)
	return nil
}

// connectNATS starts the embedded NATS server (its users following orgs)
// or takes the external one's credentials, and connects the daemon.
func (d *Daemon) connectNATS(orgs []breach.Org, procs []breach.Processor) error {
	natsOpts := []nats.Option{nats.Name("cascaded"), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: the daemon closed the connection itself (Stop)
				d.log.Warn("NATS disconnected; reconnecting", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { d.log.Info("NATS reconnected", "url", nc.ConnectedUrlRedacted()) })}
	url := d.opts.NATSURL
	if url == "" {
		embedded, err := d.startEmbeddedNATS(orgs, procs)
		if err != nil {
			return err
		}
		natsOpts = append(natsOpts, embedded...)
	} else if d.opts.NATSAuthDir != "" {
		set, err := natsauth.LoadDir(d.opts.NATSAuthDir)
		if err != nil {
			return fmt.Errorf("--nats-auth: %w", err)
		}
		d.natsAuthDir = d.opts.NATSAuthDir
		natsOpts = append(natsOpts, natsauth.UserOption(set.Daemon.Seed))
	}
	var err error
	d.nc, err = nats.Connect(url, natsOpts...)
	if err != nil {
		if url == "" {
			url = "the embedded server"
		}
		return fmt.Errorf("connect to NATS %s: %w", url, err)
	}
	if err := d.refuseOpenNATS(); err != nil {
		return err
	}
	d.cleanups = append(d.cleanups, d.nc.Close)
	return nil
}

// startEmbeddedNATS starts the embedded server with the users of orgs and
// returns the options of the daemon's own connection to it.
func (d *Daemon) startEmbeddedNATS(orgs []breach.Org, procs []breach.Processor) ([]nats.Option, error) {
	opts := d.opts
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	set, dir, err := natsUsers(opts, orgs, procs)
	if err != nil {
		return nil, err
	}
	d.natsAuthDir = dir
	d.ns, err = natsembed.Start(natsembed.Config{StoreDir: opts.DataDir, Listen: opts.NATSListen, SyncInterval: opts.SyncInterval, Auth: set.Config(),
		JetStreamAccount: natsauth.Account, Log: d.log.With("component", "nats-server")})
	if err != nil {
		return nil, err
	}
	d.cleanups = append(d.cleanups, func() { d.ns.Shutdown(); d.ns.WaitForShutdown() })
	fsync := "every write (fsync before acknowledgement)"
	if opts.SyncInterval > 0 {
		fsync = "every " + opts.SyncInterval.String() + " (acknowledged writes may be lost on power failure)"
	}
	d.log.Info("embedded NATS server started", "url", d.ns.ClientURL(), "data_dir", opts.DataDir, "fsync", fsync,
		"credentials", dir, "vendor_seed", filepath.Join(dir, natsauth.VendorSeedFile), "organisations", len(set.Orgs))
	// The daemon's own connection is in-process, as its own user: it
	// needs no port, and nothing else can use it.
	return []nats.Option{nats.InProcessServer(d.ns), natsauth.UserOption(set.Daemon.Seed)}, nil
}

// refuseOpenNATS refuses an external NATS server that admits clients
// without credentials, unless --insecure-nats-no-auth allows it.
func (d *Daemon) refuseOpenNATS() error {
	if d.ns != nil || d.nc.AuthRequired() {
		return nil
	}
	if !d.opts.InsecureNATSNoAuth {
		d.nc.Close()
		return fmt.Errorf("the NATS server at %s admits clients without credentials: whoever reaches it could read and rewrite "+
			"every stream and bucket. Require authentication (cascadectl nats-auth generate, deploy/nats-auth) and start with "+
			"--nats-auth DIR; for development only, --insecure-nats-no-auth", d.nc.ConnectedUrlRedacted())
	}
	d.log.Warn("!!! the NATS server admits clients without credentials (--insecure-nats-no-auth): anyone who reaches it " +
		"can read the signing keys' store, mint tokens and rewrite notices. Development only. !!!")
	return nil
}

// openStore opens the store and the deployment secret's ring and tokens,
// loads the registry (orgs, bounded by ctx) and publishes the signing
// keys (within openCtx).
func (d *Daemon) openStore(ctx, openCtx context.Context, orgs []breach.Org, procs []breach.Processor) (*signing.Ring, *auth.Tokens, error) {
	var err error
	d.st, err = store.Open(openCtx, d.nc, store.Config{Replicas: d.opts.Replicas}, d.log.With("component", "store"))
	if err != nil {
		return nil, nil, err
	}
	// The deployment secret (outside NATS) and what it protects in NATS.
	ring, tokens, err := d.openTrust(openCtx)
	if err != nil {
		return nil, nil, err
	}
	d.cleanups = append(d.cleanups, ring.Close)
	d.publicKeys = ring.Public // the dashboard's check page
	if d.opts.OrgsFile != "" {
		// A large registry takes longer than the rest of the start-up.
		loadCtx, cancelLoad := context.WithTimeout(ctx, 10*time.Minute)
		start := time.Now()
		res, err := d.st.LoadOrgs(loadCtx, orgs)
		cancelLoad()
		if err != nil {
			return nil, nil, err
		}
		d.log.Info("registry loaded", "file", d.opts.OrgsFile, "organisations", len(orgs), "written", res.Written,
			"unchanged", res.Unchanged, "took", time.Since(start).Round(time.Millisecond))
	}
	if d.opts.ProcessorsFile != "" {
		if err := d.loadProcessors(openCtx, procs); err != nil {
			return nil, nil, err
		}
	}
	if err := ring.PublishKeys(openCtx); err != nil {
		return nil, nil, fmt.Errorf("publish signing keys: %w", err)
	}
	d.log.Info("signing notices", "key_id", ring.Active().ID)
	return ring, tokens, nil
}

// startWork prepares (within ctx) and starts (until runCtx ends) the
// background work: intake, summary folder, timers and dispatcher.
func (d *Daemon) startWork(ctx, runCtx context.Context, pub *delivery.Publisher) (*intake.Intake, *store.Channels, error) {
	timers := deadline.NewTimers(d.st, pub, d.opts.deadlinePolicy(), d.opts.Now, d.log.With("component", "timers"))
	timers.CountRounds(d.metrics)
	disp, chans, err := d.dispatcher(ctx, timers.ArmNotice)
	if err != nil {
		return nil, nil, err
	}
	upstream, err := loadUpstreamKeys(d.opts.UpstreamKeys)
	if err != nil {
		return nil, nil, err
	}
	trusted := func() signing.KeySet {
		return signing.KeySet{Keys: append(d.publicKeys(), upstream...)}
	}
	in := intake.New(d.st, pub, intake.Config{Deadline: d.opts.Deadline, NIS2: d.opts.nis2Clocks(), Now: d.opts.Now, AckWait: d.opts.IntakeAckWait, Timers: timers, Promises: timers,
		Metrics: d.metrics, Log: d.log.With("component", "intake"), UpstreamKeys: trusted})
	folder := summary.NewFolder(d.st, d.log.With("component", "summary"))
	d.goRun("intake", func() error { return in.Run(runCtx) })
	d.goRun("summary", func() error { return folder.Run(runCtx) })
	d.goRun("timers", func() error { return timers.Run(runCtx) })
	d.goRun("dispatch", func() error { return disp.Run(runCtx) })
	return in, chans, nil
}

// guardAccess issues the first vendor token (or warns that authentication
// is off), loads the TLS credentials and builds the guard.
func (d *Daemon) guardAccess(ctx context.Context, tokens *auth.Tokens) (credentials.TransportCredentials, error) {
	opts := d.opts
	if opts.InsecureNoAuth {
		d.log.Warn("!!! gRPC AUTHENTICATION IS OFF (--insecure-no-auth): anyone who can reach " + opts.GRPCAddr +
			" may read and change every notice. Development only. !!!")
	} else if err := d.bootstrapToken(ctx, tokens); err != nil {
		return nil, err
	}
	creds, err := serverTLS(opts)
	if err != nil {
		return nil, err
	}
	if creds == nil && !opts.InsecureNoAuth && !loopback(opts.GRPCAddr) {
		d.log.Warn("gRPC without TLS on a non-loopback address: bearer tokens travel in clear text; set --tls-cert and --tls-key")
	}
	guard := auth.NewGuard(tokens, api.NoticeExists(d.st), opts.InsecureNoAuth, d.log.With("component", "auth"))
	guard.SetStreamLimits(opts.MaxStreamsPerToken, opts.MaxStreams)
	d.guard = guard
	return creds, nil
}

// serveGRPC starts the status view (until runCtx ends) and the state
// metrics, and serves the gRPC API of cfg, completed with the view, the
// guard, the metrics and the daemon's own settings.
func (d *Daemon) serveGRPC(runCtx context.Context, cfg api.Config) error {
	view := d.st.NewView()
	d.goRun("status view", func() error { return view.Run(runCtx) })
	if err := d.metrics.Register(metrics.NewStateCollector(metricsSource{st: d.st, view: view, nc: d.nc}, metrics.StateConfig{Now: d.opts.Now})); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	cfg.View, cfg.Guard, cfg.PageKey, cfg.Now, cfg.Log = view, d.guard, d.pageKey, d.opts.Now, d.log.With("component", "api")
	cfg.Unary, cfg.Stream = d.metrics.UnaryServerInterceptor(), d.metrics.StreamServerInterceptor()
	cfg.Feed = store.NewNoticeFeed(d.st, 0, d.log.With("component", "notice feed"))
	var err error
	if d.grpc, _, err = api.New(d.st, cfg); err != nil {
		return err
	}
	d.goRun("grpc", func() error { return d.grpc.Serve(d.grpcLn) })
	d.log.Info("gRPC API listening", "addr", d.grpcLn.Addr().String())
	return nil
}

// serveHTTP serves the dashboard, advisory pages, /healthz and /metrics,
// if there is an HTTP address.
func (d *Daemon) serveHTTP() error {
	if d.opts.HTTPAddr == "" {
		return nil
	}
	var err error
	if d.http, err = d.newHTTPServer(); err != nil { // the dashboard calls this daemon's gRPC API
		return err
	}
	d.goRun("http", func() error {
		if err := d.http.Serve(d.httpLn); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	d.log.Info("HTTP listening", "addr", d.httpLn.Addr().String(), "paths", "/ (dashboard) /healthz /metrics")
	return nil
}

func (d *Daemon) goRun(name string, fn func() error) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := fn(); err != nil {
			d.log.Error("component stopped", "component", name, "err", err)
		}
	}()
}

// Stop shuts Cascade down: gRPC drains for at most 5 seconds, background
// work ends, then NATS. Unacknowledged intake work is redelivered on the
// next start.
func (d *Daemon) Stop() {
	d.stopOnce.Do(func() {
		// HTTP first: the dashboard's live views are gRPC streams.
		if d.http != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = d.http.Shutdown(ctx)
			cancel()
		}
		if d.grpc != nil {
			done := make(chan struct{})
			go func() { d.grpc.GracefulStop(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				d.grpc.Stop()
			}
		}
		if d.cancel != nil {
			d.cancel()
		}
		d.wg.Wait()
		for i := len(d.cleanups) - 1; i >= 0; i-- {
			d.cleanups[i]()
		}
	})
}

// Run starts Cascade and serves until ctx ends.
func Run(ctx context.Context, opts Options) error {
	d, err := Start(ctx, opts)
	if err != nil {
		return err
	}
	<-ctx.Done()
	d.log.Info("shutting down")
	d.Stop()
	return nil
}

// GRPCAddr is the address the gRPC API listens on.
func (d *Daemon) GRPCAddr() string { return d.grpcLn.Addr().String() }

// HTTPAddr is the address of the HTTP endpoints, or "" if disabled.
func (d *Daemon) HTTPAddr() string {
	if d.httpLn == nil {
		return ""
	}
	return d.httpLn.Addr().String()
}

// dispatcher sets up webhook and e-mail delivery: the channel state, the
// SMTP relay, and the shared consumer (before anything is published).
// onDelivered arms the timers of a notice whose clock a channel started.
func (d *Daemon) dispatcher(ctx context.Context, onDelivered func(context.Context, *breach.Notice) error) (*dispatch.Dispatcher, *store.Channels, error) {
	chans, err := d.st.OpenChannels(ctx, d.webhookSeal)
	if err != nil {
		return nil, nil, err
	}
	var relay *email.Relay
	if d.opts.SMTP.Addr != "" {
		if relay, err = email.NewRelay(d.opts.SMTP); err != nil {
			return nil, nil, err
		}
		d.log.Info("e-mail channel enabled", "smtp_relay", relay.Addr, "from", relay.From)
	}
	if d.opts.WebhookAllowPrivate {
		d.log.Warn("!!! WEBHOOKS MAY REACH PRIVATE ADDRESSES (--webhook-allow-private): a registry webhook_url can make this daemon post to " +
			"loopback, the local network and cloud metadata (169.254.169.254), and http:// to loopback is allowed. Development only. !!!")
	}
	disp := dispatch.New(d.st, chans, dispatch.Config{Window: d.opts.Deadline, Backoff: d.opts.DispatchBackoff, Relay: relay,
		Webhook: webhook.NewClient(webhook.Config{Timeout: d.opts.WebhookTimeout, Now: d.opts.Now,
			AllowPrivate: d.opts.WebhookAllowPrivate}),
		OnDelivered: onDelivered, Now: d.opts.Now, Log: d.log.With("component", "dispatch"), Metrics: d.metrics})
	if err := disp.Prepare(ctx); err != nil {
		return nil, nil, err
	}
	return disp, chans, nil
}

// NATSURL is the client URL of the NATS server the daemon uses (the
// embedded server's listener, though the daemon itself connects to it in
// process).
func (d *Daemon) NATSURL() string {
	if d.ns != nil {
		return d.ns.ClientURL()
	}
	return d.nc.ConnectedUrl()
}

// NATSAuthDir is the directory of the NATS users' seed files
// (natsauth.DaemonSeedFile, natsauth.VendorSeedFile, orgs/<id>.nk): the
// embedded server's, or --nats-auth. Empty when the daemon connects to an
// external NATS without --nats-auth.
func (d *Daemon) NATSAuthDir() string { return d.natsAuthDir }
