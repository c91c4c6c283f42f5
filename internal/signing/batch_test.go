package signing

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

func batchOf(n int) []*nats.Msg {
	ms := make([]*nats.Msg, n)
	for i := range ms {
		org := fmt.Sprintf("se-kommun-%04d", i)
		h := nats.Header{}
		h.Set(HeaderEvent, "notice")
		h.Set(HeaderNoticeID, "B-2025-001/"+org)
		ms[i] = &nats.Msg{Subject: "cascade.notice." + org, Header: h, Data: []byte(fmt.Sprintf(`{"event":"notice","org_id":%q}`, org))}
	}
	return ms
}

func verifyMsg(ks KeySet, m *nats.Msg) error {
	_, err := Verify(ks, m.Subject, m.Header, m.Data, t0)
	return err
}

func TestSignBatchVerifies(t *testing.T) {
	k := fixedKey(1, t0)
	ks := keySet(k)
	for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 9, 100, 1000} {
		ms := batchOf(n)
		SignBatch(k, ms)
		for i, m := range ms {
			v := m.Header.Get(HeaderSignature)
			if n == 1 && !strings.HasPrefix(v, Version+";") || n > 1 && !strings.HasPrefix(v, VersionBatch+";") {
				t.Fatalf("n=%d: signature %q", n, v)
			}
			if err := verifyMsg(ks, m); err != nil {
				t.Fatalf("n=%d, message %d: %v", n, i, err)
			}
		}
	}
}

func TestSignBatchRejectsTampering(t *testing.T) {
	k := fixedKey(1, t0)
	ks := keySet(k)
	fresh := func() []*nats.Msg { ms := batchOf(13); SignBatch(k, ms); return ms }
	setField := func(m *nats.Msg, name, value string) {
		parts := strings.Split(m.Header.Get(HeaderSignature), ";")
		for i, p := range parts {
			if strings.HasPrefix(p, name+"=") {
				parts[i] = name + "=" + value
			}
		}
		m.Header.Set(HeaderSignature, strings.Join(parts, ";"))
	}
	field := func(m *nats.Msg, name string) string {
		for _, p := range strings.Split(m.Header.Get(HeaderSignature), ";") {
			if v, ok := strings.CutPrefix(p, name+"="); ok {
				return v
			}
		}
		return ""
	}
	cases := []struct {
		name   string
		change func(ms []*nats.Msg) *nats.Msg
		want   error
	}{
		{"body changed", func(ms []*nats.Msg) *nats.Msg { ms[4].Data = append(ms[4].Data, ' '); return ms[4] }, ErrBadSignature},
		{"subject of another organisation", func(ms []*nats.Msg) *nats.Msg { ms[4].Subject = ms[5].Subject; return ms[4] }, ErrBadSignature},
		{"event changed", func(ms []*nats.Msg) *nats.Msg { ms[4].Header.Set(HeaderEvent, "reminder"); return ms[4] }, ErrBadSignature},
		{"another message's signature", func(ms []*nats.Msg) *nats.Msg {
			ms[4].Header.Set(HeaderSignature, ms[5].Header.Get(HeaderSignature))
			return ms[4]
		}, ErrBadSignature},
		{"index changed", func(ms []*nats.Msg) *nats.Msg { setField(ms[4], "i", "5"); return ms[4] }, ErrBadSignature},
		{"tree size changed", func(ms []*nats.Msg) *nats.Msg { setField(ms[4], "n", "14"); return ms[4] }, ErrBadSignature},
		{"tree size of one, no proof", func(ms []*nats.Msg) *nats.Msg {
			setField(ms[0], "n", "1")
			setField(ms[0], "proof", "")
			return ms[0]
		}, ErrBadSignature},
		{"a proof hash dropped", func(ms []*nats.Msg) *nats.Msg {
			p := field(ms[4], "proof")
			setField(ms[4], "proof", p[:strings.LastIndex(p, ".")])
			return ms[4]
		}, ErrBadSignature},
		{"a proof hash added", func(ms []*nats.Msg) *nats.Msg {
			setField(ms[4], "proof", field(ms[4], "proof")+"."+strings.Split(field(ms[4], "proof"), ".")[0])
			return ms[4]
		}, ErrBadSignature},
		{"the leaf presented as an inner node", func(ms []*nats.Msg) *nats.Msg {
			// Claim ms[0]'s parent (leaf 0 and 1) as a leaf of a tree half the size.
			setField(ms[0], "n", "7")
			p := strings.Split(field(ms[0], "proof"), ".")
			setField(ms[0], "proof", strings.Join(p[1:], "."))
			return ms[0]
		}, ErrBadSignature},
		{"index out of range", func(ms []*nats.Msg) *nats.Msg { setField(ms[4], "i", "13"); return ms[4] }, ErrMalformed},
		{"index with a leading zero", func(ms []*nats.Msg) *nats.Msg { setField(ms[4], "i", "04"); return ms[4] }, ErrMalformed},
		{"negative size", func(ms []*nats.Msg) *nats.Msg { setField(ms[4], "n", "-1"); return ms[4] }, ErrMalformed},
		{"proof hash not base64url", func(ms []*nats.Msg) *nats.Msg { setField(ms[4], "proof", "!!"); return ms[4] }, ErrMalformed},
		{"signature cut", func(ms []*nats.Msg) *nats.Msg { setField(ms[4], "sig", field(ms[4], "sig")[:40]); return ms[4] }, ErrMalformed},
		{"a field missing", func(ms []*nats.Msg) *nats.Msg {
			ms[4].Header.Set(HeaderSignature, strings.Replace(ms[4].Header.Get(HeaderSignature), ";proof=", ";", 1))
			return ms[4]
		}, ErrMalformed},
		{"unknown key", func(ms []*nats.Msg) *nats.Msg { setField(ms[4], "kid", "0123456789abcdef"); return ms[4] }, ErrUnknownKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := c.change(fresh())
			if err := verifyMsg(ks, m); !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}
	// Signed by another key: a valid tree, a signature that does not match.
	other := batchOf(13)
	SignBatch(fixedKey(2, t0), other)
	setField(other[3], "kid", k.ID)
	if err := verifyMsg(ks, other[3]); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("another key's batch: %v", err)
	}
}

// TestBatchSignatureInPython checks the documented recipe (the package
// comment, docs/security.md) against messages signed here.
func TestBatchSignatureInPython(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	if err := exec.Command(python, "-c", "import cryptography").Run(); err != nil {
		t.Skip("python3 has no cryptography package")
	}
	k := fixedKey(1, t0)
	ms := batchOf(11)
	SignBatch(k, ms)
	ms[6].Data = []byte(`{"tampered":true}`)
	type msg struct {
		Subject string            `json:"subject"`
		Headers map[string]string `json:"headers"`
		Data    string            `json:"data"`
	}
	var in struct {
		Keys     KeySet `json:"keys"`
		Messages []msg  `json:"messages"`
	}
	in.Keys = keySet(k)
	for _, m := range ms {
		h := map[string]string{}
		for name := range m.Header {
			h[name] = m.Header.Get(name)
		}
		in.Messages = append(in.Messages, msg{m.Subject, h, base64.StdEncoding.EncodeToString(m.Data)})
	}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "in.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python, filepath.Join("testdata", "verify_message.py"), file).CombinedOutput()
	if err != nil {
		t.Fatalf("verify_message.py: %v\n%s", err, out)
	}
	want := "ok ok ok ok ok ok BAD ok ok ok ok"
	if got := strings.TrimSpace(string(out)); got != want {
		t.Fatalf("python says %q, want %q", got, want)
	}
}
