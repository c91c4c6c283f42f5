package api

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/cascadehq/cascade/internal/auth"
	"github.com/cascadehq/cascade/internal/breach"
)

// Page sizes.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

func pageSize(n int32) (int, error) {
	switch {
	case n < 0:
		return 0, invalid("page_size", "page_size must not be negative")
	case n == 0:
		return defaultPageSize, nil
	case n > maxPageSize:
		return maxPageSize, nil
	}
	return int(n), nil
}

// cursor is the position a page token carries: a breach, a membership
// chunk and an index into it (for a breach listing, only Breach), or a
// dead letter's sequence.
type cursor struct {
	Breach breach.BreachID `json:"b,omitempty"`
	Chunk  int             `json:"c,omitempty"`
	Index  int             `json:"i,omitempty"`
	Seq    uint64          `json:"s,omitempty"`
	// Key is the last item of the page before, for listings ordered by
	// id (questions).
	Key string `json:"k,omitempty"`
	// At is the last item's time, for listings ordered by time, then
	// Key (tokens: issue time in Unix nanoseconds, then token id).
	At int64 `json:"t,omitempty"`
}

// PageKeySize is the length of Config.PageKey (AES-256).
const PageKeySize = 32

// pageTokenVersion is the first byte of every token (and part of what the
// seal authenticates), so a later format can tell its tokens apart.
const pageTokenVersion = 1

// pages seals cursors into page tokens and opens them again. A token is
// version byte, random nonce and the AES-256-GCM sealed cursor, in
// unpadded base64url: the caller learns nothing from it, cannot forge or
// alter one, and cannot use it for another listing: the seal
// authenticates, beside the cursor, the RPC, the caller (role,
// organisation and token or certificate) and the request's filters.
type pages struct {
	aead cipher.AEAD
}

func newPages(key []byte) (pages, error) {
	if len(key) != PageKeySize {
		return pages{}, fmt.Errorf("page token key: want %d bytes, got %d", PageKeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return pages{}, fmt.Errorf("page token key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return pages{}, fmt.Errorf("page token key: %w", err)
	}
	return pages{aead: aead}, nil
}

// randomPageKey is the key of a process that was given none.
func randomPageKey() []byte {
	key := make([]byte, PageKeySize)
	_, _ = rand.Read(key) // never fails (crypto/rand panics rather than return an error)
	return key
}

// errPageToken is every refusal of a page token: it does not say whether
// the token was malformed, altered, another caller's or another query's.
var errPageToken = invalid("page_token", "invalid page_token: pass next_page_token of the same listing, unchanged, with the same filters and credentials")

// binding is what a token is valid for: the RPC, the caller and the
// request's filters (page_size may change between pages).
func binding(ctx context.Context, method string, filters ...string) []byte {
	id, _ := auth.FromContext(ctx)
	b, _ := json.Marshal(append([]string{method, string(id.Role), string(id.Org), id.TokenID}, filters...))
	return append([]byte{pageTokenVersion}, b...)
}

// token seals c for the listing bound by ad.
func (p pages) token(c cursor, ad []byte) string {
	plain, _ := json.Marshal(c)
	ns := p.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plain)+p.aead.Overhead())
	out[0] = pageTokenVersion
	_, _ = rand.Read(out[1:]) // random 96-bit nonces: safe for 2^32 tokens per key (NIST SP 800-38D)
	out = p.aead.Seal(out, out[1:], plain, ad)
	return base64.RawURLEncoding.EncodeToString(out)
}

// open returns the cursor of tok, or errPageToken if tok was not sealed
// by this key for the listing bound by ad. An empty token is the start.
func (p pages) open(tok string, ad []byte) (cursor, error) {
	var c cursor
	if tok == "" {
		return c, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	ns := p.aead.NonceSize()
	if err != nil || len(raw) < 1+ns+p.aead.Overhead() || raw[0] != pageTokenVersion {
		return c, errPageToken
	}
	plain, err := p.aead.Open(nil, raw[1:1+ns], raw[1+ns:], ad)
	if err != nil || json.Unmarshal(plain, &c) != nil || c.Chunk < 0 || c.Index < 0 ||
		(c.Breach != "" && !c.Breach.Valid()) {
		return cursor{}, errPageToken
	}
	return c, nil
}
