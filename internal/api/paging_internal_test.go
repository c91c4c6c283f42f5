package api

import (
	"context"
	"errors"
	"testing"

	"github.com/cascadehq/cascade/internal/breach"
)

func TestPageKey(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := newPages(make([]byte, n)); err == nil {
			t.Errorf("a %d-byte page key is accepted", n)
		}
	}
	p1, err := newPages(randomPageKey())
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := newPages(randomPageKey())
	ad := binding(context.Background(), "ListBreaches")
	tok := p1.token(cursor{Breach: "B-1"}, ad)
	if c, err := p1.open(tok, ad); err != nil || c.Breach != "B-1" {
		t.Fatalf("open own token = %v, %v", c, err)
	}
	// Another key (another process without a configured key, or a restart).
	var inv *breach.InvalidError
	if _, err := p2.open(tok, ad); !errors.As(err, &inv) {
		t.Fatalf("a token of another key: %v", err)
	}
	if c, err := p1.open("", ad); err != nil || c != (cursor{}) {
		t.Fatalf("empty token = %v, %v", c, err)
	}
}
