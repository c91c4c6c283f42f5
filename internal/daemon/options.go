// Package daemon runs Cascade: the embedded or external NATS JetStream, the
// intake, the summary folder, the gRPC API and the HTTP endpoints. It
// handles no signals, so tests and other programs can embed it.
package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"time"
)

// Defaults of the public flags (see README).
const (
	DefaultDataDir    = "./cascade-data"
	DefaultNATSListen = "127.0.0.1:4222"
	DefaultGRPCAddr   = "127.0.0.1:7400"
	DefaultHTTPAddr   = "127.0.0.1:7401"
	DefaultDeadline   = 72 * time.Hour
)

// Options configure a daemon.
type Options struct {
	DataDir    string        // embedded JetStream storage
	NATSURL    string        // external NATS; empty runs the embedded server
	NATSListen string        // client address of the embedded server
	GRPCAddr   string        // gRPC API
	HTTPAddr   string        // /healthz, /metrics; empty disables
	OrgsFile   string        // registry CSV to load/merge at start; empty: none
	Deadline   time.Duration // controller deadline after delivery
	// Remind are the reminder thresholds (time remaining before the
	// deadline); nil means deadline.DefaultRemind, empty means none.
	Remind []time.Duration
	// Redeliver is the backoff between deliveries of an unacknowledged
	// notice (the last repeats); nil means deadline.DefaultRedeliver.
	Redeliver []time.Duration
	// LateAfter: a reminder or escalation sent this long after it was due
	// is marked late; 0 means deadline.DefaultLateAfter.
	LateAfter time.Duration
	// SyncInterval is the embedded server's fsync interval. Zero (the
	// default) fsyncs every write before JetStream acknowledges it.
	SyncInterval time.Duration
	// Replicas of every stream and bucket; 0 means 1 (use 3 on a cluster).
	Replicas int
	// IntakeAckWait is how long an intake message may go without progress
	// before another daemon takes it over; 0 means 30s.
	IntakeAckWait time.Duration
	// KeyOverlap is how long a replaced signing key still verifies; 0
	// means signing.DefaultOverlap.
	KeyOverlap time.Duration
	// InsecureNoAuth serves gRPC without authentication: development only,
	// allowed only on a loopback address, and logged loudly.
	InsecureNoAuth bool
	// TLSCert and TLSKey serve gRPC over TLS; TLSClientCA also accepts
	// client certificates issued by that CA (mutual TLS: CN = organisation
	// id, OU = role).
	TLSCert, TLSKey, TLSClientCA string
	// BootstrapTokenFile receives the first vendor token when no token
	// exists yet; empty means <data-dir>/vendor.token.
	BootstrapTokenFile string
	Log                *slog.Logger
	Now                func() time.Time // clock; nil means time.Now
}

// loopback reports whether host:port listens on a loopback address only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (o *Options) validate() error {
	var errs []error
	if o.NATSURL == "" && o.DataDir == "" {
		errs = append(errs, errors.New("--data-dir is required with the embedded NATS server"))
	}
	if o.NATSURL == "" {
		if _, _, err := net.SplitHostPort(o.NATSListen); err != nil {
			errs = append(errs, fmt.Errorf("--nats-listen %q: %w", o.NATSListen, err))
		}
	}
	if _, _, err := net.SplitHostPort(o.GRPCAddr); err != nil {
		errs = append(errs, fmt.Errorf("--grpc-addr %q: %w", o.GRPCAddr, err))
	}
	if o.HTTPAddr != "" {
		if _, _, err := net.SplitHostPort(o.HTTPAddr); err != nil {
			errs = append(errs, fmt.Errorf("--http-addr %q: %w", o.HTTPAddr, err))
		}
	}
	if o.Deadline <= 0 {
		errs = append(errs, fmt.Errorf("--deadline must be positive, got %s", o.Deadline))
	}
	for _, d := range append(slices.Clone(o.Remind), o.Redeliver...) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("--remind and --redeliver take positive durations, got %s", d))
		}
	}
	if o.SyncInterval < 0 {
		errs = append(errs, fmt.Errorf("--sync-interval must not be negative"))
	}
	if o.InsecureNoAuth && !loopback(o.GRPCAddr) {
		errs = append(errs, fmt.Errorf("--insecure-no-auth is allowed only with a loopback --grpc-addr, not %q", o.GRPCAddr))
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together"))
	}
	if o.TLSClientCA != "" && o.TLSCert == "" {
		errs = append(errs, errors.New("--tls-client-ca needs --tls-cert and --tls-key"))
	}
	if !o.InsecureNoAuth && o.BootstrapTokenFile == "" && o.DataDir == "" {
		errs = append(errs, errors.New("--bootstrap-token-file is required when there is no --data-dir"))
	}
	if o.Replicas < 0 || o.Replicas > 5 {
		errs = append(errs, fmt.Errorf("--replicas must be between 1 and 5"))
	}
	return errors.Join(errs...)
}
