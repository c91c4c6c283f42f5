package daemon_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/cascadehq/cascade/internal/signing"
	"github.com/cascadehq/cascade/internal/store"
)

// genuineMessage is the last message Cascade sent to org, as its
// recipient would save it.
func genuineMessage(a *adversary, org string) []byte {
	c, cancel := short()
	defer cancel()
	s, err := a.daemonJS.Stream(c, store.StreamNotices)
	if err != nil {
		a.t.Fatal(err)
	}
	m, err := s.GetLastMsgForSubject(c, store.SubjectNotice+"."+org)
	if err != nil {
		a.t.Fatal(err)
	}
	b, err := signing.SavedMessage{Subject: m.Subject, Headers: m.Header, Data: m.Data}.Marshal()
	if err != nil {
		a.t.Fatal(err)
	}
	return b
}

// checkPage posts msg to the dashboard's check page as the caller with
// token. The attack succeeds (nil) when the page says verified for a
// message Cascade did not sign, or shows facts; otherwise the error
// names the outcome: "verified=false reason=…", "verified=true
// facts_note=…" or the HTTP error.
func checkPage(a *adversary, token string, msg []byte) error {
	req, err := http.NewRequest("POST", a.http+"/api/verify", bytes.NewReader(msg))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c, cancel := short()
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(c))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	var out struct {
		Verified  bool            `json:"verified"`
		Reason    string          `json:"reason"`
		FactsNote string          `json:"facts_note"`
		Notice    json.RawMessage `json:"notice"`
		Breach    json.RawMessage `json:"breach"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return err
	}
	if len(out.Notice) > 0 || len(out.Breach) > 0 {
		return nil // facts shown
	}
	if !out.Verified {
		return fmt.Errorf("verified=false reason=%s", out.Reason)
	}
	return fmt.Errorf("verified=true facts_note=%s", out.FactsNote)
}

// Hostile inputs to the dashboard's check page (POST /api/verify), which
// answers without a token.
func init() {
	none := func(*adversary) string { return "" }
	ctrlA := func(a *adversary) string { return a.controllerA }
	check := func(token func(*adversary) string, msg func(*adversary) []byte) func(a *adversary) error {
		return func(a *adversary) error { return checkPage(a, token(a), msg(a)) }
	}
	forged := func(a *adversary) []byte {
		var m signing.SavedMessage
		if err := m.Unmarshal(genuineMessage(a, advOrgA)); err != nil {
			a.t.Fatal(err)
		}
		k := otherKey()
		h := nats.Header{}
		for name, v := range m.Headers {
			h[name] = v
		}
		m.Headers = h
		m.Data = bytes.Replace(m.Data, []byte(`"title"`), []byte(`"title":"Ring 020-123 45 67 now","x"`), 1)
		m.Headers.Set(signing.HeaderSignature, signing.Sign(&k, m.Subject, m.Headers, m.Data))
		b, _ := m.Marshal()
		return b
	}
	tampered := func(a *adversary) []byte {
		var m signing.SavedMessage
		if err := m.Unmarshal(genuineMessage(a, advOrgA)); err != nil {
			a.t.Fatal(err)
		}
		m.Data = bytes.Clone(m.Data)
		m.Data[len(m.Data)/2] ^= 0x01
		b, _ := m.Marshal()
		return b
	}
	addHostile(
		hostile{name: "check page: more than 1 MiB", surface: "http", want: "HTTP 413",
			do: check(none, func(*adversary) []byte { return bytes.Repeat([]byte("x"), 1<<20+1) })},
		hostile{name: "check page: garbage", surface: "http", want: "verified=false reason=unsupported_format",
			do: check(none, func(*adversary) []byte { return []byte("\x00\xff garbage {\"subject\": 1") })},
		hostile{name: "check page: message forged with another key", surface: "http", want: "verified=false reason=unknown_key",
			do: check(ctrlA, forged)},
		hostile{name: "check page: genuine message changed by one bit", surface: "http", want: "verified=false reason=tampered",
			do: check(ctrlA, tampered)},
		hostile{name: "check page: anonymous caller gets no facts", surface: "http", want: "verified=true facts_note=sign_in",
			do: check(none, func(a *adversary) []byte { return genuineMessage(a, advOrgA) })},
		hostile{name: "check page: controller of A checks B's genuine message", surface: "http", want: "verified=true facts_note=not_yours",
			do: check(ctrlA, func(a *adversary) []byte { return genuineMessage(a, advOrgB) })},
		hostile{name: "check page: revoked token gets no facts", surface: "http", want: "verified=true facts_note=sign_in",
			do: check(func(a *adversary) string { return a.revoked }, func(a *adversary) []byte { return genuineMessage(a, advOrgA) })},
		hostile{name: "check page exemption is exact: POST /api/verify/ without a token", surface: "http", want: "HTTP 401",
			do: func(a *adversary) error { return a.httpDo("POST", "/api/verify/", "", strings.NewReader("x")) }},
		hostile{name: "check page by GET", surface: "http", want: "HTTP 405",
			do: func(a *adversary) error { return a.httpDo("GET", "/api/verify", "", nil) }},
	)
}

// otherKey is a signing key that is not Cascade's.
func otherKey() signing.Key {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	pub := priv.Public().(ed25519.PublicKey)
	return signing.Key{ID: signing.KeyID(pub), Public: pub, Private: priv, Active: true}
}
