package signing

import (
	"crypto/ed25519"
	"time"
)

// Evidence signatures. An evidence export (package evidence) is signed by
// signing its manifest, a small document listing every exported file with
// its size and SHA-256. The signature is written, like a message's
// Cascade-Signature header, as
//
//	v1;kid=<key id>;sig=<signature>
//
// where <signature> is the Ed25519 signature, base64url without padding,
// of exactly these bytes:
//
//	"cascade-evidence-v1\n" + manifest
//
// (manifest is the manifest file's bytes, unchanged). The keys are the
// ones that sign messages. The two schemes start their signed bytes
// differently ("cascade-evidence-v1\n", "cascade-signature-v1\n"), so
// the signature of a message can never pass for the signature of a
// manifest, nor the reverse.

// evidenceDomain starts the bytes an evidence signature covers.
const evidenceDomain = "cascade-evidence-v1\n"

// errBadEvidence is ErrBadSignature, said of a manifest.
type errBadEvidence struct{}

func (errBadEvidence) Error() string {
	return "signature does not match: the manifest was changed after the export or was not signed by Cascade"
}

func (errBadEvidence) Unwrap() error { return ErrBadSignature }

// evidenceBytes is what an evidence signature covers.
func evidenceBytes(manifest []byte) []byte {
	b := make([]byte, 0, len(evidenceDomain)+len(manifest))
	b = append(b, evidenceDomain...)
	return append(b, manifest...)
}

// SignEvidence returns the signature of an evidence manifest,
// "v1;kid=<key id>;sig=<signature>". k must hold its private key: SignEvidence
// panics otherwise, as evidence must never go out unsigned by mistake.
func SignEvidence(k *Key, manifest []byte) string {
	if k == nil || len(k.Private) != ed25519.PrivateKeySize {
		panic("signing: SignEvidence needs a key with its private key")
	}
	sig := ed25519.Sign(k.Private, evidenceBytes(manifest))
	return Version + ";kid=" + k.ID + ";sig=" + sigEncoding.EncodeToString(sig)
}

// VerifyEvidence checks signature, as SignEvidence makes it, over the
// manifest's bytes against keys at time now. It returns the id of the key
// that signed it, or an error wrapping one of ErrMalformed, ErrUnknownKey,
// ErrKeyExpired or ErrBadSignature. It never panics.
func VerifyEvidence(keys KeySet, signature string, manifest []byte, now time.Time) (keyID string, err error) {
	kid, sig, err := parseSignature("evidence signature", signature)
	if err != nil {
		return "", err
	}
	k, err := validKey(keys, kid, now, "evidence")
	if err != nil {
		return "", err
	}
	if !ed25519.Verify(k.Public, evidenceBytes(manifest), sig) {
		return "", errBadEvidence{}
	}
	return kid, nil
}
