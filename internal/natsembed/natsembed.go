// Package natsembed runs a nats-server with JetStream inside the Cascade
// process: the default, one-command deployment, and the server every test
// runs against.
package natsembed

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
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
	// Auth, when not empty, is nats-server configuration text with the
	// users the server accepts, and their accounts (natsauth.Set.Config):
	// no connection without credentials. The server runs with exactly this
	// configuration, and the fields of Config after it. Empty: no
	// authentication, one (the global) account, every client may do
	// everything (the default).
	Auth string
	// JetStreamAccount, when not empty, is the account of Auth that holds
	// the streams. Data of an earlier version, kept in the global
	// account's directory (<StoreDir>/jetstream/$G), is moved to this
	// account's directory before the server starts, unless that exists.
	JetStreamAccount string
	// Log receives the server's warnings and errors (its notices at debug
	// level); nil drops them.
	Log *slog.Logger
}

// serverLog passes the server's log lines to a slog.Logger, and its
// fatal error (it cannot listen) to Start, which then stops waiting.
type serverLog struct {
	log   *slog.Logger
	fatal chan string
}

func (l serverLog) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l serverLog) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l serverLog) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l serverLog) Fatalf(format string, v ...any) {
	select {
	case l.fatal <- fmt.Sprintf(format, v...): // Start reports it
	default:
		l.log.Error(fmt.Sprintf(format, v...))
	}
}
func (l serverLog) Debugf(format string, v ...any) {}
func (l serverLog) Tracef(format string, v ...any) {}

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
	opts := &server.Options{}
	if cfg.Auth != "" {
		if err := opts.ProcessConfigString(cfg.Auth); err != nil {
			return nil, fmt.Errorf("natsembed: the server's users and accounts: %w", err)
		}
		if len(opts.Nkeys) == 0 && len(opts.Users) == 0 {
			return nil, errors.New("natsembed: Auth has no users: no client could connect")
		}
		opts.NoAuthUser = ""
	}
	opts.ServerName = name
	opts.Host, opts.Port = host, port
	opts.JetStream = true
	opts.StoreDir = cfg.StoreDir
	opts.MaxPayload = cfg.MaxPayload
	opts.NoSigs, opts.NoLog = true, true
	opts.JetStreamMaxMemory = 256 << 20
	if cfg.JetStreamAccount != "" {
		if err := adoptGlobal(cfg.StoreDir, cfg.JetStreamAccount, cfg.Log); err != nil {
			return nil, err
		}
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
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	fatal := make(chan string, 1)
	s.SetLoggerV2(serverLog{log: log, fatal: fatal}, false, false, false)
	go s.Start()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if s.ReadyForConnections(100 * time.Millisecond) {
			s.SetLoggerV2(serverLog{log: log}, false, false, false) // later fatal errors are logged
			return s, nil
		}
		select {
		case msg := <-fatal: // e.g. the port is in use
			s.Shutdown()
			return nil, fmt.Errorf("nats server on %s: %s (--nats-listen; find another process on the port with: ss -ltnp 'sport = :%s')",
				cfg.Listen, msg, portStr)
		default:
		}
	}
	s.Shutdown()
	return nil, fmt.Errorf("nats server on %s did not become ready in 30s (is %s writable?)", cfg.Listen, cfg.StoreDir)
}

// globalAccount is the name of the server's global account, whose
// JetStream data an earlier version kept.
const globalAccount = "$G"

// adoptGlobal moves the JetStream data of the global account, from a
// version that ran without accounts, to account's directory, if account
// has none yet.
func adoptGlobal(storeDir, account string, log *slog.Logger) error {
	if account == globalAccount || filepath.Base(account) != account || account == "." || account == ".." {
		return fmt.Errorf("natsembed: JetStreamAccount %q is not an account name", account)
	}
	root := filepath.Join(storeDir, server.JetStreamStoreDir)
	from, to := filepath.Join(root, globalAccount), filepath.Join(root, account)
	if _, err := os.Stat(from); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("natsembed: %w", err)
	}
	if _, err := os.Stat(to); err == nil {
		if log != nil {
			log.Warn("JetStream data of the global account left alone: the account's directory exists", "global", from, "account", to)
		}
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("natsembed: %w", err)
	}
	if err := os.Rename(from, to); err != nil {
		return fmt.Errorf("natsembed: move the global account's JetStream data to account %s: %w", account, err)
	}
	if d, err := os.Open(root); err == nil {
		_ = d.Sync()
		d.Close()
	}
	if log != nil {
		log.Info("moved JetStream data of an earlier version from the global account to its own", "from", from, "to", to, "account", account)
	}
	return nil
}
