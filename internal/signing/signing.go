// Package signing signs every message Cascade sends to an organisation with
// the vendor's Ed25519 key and verifies such messages, offline. After the
// 2025 supplier breach phishers impersonated the supplier; a controller
// that verifies the signature knows a notice is genuine.
//
// # Scheme (v1)
//
// Every message carries the header
//
//	Cascade-Signature: v1;kid=<key id>;sig=<signature>
//
// where <signature> is the Ed25519 signature (RFC 8032), base64url without
// padding, of exactly these bytes:
//
//	"cascade-signature-v1\n" + subject + "\n" + Cascade-Notice-Id + "\n" + Cascade-Event + "\n" + body
//
// (subject is the NATS subject the message was published on, the two
// middle parts are the values of those headers, body is the message data
// unchanged; a copy of an organisation's message on
// cascade.events.<breach_id>.<org_id>, as Cascade stored them for the
// vendor before it sent rounds, is the message unchanged, so its subject
// here is cascade.notice.<org_id>: see [SignedSubject]). Binding the subject and
// the notice id means a genuine message cannot be replayed to another
// organisation. The key id is the first 16 hex characters of the SHA-256
// of the raw 32-byte public key.
// Cascade sets each of the three headers exactly once; [Verify] treats a
// message that lacks one, repeats one (in any letter case) or has a line
// break in the subject or a signed header as not genuine.
//
// Messages sent together are signed together instead, with one signature
// over a hash tree of them and each message's proof (v2; see batch.go and
// [SignBatch]); [Verify] checks both forms.
//
// # Evidence (v1)
//
// The same keys sign evidence exports: [SignEvidence] signs an export's
// manifest over "cascade-evidence-v1\n" + manifest, a prefix no message
// signature starts with, so neither kind of signature passes for the other.
//
// # Keys
//
// The public keys are published as JSON, {"keys": [...]}, each key with
// key_id, algorithm ("ed25519"), public_key (standard base64 of the raw
// 32 bytes), created_at, active and, once a newer key is active,
// expires_at: a key verifies messages until then. The current set is the
// answer of the gRPC KeyService.ListSigningKeys and the last message on
// NATS subject cascade.keys: it is sent to every subscriber of cascade.keys
// when it changes, and stream CASCADE_KEYS keeps it for users allowed
// JetStream requests (a direct get of
// $JS.API.DIRECT.GET.CASCADE_KEYS.cascade.keys; organisations, who may
// publish nothing, use the other two). [Ring] keeps the private keys in the
// JetStream bucket cascade-keys, readable by the daemons only, shared by
// them, and rotates them; each private key is sealed there under a key
// derived from the deployment secret, which is kept outside NATS
// ([Sealing]), so a reader of the bucket cannot sign.
//
// # Verifying in a few lines
//
// In Go: [Verify] with a [KeySet] read by [ParseKeySet]; on the command
// line: cascadectl verify MESSAGE.json --keys keys.json (a saved message is a
// [SavedMessage]). In Python, with the cryptography package, a v1 message
// (testdata/verify_message.py checks v2 as well, as docs/security.md shows):
//
//	import base64, datetime
//	from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
//
//	def verify(keys, subject, headers, body):  # keys: the parsed {"keys": [...]}
//	    version, kid, sig = headers["Cascade-Signature"].split(";")
//	    assert version == "v1" and kid.startswith("kid=") and sig.startswith("sig=")
//	    key = next(k for k in keys["keys"] if k["key_id"] == kid[4:])
//	    if "expires_at" in key:
//	        assert datetime.datetime.now(datetime.timezone.utc) < datetime.datetime.fromisoformat(key["expires_at"])
//	    signed = "\n".join(["cascade-signature-v1", subject, headers["Cascade-Notice-Id"], headers["Cascade-Event"], ""]).encode() + body
//	    Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"])).verify(
//	        base64.urlsafe_b64decode(sig[4:] + "=="), signed)  # raises InvalidSignature if not genuine
//
// Whatever the language, check also that the subject (or the notice id) is
// your organisation's own: a genuine message to another organisation
// verifies too.
package signing

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Headers the scheme reads and writes. HeaderNoticeID and HeaderEvent are
// the ones every message to an organisation carries (internal/message).
const (
	HeaderSignature = "Cascade-Signature"
	HeaderNoticeID  = "Cascade-Notice-Id"
	HeaderEvent     = "Cascade-Event"
)

// Version is the scheme version, the first field of the header.
const Version = "v1"

// Algorithm is the only signature algorithm, as named in published keys.
const Algorithm = "ed25519"

// domain starts the signed bytes, so a v1 signature cannot be taken for
// a signature over anything else.
const domain = "cascade-signature-v1\n"

// keyIDLen is the length of a key id in hex characters.
const keyIDLen = 16

// Errors of Verify. Each returned error wraps one of them and says more.
var (
	// ErrMissingHeader: no Cascade-Signature, or a signed header is absent.
	ErrMissingHeader = errors.New("missing header")
	// ErrMalformed: the signature header or a signed field cannot be read.
	ErrMalformed = errors.New("malformed signature")
	// ErrUnknownKey: the key id is not in the key set.
	ErrUnknownKey = errors.New("unknown signing key")
	// ErrKeyExpired: the key no longer verifies messages.
	ErrKeyExpired = errors.New("signing key expired")
	// ErrBadSignature: the signature is not the key's over these bytes.
	ErrBadSignature = errors.New("signature does not match: the message was changed or not sent by Cascade")
)

// Key is one signing key. Private is nil in a set of public keys.
type Key struct {
	ID        string
	Public    ed25519.PublicKey
	Private   ed25519.PrivateKey
	CreatedAt time.Time
	// Active keys sign new messages; a ring has exactly one.
	Active bool
	// ExpiresAt is when an inactive key stops verifying messages; zero
	// while active.
	ExpiresAt time.Time
}

// PublicPart is k without its private key, in its published form.
func (k *Key) PublicPart() PublicKey {
	return PublicKey{ID: k.ID, Algorithm: Algorithm, Public: k.Public, CreatedAt: k.CreatedAt, Active: k.Active, ExpiresAt: k.ExpiresAt}
}

// KeyID is the id of a public key: the first 16 hex characters of the
// SHA-256 of its raw bytes.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:])[:keyIDLen]
}

// newKey makes the key of a 32-byte seed (RFC 8032 private key), created at.
func newKey(seed []byte, at time.Time) Key {
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	return Key{ID: KeyID(pub), Public: pub, Private: priv, CreatedAt: at, Active: true}
}

// PublicKey is a published key, as in {"keys": [...]} on cascade.keys.
type PublicKey struct {
	ID        string            `json:"key_id"`
	Algorithm string            `json:"algorithm"`  // "ed25519"
	Public    ed25519.PublicKey `json:"public_key"` // raw 32 bytes, standard base64 in JSON
	CreatedAt time.Time         `json:"created_at"`
	Active    bool              `json:"active"`
	// ExpiresAt is when the key stops verifying messages; zero (absent in
	// JSON) while it is active.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// check reports why k cannot verify anything, if it cannot.
func (k PublicKey) check() error {
	switch {
	case k.Algorithm != Algorithm:
		return fmt.Errorf("key %q: algorithm %q, want %q", k.ID, k.Algorithm, Algorithm)
	case len(k.Public) != ed25519.PublicKeySize:
		return fmt.Errorf("key %q: public key of %d bytes, want %d", k.ID, len(k.Public), ed25519.PublicKeySize)
	case k.ID != KeyID(k.Public):
		return fmt.Errorf("key %q: the id is not that of its public key (%s)", k.ID, KeyID(k.Public))
	case !k.Active && k.ExpiresAt.IsZero():
		return fmt.Errorf("key %q: inactive without expires_at", k.ID)
	}
	return nil
}

// ValidAt reports whether k verifies messages at now: while it is active
// without an expiry, or before its expiry.
func (k PublicKey) ValidAt(now time.Time) bool {
	if k.ExpiresAt.IsZero() {
		return k.Active
	}
	return now.Before(k.ExpiresAt)
}

// KeySet is a set of public keys, newest first; its JSON form is what
// Cascade publishes on cascade.keys.
type KeySet struct {
	Keys []PublicKey `json:"keys"`
}

// ParseKeySet decodes a published key set and checks every key: algorithm,
// length, and that each id is its key's. It rejects an empty set.
func ParseKeySet(data []byte) (KeySet, error) {
	var ks KeySet
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ks); err != nil {
		return KeySet{}, fmt.Errorf("key set: %w", err)
	}
	if dec.More() {
		return KeySet{}, errors.New("key set: data after the JSON object")
	}
	if err := ks.Validate(); err != nil {
		return KeySet{}, err
	}
	return ks, nil
}

// Validate checks that ks holds at least one key and that every key can
// verify: algorithm, length, and that each id is its key's.
func (ks KeySet) Validate() error {
	if len(ks.Keys) == 0 {
		return errors.New(`key set: no keys (want {"keys": [...]})`)
	}
	for _, k := range ks.Keys {
		if err := k.check(); err != nil {
			return fmt.Errorf("key set: %w", err)
		}
	}
	return nil
}

// Lookup returns the key with id.
func (ks KeySet) Lookup(id string) (PublicKey, bool) {
	for _, k := range ks.Keys {
		if k.ID == id {
			return k, true
		}
	}
	return PublicKey{}, false
}

// signedBytes is what a v1 signature covers.
func signedBytes(subject, noticeID, event string, body []byte) []byte {
	b := make([]byte, 0, len(domain)+len(subject)+len(noticeID)+len(event)+3+len(body))
	b = append(b, domain...)
	b = append(b, subject...)
	b = append(b, '\n')
	b = append(b, noticeID...)
	b = append(b, '\n')
	b = append(b, event...)
	b = append(b, '\n')
	return append(b, body...)
}

// sigEncoding is base64url without padding, rejecting non-zero trailing
// bits so that one signature has one spelling.
var sigEncoding = base64.RawURLEncoding.Strict()

// Sign returns the Cascade-Signature header value for a message on
// subject with headers h (only Cascade-Notice-Id and Cascade-Event are
// signed) and body. k must hold its private key: Sign panics otherwise,
// as a message must never go out unsigned by mistake.
func Sign(k *Key, subject string, h nats.Header, body []byte) string {
	if k == nil || len(k.Private) != ed25519.PrivateKeySize {
		panic("signing: Sign needs a key with its private key")
	}
	sig := ed25519.Sign(k.Private, signedBytes(subject, h.Get(HeaderNoticeID), h.Get(HeaderEvent), body))
	return Version + ";kid=" + k.ID + ";sig=" + sigEncoding.EncodeToString(sig)
}

// SignMsg sets the Cascade-Signature header of m, which must be final:
// subject, the other headers and data are covered.
func SignMsg(k *Key, m *nats.Msg) {
	if m.Header == nil {
		m.Header = nats.Header{}
	}
	m.Header.Set(HeaderSignature, Sign(k, m.Subject, m.Header, m.Data))
}

// Verify checks the Cascade-Signature of a message on subject with headers
// h and body against keys at time now. It returns the id of the key that
// signed it, or an error wrapping one of ErrMissingHeader, ErrMalformed,
// ErrUnknownKey, ErrKeyExpired or ErrBadSignature. It never panics.
func Verify(keys KeySet, subject string, h nats.Header, body []byte, now time.Time) (keyID string, err error) {
	sigValue, err := header(h, HeaderSignature)
	if err != nil {
		return "", err
	}
	noticeID, err := header(h, HeaderNoticeID)
	if err != nil {
		return "", err
	}
	event, err := header(h, HeaderEvent)
	if err != nil {
		return "", err
	}
	if strings.ContainsAny(subject, "\r\n") {
		return "", fmt.Errorf("%w: line break in the subject %s", ErrMalformed, quote(subject))
	}
	if strings.HasPrefix(sigValue, VersionBatch+";") {
		return verifyBatch(keys, sigValue, subject, noticeID, event, body, now)
	}
	kid, sig, err := parseSignature(HeaderSignature+" header", sigValue)
	if err != nil {
		return "", err
	}
	k, err := validKey(keys, kid, now, "messages")
	if err != nil {
		return "", err
	}
	if !ed25519.Verify(k.Public, signedBytes(SignedSubject(subject, noticeID), noticeID, event, body), sig) {
		return "", ErrBadSignature
	}
	return kid, nil
}

// Subject prefixes of an organisation's messages and of the copies of them
// stored for the vendor before rounds (the store's SubjectNotice and
// SubjectEvents).
const (
	orgPrefix    = "cascade.notice."
	vendorPrefix = "cascade.events."
)

// SignedSubject is the subject a message on subject was signed for. A
// copy of an organisation's message for the vendor
// (cascade.events.<breach_id>.<org_id>, stored by Cascade before it sent
// the vendor rounds instead; CASCADE_EVENTS may still hold them) carries
// the message unchanged, signature included, so it was signed for
// cascade.notice.<org_id>, provided its subject names the notice the
// signed Cascade-Notice-Id header names (noticeID, "<breach_id>/<org_id>").
// Any other subject is its own.
func SignedSubject(subject, noticeID string) string {
	rest, ok := strings.CutPrefix(subject, vendorPrefix)
	if !ok {
		return subject
	}
	b, o, ok := strings.Cut(rest, ".")
	if !ok || noticeID != b+"/"+o {
		return subject
	}
	return orgPrefix + o
}

// VerifyMsg is Verify of a received message.
func VerifyMsg(keys KeySet, m *nats.Msg, now time.Time) (keyID string, err error) {
	if m == nil {
		return "", fmt.Errorf("%w %s: no message", ErrMissingHeader, HeaderSignature)
	}
	return Verify(keys, m.Subject, m.Header, m.Data, now)
}

// header is the one value of header name, matched in any letter case.
// Absent, repeated or multi-line values are errors: they would make what
// was signed ambiguous.
func header(h nats.Header, name string) (string, error) {
	var values []string
	for k, v := range h {
		if strings.EqualFold(k, name) {
			values = append(values, v...)
		}
	}
	switch {
	case len(values) == 0:
		if name == HeaderSignature {
			return "", fmt.Errorf("%w %s: the message is not signed by Cascade", ErrMissingHeader, name)
		}
		return "", fmt.Errorf("%w %s: not a message from Cascade", ErrMissingHeader, name)
	case len(values) > 1:
		return "", fmt.Errorf("%w: header %s appears %d times", ErrMalformed, name, len(values))
	case strings.ContainsAny(values[0], "\r\n"):
		return "", fmt.Errorf("%w: line break in header %s", ErrMalformed, name)
	}
	return values[0], nil
}

// validKey is the key kid of keys, provided it verifies (what: "messages",
// "evidence") at now: an error wrapping ErrUnknownKey or ErrKeyExpired
// otherwise.
func validKey(keys KeySet, kid string, now time.Time, what string) (PublicKey, error) {
	k, ok := keys.Lookup(kid)
	if !ok {
		return PublicKey{}, fmt.Errorf("%w %s: not one of Cascade's published keys (fetch the current ones)", ErrUnknownKey, kid)
	}
	if err := k.check(); err != nil {
		return PublicKey{}, fmt.Errorf("%w: %w", ErrUnknownKey, err)
	}
	if !k.ValidAt(now) {
		return PublicKey{}, fmt.Errorf("%w: key %s stopped verifying %s at %s", ErrKeyExpired, kid, what, k.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return k, nil
}

// parseSignature splits "v1;kid=<key id>;sig=<signature>", the value of
// field (named in errors).
func parseSignature(field, v string) (kid string, sig []byte, err error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: %s %s: %s (want \"v1;kid=<key id>;sig=<signature>\")", ErrMalformed, field, quote(v), why)
	}
	parts := strings.Split(v, ";")
	if len(parts) == 0 || parts[0] != Version {
		if strings.HasPrefix(v, "v") && len(parts) == 3 {
			return "", nil, bad("unsupported version " + quote(parts[0]) + ": this verifier knows " + Version + " and, for messages, " + VersionBatch)
		}
		return "", nil, bad("does not start with " + Version + ";")
	}
	if len(parts) != 3 {
		return "", nil, bad(fmt.Sprintf("%d fields, want 3", len(parts)))
	}
	kid, ok := strings.CutPrefix(parts[1], "kid=")
	if !ok {
		return "", nil, bad("second field is not kid=")
	}
	if len(kid) != keyIDLen || strings.Trim(kid, "0123456789abcdef") != "" {
		return "", nil, bad("the key id is not 16 lowercase hex characters")
	}
	enc, ok := strings.CutPrefix(parts[2], "sig=")
	if !ok {
		return "", nil, bad("third field is not sig=")
	}
	sig, err = sigEncoding.DecodeString(enc)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return "", nil, bad(fmt.Sprintf("the signature is not %d bytes in unpadded base64url", ed25519.SignatureSize))
	}
	return kid, sig, nil
}

// quote is s quoted for an error message, cut short if long.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		return fmt.Sprintf("%q…", s[:max])
	}
	return fmt.Sprintf("%q", s)
}
