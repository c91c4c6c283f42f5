// Package natstest runs real in-process nats-servers with JetStream on a
// temporary directory for tests.
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/cascadehq/cascade/internal/natsembed"
)

// Server is a running test server that can be restarted on the same store.
type Server struct {
	*server.Server
	t   testing.TB
	cfg natsembed.Config
}

// Start runs a single JetStream server on a free loopback port with its
// store under t.TempDir(), fsync after every write, and stops it at cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartDir(t, t.TempDir())
}

// StartDir is Start with a given store directory.
func StartDir(t testing.TB, dir string) *Server {
	t.Helper()
	s := &Server{t: t, cfg: natsembed.Config{StoreDir: dir, Listen: "127.0.0.1:-1"}}
	s.start()
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}

func (s *Server) start() {
	s.t.Helper()
	srv, err := natsembed.Start(s.cfg)
	if err != nil {
		s.t.Fatalf("start nats-server: %v", err)
	}
	s.Server = srv
}

// Restart stops the server and starts it again on the same store and port,
// as after a crash of the broker process.
func (s *Server) Restart() {
	s.t.Helper()
	addr := s.Addr().String()
	s.Shutdown()
	s.WaitForShutdown()
	s.cfg.Listen = addr
	s.start()
}

// StoreDir is the JetStream store directory.
func (s *Server) StoreDir() string { return s.cfg.StoreDir }

// Connect opens a client connection that reconnects forever and is closed at cleanup.
func (s *Server) Connect() *nats.Conn {
	s.t.Helper()
	nc, err := nats.Connect(s.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	if err != nil {
		s.t.Fatalf("connect: %v", err)
	}
	s.t.Cleanup(nc.Close)
	return nc
}
