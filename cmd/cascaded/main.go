// Command cascaded is the Cascade daemon: it takes breach reports over
// NATS and gRPC, gives every affected organisation a tracked notice with its
// own deadline, and serves their status over gRPC.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/deadline"
	"github.com/cascadehq/cascade/internal/version"
)

func main() {
	fs := flag.NewFlagSet("cascaded", flag.ExitOnError)
	o := daemon.Options{}
	fs.StringVar(&o.DataDir, "data-dir", env("CASCADE_DATA_DIR", daemon.DefaultDataDir), "embedded JetStream storage (env CASCADE_DATA_DIR)")
	fs.StringVar(&o.NATSURL, "nats-url", env("CASCADE_NATS_URL", ""), "external NATS URL(s), comma-separated; empty runs the embedded server (env CASCADE_NATS_URL)")
	fs.StringVar(&o.NATSListen, "nats-listen", env("CASCADE_NATS_LISTEN", daemon.DefaultNATSListen), "client address of the embedded NATS server (env CASCADE_NATS_LISTEN)")
	fs.StringVar(&o.GRPCAddr, "grpc-addr", env("CASCADE_GRPC_ADDR", daemon.DefaultGRPCAddr), "gRPC API address (env CASCADE_GRPC_ADDR)")
	fs.StringVar(&o.HTTPAddr, "http-addr", env("CASCADE_HTTP_ADDR", daemon.DefaultHTTPAddr), "/healthz and /metrics address; empty disables (env CASCADE_HTTP_ADDR)")
	fs.StringVar(&o.OrgsFile, "orgs", env("CASCADE_ORGS", ""), "registry CSV to load/merge at start (env CASCADE_ORGS)")
	fs.StringVar(&o.ProcessorsFile, "processors", env("CASCADE_PROCESSORS", ""),
		"processor registry CSV (id,name,contact_email,contact_phone,customers,org_id) to load/merge at start: several processors in one deployment (env CASCADE_PROCESSORS)")
	fs.Func("upstream-keys", "key set `file` (cascadectl keys list --save) of an upstream Cascade deployment whose signed notices registered processors may forward; repeat or comma-separate for several", func(v string) error {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				o.UpstreamKeys = append(o.UpstreamKeys, f)
			}
		}
		return nil
	})
	fs.DurationVar(&o.Deadline, "deadline", daemon.DefaultDeadline, "controller deadline after delivery")
	remind := fs.String("remind", deadline.FormatDurations(deadline.DefaultRemind), "reminders at these amounts of time remaining before the deadline while not resolved (comma-separated; empty: none)")
	nis2 := breach.DefaultNIS2Clocks
	fs.Func("nis2-early-warning", "NIS2 early warning due this long after delivery, for organisations under NIS2 (registry column regimes) (default 24h)", periodFlag(&nis2.EarlyWarning))
	fs.Func("nis2-incident-notification", "NIS2 incident notification due this long after delivery (default 72h)", periodFlag(&nis2.IncidentNotification))
	fs.Func("nis2-final-report", "NIS2 final report due this long after the incident notification is reported (until then, after its deadline): a duration or months, e.g. \"1 month\" (default 1 month)", periodFlag(&nis2.FinalReport))
	redeliver := fs.String("redeliver", deadline.FormatDurations(deadline.DefaultRedeliver), "backoff between deliveries of a notice not yet acknowledged; the last repeats (comma-separated; empty: none)")
	fs.DurationVar(&o.UpdateReminder, "update-reminder", deadline.DefaultUpdateReminder, "remind the processor this long before the next update it promised (next_update_by), or a quarter of the time it gave itself if less; negative: no reminder")
	fs.DurationVar(&o.SyncInterval, "sync-interval", 0, "embedded JetStream fsync interval; 0 = fsync every write before acknowledging it")
	fs.DurationVar(&o.IntakeAckWait, "intake-ack-wait", 30*time.Second, "how long a report being fanned out may go without progress before it is retried (after a crash)")
	fs.StringVar(&o.NATSAuthDir, "nats-auth", env("CASCADE_NATS_AUTH", ""), "NATS credentials `dir` in the layout of `cascadectl nats-auth generate`: the embedded server's users (default <data-dir>/nats-auth, created and kept in step with the registry); with --nats-url, the daemon's own user (env CASCADE_NATS_AUTH)")
	fs.BoolVar(&o.InsecureNoAuth, "insecure-no-auth", false, "serve gRPC WITHOUT authentication (development only; loopback --grpc-addr only)")
	fs.BoolVar(&o.InsecureNATSNoAuth, "insecure-nats-no-auth", false, "accept an external --nats-url server that admits clients without credentials (development only)")
	fs.StringVar(&o.TLSCert, "tls-cert", env("CASCADE_TLS_CERT", ""), "gRPC server certificate (PEM) (env CASCADE_TLS_CERT)")
	fs.StringVar(&o.TLSKey, "tls-key", env("CASCADE_TLS_KEY", ""), "gRPC server private key (PEM) (env CASCADE_TLS_KEY)")
	fs.StringVar(&o.TLSClientCA, "tls-client-ca", env("CASCADE_TLS_CLIENT_CA", ""), "CA for client certificates (mutual TLS: CN=org id, OU=role) (env CASCADE_TLS_CLIENT_CA)")
	fs.StringVar(&o.SecretFile, "secret-file", env("CASCADE_SECRET_FILE", ""), "deployment secret (32 random bytes, mode 0600) that seals the signing keys and binds the tokens stored in NATS; must exist; every daemon on one NATS store needs the same (default <data-dir>/secret.key, created on first start) (env CASCADE_SECRET_FILE)")
	fs.BoolVar(&o.MigrateUnsealed, "migrate-unsealed", false, "once, when upgrading from a version before the deployment secret: seal and sign the signing keys, token records and webhook secrets it stored in clear (a start that creates <data-dir>/secret.key does this by itself)")
	fs.StringVar(&o.BootstrapTokenFile, "bootstrap-token-file", env("CASCADE_BOOTSTRAP_TOKEN_FILE", ""), "where the first vendor token is written when none exists (default <data-dir>/vendor.token)")
	fs.IntVar(&o.Replicas, "replicas", 1, "replicas of every stream and bucket (3 on a NATS cluster)")
	fs.StringVar(&o.SMTP.Addr, "smtp-addr", env("CASCADE_SMTP_ADDR", ""), "SMTP relay host:port for the e-mail channel (STARTTLS required); empty: no e-mail (env CASCADE_SMTP_ADDR)")
	fs.StringVar(&o.SMTP.From, "smtp-from", env("CASCADE_SMTP_FROM", ""), "sender of notice e-mails, e.g. \"Cascade <cascade@vendor.example>\" (env CASCADE_SMTP_FROM)")
	fs.StringVar(&o.SMTP.Username, "smtp-username", env("CASCADE_SMTP_USERNAME", ""), "SMTP user name (PLAIN over TLS) (env CASCADE_SMTP_USERNAME)")
	fs.StringVar(&o.SMTP.PasswordFile, "smtp-password-file", env("CASCADE_SMTP_PASSWORD_FILE", ""), "file holding the SMTP password (env CASCADE_SMTP_PASSWORD_FILE)")
	fs.StringVar(&o.SMTP.CAFile, "smtp-ca", env("CASCADE_SMTP_CA", ""), "PEM certificates that verify the SMTP relay (private relays, tests); default the system's roots (env CASCADE_SMTP_CA)")
	fs.BoolVar(&o.SMTP.AllowPlainLoopback, "smtp-allow-plain-loopback", false, "allow a loopback SMTP relay without STARTTLS (development only)")
	fs.BoolVar(&o.WebhookAllowPrivate, "webhook-allow-private", false, "let webhooks reach loopback, private, link-local and other non-global addresses, and http:// to loopback (development only)")
	fs.DurationVar(&o.WebhookTimeout, "webhook-timeout", 0, "time limit of one webhook attempt (0: 30s)")
	verbose := fs.Bool("v", false, "debug logging")
	showVersion := fs.Bool("version", false, "print the version and commit, then exit")
	_ = fs.Parse(os.Args[1:])
	if *showVersion {
		fmt.Println("cascaded", version.Get())
		return
	}
	o.NIS2 = nis2
	var err error
	if o.Remind, err = deadline.ParseDurations(*remind); err != nil {
		fmt.Fprintln(os.Stderr, "cascaded: --remind:", err)
		os.Exit(2)
	}
	if o.Redeliver, err = deadline.ParseDurations(*redeliver); err != nil {
		fmt.Fprintln(os.Stderr, "cascaded: --redeliver:", err)
		os.Exit(2)
	}
	if o.Remind == nil {
		o.Remind = []time.Duration{}
	}
	if o.Redeliver == nil {
		o.Redeliver = []time.Duration{}
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	o.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	o.Log.Info("cascaded starting", "version", version.Get().String())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := daemon.Run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "cascaded:", err)
		os.Exit(1)
	}
}

// periodFlag sets *p from a flag's value (breach.ParsePeriod).
func periodFlag(p *breach.Period) func(string) error {
	return func(s string) error {
		v, err := breach.ParsePeriod(s)
		if err != nil {
			return err
		}
		*p = v
		return nil
	}
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
