package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/natsauth"
	"github.com/cascadehq/cascade/internal/signing"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// startAuthDaemon starts a daemon with authentication on (and options
// changed by set) and returns it with its bootstrap vendor token.
func startAuthDaemon(t *testing.T, set func(*daemon.Options)) (*cluster, string) {
	t.Helper()
	var dataDir string
	c := startDaemonWith(t, func(o *daemon.Options) {
		o.InsecureNoAuth = false
		dataDir = o.DataDir
		set(o)
	})
	raw, err := os.ReadFile(filepath.Join(dataDir, "vendor.token"))
	if err != nil {
		t.Fatal(err)
	}
	vendor := strings.TrimSpace(string(raw))
	if !strings.HasPrefix(vendor, "cas_") {
		t.Fatalf("bootstrap token file holds %d bytes not starting with cas_", len(vendor))
	}
	return c, vendor
}

// with appends flags to a command line.
func with(args []string, flags ...string) []string {
	return append(append([]string(nil), args...), flags...)
}

// wantFail checks that r exited 1 and that stderr has every string of want.
func wantFail(t *testing.T, r result, want ...string) {
	t.Helper()
	if r.code != 1 {
		t.Errorf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		return
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
}

// lastNotice is the last message Cascade sent on cascade.notice.<org>,
// saved to a file in the form cascadectl verify reads.
func lastNotice(t *testing.T, c *cluster, org string) string {
	t.Helper()
	// As the daemon's NATS user: the test reads the stream as Cascade stores it.
	user, err := natsauth.UserOptionFromFile(filepath.Join(c.d.NATSAuthDir(), natsauth.DaemonSeedFile))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(c.d.NATSURL(), user)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(t.Context(), "CASCADE_NOTICES")
	if err != nil {
		t.Fatal(err)
	}
	m, err := stream.GetLastMsgForSubject(t.Context(), "cascade.notice."+org)
	if err != nil {
		t.Fatal(err)
	}
	data, err := signing.Save(&nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "message.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTokens runs cascadectl against a daemon with authentication on:
// bearer tokens by role, organisation scoping, revocation, signing keys.
func TestTokens(t *testing.T) {
	c, vendor := startAuthDaemon(t, func(*daemon.Options) {})
	asVendor := func(args ...string) []string { return with(args, "--token", vendor) }
	var controller, controllerID string
	asController := func(args ...string) []string { return with(args, "--token", controller) }

	t.Run("no token", func(t *testing.T) {
		r := c.run("breach", "list")
		wantFail(t, r, "cascadectl: Unauthenticated: missing credentials",
			"\n  (no token given: pass --token-file FILE or set CASCADE_TOKEN_FILE", "'cascadectl tokens issue'")
	})

	t.Run("wrong token", func(t *testing.T) {
		bogus := "cas_" + strings.Repeat("A", 43)
		r := c.run("breach", "list", "--token", bogus)
		wantFail(t, r, "Unauthenticated: invalid or revoked token", "(cascaded refused the token of --token: it may be revoked")
		if strings.Contains(r.stderr, bogus) {
			t.Errorf("stderr shows the token:\n%s", r.stderr)
		}
	})

	t.Run("issue", func(t *testing.T) {
		r := c.must(asVendor("tokens", "issue", "--org", "se-kommun-0180", "--role", "controller", "--label", "DPO of 0180", "-q")...)
		controller = strings.TrimSuffix(r.stdout, "\n")
		if !strings.HasPrefix(controller, "cas_") || strings.ContainsAny(controller, " \t\n") {
			t.Fatalf("-q printed %q, want one cas_ token on one line", r.stdout)
		}
		// Table mode: the token once, then its fields.
		r = c.must(asVendor("tokens", "issue", "--role", "viewer", "--label", "auditor")...)
		if !strings.HasPrefix(r.stdout, "Token (shown once, store it safely): cas_") {
			t.Errorf("stdout:\n%s", r.stdout)
		}
		wantFields(t, r.stdout, "Org", "-", "Role", "viewer", "Label", "auditor", "Issued", "20")
		if len(field(r.stdout, "ID")) != 16 {
			t.Errorf("ID %q, want 16 characters:\n%s", field(r.stdout, "ID"), r.stdout)
		}
		// JSON: the whole response.
		r = c.must(asVendor("tokens", "issue", "--org", "se-kommun-1480", "--role", "Controller", "-o", "json")...)
		var resp cascadev1.IssueTokenResponse
		if err := protojson.Unmarshal([]byte(r.stdout), &resp); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(resp.GetToken(), "cas_") || resp.GetInfo().GetOrgId() != "se-kommun-1480" ||
			resp.GetInfo().GetRole() != cascadev1.Role_ROLE_CONTROLLER || len(resp.GetInfo().GetTokenId()) != 16 {
			t.Errorf("json response %v", &resp)
		}
	})

	t.Run("whoami", func(t *testing.T) {
		if controller == "" {
			t.Skip("no controller token")
		}
		r := c.must(asController("whoami")...)
		wantFields(t, r.stdout, "Role", "controller", "Org", "se-kommun-0180 (Stockholms kommun)", "Label", "DPO of 0180")
		if len(field(r.stdout, "Token id")) != 16 || strings.Contains(r.stdout, "cas_") {
			t.Errorf("whoami:\n%s", r.stdout)
		}
		r = c.must(asVendor("whoami", "-o", "json")...)
		var who cascadev1.WhoAmIResponse
		if err := protojson.Unmarshal([]byte(r.stdout), &who); err != nil {
			t.Fatal(err)
		}
		if who.GetRole() != cascadev1.Role_ROLE_VENDOR || who.GetOrgId() != "" || len(who.GetTokenId()) != 16 {
			t.Errorf("whoami -o json: %v", &who)
		}
		wantFail(t, c.run("whoami"), "cascadectl: Unauthenticated: missing credentials")
	})

	t.Run("issue invalid", func(t *testing.T) {
		r := c.run(asVendor("tokens", "issue", "--org", "Not An Id", "--role", "viewer")...)
		wantFail(t, r, "InvalidArgument", "org_id")
	})

	t.Run("publish", func(t *testing.T) {
		// --token-file: read and trimmed.
		file := filepath.Join(t.TempDir(), "vendor.token")
		if err := os.WriteFile(file, []byte("  "+vendor+"\n\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		r := c.must("breach", "publish", exampleBreach, "--token-file", file)
		wantFields(t, r.stdout, "Fan-out complete", "yes", "Delivered", "12/12")
	})

	t.Run("controller acts on its own notice only", func(t *testing.T) {
		if controller == "" {
			t.Skip("no controller token")
		}
		r := c.must(asController("notice", "ack", exampleNotice, "--by", "dpo")...)
		wantFields(t, r.stdout, "State", "ACKNOWLEDGED", "Acknowledged by", "dpo")
		r = c.run(asController("notice", "ack", exampleID+"/se-kommun-1480", "--by", "dpo")...)
		wantFail(t, r, "cascadectl: NotFound:")
		r = c.must(asController("notice", "list")...)
		if n := tableRows(r.stdout); n != 1 || !strings.Contains(r.stdout, exampleNotice) {
			t.Errorf("the controller's notice list has %d rows, want only its own:\n%s", n, r.stdout)
		}
		// The vendor never acts for a controller: the server's words as they are.
		r = c.run(asVendor("notice", "ack", exampleNotice, "--by", "vendor")...)
		wantFail(t, r, "cascadectl: PermissionDenied: vendor (", "may not call /cascade.v1.NoticeService/AcknowledgeNotice")
		if strings.Contains(r.stderr, "no token given") || !strings.Contains(r.stderr, "(only the notice's own organisation records this") {
			t.Errorf("PermissionDenied without its own advice:\n%s", r.stderr)
		}
	})

	t.Run("tokens list", func(t *testing.T) {
		r := c.run(asController("tokens", "list")...)
		wantFail(t, r, "cascadectl: PermissionDenied:", "may not call /cascade.v1.TokenService/ListTokens")
		r = c.must(asVendor("tokens", "list")...)
		if !strings.HasPrefix(r.stdout, "ID ") || !strings.Contains(r.stdout, "ORG") || !strings.Contains(r.stdout, "REVOKED") ||
			tableRows(r.stdout) != 4 || !strings.Contains(r.stdout, "DPO of 0180") || !strings.Contains(r.stdout, "bootstrap") {
			t.Errorf("tokens list:\n%s", r.stdout)
		}
		if strings.Contains(r.stdout, "cas_") {
			t.Errorf("tokens list shows a token:\n%s", r.stdout)
		}
		r = c.must(asVendor("tokens", "list", "-o", "json")...)
		var list []json.RawMessage
		if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
			t.Fatal(err)
		}
		for _, raw := range list {
			var ti cascadev1.TokenInfo
			if err := protojson.Unmarshal(raw, &ti); err != nil {
				t.Fatal(err)
			}
			if ti.GetOrgId() == "se-kommun-0180" && ti.GetRole() == cascadev1.Role_ROLE_CONTROLLER {
				controllerID = ti.GetTokenId()
			}
		}
		if controllerID == "" {
			t.Fatalf("no controller token for se-kommun-0180 in\n%s", r.stdout)
		}
	})

	t.Run("keys", func(t *testing.T) {
		keysFile := filepath.Join(t.TempDir(), "keys.json")
		// Any authenticated caller may list the keys.
		r := c.must(asController("keys", "list", "--save", keysFile)...)
		if !strings.HasPrefix(r.stdout, "ID ") || !strings.Contains(r.stdout, "ALGORITHM") || !strings.Contains(r.stdout, "ed25519") ||
			tableRows(r.stdout) != 1 || !strings.Contains(r.stderr, "Saved 1 key to "+keysFile) {
			t.Errorf("keys list\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		}
		data, err := os.ReadFile(keysFile)
		if err != nil {
			t.Fatal(err)
		}
		ks, err := signing.ParseKeySet(data)
		if err != nil || len(ks.Keys) != 1 || !ks.Keys[0].Active {
			t.Fatalf("saved key set %v: %v\n%s", ks, err, data)
		}
		msg := lastNotice(t, c, "se-kommun-0180")
		r = runCLI(t.Context(), "verify", msg, "--keys", keysFile) // offline: no daemon, no token
		if r.code != 0 || !strings.HasPrefix(r.stdout, "OK: signed by Cascade key "+ks.Keys[0].ID) {
			t.Fatalf("verify: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}

		r = c.run(asController("keys", "rotate")...)
		wantFail(t, r, "PermissionDenied", "RotateSigningKey")
		r = c.must(asVendor("keys", "rotate", "-o", "json")...)
		var k cascadev1.SigningKey
		if err := protojson.Unmarshal([]byte(r.stdout), &k); err != nil || !k.GetActive() || k.GetKeyId() == ks.Keys[0].ID {
			t.Fatalf("rotate: %v, %v", &k, err)
		}
		r = c.must(asVendor("keys", "list", "-o", "json")...)
		var keys []json.RawMessage
		if err := json.Unmarshal([]byte(r.stdout), &keys); err != nil || len(keys) != 2 {
			t.Errorf("after a rotation %d keys (%v), want 2:\n%s", len(keys), err, r.stdout)
		}
		// The old key still verifies; the saved set of the new one knows it too.
		r = c.must(asVendor("keys", "list", "--save", keysFile)...)
		if !strings.Contains(r.stdout, "yes") || !strings.Contains(r.stdout, "no") {
			t.Errorf("keys list after rotation:\n%s", r.stdout)
		}
		if r := runCLI(t.Context(), "verify", msg, "--keys", keysFile); r.code != 0 || !strings.Contains(r.stdout, "replaced, valid until") {
			t.Errorf("verify after rotation: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("revoke", func(t *testing.T) {
		if controllerID == "" {
			t.Skip("no controller token id")
		}
		r := c.run(asVendor("tokens", "revoke", controller)...)
		if r.code != 2 || strings.Contains(r.stderr, controller) || !strings.Contains(r.stderr, "that is a token, not its id") {
			t.Errorf("revoke by token: exit %d, stderr:\n%s", r.code, r.stderr)
		}
		r = c.must(asVendor("tokens", "revoke", controllerID)...)
		if !strings.HasPrefix(r.stdout, "Token "+controllerID+" revoked.") || !strings.HasPrefix(field(r.stdout, "Revoked"), "20") {
			t.Errorf("revoke:\n%s", r.stdout)
		}
		r = c.run(asController("notice", "show", exampleNotice)...)
		wantFail(t, r, "cascadectl: Unauthenticated: invalid or revoked token", "(cascaded refused the token of --token")
		if strings.Contains(r.stderr, controller) {
			t.Errorf("stderr shows the token:\n%s", r.stderr)
		}
		r = c.must(asVendor("tokens", "list")...)
		for line := range strings.Lines(r.stdout) {
			if strings.HasPrefix(line, controllerID) && strings.HasSuffix(strings.TrimSpace(line), " -") {
				t.Errorf("revoked token listed without a revocation time: %q", line)
			}
		}
	})

	t.Run("token from the environment", func(t *testing.T) {
		t.Setenv(EnvToken, vendor)
		if r := c.must("breach", "list"); !strings.Contains(r.stdout, exampleID) {
			t.Errorf("breach list:\n%s", r.stdout)
		}
		for _, args := range [][]string{{"help"}, {"breach", "list", "-h"}, {"help", "tokens", "issue"}} {
			if r := runCLI(t.Context(), args...); r.code != 0 || strings.Contains(r.stdout+r.stderr, vendor) {
				t.Errorf("%v: exit %d, or the token from %s is shown:\n%s%s", args, r.code, EnvToken, r.stdout, r.stderr)
			}
		}
		// --token-file wins over CASCADE_TOKEN; a missing file is an error
		// that names the file, not the token.
		r := c.run("breach", "list", "--token-file", filepath.Join(t.TempDir(), "nope"))
		wantFail(t, r, "--token-file: open ", "no such file")
		if strings.Contains(r.stderr, vendor) {
			t.Errorf("stderr shows the token:\n%s", r.stderr)
		}
	})
}

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate for a controller, as PEM files.
type testPKI struct {
	ca, serverCert, serverKey, clientCert, clientKey string
}

// newTestPKI writes a CA, a server certificate and a client certificate
// (CN=se-kommun-0180, OU=controller) to dir; names are prefixed with prefix.
func newTestPKI(t *testing.T, dir, prefix string) testPKI {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	serial := int64(0)
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, prefix+name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	writeKey := func(name string, k *ecdsa.PrivateKey) string {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return write(name, "PRIVATE KEY", der)
	}
	now := time.Now()
	caKey := newKey()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: prefix + "Cascade test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(name string, tmpl *x509.Certificate) (string, string) {
		serial++
		tmpl.SerialNumber = big.NewInt(100 + serial)
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(time.Hour)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		k := newKey()
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return write(name+".pem", "CERTIFICATE", der), writeKey(name+".key", k)
	}
	p := testPKI{ca: write("ca.pem", "CERTIFICATE", caDER)}
	p.serverCert, p.serverKey = issue("server", &x509.Certificate{Subject: pkix.Name{CommonName: "cascaded"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	p.clientCert, p.clientKey = issue("client", &x509.Certificate{
		Subject:     pkix.Name{CommonName: "se-kommun-0180", OrganizationalUnit: []string{"controller"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return p
}

// TestTLS runs cascadectl against a daemon that serves gRPC over TLS and
// accepts client certificates (mutual TLS) and tokens.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t, dir, "")
	c, vendor := startAuthDaemon(t, func(o *daemon.Options) {
		o.TLSCert, o.TLSKey, o.TLSClientCA = pki.serverCert, pki.serverKey, pki.ca
	})
	tlsCA := []string{"--tls-ca", pki.ca}
	mtls := []string{"--tls-ca", pki.ca, "--tls-cert", pki.clientCert, "--tls-key", pki.clientKey}

	t.Run("publish with the vendor token over TLS", func(t *testing.T) {
		r := c.must(with([]string{"breach", "publish", exampleBreach, "--token", vendor}, tlsCA...)...)
		wantFields(t, r.stdout, "Fan-out complete", "yes")
		if strings.Contains(r.stderr, "WARNING: sending the token") {
			t.Errorf("warned about plaintext over TLS:\n%s", r.stderr)
		}
	})

	t.Run("client certificate without a token", func(t *testing.T) {
		r := c.must(with([]string{"notice", "show", exampleNotice}, mtls...)...)
		wantFields(t, r.stdout, "Notice", exampleNotice, "State", "DELIVERED")
		r = c.must(with([]string{"notice", "ack", exampleNotice, "--by", "dpo"}, mtls...)...)
		wantFields(t, r.stdout, "State", "ACKNOWLEDGED")
		// The history records the certificate beside the name typed.
		r = c.must(with([]string{"notice", "history", exampleNotice}, mtls...)...)
		if want := `certificate "CN=se-kommun-0180,OU=controller" (controller@se-kommun-0180)`; !strings.Contains(r.stdout, want) {
			t.Errorf("notice history lacks %s:\n%s", want, r.stdout)
		}
		// The certificate is the controller of se-kommun-0180 only.
		wantFail(t, c.run(with([]string{"notice", "show", exampleID + "/se-kommun-1480"}, mtls...)...), "cascadectl: NotFound:")
		wantFail(t, c.run(with([]string{"tokens", "list"}, mtls...)...), "cascadectl: PermissionDenied:", "controller@se-kommun-0180")
	})

	t.Run("TLS without credentials", func(t *testing.T) {
		wantFail(t, c.run(with([]string{"notice", "show", exampleNotice}, tlsCA...)...),
			"Unauthenticated: missing credentials", "(no token given: pass --token-file FILE")
	})

	t.Run("plaintext to the TLS port", func(t *testing.T) {
		r := c.run("notice", "show", exampleNotice, "--token", vendor)
		wantFail(t, r, "cascadectl: Unavailable:", "(cascaded closed the connection: if it serves TLS at "+c.d.GRPCAddr()+", set --tls-ca")
		if strings.Contains(r.stderr, vendor) || strings.Contains(r.stderr, "is cascaded running") {
			t.Errorf("stderr:\n%s", r.stderr)
		}
	})

	t.Run("server certificate from an unknown CA", func(t *testing.T) {
		other := newTestPKI(t, dir, "other-")
		r := c.run("notice", "show", exampleNotice, "--tls-ca", other.ca, "--token", vendor)
		wantFail(t, r, "cascadectl: Unavailable:", "certificate signed by unknown authority", "set --tls-ca to the CA certificate")
		// A name the certificate does not have.
		r = c.run("notice", "show", exampleNotice, "--tls-ca", pki.ca, "--tls-server-name", "cascade.example.org", "--token", vendor)
		wantFail(t, r, "cascadectl: Unavailable:", "set --tls-server-name")
		// A client certificate from a CA cascaded does not trust.
		// With TLS 1.3 the server refuses the certificate after the client's
		// handshake is done, so the client sees the alert or, racing it, a
		// closed connection: either way the call fails as Unavailable.
		r = c.run("notice", "show", exampleNotice, "--tls-ca", pki.ca, "--tls-cert", other.clientCert, "--tls-key", other.clientKey)
		wantFail(t, r, "cascadectl: Unavailable:")
	})

	t.Run("TLS from the environment", func(t *testing.T) {
		t.Setenv(EnvTLSCA, pki.ca)
		t.Setenv(EnvTLSCert, pki.clientCert)
		t.Setenv(EnvTLSKey, pki.clientKey)
		r := c.must("notice", "list")
		if n := tableRows(r.stdout); n != 1 || !strings.Contains(r.stdout, exampleNotice) {
			t.Errorf("notice list with the client certificate: %d rows:\n%s", n, r.stdout)
		}
	})

	t.Run("client certificate to a server that takes none", func(t *testing.T) {
		noCA, vendor := startAuthDaemon(t, func(o *daemon.Options) { o.TLSCert, o.TLSKey = pki.serverCert, pki.serverKey })
		r := noCA.run(with([]string{"breach", "list"}, mtls...)...)
		wantFail(t, r, "Unauthenticated: missing credentials", "(no token given: pass --token-file FILE",
			"cascaded did not ask for the client certificate of --tls-cert: it takes certificates only when started with --tls-client-ca")
		noCA.must(with([]string{"breach", "list", "--token", vendor}, tlsCA...)...)
	})

	t.Run("TLS to a plaintext server", func(t *testing.T) {
		plain := startDaemon(t)
		r := plain.run("breach", "list", "--tls-ca", pki.ca)
		wantFail(t, r, "cascadectl: Unavailable:", "cascaded does not serve TLS at "+plain.d.GRPCAddr())
	})
}
