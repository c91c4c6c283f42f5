package secret

import (
	"bytes"
	"errors"
	"testing"
)

// TestSealOpen: a sealed value opens only with its key and additional
// data, unaltered, and holds no plaintext.
func TestSealOpen(t *testing.T) {
	key, other := bytes.Repeat([]byte{1}, Size), bytes.Repeat([]byte{2}, Size)
	s, err := NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	o, err := NewSealer(other)
	if err != nil {
		t.Fatal(err)
	}
	plain, ad := []byte("the webhook secret of org-a"), []byte("org-a")
	sealed, err := s.Seal(plain, ad)
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != len(plain)+SealOverhead || bytes.Contains(sealed, plain) {
		t.Fatalf("sealed %x", sealed)
	}
	again, err := s.Seal(plain, ad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(again, sealed) {
		t.Error("two seals of one value are equal: nonce reused")
	}
	got, err := s.Open(sealed, ad)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)/2] ^= 1
	for name, f := range map[string]func() ([]byte, error){
		"other additional data": func() ([]byte, error) { return s.Open(sealed, []byte("org-b")) },
		"other key":             func() ([]byte, error) { return o.Open(sealed, ad) },
		"altered":               func() ([]byte, error) { return s.Open(flipped, ad) },
		"truncated":             func() ([]byte, error) { return s.Open(sealed[:SealOverhead-1], ad) },
		"empty":                 func() ([]byte, error) { return s.Open(nil, ad) },
	} {
		if got, err := f(); !errors.Is(err, ErrNotOpen) || got != nil {
			t.Errorf("%s: Open = %q, %v; want ErrNotOpen", name, got, err)
		}
	}
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := NewSealer(make([]byte, n)); err == nil {
			t.Errorf("NewSealer with a %d-byte key: no error", n)
		}
	}
	fixed := s.WithNonces(bytes.NewReader(bytes.Repeat([]byte{9}, 24)))
	a, _ := fixed.Seal(plain, ad)
	b, _ := fixed.Seal(plain, ad)
	if !bytes.Equal(a, b) {
		t.Error("WithNonces: nonces not read from the reader")
	}
	if _, err := fixed.Seal(plain, ad); err == nil {
		t.Error("Seal with the nonce source exhausted: no error")
	}
}
