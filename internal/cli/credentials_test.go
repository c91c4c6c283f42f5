package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testToken = "cas_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"

func TestCredential(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := file("good", "\n  "+testToken+" \r\n\n")
	other := file("other", "cas_other\n")
	empty := file("empty", " \n")
	twoLines := file("two", testToken+"\n"+testToken+"\n")
	huge := file("huge", strings.Repeat("a", maxTokenFileBytes+1))
	for _, tc := range []struct {
		name    string
		g       globals
		want    string
		wantErr string
	}{
		{name: "none"},
		{name: "flag", g: globals{token: " " + testToken + " "}, want: testToken},
		{name: "flag file, trimmed", g: globals{tokenFile: good}, want: testToken},
		{name: "env", g: globals{envToken: testToken}, want: testToken},
		{name: "env file", g: globals{envTokenFile: good}, want: testToken},
		{name: "flag file over env token", g: globals{tokenFile: other, envToken: testToken}, want: "cas_other"},
		{name: "flag token over env file", g: globals{token: testToken, envTokenFile: other}, want: testToken},
		{name: "empty file", g: globals{tokenFile: empty}, wantErr: "--token-file " + empty + ": the file is empty"},
		{name: "two lines", g: globals{envTokenFile: twoLines}, wantErr: EnvTokenFile + " " + twoLines + ": the token has a space, line break"},
		{name: "space in flag", g: globals{token: "cas_a b"}, wantErr: "--token: the token has a space"},
		{name: "control character in env", g: globals{envToken: "cas_a\x01"}, wantErr: EnvToken + ": the token has"},
		{name: "missing file", g: globals{tokenFile: filepath.Join(dir, "nope")}, wantErr: "--token-file: open "},
		{name: "huge file", g: globals{tokenFile: huge}, wantErr: "not a token file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.g.credential()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "cas_a") {
					t.Errorf("the error shows the token: %v", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestCredentialConflicts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		g       globals
		wantErr string
	}{
		{"both flags", globals{token: "a", tokenFile: "f"}, "give either --token or --token-file, not both"},
		{"both env", globals{envToken: "a", envTokenFile: "f"}, "both CASCADE_TOKEN and CASCADE_TOKEN_FILE are set"},
		{"flag settles env", globals{tokenFile: "f", envToken: "a", envTokenFile: "g"}, ""},
		{"cert without key", globals{tlsCert: "c"}, "--tls-cert and --tls-key go together"},
		{"key without cert", globals{tlsKey: "k"}, "--tls-cert and --tls-key go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.g
			g.output = outputTable
			err := g.check()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestLoopbackTarget(t *testing.T) {
	for target, want := range map[string]bool{
		"127.0.0.1:7400":               true,
		"127.0.0.53:7400":              true,
		"localhost:7400":               true,
		"[::1]:7400":                   true,
		"dns:///localhost:7400":        true,
		"dns://8.8.8.8/127.0.0.1:7400": true,
		"passthrough:///[::1]:7400":    true,
		"unix:///run/cascade.sock":     true,
		"unix:cascade.sock":            true,
		"10.0.0.1:7400":                false,
		"cascade.example.org:7400":     false,
		"dns:///cascade.example.org:1": false,
		"[2001:db8::1]:7400":           false,
		"0.0.0.0:7400":                 false,
		"localhost.example.org:7400":   false,
	} {
		if got := loopbackTarget(target); got != want {
			t.Errorf("loopbackTarget(%q) = %v, want %v", target, got, want)
		}
	}
}

// TestPlaintextWarning: a token sent without TLS beyond this machine is
// warned about, once; never on loopback or over TLS; the warning never
// shows the token.
func TestPlaintextWarning(t *testing.T) {
	pki := newTestPKI(t, t.TempDir(), "")
	for _, tc := range []struct {
		name string
		g    globals
		warn bool
	}{
		{"remote plaintext", globals{grpcAddr: "10.0.0.1:7400", token: testToken}, true},
		{"remote plaintext, token from env", globals{grpcAddr: "cascade.example.org:7400", envToken: testToken}, true},
		{"remote without token", globals{grpcAddr: "10.0.0.1:7400"}, false},
		{"loopback", globals{grpcAddr: "127.0.0.1:7400", token: testToken}, false},
		{"remote TLS", globals{grpcAddr: "10.0.0.1:7400", token: testToken, tlsCA: pki.ca}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			a := &app{stdout: &bytes.Buffer{}, stderr: &stderr, g: tc.g}
			for range 2 {
				c, err := a.dial() // lazy: nothing is sent
				if err != nil {
					t.Fatal(err)
				}
				c.Close()
			}
			got := stderr.String()
			if tc.warn {
				if strings.Count(got, "\n") != 1 || !strings.HasPrefix(got, "cascadectl: WARNING: sending the token to "+tc.g.grpcAddr+" without TLS") {
					t.Errorf("stderr %q, want one warning line", got)
				}
			} else if got != "" {
				t.Errorf("stderr %q, want nothing", got)
			}
			if strings.Contains(got, testToken) {
				t.Errorf("the warning shows the token: %q", got)
			}
		})
	}
}

func TestBearer(t *testing.T) {
	md, err := bearer(testToken).GetRequestMetadata(t.Context())
	if err != nil || md["authorization"] != "Bearer "+testToken || len(md) != 1 {
		t.Errorf("metadata %v, %v", md, err)
	}
	if bearer(testToken).RequireTransportSecurity() {
		t.Error("requires TLS: loopback plaintext would not work")
	}
}

func TestClientTLSFiles(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t, dir, "")
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		g       globals
		wantErr string
	}{
		{"ca", globals{tlsCA: pki.ca}, ""},
		{"mutual", globals{tlsCA: pki.ca, tlsCert: pki.clientCert, tlsKey: pki.clientKey}, ""},
		{"missing ca", globals{tlsCA: filepath.Join(dir, "nope")}, "--tls-ca: open "},
		{"ca not PEM", globals{tlsCA: notPEM}, "no PEM certificate found"},
		{"key of another certificate", globals{tlsCert: pki.clientCert, tlsKey: pki.serverKey}, "--tls-cert/--tls-key: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.g.clientTLS()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
		})
	}
}
