package signing

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cascadehq/cascade/internal/store"
	"github.com/cascadehq/cascade/internal/testkit"
)

var t0 = time.Date(2025, 8, 24, 10, 0, 0, 0, time.UTC)

// fixedKey is a deterministic key: seed bytes all b.
func fixedKey(b byte, at time.Time) *Key {
	k := newKey(bytes.Repeat([]byte{b}, ed25519.SeedSize), at)
	return &k
}

// message is a typical message to an organisation, signed by k.
func message(k *Key) SavedMessage {
	h := nats.Header{}
	h.Set(HeaderEvent, "notice")
	h.Set(HeaderNoticeID, "B-2025-001/se-kommun-0180")
	h.Set("Cascade-Breach-Id", "B-2025-001")
	h.Set("Cascade-Revision", "1")
	h.Set("Content-Type", "application/json")
	m := SavedMessage{Subject: "cascade.notice.se-kommun-0180", Headers: h,
		Data: []byte(`{"event":"notice","notice_id":"B-2025-001/se-kommun-0180","title":"Supplier breach"}`)}
	m.Headers.Set(HeaderSignature, Sign(k, m.Subject, m.Headers, m.Data))
	return m
}

func keySet(keys ...*Key) KeySet {
	var ks KeySet
	for _, k := range keys {
		ks.Keys = append(ks.Keys, k.PublicPart())
	}
	return ks
}

func cloneHeader(h nats.Header) nats.Header {
	out := nats.Header{}
	for k, v := range h {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func TestSignVerifyRoundTrip(t *testing.T) {
	k := fixedKey(1, t0)
	m := message(k)
	kid, err := Verify(keySet(k), m.Subject, m.Headers, m.Data, t0)
	if err != nil || kid != k.ID {
		t.Fatalf("Verify = %q, %v; want %q", kid, err, k.ID)
	}
	if len(k.ID) != 16 {
		t.Errorf("key id %q: want 16 hex characters", k.ID)
	}
	// Through the saved form and a received *nats.Msg.
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var back SavedMessage
	if err := back.Unmarshal(data); err != nil {
		t.Fatal(err)
	}
	if _, err := back.Verify(keySet(k), t0); err != nil {
		t.Errorf("after Marshal/Unmarshal: %v", err)
	}
	msg := &nats.Msg{Subject: m.Subject, Header: cloneHeader(m.Headers), Data: m.Data}
	msg.Header.Del(HeaderSignature)
	SignMsg(k, msg)
	if got := msg.Header.Get(HeaderSignature); got != m.Headers.Get(HeaderSignature) {
		t.Errorf("SignMsg set %q, Sign gave %q", got, m.Headers.Get(HeaderSignature))
	}
	if _, err := VerifyMsg(keySet(k), msg, t0); err != nil {
		t.Errorf("VerifyMsg: %v", err)
	}
	// Headers outside the scheme may change (JetStream adds its own).
	msg.Header.Set("Nats-Msg-Id", "x")
	if _, err := VerifyMsg(keySet(k), msg, t0); err != nil {
		t.Errorf("after an unsigned header was added: %v", err)
	}
}

// TestVector pins the scheme: testdata/vector.json holds a key set and a
// message signed by a fixed key, for implementers in other languages.
func TestVector(t *testing.T) {
	k := fixedKey(7, t0)
	v := struct {
		Keys    KeySet       `json:"keys"`
		Message SavedMessage `json:"message"`
		Signed  string       `json:"signed_bytes"`
	}{Keys: keySet(k), Message: message(k)}
	v.Signed = string(signedBytes(v.Message.Subject, v.Message.Headers.Get(HeaderNoticeID), v.Message.Headers.Get(HeaderEvent), v.Message.Data))
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	testkit.Golden(t, "vector.json", append(data, '\n'))
	if _, err := v.Message.Verify(v.Keys, t0); err != nil {
		t.Fatal(err)
	}
}

func TestEverySingleByteFlipFails(t *testing.T) {
	k := fixedKey(1, t0)
	ks := keySet(k)
	m := message(k)
	m.Data = []byte(`{"title":"Leak"}`)
	m.Headers.Set(HeaderSignature, Sign(k, m.Subject, m.Headers, m.Data))
	if _, err := m.Verify(ks, t0); err != nil {
		t.Fatal(err)
	}
	flip := func(s string, i int) string { b := []byte(s); b[i] ^= 0x01; return string(b) }
	for i := range m.Data {
		body := bytes.Clone(m.Data)
		body[i] ^= 0x01
		if _, err := Verify(ks, m.Subject, m.Headers, body, t0); !errors.Is(err, ErrBadSignature) {
			t.Errorf("body byte %d flipped: err %v, want ErrBadSignature", i, err)
		}
	}
	for i := range m.Subject {
		if _, err := Verify(ks, flip(m.Subject, i), m.Headers, m.Data, t0); !errors.Is(err, ErrBadSignature) {
			t.Errorf("subject byte %d flipped: err %v, want ErrBadSignature", i, err)
		}
	}
	for _, name := range []string{HeaderNoticeID, HeaderEvent, HeaderSignature} {
		v := m.Headers.Get(name)
		for i := range v {
			h := cloneHeader(m.Headers)
			h.Set(name, flip(v, i))
			if _, err := Verify(ks, m.Subject, h, m.Data, t0); err == nil {
				t.Errorf("%s byte %d flipped: accepted", name, i)
			} else if name != HeaderSignature && !errors.Is(err, ErrBadSignature) {
				t.Errorf("%s byte %d flipped: err %v, want ErrBadSignature", name, i, err)
			}
		}
	}
	// The same message replayed to another organisation.
	if _, err := Verify(ks, "cascade.notice.se-kommun-0181", m.Headers, m.Data, t0); !errors.Is(err, ErrBadSignature) {
		t.Errorf("replayed to another subject: %v", err)
	}
}

func TestVerifyErrors(t *testing.T) {
	k := fixedKey(1, t0)
	other := fixedKey(2, t0)
	m := message(k)
	sig := m.Headers.Get(HeaderSignature)
	otherSig := message(other).Headers.Get(HeaderSignature)
	retired := *k
	retired.Active, retired.ExpiresAt = false, t0.Add(time.Hour)
	for _, tc := range []struct {
		name   string
		keys   KeySet
		edit   func(h nats.Header)
		now    time.Time
		want   error
		detail string
	}{
		{name: "genuine", keys: keySet(k)},
		{name: "no signature", keys: keySet(k), edit: func(h nats.Header) { h.Del(HeaderSignature) },
			want: ErrMissingHeader, detail: "missing header Cascade-Signature: the message is not signed by Cascade"},
		{name: "no notice id", keys: keySet(k), edit: func(h nats.Header) { h.Del(HeaderNoticeID) },
			want: ErrMissingHeader, detail: "missing header Cascade-Notice-Id"},
		{name: "no event", keys: keySet(k), edit: func(h nats.Header) { h.Del(HeaderEvent) }, want: ErrMissingHeader},
		{name: "header in other case", keys: keySet(k), edit: func(h nats.Header) {
			h["cascade-event"] = h[HeaderEvent]
			delete(h, HeaderEvent)
		}},
		{name: "notice id twice", keys: keySet(k), edit: func(h nats.Header) { h.Add(HeaderNoticeID, "B-2025-001/se-kommun-0181") },
			want: ErrMalformed, detail: "header Cascade-Notice-Id appears 2 times"},
		{name: "event twice in two cases", keys: keySet(k), edit: func(h nats.Header) { h["CASCADE-EVENT"] = []string{"overdue"} },
			want: ErrMalformed},
		{name: "line break in event", keys: keySet(k), edit: func(h nats.Header) { h.Set(HeaderEvent, "notice\nx") }, want: ErrMalformed},
		{name: "signature twice", keys: keySet(k), edit: func(h nats.Header) { h.Add(HeaderSignature, sig) }, want: ErrMalformed},
		{name: "empty signature", keys: keySet(k), edit: func(h nats.Header) { h.Set(HeaderSignature, "") },
			want: ErrMalformed, detail: "does not start with v1;"},
		{name: "other version", keys: keySet(k), edit: func(h nats.Header) { h.Set(HeaderSignature, "v3"+sig[2:]) },
			want: ErrMalformed, detail: `unsupported version "v3"`},
		{name: "v1 fields under v2", keys: keySet(k), edit: func(h nats.Header) { h.Set(HeaderSignature, "v2"+sig[2:]) },
			want: ErrMalformed, detail: "3 fields, want 6"},
		{name: "extra field", keys: keySet(k), edit: func(h nats.Header) { h.Set(HeaderSignature, sig+";x=1") },
			want: ErrMalformed, detail: "4 fields, want 3"},
		{name: "fields swapped", keys: keySet(k), edit: func(h nats.Header) {
			p := strings.Split(sig, ";")
			h.Set(HeaderSignature, p[0]+";"+p[2]+";"+p[1])
		}, want: ErrMalformed, detail: "second field is not kid="},
		{name: "key id not hex", keys: keySet(k), edit: func(h nats.Header) { h.Set(HeaderSignature, "v1;kid=ZZZZZZZZZZZZZZZZ"+sig[len("v1;kid=")+16:]) },
			want: ErrMalformed, detail: "not 16 lowercase hex"},
		{name: "padded signature", keys: keySet(k), edit: func(h nats.Header) { h.Set(HeaderSignature, sig+"==") }, want: ErrMalformed},
		{name: "standard base64", keys: keySet(k), edit: func(h nats.Header) {
			h.Set(HeaderSignature, strings.NewReplacer("-", "+", "_", "/").Replace(sig)+"A")
		}, want: ErrMalformed},
		{name: "short signature", keys: keySet(k), edit: func(h nats.Header) { h.Set(HeaderSignature, sig[:len(sig)-4]) },
			want: ErrMalformed, detail: "not 64 bytes"},
		{name: "signed by a key not in the set", keys: keySet(k), edit: func(h nats.Header) { h.Set(HeaderSignature, otherSig) },
			want: ErrUnknownKey, detail: "unknown signing key " + other.ID},
		{name: "signed by another key under this key's id", keys: keySet(k), edit: func(h nats.Header) {
			h.Set(HeaderSignature, "v1;kid="+k.ID+otherSig[len("v1;kid=")+16:])
		}, want: ErrBadSignature, detail: "signature does not match: the message was changed or not sent by Cascade"},
		{name: "empty key set", keys: KeySet{}, want: ErrUnknownKey},
		{name: "retired key within its overlap", keys: KeySet{Keys: []PublicKey{other.PublicPart(), retired.PublicPart()}}, now: t0.Add(time.Hour - 1)},
		{name: "retired key after its overlap", keys: KeySet{Keys: []PublicKey{retired.PublicPart()}}, now: t0.Add(time.Hour),
			want: ErrKeyExpired, detail: "stopped verifying messages at 2025-08-24T11:00:00Z"},
		{name: "inactive key without expiry", keys: func() KeySet {
			p := k.PublicPart()
			p.Active = false
			return KeySet{Keys: []PublicKey{p}}
		}(), want: ErrUnknownKey},
		{name: "key of wrong length", keys: func() KeySet {
			p := k.PublicPart()
			p.Public = p.Public[:31]
			return KeySet{Keys: []PublicKey{p}}
		}(), want: ErrUnknownKey},
		{name: "key under another key's id", keys: func() KeySet {
			p := other.PublicPart()
			p.ID = k.ID
			return KeySet{Keys: []PublicKey{p}}
		}(), want: ErrUnknownKey, detail: "the id is not that of its public key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := cloneHeader(m.Headers)
			if tc.edit != nil {
				tc.edit(h)
			}
			now := tc.now
			if now.IsZero() {
				now = t0
			}
			kid, err := Verify(tc.keys, m.Subject, h, m.Data, now)
			if tc.want == nil {
				if err != nil || kid != k.ID {
					t.Fatalf("Verify = %q, %v; want %q", kid, err, k.ID)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.detail) {
				t.Errorf("err %q lacks %q", err, tc.detail)
			}
		})
	}
	if _, err := Verify(keySet(k), "cascade.notice.x\nB", m.Headers, m.Data, t0); !errors.Is(err, ErrMalformed) {
		t.Errorf("line break in the subject: %v", err)
	}
	if _, err := Verify(keySet(k), m.Subject, nil, nil, t0); !errors.Is(err, ErrMissingHeader) {
		t.Errorf("nil header: %v", err)
	}
	if _, err := VerifyMsg(keySet(k), nil, t0); !errors.Is(err, ErrMissingHeader) {
		t.Errorf("nil message: %v", err)
	}
}

func TestParseKeySet(t *testing.T) {
	k := fixedKey(1, t0)
	good, err := json.Marshal(keySet(k))
	if err != nil {
		t.Fatal(err)
	}
	ks, err := ParseKeySet(good)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := ks.Lookup(k.ID); !ok || !p.Public.Equal(k.Public) || !p.CreatedAt.Equal(t0) || !p.Active {
		t.Errorf("Lookup = %+v, %v", p, ok)
	}
	if strings.Contains(string(good), "expires_at") || strings.Contains(string(good), "private") {
		t.Errorf("an active public key's JSON: %s", good)
	}
	for _, tc := range []struct{ name, in, want string }{
		{"empty", ``, "EOF"},
		{"no keys", `{"keys": []}`, "no keys"},
		{"unknown field", `{"keys": [], "private": 1}`, "unknown field"},
		{"trailing data", string(good) + "{}", "data after"},
		{"wrong algorithm", strings.Replace(string(good), `"ed25519"`, `"rsa"`, 1), `algorithm "rsa"`},
		{"wrong id", strings.Replace(string(good), k.ID, "0000000000000000", 1), "not that of its public key"},
		{"short key", `{"keys":[{"key_id":"x","algorithm":"ed25519","public_key":"AAAA","created_at":"2025-08-24T10:00:00Z","active":true}]}`, "3 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseKeySet([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSavedMessageUnmarshal(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"ok", `{"subject":"s","headers":{"A":["1"]},"data":"e30="}`, ""},
		{"empty body", `{"subject":"s","data":""}`, ""},
		{"no subject", `{"headers":{},"data":"e30="}`, `no "subject"`},
		{"no data", `{"subject":"s"}`, `no "data"`},
		{"data not base64", `{"subject":"s","data":"{}"}`, "illegal base64"},
		{"other format", `{"subject":"s","data":"e30=","hdrs":"TkFUUy8xLjA="}`, `unknown field "hdrs"`},
		{"two objects", `{"subject":"s","data":""} {}`, "data after"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m SavedMessage
			err := m.Unmarshal([]byte(tc.in))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
}

// TestRecordGolden: the bucket's record format must keep decoding, and
// the format of versions before the deployment secret (record_v1.json,
// private keys in clear) only when migrating.
func TestRecordGolden(t *testing.T) {
	active := fixedKey(3, t0.Add(24*time.Hour))
	retired := fixedKey(4, t0)
	retired.Active, retired.ExpiresAt = false, t0.Add(24*time.Hour+DefaultOverlap)
	s := testSealer(t)
	s.box = s.box.WithNonces(bytes.NewReader(bytes.Repeat([]byte{9}, 1000))) // fixed nonces, for the golden file only
	data, err := encodeRecord([]Key{*active, *retired}, s)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(b64(active.Private.Seed()))) || bytes.Contains(data, []byte(b64(retired.Private.Seed()))) {
		t.Fatalf("encoded record holds a private key in clear: %s", data)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, data, "", "  "); err != nil {
		t.Fatal(err)
	}
	testkit.Golden(t, "record_v2.json", append(indented.Bytes(), '\n'))
	check := func(name string, keys []Key) {
		t.Helper()
		if len(keys) != 2 || keys[0].ID != active.ID || !keys[0].Active || !keys[0].Private.Equal(active.Private) ||
			keys[1].ID != retired.ID || keys[1].Active || !keys[1].ExpiresAt.Equal(retired.ExpiresAt) || !keys[1].Private.Equal(retired.Private) {
			t.Errorf("%s: decoded %+v", name, keys)
		}
	}
	sealed, err := os.ReadFile(filepath.Join("testdata", "record_v2.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, plainOK := range []bool{false, true} {
		keys, plain, err := decodeRecord(sealed, testSealer(t), plainOK)
		if err != nil || plain != 0 {
			t.Fatalf("record_v2.json (plainOK %v): %d in clear, %v", plainOK, plain, err)
		}
		check("record_v2.json", keys)
	}
	old, err := os.ReadFile(filepath.Join("testdata", "record_v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	keys, plain, err := decodeRecord(old, testSealer(t), true)
	if err != nil || plain != 2 {
		t.Fatalf("record_v1.json when migrating: %d in clear, %v; want 2", plain, err)
	}
	check("record_v1.json", keys)
	if _, _, err := decodeRecord(old, testSealer(t), false); err == nil || !strings.Contains(err.Error(), "private key in clear, refused") {
		t.Fatalf("record_v1.json after the migration: %v; want refused", err)
	}

	// A record that does not hold together is refused, never repaired.
	other, err := newSealer(bytes.Repeat([]byte{0x11}, 32))
	if err != nil {
		t.Fatal(err)
	}
	otherData, err := encodeRecord([]Key{*active}, other)
	if err != nil {
		t.Fatal(err)
	}
	var otherRec record
	if err := json.Unmarshal(otherData, &otherRec); err != nil {
		t.Fatal(err)
	}
	var sealedRec record
	if err := json.Unmarshal(sealed, &sealedRec); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, from, to string
		file           []byte
		want           string
	}{
		{"private key of another key", `"private_key": "` + b64(active.Private.Seed()), `"private_key": "` + b64(retired.Private.Seed()), old, "not that of the public key"},
		{"two active", `"active": false`, `"active": true`, old, "2 active keys"},
		{"sealed key of another key", b64(sealedRec.Keys[0].Sealed), b64(sealedRec.Keys[1].Sealed), sealed, "does not open"},
		{"sealed under another secret", b64(sealedRec.Keys[0].Sealed), b64(otherRec.Keys[0].Sealed), sealed, "does not open"},
		{"sealed key altered", b64(sealedRec.Keys[0].Sealed), b64(flipped(sealedRec.Keys[0].Sealed, 40)), sealed, "does not open"},
		{"sealed key truncated", b64(sealedRec.Keys[0].Sealed), "AAAA", sealed, "too short"},
		{"sealed key removed", `"sealed_private_key": "` + b64(sealedRec.Keys[0].Sealed) + `"`, `"sealed_private_key": null`, sealed, "no private key"},
		{"sealed and clear", `"sealed_private_key": "` + b64(sealedRec.Keys[0].Sealed) + `"`,
			`"private_key": "` + b64(active.Private.Seed()) + `", "sealed_private_key": "` + b64(sealedRec.Keys[0].Sealed) + `"`, sealed, "both"},
		{"clear key planted", `"sealed_private_key": "` + b64(sealedRec.Keys[0].Sealed) + `"`, `"private_key": "` + b64(active.Private.Seed()) + `"`, sealed, "in clear, refused"},
	} {
		bad := strings.Replace(string(tc.file), tc.from, tc.to, 1)
		if bad == string(tc.file) {
			t.Fatalf("%s: nothing replaced", tc.name)
		}
		if _, _, err := decodeRecord([]byte(bad), testSealer(t), bytes.Equal(tc.file, old)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

// flipped is b with one bit of byte i changed.
func flipped(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 1
	return out
}

func b64(b []byte) string {
	s, _ := json.Marshal(b)
	return strings.Trim(string(s), `"`)
}

// The vendor's copy carries the organisation's message unchanged: it
// verifies on its own subject only when that names the signed notice.
func TestVendorCopyVerifies(t *testing.T) {
	k := fixedKey(7, t0)
	set := KeySet{Keys: []PublicKey{k.PublicPart()}}
	m := message(k)
	for _, c := range []struct {
		subject string
		ok      bool
	}{
		{"cascade.events.B-2025-001.se-kommun-0180", true},
		{"cascade.notice.se-kommun-0180", true},
		{"cascade.events.B-2025-002.se-kommun-0180", false}, // another breach
		{"cascade.events.B-2025-001.se-kommun-1480", false}, // another organisation
		{"cascade.events.B-2025-001", false},
		{"cascade.notice.se-kommun-1480", false},
	} {
		_, err := Verify(set, c.subject, m.Headers, m.Data, t0)
		if c.ok && err != nil {
			t.Errorf("%s: %v", c.subject, err)
		}
		if !c.ok && !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: got %v, want ErrBadSignature", c.subject, err)
		}
	}
	if got := SignedSubject("cascade.events.B-1.se-x", "B-1/se-x"); got != "cascade.notice.se-x" {
		t.Errorf("SignedSubject = %q", got)
	}
	if orgPrefix != store.SubjectNotice+"." || vendorPrefix != store.SubjectEvents+"." {
		t.Errorf("prefixes %q, %q differ from the store's subjects", orgPrefix, vendorPrefix)
	}
}
