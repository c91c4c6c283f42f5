package dashboard_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cascadehq/cascade/internal/email"
	"github.com/cascadehq/cascade/internal/message"
	"github.com/cascadehq/cascade/internal/signing"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// sent is the last message Cascade sent to org, as received.
func (e *env) sent(org string) *nats.Msg {
	e.t.Helper()
	s, err := e.js.Stream(ctx(e.t), "CASCADE_NOTICES")
	if err != nil {
		e.t.Fatal(err)
	}
	m, err := s.GetLastMsgForSubject(ctx(e.t), "cascade.notice."+org)
	if err != nil {
		e.t.Fatal(err)
	}
	return &nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data}
}

// savedForms is m in every form a recipient may hold.
func savedForms(t *testing.T, m *nats.Msg) map[string]string {
	t.Helper()
	saved, err := signing.Save(m).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// nats stream get --json: the header block in base64.
	var hdr bytes.Buffer
	hdr.WriteString("NATS/1.0\r\n")
	for k, vs := range m.Header {
		for _, v := range vs {
			fmt.Fprintf(&hdr, "%s: %s\r\n", k, v)
		}
	}
	hdr.WriteString("\r\n")
	streamGet, _ := json.MarshalIndent(map[string]any{"subject": m.Subject, "seq": 7, "hdrs": hdr.Bytes(), "data": m.Data,
		"time": time.Now().UTC()}, "", "  ")
	subDump, _ := json.Marshal(&nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data})
	// The webhook request as a receiver logged it.
	var req bytes.Buffer
	fmt.Fprintf(&req, "POST /hooks/cascade HTTP/1.1\r\nHost: dpo.example.org\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", len(m.Data))
	hooked := map[string]string{"Cascade-Subject": m.Subject}
	for k, vs := range m.Header {
		if strings.HasPrefix(k, "Cascade-") {
			fmt.Fprintf(&req, "%s: %s\r\n", k, vs[0])
			hooked[k] = vs[0]
		}
	}
	fmt.Fprintf(&req, "Cascade-Subject: %s\r\n\r\n%s", m.Subject, m.Data)
	hookJSON, _ := json.Marshal(map[string]any{"headers": hooked, "body": string(m.Data)})
	// The e-mail, as Cascade composes it.
	var body message.Message
	if err := json.Unmarshal(m.Data, &body); err != nil {
		t.Fatal(err)
	}
	eml, err := email.Compose(&mail.Address{Name: "Cascade", Address: "cascade@vendor.example"}, &email.Message{Msg: body,
		Subject: m.Subject, Header: m.Header, Body: m.Data, MessageID: "x", To: []string{"dpo@example.org"}, Date: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"cascade-saved": string(saved), "nats-stream-get": string(streamGet), "nats-sub-dump": string(subDump),
		"http-request": req.String(), "webhook-json": string(hookJSON), "email": string(eml)}
}

// TestVerifyPage: POST /api/verify checks every form anonymously; the
// facts come only for a caller who may see the notice.
func TestVerifyPage(t *testing.T) {
	e := start(t, false)
	controller := e.issue(stockholm, cascadev1.Role_ROLE_CONTROLLER) // before the notice, which is then the last message
	e.publish("VER-1", stockholm, uppsala)
	genuine := e.sent(stockholm)
	post := func(t *testing.T, token, body string) (int, map[string]any) {
		resp := e.call("POST", "/api/verify", token, "application/octet-stream", body)
		return resp.StatusCode, decode(t, resp)
	}
	for form, body := range savedForms(t, genuine) {
		t.Run(form, func(t *testing.T) {
			code, m := post(t, "", body)
			if code != 200 || m["verified"] != true || m["format"] != form || m["org_id"] != stockholm ||
				m["notice_id"] != "VER-1/"+stockholm || m["breach_id"] != "VER-1" || m["event"] == "" || m["key_id"] == "" {
				t.Fatalf("anonymous: %d %v", code, m)
			}
			if m["notice"] != nil || m["facts_note"] != "sign_in" {
				t.Errorf("anonymous caller: facts %v, note %v", m["notice"], m["facts_note"])
			}
			code, m = post(t, controller, body)
			n, _ := m["notice"].(map[string]any)
			b, _ := m["breach"].(map[string]any)
			if code != 200 || m["verified"] != true || n == nil || b == nil {
				t.Fatalf("controller: %d %v", code, m)
			}
			if n["notice"].(map[string]any)["id"] != "VER-1/"+stockholm || b["breach"].(map[string]any)["id"] != "VER-1" {
				t.Errorf("facts of another notice: %v", m)
			}
			// One byte of the body changed.
			i := strings.Index(body, "Stolen payroll")
			if i < 0 {
				return // base64 in this form
			}
			code, m = post(t, controller, body[:i]+"s"+body[i+1:])
			if form == "email" {
				// The e-mail's text is not what is signed: the answer shows
				// what the signed attachment says.
				if code != 200 || m["verified"] != true || m["message"].(map[string]any)["title"] != "Stolen payroll database VER-1" {
					t.Errorf("e-mail with changed text: %d %v", code, m)
				}
				return
			}
			if code != 200 || m["verified"] != false || m["reason"] != "tampered" || m["advice"] == "" || m["notice"] != nil {
				t.Errorf("tampered: %d %v", code, m)
			}
		})
	}
	t.Run("another organisation's genuine message", func(t *testing.T) {
		saved, _ := signing.Save(e.sent(uppsala)).Marshal()
		code, m := post(t, controller, string(saved))
		if code != 200 || m["verified"] != true || m["org_id"] != uppsala || m["notice"] != nil || m["facts_note"] != "not_yours" {
			t.Errorf("%d %v", code, m)
		}
	})
	t.Run("the vendor sees the facts of any notice", func(t *testing.T) {
		saved, _ := signing.Save(e.sent(uppsala)).Marshal()
		if code, m := post(t, e.vendor, string(saved)); code != 200 || m["notice"] == nil {
			t.Errorf("%d %v", code, m)
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		forged := signing.Save(genuine)
		k := otherKey()
		h := nats.Header{}
		for name, v := range forged.Headers {
			h[name] = v
		}
		h.Set(signing.HeaderSignature, signing.Sign(&k, forged.Subject, h, forged.Data))
		forged.Headers = h
		saved, _ := forged.Marshal()
		if code, m := post(t, controller, string(saved)); code != 200 || m["verified"] != false || m["reason"] != "unknown_key" || m["notice"] != nil {
			t.Errorf("%d %v", code, m)
		}
	})
	t.Run("no signature", func(t *testing.T) {
		if code, m := post(t, "", string(genuine.Data)); code != 200 || m["verified"] != false || m["reason"] != "no_signature" ||
			m["notice_id"] != "VER-1/"+stockholm {
			t.Errorf("%d %v", code, m)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		if code, m := post(t, "", "hello"); code != 200 || m["verified"] != false || m["reason"] != "unsupported_format" {
			t.Errorf("%d %v", code, m)
		}
	})
	t.Run("over 1 MiB", func(t *testing.T) {
		if code, m := post(t, "", strings.Repeat("x", 1<<20+1)); code != 413 || m["code"] != "INVALID_ARGUMENT" {
			t.Errorf("%d %v", code, m)
		}
	})
}

// otherKey is a signing key that is not Cascade's.
func otherKey() signing.Key {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	pub := priv.Public().(ed25519.PublicKey)
	return signing.Key{ID: signing.KeyID(pub), Public: pub, Private: priv, Active: true}
}
