package verify

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cascadehq/cascade/internal/signing"
)

// testKey is fixed, so that the files in testdata verify.
func testKey(name string) signing.Key {
	seed := sha256.Sum256([]byte(name))
	priv := ed25519.NewKeyFromSeed(seed[:])
	pub := priv.Public().(ed25519.PublicKey)
	return signing.Key{ID: signing.KeyID(pub), Public: pub, Private: priv,
		CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Active: true}
}

func testKeys() signing.KeySet {
	k := testKey("cascade verify test key")
	return signing.KeySet{Keys: []signing.PublicKey{k.PublicPart()}}
}

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const testBody = `{"event":"notice","notice_id":"b-2026-01/kommun-a","breach_id":"b-2026-01","org_id":"kommun-a","revision":1,"title":"Stolen backup","sent_at":"2026-02-28T09:00:00Z"}`

// testMessage is a message as Cascade sends it to kommun-a, signed.
func testMessage(t testing.TB) signing.SavedMessage {
	t.Helper()
	k := testKey("cascade verify test key")
	m := &nats.Msg{Subject: "cascade.notice.kommun-a", Header: nats.Header{}, Data: []byte(testBody)}
	m.Header.Set("Cascade-Event", "notice")
	m.Header.Set("Cascade-Notice-Id", "b-2026-01/kommun-a")
	m.Header.Set("Cascade-Breach-Id", "b-2026-01")
	m.Header.Set("Cascade-Revision", "1")
	signing.SignMsg(&k, m)
	return signing.Save(m)
}

// forms is testMessage in every form Parse reads, but the nats CLI's,
// which are in testdata as that CLI wrote them.
func forms(t *testing.T, m signing.SavedMessage) map[Format][]byte {
	t.Helper()
	saved, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var req bytes.Buffer
	fmt.Fprintf(&req, "POST /cascade-hook HTTP/1.1\r\nHost: hooks.kommun-a.se\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", len(m.Data))
	for k, vs := range m.Headers {
		for _, v := range vs {
			fmt.Fprintf(&req, "%s: %s\r\n", k, v)
		}
	}
	fmt.Fprintf(&req, "Cascade-Subject: %s\r\nIdempotency-Key: x1\r\n\r\n%s\n", m.Subject, m.Data)
	hdrs := map[string]any{"Cascade-Subject": m.Subject}
	for k, vs := range m.Headers {
		hdrs[k] = vs[0]
	}
	hook, _ := json.Marshal(map[string]any{"headers": hdrs, "body": string(m.Data)})
	raw, _ := json.Marshal(map[string]any{"headers": hdrs, "body": json.RawMessage(m.Data)})
	var eml bytes.Buffer
	eml.WriteString("From: Cascade <cascade@vendor.example>\r\nTo: dpo@kommun-a.se\r\nSubject: Personuppgiftsincident\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHej\r\n--XX\r\n" +
		"Content-Type: application/json; name=cascade-message.json\r\nContent-Disposition: attachment; filename=cascade-message.json\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(saved)
	for len(enc) > 76 {
		eml.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	eml.WriteString(enc + "\r\n--XX--\r\n")
	return map[Format][]byte{
		FormatSaved:        saved,
		FormatHTTP:         req.Bytes(),
		FormatWebhookJSON:  hook,
		FormatEmail:        eml.Bytes(),
		"webhook-json-raw": raw,
	}
}

func TestCheckEveryForm(t *testing.T) {
	m := testMessage(t)
	in := forms(t, m)
	for _, name := range []string{"nats-stream-get.json", "nats-sub-dump.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		in[Format(strings.TrimSuffix(name, ".json"))] = data
	}
	// Headers only, no request line, LF line ends and no Content-Length,
	// as pasted from a log.
	in["http-headers-only"] = []byte("Cascade-Signature: " + m.Headers.Get("Cascade-Signature") + "\nCascade-Notice-Id: b-2026-01/kommun-a\nCascade-Event: notice\n\n" + testBody + "\n")
	in["nats-sub-dump-stdout"] = append(append([]byte{}, in[FormatSubDump]...), 0)
	for name, data := range in {
		t.Run(string(name), func(t *testing.T) {
			r := Check(data, testKeys(), testNow)
			if !r.Verified {
				t.Fatalf("not verified: %s: %v", r.Reason, r.Err)
			}
			want := strings.TrimSuffix(strings.TrimSuffix(string(name), "-raw"), "-stdout")
			if name == "http-headers-only" {
				want = string(FormatHTTP)
			}
			if string(r.Format) != want {
				t.Errorf("format %s, want %s", r.Format, want)
			}
			if r.OrgID != "kommun-a" || r.BreachID != "b-2026-01" || r.NoticeID != "b-2026-01/kommun-a" || r.Event != "notice" ||
				r.KeyID != testKeys().Keys[0].ID || r.Subject != "cascade.notice.kommun-a" || r.Body == nil {
				t.Errorf("result %+v", r)
			}
			// One byte changed in the body: not genuine.
			i := bytes.Index(data, []byte("Stolen"))
			if i < 0 {
				return // the body is base64 in this form: TestCheckTampered covers it
			}
			bad := bytes.Clone(data)
			bad[i] = 's'
			if r := Check(bad, testKeys(), testNow); r.Verified || r.Reason != ReasonTampered {
				t.Errorf("tampered: verified %v, reason %s (%v)", r.Verified, r.Reason, r.Err)
			}
		})
	}
}

func TestCheckFailures(t *testing.T) {
	m := testMessage(t)
	saved := func(m signing.SavedMessage) []byte {
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tampered := m
	tampered.Data = bytes.Replace(bytes.Clone(m.Data), []byte("Stolen"), []byte("stolen"), 1)
	unsigned := signing.SavedMessage{Subject: m.Subject, Headers: nats.Header{"Cascade-Notice-Id": {"b-2026-01/kommun-a"}}, Data: m.Data}
	forged := m
	other := testKey("someone else")
	forged.Headers = nats.Header{}
	for k, v := range m.Headers {
		forged.Headers[k] = v
	}
	forged.Headers.Set("Cascade-Signature", signing.Sign(&other, m.Subject, m.Headers, m.Data))
	otherOrg := m
	otherOrg.Subject = "cascade.notice.kommun-b"
	expired := testKeys()
	expired.Keys[0].Active, expired.Keys[0].ExpiresAt = false, testNow.Add(-time.Hour)
	for _, c := range []struct {
		name string
		data []byte
		keys signing.KeySet
		want Reason
	}{
		{"tampered body", saved(tampered), testKeys(), ReasonTampered},
		{"replayed to another organisation", saved(otherOrg), testKeys(), ReasonTampered},
		{"no signature", saved(unsigned), testKeys(), ReasonNoSignature},
		{"body only", []byte(testBody), testKeys(), ReasonNoSignature},
		{"forged with another key", saved(forged), testKeys(), ReasonUnknownKey},
		{"retired key", saved(m), expired, ReasonKeyExpired},
		{"garbage", []byte("hello, this is not a message"), testKeys(), ReasonUnsupported},
		{"binary", []byte{0xff, 0xfe, 0, 1, 2}, testKeys(), ReasonUnsupported},
		{"empty", []byte(" \n"), testKeys(), ReasonUnsupported},
		{"JSON of something else", []byte(`{"hello": 1}`), testKeys(), ReasonUnsupported},
		{"two dumps", []byte(`{"Subject":"a"}` + "\x00" + `{"Subject":"b"}` + "\x00"), testKeys(), ReasonUnsupported},
		{"malformed signature", bytes.Replace(saved(m), []byte("v1;kid="), []byte("v1;kid=zz"), 1), testKeys(), ReasonMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := Check(c.data, c.keys, testNow)
			if r.Verified || r.Reason != c.want || r.Err == nil {
				t.Fatalf("verified %v, reason %q (%v), want %q", r.Verified, r.Reason, r.Err, c.want)
			}
			if c.want == ReasonUnsupported && !errors.Is(r.Err, ErrUnsupported) && r.Format == "" {
				t.Errorf("error %v does not wrap ErrUnsupported", r.Err)
			}
			if Advice[r.Reason] == "" {
				t.Errorf("no advice for %s", r.Reason)
			}
		})
	}
}

// FuzzParse: no input makes Parse or Check panic.
func FuzzParse(f *testing.F) {
	m := testMessage(f)
	saved, _ := m.Marshal()
	f.Add(saved)
	f.Add([]byte("POST / HTTP/1.1\r\nCascade-Notice-Id: a/b\r\nContent-Length: 3\r\n\r\nabc"))
	f.Add([]byte(`{"hdrs":"TkFUUy8xLjANCg==","subject":"x","seq":1}`))
	f.Add([]byte("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n\r\n--a--"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = Check(data, testKeys(), testNow)
	})
}
