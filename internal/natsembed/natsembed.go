// Package natsembed runs a nats-server with JetStream inside the Cascade
// process: the default, one-command deployment, and the server every test
// runs against.
package natsembed

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Config says how to run the embedded server.
type Config struct {
	// StoreDir holds the JetStream file store.
	StoreDir string
	// Listen is host:port for NATS clients; port -1 picks a free port.
	Listen string
	// SyncInterval is how often JetStream fsyncs. Zero means fsync after
	// every write (the durable default): what was acknowledged is on disk.
	SyncInterval time.Duration
	// MaxPayload limits one NATS message (bytes); 0 means 1 MiB.
	MaxPayload int32
	// ServerName names the server (defaults to "cascade").
	ServerName string
	// Users, when non-nil, are the only users the server accepts: NKey
	// users with their subject permissions (natsauth.Set.ServerUsers), and
	// no connection without credentials. Nil: no authentication, every
	// client may do everything (the default).
	Users []*server.NkeyUser
	// Log receives the server's warnings and errors (its notices at debug
	// level); nil drops them.
	Log *slog.Logger
}

// serverLog passes the server's log lines to a slog.Logger.
type serverLog struct{ log *slog.Logger }

func (l serverLog) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l serverLog) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l serverLog) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l serverLog) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l serverLog) Debugf(format string, v ...any)  {}
func (l serverLog) Tracef(format string, v ...any)  {}

// Start runs the server and waits until it accepts connections.
func Start(cfg Config) (*server.Server, error) {
	host, portStr, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("nats listen address %q: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("nats listen port %q: %w", portStr, err)
	}
	if cfg.StoreDir == "" {
		return nil, errors.New("natsembed: StoreDir is required")
	}
	name := cfg.ServerName
	if name == "" {
		name = "cascade"
	}
	opts := &server.Options{
		ServerName:         name,
		Host:               host,
		Port:               port,
		JetStream:          true,
		StoreDir:           cfg.StoreDir,
		MaxPayload:         cfg.MaxPayload,
		NoSigs:             true,
		NoLog:              true,
		JetStreamMaxMemory: 256 << 20,
	}
	if cfg.Users != nil {
		if len(cfg.Users) == 0 {
			return nil, errors.New("natsembed: Users is empty: no client could connect")
		}
		opts.Nkeys = cfg.Users
		opts.NoAuthUser = ""
	}
	if cfg.SyncInterval == 0 {
		opts.SyncAlways = true
	} else {
		opts.SyncInterval = cfg.SyncInterval
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	if cfg.Log != nil {
		s.SetLoggerV2(serverLog{cfg.Log}, false, false, false)
	}
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("nats server on %s did not become ready in 30s (is the port in use, or %s not writable?)", cfg.Listen, cfg.StoreDir)
	}
	return s, nil
}
