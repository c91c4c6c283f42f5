package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
)

// SealOverhead is how many bytes Seal adds to a value: the 12-byte
// random nonce before the ciphertext and GCM's 16-byte tag after it.
const SealOverhead = 12 + 16

// ErrNotOpen is Open's error for a sealed value that is too short, was
// sealed under another key or with other additional data, or was altered.
var ErrNotOpen = errors.New("does not open with this deployment secret (sealed under another secret, or altered)")

// Sealer seals values stored in NATS with AES-256-GCM under a key derived
// from the deployment secret ([Key.Derive]), so a reader of the store
// learns nothing of them. A sealed value is the random 12-byte nonce
// followed by the ciphertext and its tag. The additional data binds a
// value to where it is stored (its bucket key, say): moved elsewhere, it
// does not open.
type Sealer struct {
	aead  cipher.AEAD
	nonce io.Reader
}

// NewSealer is a Sealer with a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != Size {
		return nil, fmt.Errorf("sealing key of %d bytes, want %d (derived from the deployment secret)", len(key), Size)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead, nonce: rand.Reader}, nil
}

// WithNonces is a copy of s that reads its nonces from r instead of
// crypto/rand: for golden files in tests only (a repeated nonce under one
// key breaks GCM).
func (s *Sealer) WithNonces(r io.Reader) *Sealer {
	c := *s
	c.nonce = r
	return &c
}

// Seal is plaintext sealed with additional data ad.
func (s *Sealer) Seal(plaintext, ad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	out := make([]byte, n, n+len(plaintext)+s.aead.Overhead())
	if _, err := io.ReadFull(s.nonce, out); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return s.aead.Seal(out, out, plaintext, ad), nil
}

// Open is the plaintext of sealed, which Seal made with the same key and
// additional data ad, or ErrNotOpen.
func (s *Sealer) Open(sealed, ad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, ErrNotOpen
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], ad)
	if err != nil {
		return nil, ErrNotOpen
	}
	return plain, nil
}
