package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/dispatch"
	"github.com/cascadehq/cascade/internal/testkit"
)

// TestWebhookVerbs: webhook secret issues and rotates a secret; a webhook
// that always fails ends in a dead letter that deadletter list and notice
// show report.
func TestWebhookVerbs(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	t.Cleanup(down.Close)
	orgs := filepath.Join(t.TempDir(), "orgs.csv")
	if err := os.WriteFile(orgs, []byte("id,name,webhook_url\norg-down,Down AB,"+down.URL+"/hook?token=s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startDaemonWith(t, func(o *daemon.Options) {
		o.OrgsFile = orgs
		o.DispatchBackoff = dispatch.Backoff{Initial: 50 * time.Millisecond, Max: 100 * time.Millisecond, GiveUp: 500 * time.Millisecond, MinAttempts: 3}
		o.WebhookAllowPrivate = true // the receiver listens on loopback
	})

	r := c.must("webhook", "secret", "--org", "org-down")
	if !strings.Contains(r.stdout, "whsec_") || !strings.Contains(r.stdout, "shown once") {
		t.Fatalf("webhook secret:\n%s", r.stdout)
	}
	r = c.must("webhook", "secret", "--org", "org-down", "-q")
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "whsec_") {
		t.Fatalf("webhook secret -q:\n%s", r.stdout)
	}
	r = c.must("webhook", "secret", "--org", "org-down", "-o", "json")
	var resp struct {
		Secret             string `json:"secret"`
		PreviousValidUntil string `json:"previous_valid_until"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &resp); err != nil || resp.Secret == "" || resp.PreviousValidUntil == "" {
		t.Fatalf("webhook secret -o json (a rotation): %v\n%s", err, r.stdout)
	}
	if r := c.run("webhook", "secret", "--org", "org-nobody"); r.code == 0 || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("unknown organisation: exit %d, %s", r.code, r.stderr)
	}
	if r := c.run("webhook", "secret"); r.code != 2 || !strings.Contains(r.stderr, "--org is required") {
		t.Fatalf("without --org: exit %d, %s", r.code, r.stderr)
	}
	if r := c.must("deadletter", "list"); !strings.HasPrefix(r.stdout, "No dead letters") {
		t.Fatalf("deadletter list before any:\n%s", r.stdout)
	}

	c.runStdin(strings.Replace(minimalReport("DL-1", "Dead letter test"), "se-kommun-0114", "org-down", 1), "breach", "publish", "-")
	testkit.Eventually(t, 20*time.Second, func() error {
		r := c.run("deadletter", "list", "--org", "org-down", "-o", "json")
		if r.code != 0 || !strings.Contains(r.stdout, "DL-1/org-down") {
			return fmt.Errorf("exit %d: %s %s", r.code, r.stdout, r.stderr)
		}
		return nil
	})
	r = c.must("deadletter", "list", "--breach", "DL-1")
	if !strings.Contains(r.stdout, "DL-1/org-down  webhook  notice") || !strings.Contains(r.stdout, "HTTP 503") ||
		!strings.Contains(r.stdout, down.URL+"/hook ") || strings.Contains(r.stdout, "s3cret") {
		t.Fatalf("deadletter list:\n%s", r.stdout)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		r := c.must("notice", "show", "DL-1/org-down")
		if !strings.Contains(field(r.stdout, "Webhook"), "1 given up") {
			return fmt.Errorf("notice show:\n%s", r.stdout)
		}
		return nil
	})
}
