package signing

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"
)

var manifest = []byte(`{"format":"cascade-evidence-manifest/v1","files":[{"name":"evidence.json","size":2,"sha256":"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}]}` + "\n")

func TestEvidenceSignVerify(t *testing.T) {
	k := fixedKey(1, t0)
	other := fixedKey(2, t0)
	sig := SignEvidence(k, manifest)
	if !strings.HasPrefix(sig, "v1;kid="+k.ID+";sig=") {
		t.Fatalf("signature %q", sig)
	}
	retired := *k
	retired.Active, retired.ExpiresAt = false, t0.Add(time.Hour)
	changed := []byte(strings.Replace(string(manifest), `"size":2`, `"size":3`, 1))
	for _, tc := range []struct {
		name     string
		keys     KeySet
		sig      string
		manifest []byte
		now      time.Time
		want     error
		detail   string
	}{
		{name: "genuine", keys: keySet(k), sig: sig, manifest: manifest},
		{name: "genuine, replaced key before expiry", keys: keySet(other, &retired), sig: sig, manifest: manifest, now: t0.Add(time.Hour - time.Second)},
		{name: "changed manifest", keys: keySet(k), sig: sig, manifest: changed,
			want: ErrBadSignature, detail: "the manifest was changed after the export or was not signed by Cascade"},
		{name: "other key's signature", keys: keySet(k, other), sig: "v1;kid=" + k.ID + ";sig=" + strings.SplitN(SignEvidence(other, manifest), "sig=", 2)[1],
			manifest: manifest, want: ErrBadSignature},
		{name: "key of another deployment", keys: keySet(other), sig: sig, manifest: manifest,
			want: ErrUnknownKey, detail: "unknown signing key " + k.ID},
		{name: "expired key", keys: keySet(other, &retired), sig: sig, manifest: manifest, now: t0.Add(time.Hour),
			want: ErrKeyExpired, detail: "key " + k.ID + " stopped verifying evidence at 2025-08-24T11:00:00Z"},
		{name: "empty signature", keys: keySet(k), sig: "", manifest: manifest, want: ErrMalformed, detail: "evidence signature"},
		{name: "truncated signature", keys: keySet(k), sig: sig[:len(sig)-4], manifest: manifest, want: ErrMalformed,
			detail: "the signature is not 64 bytes"},
		{name: "version 2", keys: keySet(k), sig: "v2" + sig[2:], manifest: manifest, want: ErrMalformed, detail: "unsupported version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := tc.now
			if now.IsZero() {
				now = t0
			}
			kid, err := VerifyEvidence(tc.keys, tc.sig, tc.manifest, now)
			if tc.want == nil {
				if err != nil || kid != k.ID {
					t.Fatalf("kid %q, err %v", kid, err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.detail) {
				t.Fatalf("err %v, want %v with %q", err, tc.want, tc.detail)
			}
		})
	}
}

// TestEvidenceDomainSeparation: a message signature never verifies as the
// signature of a manifest, nor the reverse, even over the same bytes.
func TestEvidenceDomainSeparation(t *testing.T) {
	k := fixedKey(1, t0)
	keys := keySet(k)
	m := message(k)

	// A genuine message's signature, offered for a "manifest" made of any
	// of the bytes it covers.
	msgSig := m.Headers.Get(HeaderSignature)
	signed := signedBytes(m.Subject, m.Headers.Get(HeaderNoticeID), m.Headers.Get(HeaderEvent), m.Data)
	for _, forged := range [][]byte{m.Data, signed, signed[len(domain):], []byte(strings.TrimPrefix(string(signed), "cascade-"))} {
		if _, err := VerifyEvidence(keys, msgSig, forged, t0); !errors.Is(err, ErrBadSignature) {
			t.Errorf("a message signature verified as evidence over %q: %v", forged, err)
		}
	}

	// A manifest's signature, set as the Cascade-Signature of a message
	// whose body is the manifest.
	evSig := SignEvidence(k, m.Data)
	h := cloneHeader(m.Headers)
	h.Set(HeaderSignature, evSig)
	if _, err := Verify(keys, m.Subject, h, m.Data, t0); !errors.Is(err, ErrBadSignature) {
		t.Errorf("an evidence signature verified as a message's: %v", err)
	}

	// The two schemes really sign different bytes for the same content.
	raw, _ := sigEncoding.DecodeString(strings.SplitN(evSig, "sig=", 2)[1])
	if ed25519.Verify(k.Public, m.Data, raw) {
		t.Error("the evidence signature is over the bare manifest, without its domain")
	}
}

func TestSignEvidenceNeedsPrivateKey(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("SignEvidence without a private key did not panic")
		}
	}()
	pub := fixedKey(1, t0).PublicPart()
	SignEvidence(&Key{ID: pub.ID, Public: pub.Public}, manifest)
}

func FuzzVerifyEvidence(f *testing.F) {
	k := fixedKey(1, t0)
	f.Add(SignEvidence(k, manifest), manifest)
	f.Add("v1;kid=;sig=", []byte{})
	keys := keySet(k)
	f.Fuzz(func(t *testing.T, sig string, m []byte) {
		kid, err := VerifyEvidence(keys, sig, m, t0)
		if err == nil && kid != k.ID {
			t.Fatalf("verified with key %q", kid)
		}
	})
}
