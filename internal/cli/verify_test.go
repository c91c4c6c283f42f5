package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cascadehq/cascade/internal/natstest"
	"github.com/cascadehq/cascade/internal/signing"
	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// signedFixture is a ring on a test server, a message it signed and the
// published key set, saved as files.
type signedFixture struct {
	ring              *signing.Ring
	msg               signing.SavedMessage
	msgFile, keysFile string
	dir               string
}

func newSignedFixture(t *testing.T) *signedFixture {
	t.Helper()
	srv := natstest.Start(t)
	js, err := jetstream.New(srv.Connect())
	if err != nil {
		t.Fatal(err)
	}
	ring, err := signing.OpenRing(t.Context(), js, 1, nil, time.Hour, signing.Sealing{Key: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ring.Close)
	h := nats.Header{}
	h.Set(signing.HeaderEvent, "notice")
	h.Set(signing.HeaderNoticeID, "B-1/se-kommun-0180")
	h.Set("Content-Type", "application/json")
	msg := signing.SavedMessage{Subject: "cascade.notice.se-kommun-0180", Headers: h,
		Data: []byte(`{"event":"notice","notice_id":"B-1/se-kommun-0180","title":"Supplier breach"}`)}
	msg.Headers.Set(signing.HeaderSignature, signing.Sign(ring.Active(), msg.Subject, msg.Headers, msg.Data))

	f := &signedFixture{ring: ring, msg: msg, dir: t.TempDir()}
	f.msgFile = f.write(t, "message.json", msg)
	keys, err := json.Marshal(signing.KeySet{Keys: ring.Public()})
	if err != nil {
		t.Fatal(err)
	}
	f.keysFile = filepath.Join(f.dir, "keys.json")
	if err := os.WriteFile(f.keysFile, keys, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// write saves m as name in the fixture's directory.
func (f *signedFixture) write(t *testing.T, name string, m signing.SavedMessage) string {
	t.Helper()
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(f.dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestVerifyOffline(t *testing.T) {
	f := newSignedFixture(t)
	kid := f.ring.Active().ID

	r := runCLI(t.Context(), "verify", f.msgFile, "--keys", f.keysFile)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if want := "OK: signed by Cascade key " + kid + " (created "; !strings.HasPrefix(r.stdout, want) || !strings.Contains(r.stdout, ", active)\n") {
		t.Errorf("stdout %q, want %q...active)", r.stdout, want)
	}
	if !strings.Contains(r.stdout, "for subject cascade.notice.se-kommun-0180, notice B-1/se-kommun-0180, event notice") {
		t.Errorf("stdout does not say what was signed: %q", r.stdout)
	}

	// One byte of the body changed.
	tampered := f.msg
	tampered.Data = []byte(strings.Replace(string(f.msg.Data), "Supplier", "Suppliar", 1))
	r = runCLI(t.Context(), "verify", f.write(t, "tampered.json", tampered), "--keys", f.keysFile)
	if r.code != 1 || r.stdout != "FAILED: signature does not match: the message was changed or not sent by Cascade\n" || r.stderr != "" {
		t.Errorf("tampered body: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	// A genuine message to another organisation, forwarded as this one's.
	replayed := f.msg
	replayed.Subject = "cascade.notice.se-kommun-0181"
	r = runCLI(t.Context(), "verify", f.write(t, "replayed.json", replayed), "--keys", f.keysFile)
	if r.code != 1 || !strings.HasPrefix(r.stdout, "FAILED: signature does not match") {
		t.Errorf("replayed: exit %d, stdout %q", r.code, r.stdout)
	}

	// Unsigned.
	unsigned := f.msg
	unsigned.Headers = nats.Header{signing.HeaderEvent: {"notice"}, signing.HeaderNoticeID: {"B-1/se-kommun-0180"}}
	r = runCLI(t.Context(), "verify", f.write(t, "unsigned.json", unsigned), "--keys", f.keysFile)
	if r.code != 1 || r.stdout != "FAILED: missing header Cascade-Signature: the message is not signed by Cascade\n" {
		t.Errorf("unsigned: exit %d, stdout %q", r.code, r.stdout)
	}

	// From stdin, as JSON.
	data, err := os.ReadFile(f.msgFile)
	if err != nil {
		t.Fatal(err)
	}
	r = runCLIStdin(t.Context(), string(data), "verify", "-", "--keys", f.keysFile, "-o", "json")
	var out verifyResultJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != 0 {
		t.Fatalf("json: exit %d, %v: %q %q", r.code, err, r.stdout, r.stderr)
	}
	if !out.OK || out.KeyID != kid || !out.KeyActive || out.KeyCreatedAt == nil || out.NoticeID != "B-1/se-kommun-0180" || out.Event != "notice" {
		t.Errorf("json: %+v", out)
	}
}

func TestVerifyErrorsInInput(t *testing.T) {
	f := newSignedFixture(t)
	other := newSignedFixture(t) // another vendor's ring
	notJSON := filepath.Join(f.dir, "notjson.txt")
	if err := os.WriteFile(notJSON, []byte("NATS/1.0\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name         string
		args         []string
		code         int
		stdout, errs string
	}{
		{"key set of another ring", []string{"verify", f.msgFile, "--keys", other.keysFile}, 1,
			"FAILED: unknown signing key " + f.ring.Active().ID + ": not one of Cascade's published keys", ""},
		{"no such message file", []string{"verify", filepath.Join(f.dir, "nope.json"), "--keys", f.keysFile}, 1, "", "no such file"},
		{"message in no known form", []string{"verify", notJSON, "--keys", f.keysFile}, 1, "", "unsupported format"},
		{"keys file not a key set", []string{"verify", f.msgFile, "--keys", f.msgFile}, 1, "", `unknown field "subject"`},
		{"no file", []string{"verify", "--keys", f.keysFile}, 2, "", "missing argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t.Context(), tc.args...)
			if r.code != tc.code || !strings.HasPrefix(r.stdout, tc.stdout) || !strings.Contains(r.stderr, tc.errs) {
				t.Errorf("exit %d (want %d), stdout %q (want %q...), stderr %q (want %q)", r.code, tc.code, r.stdout, tc.stdout, r.stderr, tc.errs)
			}
		})
	}
}

// keyServer serves a ring's public keys as KeyService does.
type keyServer struct {
	cascadev1.UnimplementedKeyServiceServer
	ring *signing.Ring
}

func (s keyServer) ListSigningKeys(context.Context, *cascadev1.ListSigningKeysRequest) (*cascadev1.ListSigningKeysResponse, error) {
	resp := &cascadev1.ListSigningKeysResponse{}
	for _, k := range s.ring.Public() {
		sk := &cascadev1.SigningKey{KeyId: k.ID, Algorithm: k.Algorithm, PublicKey: k.Public,
			CreatedAt: timestamppb.New(k.CreatedAt), Active: k.Active}
		if !k.ExpiresAt.IsZero() {
			sk.ExpiresAt = timestamppb.New(k.ExpiresAt)
		}
		resp.Keys = append(resp.Keys, sk)
	}
	return resp, nil
}

func TestVerifyKeysOverGRPC(t *testing.T) {
	f := newSignedFixture(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	cascadev1.RegisterKeyServiceServer(gs, keyServer{ring: f.ring})
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)

	old := f.ring.Active().ID
	if _, err := f.ring.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t.Context(), "verify", f.msgFile, "--grpc-addr", lis.Addr().String())
	if r.code != 0 || !strings.HasPrefix(r.stdout, "OK: signed by Cascade key "+old+" (created ") || !strings.Contains(r.stdout, ", replaced, valid until ") {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// No server: the error says how to verify offline.
	gs.Stop()
	r = runCLI(t.Context(), "verify", f.msgFile, "--grpc-addr", lis.Addr().String(), "--timeout", "2s")
	if r.code != 1 || !strings.Contains(r.stderr, "fetch signing keys: Unavailable") || !strings.Contains(r.stderr, "--keys FILE") {
		t.Errorf("no server: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestVerifyHelpGolden(t *testing.T) {
	r := runCLI(t.Context(), "help", "verify")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	testkit.Golden(t, "help_verify.golden", r.stdout)
}

// TestVerifyNATSCLIForms: cascadectl verify reads what the nats CLI saves
// (nats stream get --json, nats sub --dump) and a saved webhook request.
func TestVerifyNATSCLIForms(t *testing.T) {
	f := newSignedFixture(t)
	m := f.msg
	var hdr strings.Builder
	hdr.WriteString("NATS/1.0\r\n")
	var req strings.Builder
	fmt.Fprintf(&req, "POST /hook HTTP/1.1\r\nContent-Length: %d\r\nCascade-Subject: %s\r\n", len(m.Data), m.Subject)
	for k, vs := range m.Headers {
		fmt.Fprintf(&hdr, "%s: %s\r\n", k, vs[0])
		fmt.Fprintf(&req, "%s: %s\r\n", k, vs[0])
	}
	hdr.WriteString("\r\n")
	fmt.Fprintf(&req, "\r\n%s", m.Data)
	streamGet, _ := json.Marshal(map[string]any{"subject": m.Subject, "seq": 3, "hdrs": []byte(hdr.String()), "data": m.Data, "time": time.Now()})
	subDump, _ := json.Marshal(&nats.Msg{Subject: m.Subject, Header: m.Headers, Data: m.Data})
	for name, data := range map[string][]byte{"nats-stream-get": streamGet, "nats-sub-dump": append(subDump, 0), "http-request": []byte(req.String())} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(f.dir, name)
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			r := runCLI(t.Context(), "verify", path, "--keys", f.keysFile, "-o", "json")
			var out map[string]any
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != 0 || out["ok"] != true || out["format"] != name ||
				out["org_id"] != "se-kommun-0180" || out["notice_id"] != "B-1/se-kommun-0180" {
				t.Fatalf("exit %d, stdout %s, stderr %s", r.code, r.stdout, r.stderr)
			}
		})
	}
}
