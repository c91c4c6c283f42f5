package verify

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/natstest"
)

// TestCaptureNATSCLI rewrites testdata/nats-stream-get.json and
// testdata/nats-sub-dump.json with what the nats CLI (natscli) really
// writes for a message signed with the test key. It runs only with
// CASCADE_CAPTURE_NATSCLI=1 and the nats binary on PATH:
//
//	CASCADE_CAPTURE_NATSCLI=1 go test ./internal/verify -run TestCaptureNATSCLI
func TestCaptureNATSCLI(t *testing.T) {
	if os.Getenv("CASCADE_CAPTURE_NATSCLI") != "1" {
		t.Skip("set CASCADE_CAPTURE_NATSCLI=1 to capture the nats CLI's formats")
	}
	bin, err := exec.LookPath("nats")
	if err != nil {
		t.Skip("no nats binary on PATH")
	}
	srv := natstest.Start(t)
	nc := srv.Connect()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ORG", Subjects: []string{"cascade.notice.>"}}); err != nil {
		t.Fatal(err)
	}
	dump := t.TempDir()
	sub := exec.CommandContext(ctx, bin, "--server", srv.ClientURL(), "sub", "cascade.notice.>", "--dump", dump, "--count", "1")
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sub.Wait() }()
	// The same message until the subscriber, once up, has one (the
	// stream keeps each copy; the first is read below).
	m := testMessage(t)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for waiting := true; waiting; {
		if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: m.Subject, Header: m.Headers, Data: m.Data}); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			waiting = false
		case <-tick.C:
		}
	}
	dumped, err := os.ReadFile(filepath.Join(dump, "1.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := exec.CommandContext(ctx, bin, "--server", srv.ClientURL(), "stream", "get", "ORG", "1", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"nats-sub-dump.json": dumped, "nats-stream-get.json": got} {
		if err := os.WriteFile(filepath.Join("testdata", name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
