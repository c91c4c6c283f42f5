package natsembed_test

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/natsembed"
	"github.com/cascadehq/cascade/internal/natstest"
)

// TestServerLogReachesTheLogger: the embedded server's own log lines go to
// the configured logger (notices at debug level, tagged as such), so its
// warnings (a slow disk, a full store) are not lost.
func TestServerLogReachesTheLogger(t *testing.T) {
	var buf natstest.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := natsembed.Start(natsembed.Config{StoreDir: t.TempDir(), Listen: "127.0.0.1:-1", Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	out := buf.String()
	if !strings.Contains(out, "level=DEBUG") || !strings.Contains(out, "Server is ready") {
		t.Fatalf("server log not passed on:\n%s", out)
	}
}

const accountsConf = `accounts {
  CASCADE {
    jetstream: enabled
    users = [ { user: cascade, password: s3cret } ]
  }
}
`

// startOld runs the server as an earlier version did (the global account,
// no users), stores one message in stream OLD and stops it.
func startOld(t *testing.T, dir string) {
	t.Helper()
	s, err := natsembed.Start(natsembed.Config{StoreDir: dir, Listen: "127.0.0.1:-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Shutdown(); s.WaitForShutdown() }()
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "OLD", Subjects: []string{"old"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "old", []byte("kept")); err != nil {
		t.Fatal(err)
	}
}

// oldMessage is message 1 of stream OLD as the account's user sees it.
func oldMessage(t *testing.T, url string) (string, error) {
	t.Helper()
	nc, err := nats.Connect(url, nats.UserInfo("cascade", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, "OLD")
	if err != nil {
		return "", err
	}
	m, err := st.GetMsg(ctx, 1)
	if err != nil {
		return "", err
	}
	return string(m.Data), nil
}

// TestJetStreamAccountAdoptsGlobalData: the streams of an earlier version,
// kept in the global account's directory, are the account's after an
// upgrade; the move is logged.
func TestJetStreamAccountAdoptsGlobalData(t *testing.T) {
	dir := t.TempDir()
	startOld(t, dir)
	var buf natstest.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	s, err := natsembed.Start(natsembed.Config{StoreDir: dir, Listen: "127.0.0.1:-1", Auth: accountsConf, JetStreamAccount: "CASCADE", Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Shutdown(); s.WaitForShutdown() }()
	if got, err := oldMessage(t, s.ClientURL()); err != nil || got != "kept" {
		t.Fatalf("after the upgrade, stream OLD's message: %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "jetstream", "$G")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the global account's directory: %v", err)
	}
	if out := buf.String(); !strings.Contains(out, "level=INFO") || !strings.Contains(out, "moved JetStream data") {
		t.Fatalf("the move was not logged:\n%s", out)
	}
}

// TestJetStreamAccountKeepsItsOwnData: an account that already has a
// directory keeps it; the global account's data is left alone, not merged.
func TestJetStreamAccountKeepsItsOwnData(t *testing.T) {
	dir := t.TempDir()
	startOld(t, dir)
	if err := os.MkdirAll(filepath.Join(dir, "jetstream", "CASCADE", "streams"), 0o750); err != nil {
		t.Fatal(err)
	}
	s, err := natsembed.Start(natsembed.Config{StoreDir: dir, Listen: "127.0.0.1:-1", Auth: accountsConf, JetStreamAccount: "CASCADE"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Shutdown(); s.WaitForShutdown() }()
	if _, err := oldMessage(t, s.ClientURL()); err == nil {
		t.Fatal("the global account's stream was merged into an account that had data")
	}
	if _, err := os.Stat(filepath.Join(dir, "jetstream", "$G", "streams", "OLD")); err != nil {
		t.Fatalf("the global account's data: %v", err)
	}
	for _, bad := range []string{"$G", "../x", "..", "a/b"} {
		if _, err := natsembed.Start(natsembed.Config{StoreDir: t.TempDir(), Listen: "127.0.0.1:-1", Auth: accountsConf, JetStreamAccount: bad}); err == nil ||
			!strings.Contains(err.Error(), "not an account name") {
			t.Fatalf("JetStreamAccount %q: %v", bad, err)
		}
	}
}

// TestPortInUse: a port taken between the daemon's check and the server's
// listen fails the start at once, not after the 30 s readiness wait.
func TestPortInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	start := time.Now()
	s, err := natsembed.Start(natsembed.Config{StoreDir: t.TempDir(), Listen: busy.Addr().String()})
	if err == nil {
		s.Shutdown()
		t.Fatal("started on a port in use")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %s to fail", took)
	}
	if !strings.Contains(err.Error(), busy.Addr().String()) || !strings.Contains(err.Error(), "ss -ltnp") {
		t.Errorf("error %q does not name the address and how to find the process", err)
	}
}
