package signing

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// # Batch signatures (v2)
//
// A fan-out or a firing of reminders sends up to a thousand messages at
// once; one Ed25519 signature each was a fifth of what a notice cost.
// [SignBatch] signs them together: each message's leaf is
//
//	leaf = SHA-256(0x00 + "cascade-signature-v1\n" + subject + "\n" + Cascade-Notice-Id + "\n" + Cascade-Event + "\n" + body)
//
// (the bytes a v1 signature covers), the leaves are the bottom level of a
// binary hash tree, where each level pairs its nodes in order,
// SHA-256(0x01 + left + right), and a last node without a partner moves
// up unchanged, and one Ed25519 signature covers
//
//	"cascade-signature-v2\n" + n + "\n" + root
//
// (n the number of leaves in decimal, root the 32 raw bytes). Each message
// carries
//
//	Cascade-Signature: v2;kid=<key id>;n=<n>;i=<index>;proof=<h1>.<h2>…;sig=<signature>
//
// with its index (0-based) and the partners on its path to the root,
// bottom first, each base64url without padding, as is the signature. To
// verify: hash the leaf, then while n > 1: if i is odd, h = SHA-256(0x01 +
// next proof hash + h); else if i+1 < n, h = SHA-256(0x01 + h + next proof
// hash); then i = i / 2, n = (n + 1) / 2 (integer division). Every proof
// hash must be used; the result is the root the signature covers. The
// 0x00/0x01 prefixes keep a leaf from passing for an inner node, and the
// signed n binds the shape of the tree. Messages signed alone stay v1.

// VersionBatch is the batch signature scheme's version tag.
const VersionBatch = "v2"

const (
	domainBatch  = "cascade-signature-v2\n"
	maxBatchTree = 1 << 20 // the most leaves a v2 signature may claim
	maxProof     = 21      // hashes in a proof of a tree of at most maxBatchTree leaves
)

func leafHash(subject, noticeID, event string, body []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(signedBytes(subject, noticeID, event, body))
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func nodeHash(left, right [32]byte) [32]byte {
	var b [65]byte
	b[0] = 1
	copy(b[1:], left[:])
	copy(b[33:], right[:])
	return sha256.Sum256(b[:])
}

func batchSigned(n int, root [32]byte) []byte {
	b := make([]byte, 0, len(domainBatch)+12+32)
	b = append(b, domainBatch...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, '\n')
	return append(b, root[:]...)
}

// SignBatch sets the Cascade-Signature header of every message of ms,
// which must be final (subject, the other headers and data are covered):
// one Ed25519 signature over the root of a hash tree of the messages, each
// message carrying its proof (v2, see above). One message is signed v1.
// k must hold its private key: SignBatch panics otherwise, as a message
// must never go out unsigned by mistake.
func SignBatch(k *Key, ms []*nats.Msg) {
	if k == nil || len(k.Private) != ed25519.PrivateKeySize {
		panic("signing: SignBatch needs a key with its private key")
	}
	if len(ms) > maxBatchTree {
		panic("signing: SignBatch of more than 1,048,576 messages")
	}
	for _, m := range ms {
		if m.Header == nil {
			m.Header = nats.Header{}
		}
	}
	if len(ms) <= 1 {
		for _, m := range ms {
			SignMsg(k, m)
		}
		return
	}
	// levels[0] are the leaves; each next level pairs the one below.
	level := make([][32]byte, len(ms))
	for i, m := range ms {
		level[i] = leafHash(m.Subject, m.Header.Get(HeaderNoticeID), m.Header.Get(HeaderEvent), m.Data)
	}
	levels := [][][32]byte{level}
	for len(level) > 1 {
		next := make([][32]byte, (len(level)+1)/2)
		for j := range next {
			if 2*j+1 < len(level) {
				next[j] = nodeHash(level[2*j], level[2*j+1])
			} else {
				next[j] = level[2*j]
			}
		}
		levels = append(levels, next)
		level = next
	}
	n := len(ms)
	sig := sigEncoding.EncodeToString(ed25519.Sign(k.Private, batchSigned(n, level[0])))
	prefix := VersionBatch + ";kid=" + k.ID + ";n=" + strconv.Itoa(n) + ";i="
	var b strings.Builder
	for i, m := range ms {
		b.Reset()
		b.WriteString(prefix)
		b.WriteString(strconv.Itoa(i))
		b.WriteString(";proof=")
		idx, first := i, true
		for _, l := range levels[:len(levels)-1] {
			if p := idx ^ 1; p < len(l) {
				if !first {
					b.WriteByte('.')
				}
				first = false
				b.WriteString(sigEncoding.EncodeToString(l[p][:]))
			}
			idx >>= 1
		}
		b.WriteString(";sig=")
		b.WriteString(sig)
		m.Header.Set(HeaderSignature, b.String())
	}
}

// batchSignature is a parsed v2 Cascade-Signature.
type batchSignature struct {
	kid   string
	n, i  int
	proof [][32]byte
	sig   []byte
}

// parseBatchSignature splits a v2 signature (see above).
func parseBatchSignature(v string) (batchSignature, error) {
	const want = "v2;kid=<key id>;n=<leaves>;i=<index>;proof=<hashes>;sig=<signature>"
	bad := func(why string) error {
		return fmt.Errorf("%w: %s header %s: %s (want %q)", ErrMalformed, HeaderSignature, quote(v), why, want)
	}
	parts := strings.Split(v, ";")
	if len(parts) != 6 || parts[0] != VersionBatch {
		return batchSignature{}, bad(fmt.Sprintf("%d fields, want 6", len(parts)))
	}
	var s batchSignature
	var ok bool
	if s.kid, ok = strings.CutPrefix(parts[1], "kid="); !ok || len(s.kid) != keyIDLen || strings.Trim(s.kid, "0123456789abcdef") != "" {
		return batchSignature{}, bad("the key id is not kid= and 16 lowercase hex characters")
	}
	number := func(field, name string) (int, error) {
		d, ok := strings.CutPrefix(field, name+"=")
		if !ok || d == "" || len(d) > 7 || strings.Trim(d, "0123456789") != "" || (len(d) > 1 && d[0] == '0') {
			return 0, bad(name + "= is not a decimal number")
		}
		x, _ := strconv.Atoi(d)
		return x, nil
	}
	var err error
	if s.n, err = number(parts[2], "n"); err != nil {
		return batchSignature{}, err
	}
	if s.i, err = number(parts[3], "i"); err != nil {
		return batchSignature{}, err
	}
	if s.n < 1 || s.n > maxBatchTree || s.i >= s.n {
		return batchSignature{}, bad(fmt.Sprintf("index %d of %d leaves is out of range", s.i, s.n))
	}
	proof, ok := strings.CutPrefix(parts[4], "proof=")
	if !ok {
		return batchSignature{}, bad("fifth field is not proof=")
	}
	if proof != "" {
		hs := strings.Split(proof, ".")
		if len(hs) > maxProof {
			return batchSignature{}, bad(fmt.Sprintf("%d proof hashes, at most %d", len(hs), maxProof))
		}
		for _, h := range hs {
			raw, err := sigEncoding.DecodeString(h)
			if err != nil || len(raw) != 32 {
				return batchSignature{}, bad("a proof hash is not 32 bytes in unpadded base64url")
			}
			s.proof = append(s.proof, [32]byte(raw))
		}
	}
	enc, ok := strings.CutPrefix(parts[5], "sig=")
	if !ok {
		return batchSignature{}, bad("sixth field is not sig=")
	}
	if s.sig, err = sigEncoding.DecodeString(enc); err != nil || len(s.sig) != ed25519.SignatureSize {
		return batchSignature{}, bad(fmt.Sprintf("the signature is not %d bytes in unpadded base64url", ed25519.SignatureSize))
	}
	return s, nil
}

// root is the tree root that leaf and s's proof lead to, or false when
// the proof does not fit the tree s claims (too few or too many hashes).
func (s batchSignature) root(leaf [32]byte) ([32]byte, bool) {
	h, i, n, k := leaf, s.i, s.n, 0
	for n > 1 {
		switch {
		case i%2 == 1:
			if k >= len(s.proof) {
				return h, false
			}
			h = nodeHash(s.proof[k], h)
			k++
		case i+1 < n:
			if k >= len(s.proof) {
				return h, false
			}
			h = nodeHash(h, s.proof[k])
			k++
		}
		i, n = i/2, (n+1)/2
	}
	return h, k == len(s.proof)
}

// verifyBatch checks a v2 signature of a message (see Verify).
func verifyBatch(keys KeySet, sigValue, subject, noticeID, event string, body []byte, now time.Time) (string, error) {
	s, err := parseBatchSignature(sigValue)
	if err != nil {
		return "", err
	}
	k, err := validKey(keys, s.kid, now, "messages")
	if err != nil {
		return "", err
	}
	root, ok := s.root(leafHash(SignedSubject(subject, noticeID), noticeID, event, body))
	if !ok {
		return "", fmt.Errorf("%w: the proof does not fit a tree of %d messages", ErrBadSignature, s.n)
	}
	if !ed25519.Verify(k.Public, batchSigned(s.n, root), s.sig) {
		return "", ErrBadSignature
	}
	return s.kid, nil
}
