package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/store"
)

var macKey = bytes.Repeat([]byte{0x42}, 32)

// checked is the token as stored, with its MAC checked.
func checked(t *testing.T, st *store.Store, id string) (*store.Token, error) {
	t.Helper()
	tok, rev, err := st.GetToken(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tok, tok.CheckMAC(macKey, rev)
}

// TestTokenMACUnderConcurrentWrites: every record carries the MAC of the
// revision it lands at, while other tokens are written at the same time.
func TestTokenMACUnderConcurrentWrites(t *testing.T) {
	st := open(t)
	const n = 24
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			tok := &store.Token{ID: fmt.Sprintf("tok%013d", i), Hash: "h", Role: "viewer", IssuedAt: time.Now()}
			if err := st.PutToken(t.Context(), tok, macKey); err != nil {
				t.Error(err)
				return
			}
			if i%2 == 0 {
				if _, err := st.RevokeToken(t.Context(), tok.ID, time.Now(), nil, macKey); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for i := range n {
		id := fmt.Sprintf("tok%013d", i)
		tok, err := checked(t, st, id)
		if err != nil {
			t.Errorf("token %s: %v", id, err)
		}
		if revoked := !tok.RevokedAt.IsZero(); revoked != (i%2 == 0) {
			t.Errorf("token %s revoked %v", id, revoked)
		}
		if err := tok.CheckMAC(bytes.Repeat([]byte{1}, 32), tok.Rev); !errors.Is(err, store.ErrTokenMACWrong) {
			t.Errorf("token %s under another key: %v", id, err)
		}
	}
	if err := st.PutToken(t.Context(), &store.Token{ID: "tok0000000000000", Hash: "x", Role: "vendor"}, macKey); !errors.Is(err, breach.ErrConflict) {
		t.Errorf("PutToken of an existing id: %v, want ErrConflict", err)
	}
}

// TestTokenMACCoversEveryField: changing any field breaks the MAC.
func TestTokenMACCoversEveryField(t *testing.T) {
	base := store.Token{ID: "0123456789abcdef", Hash: "aa", Org: "org-1", Role: "controller", Label: "l",
		IssuedAt: time.Date(2025, 8, 25, 10, 0, 0, 5, time.UTC)}
	base.SignAt(macKey, 7)
	if err := base.CheckMAC(macKey, 7); err != nil {
		t.Fatal(err)
	}
	changes := map[string]func(*store.Token){
		"id":         func(t *store.Token) { t.ID = "fedcba9876543210" },
		"hash":       func(t *store.Token) { t.Hash = "ab" },
		"org":        func(t *store.Token) { t.Org = "" },
		"role":       func(t *store.Token) { t.Role = "vendor" },
		"label":      func(t *store.Token) { t.Label = "m" },
		"issued_at":  func(t *store.Token) { t.IssuedAt = t.IssuedAt.Add(time.Nanosecond) },
		"revoked_at": func(t *store.Token) { t.RevokedAt = t.IssuedAt },
		"rev":        func(t *store.Token) { t.Rev = 8 },
		"mac":        func(t *store.Token) { t.MAC = t.MAC[:len(t.MAC)-2] + "00" },
	}
	for name, change := range changes {
		tok := base
		change(&tok)
		if err := tok.CheckMAC(macKey, tok.Rev); !errors.Is(err, store.ErrTokenMACWrong) {
			t.Errorf("%s changed: %v, want ErrTokenMACWrong", name, err)
		}
	}
	if err := base.CheckMAC(macKey, 8); !errors.Is(err, store.ErrTokenMoved) {
		t.Errorf("read at another revision: %v, want ErrTokenMoved", err)
	}
	tok := base
	tok.MAC = ""
	if err := tok.CheckMAC(macKey, 7); !errors.Is(err, store.ErrTokenMACMissing) {
		t.Errorf("no MAC: %v", err)
	}
	// A time's zone does not matter, only its instant.
	tok = base
	tok.IssuedAt = tok.IssuedAt.In(time.FixedZone("x", 3600))
	if err := tok.CheckMAC(macKey, 7); err != nil {
		t.Errorf("same instant in another zone: %v", err)
	}
}
