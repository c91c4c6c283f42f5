package signing

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// FuzzVerify: Verify never panics, returns one of its errors, and accepts
// only the one message the test key signed, spelled exactly as signed.
func FuzzVerify(f *testing.F) {
	k := fixedKey(1, t0)
	// The set also holds a key that expired at t0: its genuine signatures
	// must be refused too.
	other := fixedKey(2, t0.Add(-time.Hour))
	other.Active, other.ExpiresAt = false, t0
	ks := keySet(k, other)
	m := message(k)
	sig := m.Headers.Get(HeaderSignature)
	otherSig := message(other).Headers.Get(HeaderSignature)
	// The same message signed in a batch of three (v2), at index 1.
	batch := batchOf(3)
	batch[1] = &nats.Msg{Subject: m.Subject, Header: cloneHeader(m.Headers), Data: m.Data}
	SignBatch(k, batch)
	batchSig := batch[1].Header.Get(HeaderSignature)

	f.Add(m.Subject, sig, m.Data)
	f.Add(m.Subject, otherSig, m.Data)                    // genuine signature of the expired key
	f.Add(m.Subject+"1", sig, m.Data)                     // other subject
	f.Add(m.Subject, sig, append(bytes.Clone(m.Data), 0)) // longer body
	f.Add(m.Subject, sig, []byte{})
	f.Add(m.Subject, sig+"==", m.Data)
	f.Add(m.Subject, "v1;kid="+k.ID+otherSig[len("v1;kid=")+16:], m.Data)
	f.Add(m.Subject, strings.Replace(sig, "v1", "v2", 1), m.Data)
	f.Add(m.Subject, "v1;kid=;sig=", m.Data)
	f.Add(m.Subject, "v1;;;", m.Data)
	f.Add("", "", []byte(nil))
	f.Add(m.Subject+"\n", sig, m.Data)
	f.Add(m.Subject, sig[:len(sig)-1]+"B", m.Data)
	f.Add(m.Subject, batchSig, m.Data)
	f.Add(m.Subject, batch[0].Header.Get(HeaderSignature), m.Data) // another message's v2 signature
	f.Add(m.Subject, strings.Replace(batchSig, ";i=1;", ";i=2;", 1), m.Data)
	f.Add(m.Subject, strings.Replace(batchSig, ";n=3;", ";n=2;", 1), m.Data)

	sentinels := []error{ErrMissingHeader, ErrMalformed, ErrUnknownKey, ErrKeyExpired, ErrBadSignature}
	f.Fuzz(func(t *testing.T, subject, value string, body []byte) {
		h := nats.Header{}
		h.Set(HeaderNoticeID, m.Headers.Get(HeaderNoticeID))
		h.Set(HeaderEvent, m.Headers.Get(HeaderEvent))
		h.Set(HeaderSignature, value)
		kid, err := Verify(ks, subject, h, body, t0)
		if err != nil {
			for _, s := range sentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("error %v wraps none of Verify's errors", err)
		}
		if subject != m.Subject || !bytes.Equal(body, m.Data) || (value != sig && value != batchSig) || kid != k.ID {
			t.Fatalf("accepted a message the test key did not sign: subject %q, header %q, body %q (key %s)", subject, value, body, kid)
		}
	})
}
