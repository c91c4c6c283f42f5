package natsembed_test

import (
	"log/slog"
	"strings"
	"testing"

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
