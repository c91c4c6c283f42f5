package api

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"log/slog"
	"math/big"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/cascadehq/cascade/internal/auth"
	"github.com/cascadehq/cascade/internal/breach"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// certCaller is the context of a call by the holder of a client certificate
// (role in OU, organisation in CN, serial), as the guard sets it up.
func certCaller(t *testing.T, role, org string, serial int64) context.Context {
	t.Helper()
	cert := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: org, OrganizationalUnit: []string{role}}}
	ctx := peer.NewContext(t.Context(), &peer.Peer{AuthInfo: credentials.TLSInfo{
		State: tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{cert}}}}})
	g := auth.NewGuard(nil, nil, false, slog.New(slog.DiscardHandler))
	var got context.Context
	_, err := g.Unary()(ctx, &cascadev1.WhoAmIRequest{}, &grpc.UnaryServerInfo{FullMethod: cascadev1.TokenService_WhoAmI_FullMethodName},
		func(ctx context.Context, _ any) (any, error) { got = ctx; return &cascadev1.WhoAmIResponse{}, nil })
	if err != nil {
		t.Fatalf("%s@%s: %v", role, org, err)
	}
	return got
}

func isPageTokenError(err error) bool {
	var inv *breach.InvalidError
	return errors.As(err, &inv) && err == errPageToken
}

// TestPageTokenBinding: a token opens only for the listing it was made
// for: the same RPC, the same caller (role, organisation, certificate)
// and the same filters, in the same places.
func TestPageTokenBinding(t *testing.T) {
	p, err := newPages(randomPageKey())
	if err != nil {
		t.Fatal(err)
	}
	const list = cascadev1.NoticeService_ListNotices_FullMethodName
	controller := certCaller(t, "controller", "org-a", 1)
	filters := []string{"org-a", "B-1", "2", "false"}
	tok := p.token(cursor{Breach: "B-1", Chunk: 3, Index: 7}, binding(controller, list, filters...))
	if c, err := p.open(tok, binding(controller, list, filters...)); err != nil || c != (cursor{Breach: "B-1", Chunk: 3, Index: 7}) {
		t.Fatalf("the same listing: %+v, %v", c, err)
	}
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		method  string
		filters []string
	}{
		{"another RPC", controller, cascadev1.NoticeService_ListQuestions_FullMethodName, filters},
		{"another organisation", certCaller(t, "controller", "org-b", 1), list, filters},
		{"another role", certCaller(t, "viewer", "org-a", 1), list, filters},
		{"another certificate of the same organisation", certCaller(t, "controller", "org-a", 2), list, filters},
		{"no caller", t.Context(), list, filters},
		{"another org_id", controller, list, []string{"org-b", "B-1", "2", "false"}},
		{"another breach_id", controller, list, []string{"org-a", "B-2", "2", "false"}},
		{"another state", controller, list, []string{"org-a", "B-1", "3", "false"}},
		{"overdue_only set", controller, list, []string{"org-a", "B-1", "2", "true"}},
		{"filters moved between fields", controller, list, []string{"org-aB-1", "", "2", "false"}},
		{"a filter dropped", controller, list, filters[:3]},
		{"a filter added", controller, list, append(filters[:4:4], "x")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c, err := p.open(tok, binding(tc.ctx, tc.method, tc.filters...)); !isPageTokenError(err) {
				t.Errorf("opened as %+v, %v; want errPageToken", c, err)
			}
		})
	}
}

// TestPageTokenTampered: a token altered anywhere, cut, extended,
// re-encoded or sealed by another key is refused with the one error that
// says nothing of why.
func TestPageTokenTampered(t *testing.T) {
	p, _ := newPages(randomPageKey())
	other, _ := newPages(randomPageKey())
	ad := binding(certCaller(t, "vendor", "", 1), cascadev1.BreachService_ListBreaches_FullMethodName)
	tok := p.token(cursor{Breach: "B-1"}, ad)
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 0x01
		return enc(b)
	}
	ns := p.aead.NonceSize()
	cases := map[string]string{
		"version byte":           flip(0),
		"nonce":                  flip(1),
		"sealed cursor":          flip(1 + ns),
		"authentication tag":     flip(len(raw) - 1),
		"cut short":              enc(raw[:len(raw)-1]),
		"only version and nonce": enc(raw[:1+ns]),
		"extended":               enc(append(append([]byte(nil), raw...), 0)),
		"padded base64":          base64.URLEncoding.EncodeToString(raw),
		"standard base64":        base64.RawStdEncoding.EncodeToString(append([]byte{0xfb, 0xff}, raw...)),
		"not base64":             "!" + tok[1:],
		"another key":            other.token(cursor{Breach: "B-1"}, ad),
		"a cursor in clear":      enc([]byte(`{"b":"B-1"}`)),
		"version 2":              enc(append([]byte{2}, raw[1:]...)),
	}
	for name, bad := range cases {
		t.Run(name, func(t *testing.T) {
			if bad == tok {
				t.Fatal("not altered")
			}
			if c, err := p.open(bad, ad); !isPageTokenError(err) || c != (cursor{}) {
				t.Errorf("opened as %+v, %v; want errPageToken", c, err)
			}
		})
	}
	// Sealed by this key, but a cursor no listing makes.
	for name, c := range map[string]cursor{
		"negative chunk":    {Breach: "B-1", Chunk: -1},
		"negative index":    {Breach: "B-1", Index: -1},
		"invalid breach id": {Breach: "not a breach id!"},
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := p.open(p.token(c, ad), ad); !isPageTokenError(err) {
				t.Errorf("opened as %+v, %v; want errPageToken", got, err)
			}
		})
	}
	// Tokens differ each time (random nonces), and each opens.
	again := p.token(cursor{Breach: "B-1"}, ad)
	if again == tok {
		t.Error("two tokens of one cursor are equal")
	}
	if c, err := p.open(again, ad); err != nil || c.Breach != "B-1" {
		t.Errorf("second token: %+v, %v", c, err)
	}
}

func TestPageSize(t *testing.T) {
	for _, tc := range []struct {
		in      int32
		want    int
		invalid bool
	}{
		{-1, 0, true}, {0, defaultPageSize, false}, {1, 1, false}, {maxPageSize, maxPageSize, false}, {maxPageSize + 1, maxPageSize, false},
	} {
		got, err := pageSize(tc.in)
		if got != tc.want || (err != nil) != tc.invalid {
			t.Errorf("pageSize(%d) = %d, %v; want %d, invalid %v", tc.in, got, err, tc.want, tc.invalid)
		}
	}
}
