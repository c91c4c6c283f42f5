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
	if err := os.WriteFile(orgs, []byte("id,name,webhook_url\norg-down,Down AB,"+down.URL+"/hook?token=s3cret\norg-plain,Plain AB,\n"), 0o600); err != nil {
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
	// An organisation without a webhook: refused, naming the column and the
	// option; with --prepare the secret is issued and said to be prepared.
	if r := c.run("webhook", "secret", "--org", "org-plain"); r.code == 0 || !strings.Contains(r.stderr, "no webhook_url") ||
		!strings.Contains(r.stderr, "--prepare") || strings.Contains(r.stdout, "whsec_") {
		t.Fatalf("organisation without a webhook: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := c.must("webhook", "secret", "--org", "org-plain", "--prepare"); !strings.Contains(r.stdout, "whsec_") || !strings.Contains(r.stdout, "Prepared:") {
		t.Fatalf("webhook secret --prepare:\n%s", r.stdout)
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
	// The dead letter is in the notice's history too, with the reason.
	r = c.must("notice", "history", "DL-1/org-down")
	if !strings.Contains(r.stdout, "channel_dead_lettered") || !strings.Contains(r.stdout, "HTTP 503") || !strings.Contains(r.stdout, "deadletter list") {
		t.Fatalf("notice history:\n%s", r.stdout)
	}
}

// TestPublishPendingChannels: a breach that affects an organisation on
// NATS, one whose only channel is a webhook that answers, and one whose
// only channel is a webhook that is down. breach publish does not wait
// for the one it cannot reach: once every notice is on NATS it waits
// --channel-wait, prints the status, names the organisation still waiting
// with its channel's last error and what to do, and ends with exit
// status 3. Without an unreachable organisation it ends with 0.
func TestPublishPendingChannels(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(up.Close)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	t.Cleanup(down.Close)
	orgs := filepath.Join(t.TempDir(), "orgs.csv")
	if err := os.WriteFile(orgs, []byte("id,name,webhook_url,channels\norg-nats,Nats AB,,\n"+
		"org-up,Up AB,"+up.URL+"/hook,webhook\norg-down,Down AB,"+down.URL+"/hook,webhook\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startDaemonWith(t, func(o *daemon.Options) {
		o.OrgsFile = orgs
		o.WebhookAllowPrivate = true // the receivers listen on loopback
	})
	for _, org := range []string{"org-up", "org-down"} {
		c.must("webhook", "secret", "--org", org, "-q")
	}
	report := func(id string, orgs ...string) string {
		var aff []string
		for _, o := range orgs {
			aff = append(aff, `{"org_id": "`+o+`"}`)
		}
		return strings.Replace(minimalReport(id, "Pending channels"), `{"org_id": "se-kommun-0114"}`, strings.Join(aff, ", "), 1)
	}

	r := c.runStdin(report("PC-1", "org-nats", "org-up", "org-down"), "breach", "publish", "--channel-wait", "3s", "-")
	if r.code != 3 {
		t.Fatalf("exit %d, want 3\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "Breach PC-1 recorded: 3 notices.") {
		t.Fatalf("stdout:\n%s", r.stdout)
	}
	for _, want := range []string{"1 of 3 organisations has not received its notice after 3s", "org-down", "webhook: 0 delivered in", "HTTP 503 Service Unavailable",
		"cascadectl breach status PC-1 --watch", "cascadectl notice show PC-1/org-down", "deadletter list --breach PC-1"} {
		if !strings.Contains(r.stderr, want) {
			t.Fatalf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "org-up ") || strings.Contains(r.stderr, "org-nats") {
		t.Fatalf("stderr names a delivered organisation:\n%s", r.stderr)
	}

	r = c.runStdin(report("PC-2", "org-nats", "org-up", "org-down"), "breach", "publish", "--channel-wait", "1s", "-o", "json", "-")
	var out struct {
		PendingChannels []struct {
			OrgID    string `json:"org_id"`
			Channels []struct {
				Channel   string `json:"channel"`
				LastError string `json:"last_error"`
			} `json:"channels"`
		} `json:"pending_channels"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != 3 || len(out.PendingChannels) != 1 || out.PendingChannels[0].OrgID != "org-down" {
		t.Fatalf("-o json: exit %d, %v\n%s", r.code, err, r.stdout)
	}

	r = c.runStdin(report("PC-3", "org-nats", "org-up"), "breach", "publish", "--channel-wait", "20s", "-")
	if r.code != 0 || strings.Contains(r.stderr, "not received") {
		t.Fatalf("all reachable: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
