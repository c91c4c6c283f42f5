package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/testkit"
)

// TestForwardAndVerifyChain: cascadectl as the three parties of a
// two-step chain. The hosting provider publishes; Alfa Lön forwards the
// notice its organisation received with 'breach forward'; a municipality
// checks what it got with 'verify', offline, the supplier's notice inside
// it included, and a forged chain fails.
func TestForwardAndVerifyChain(t *testing.T) {
	const org = "se-foretag-alfa-lon"
	dir := t.TempDir()
	ex, err := os.ReadFile(filepath.Join("..", "..", "deploy", "examples", "orgs.csv"))
	if err != nil {
		t.Fatal(err)
	}
	cols := strings.Count(strings.SplitN(string(ex), "\n", 2)[0], ",")
	orgs := filepath.Join(dir, "orgs.csv")
	if err := os.WriteFile(orgs, append(ex, []byte(org+",Alfa Lön AB"+strings.Repeat(",", cols-1)+"\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	procs := filepath.Join(dir, "processors.csv")
	if err := os.WriteFile(procs, []byte("id,name,contact_email,customers,org_id\n"+
		"drift-hosting,Drift Hosting AB,soc@drift.example,"+org+",\n"+
		"alfa-lon,Alfa Lön AB,security@alfa.example,se-kommun-0180 se-kommun-1480,"+org+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, operator := startAuthDaemon(t, func(o *daemon.Options) { o.OrgsFile, o.ProcessorsFile = orgs, procs })
	issue := func(args ...string) string {
		return strings.TrimSpace(c.must(append([]string{"tokens", "issue", "-q", "--token", operator}, args...)...).stdout)
	}
	hosting := issue("--role", "vendor", "--processor", "drift-hosting")
	alfa := issue("--role", "vendor", "--processor", "alfa-lon")
	report := filepath.Join(dir, "dh.json")
	if err := os.WriteFile(report, []byte(`{"id":"DH-9","processor":"Drift Hosting AB","title":"Hypervisor compromise",
"nature":"an attacker read virtual machine disks","discovered_at":"2026-12-01T06:00:00Z",
"affected":[{"org_id":"`+org+`"}],"contact":{"email":"soc@drift.example"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// As the hosting provider's own NATS user (c.run would add the default vendor's).
	if r := runCLI(t.Context(), "breach", "publish", report, "--token", hosting, "--grpc-addr", c.d.GRPCAddr(), "--nats-url", c.d.NATSURL(),
		"--nats-nkey", filepath.Join(c.d.NATSAuthDir(), "processors", "drift-hosting.nk")); r.code != 0 {
		t.Fatalf("breach publish as the hosting provider: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	r := c.must("breach", "forward", "drift-hosting__DH-9/"+org, "--all-customers", "--token", alfa)
	if !strings.Contains(r.stdout, "Forwarded Drift Hosting AB's notice drift-hosting__DH-9/"+org+" as breach alfa-lon__DH-9.") {
		t.Fatalf("breach forward:\n%s", r.stdout)
	}
	keys := filepath.Join(dir, "keys.json")
	c.must("keys", "list", "--save", keys, "--token", operator)
	var msg string
	testkit.Eventually(t, 30*time.Second, func() error {
		msg = lastNotice(t, c, "se-kommun-1480")
		if data, _ := os.ReadFile(msg); !strings.Contains(string(data), "alfa-lon__DH-9") {
			return errors.New("no forwarded notice for se-kommun-1480 yet")
		}
		return nil
	})
	r = c.must("verify", msg, "--keys", keys)
	for _, want := range []string{"OK: signed by Cascade key", "notice alfa-lon__DH-9/se-kommun-1480",
		"forwards Drift Hosting AB's notice drift-hosting__DH-9/" + org + " (revision 1), sent to organisation " + org + ": OK, signed by key"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("verify lacks %q:\n%s", want, r.stdout)
		}
	}
	// The supplier's key unknown (another Cascade's keys given): the chain fails.
	other := filepath.Join(dir, "other-keys.json")
	if err := os.WriteFile(other, []byte(`{"keys":[{"key_id":"21fe31dfa154a261","algorithm":"ed25519","public_key":"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=","created_at":"2026-01-01T00:00:00Z","active":true}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r = c.run("verify", msg, "--keys", keys, "--upstream-keys", other)
	if r.code == 0 || !strings.Contains(r.stdout, "FAILED: the forwarded notice inside it does not verify") {
		t.Fatalf("verify with the wrong upstream keys: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
