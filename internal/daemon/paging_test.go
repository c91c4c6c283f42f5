package daemon_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cascadehq/cascade/internal/daemon"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// authEnv is a daemon that requires tokens, with the vendor's token and a
// way to issue more.
type authEnv struct {
	*env
	vendor string
	cc     *grpc.ClientConn // without credentials
	tokens cascadev1.TokenServiceClient
	ds     cascadev1.DeliveryServiceClient
}

func startAuth(t *testing.T, opts daemon.Options) *authEnv {
	t.Helper()
	opts.InsecureNoAuth = false
	e := start(t, opts)
	raw, err := os.ReadFile(filepath.Join(opts.DataDir, "vendor.token"))
	if err != nil {
		t.Fatal(err)
	}
	a := &authEnv{env: e, vendor: strings.TrimSpace(string(raw)), cc: grpcConn(t, e.d.GRPCAddr())}
	a.tokens = cascadev1.NewTokenServiceClient(a.cc)
	a.ds = cascadev1.NewDeliveryServiceClient(a.cc)
	a.plain()
	return a
}

// plain makes the env's clients send no credentials of their own (each
// call then carries its token with withToken).
func (a *authEnv) plain() {
	a.breachC = cascadev1.NewBreachServiceClient(a.cc)
	a.noticeC = cascadev1.NewNoticeServiceClient(a.cc)
}

// issue returns a new token's secret and id.
func (a *authEnv) issue(org string, role cascadev1.Role) (secret, id string) {
	a.t.Helper()
	r, err := a.tokens.IssueToken(withToken(ctx(a.t), a.vendor), &cascadev1.IssueTokenRequest{OrgId: org, Role: role, Label: "test"})
	if err != nil {
		a.t.Fatal(err)
	}
	return r.GetToken(), r.GetInfo().GetTokenId()
}

func (a *authEnv) revoke(id string) {
	a.t.Helper()
	if _, err := a.tokens.RevokeToken(withToken(ctx(a.t), a.vendor), &cascadev1.RevokeTokenRequest{TokenId: id}); err != nil {
		a.t.Fatal(err)
	}
}

// wantPageTokenRefused checks the one answer to a bad page token.
func wantPageTokenRefused(t *testing.T, what string, err error) {
	t.Helper()
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "invalid page_token") {
		t.Fatalf("%s: error = %v; want InvalidArgument \"invalid page_token\"", what, err)
	}
}

// TestPageTokensLeakNothing pages ListBreaches and ListNotices as a
// controller and as the vendor: the controller only ever pages through
// its own breaches, its tokens carry no breach id, and tokens are refused
// when altered, used by another caller, or with other filters.
func TestPageTokensLeakNothing(t *testing.T) {
	e := startAuth(t, options(t))
	const a, b = "se-kommun-0180", "se-kommun-1480"
	ctrlA, _ := e.issue(a, cascadev1.Role_ROLE_CONTROLLER)
	ctrlA2, _ := e.issue(a, cascadev1.Role_ROLE_CONTROLLER) // same organisation, another token
	ctrlB, _ := e.issue(b, cascadev1.Role_ROLE_CONTROLLER)
	affected := map[string][]string{
		"PAGE-1": {a}, "PAGE-2": {b}, "PAGE-3": {a, b}, "PAGE-4": {b}, "PAGE-5": {a}, "PAGE-6": {b},
	}
	for id, orgs := range affected {
		e.publish(report(id, orgs...))
	}
	e.useToken(e.vendor)
	for id, orgs := range affected {
		e.waitSummary(id, 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == int64(len(orgs)) })
	}
	e.plain()

	// pageBreaches lists every page; it returns the ids in order and the tokens.
	pageBreaches := func(token string, size int32) (ids []string, tokens []string) {
		t.Helper()
		req := &cascadev1.ListBreachesRequest{PageSize: size}
		for range 100 {
			r, err := e.breachC.ListBreaches(withToken(ctx(t), token), req)
			if err != nil {
				t.Fatalf("ListBreaches: %v", err)
			}
			if r.GetNextPageToken() != "" && len(r.GetBreaches()) != int(size) {
				t.Fatalf("a page of %d breaches (want %d) before the last: the listing walks what the caller may not see", len(r.GetBreaches()), size)
			}
			for _, br := range r.GetBreaches() {
				ids = append(ids, br.GetId())
			}
			if r.GetNextPageToken() == "" {
				return ids, tokens
			}
			tokens = append(tokens, r.GetNextPageToken())
			req.PageToken = r.GetNextPageToken()
		}
		t.Fatal("ListBreaches does not end")
		return nil, nil
	}
	ids, toks := pageBreaches(ctrlA, 1)
	if strings.Join(ids, ",") != "PAGE-1,PAGE-3,PAGE-5" || len(toks) != 2 {
		t.Fatalf("controller A pages through %v with %d tokens; want PAGE-1,PAGE-3,PAGE-5 with 2", ids, len(toks))
	}
	for _, tok := range toks {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			t.Fatalf("token %q is not base64url: %v", tok, err)
		}
		for id := range affected {
			if strings.Contains(string(raw), id) || strings.Contains(tok, id) {
				t.Fatalf("page token %q (%q) carries breach id %s", tok, raw, id)
			}
		}
		if strings.Contains(string(raw), "PAGE") || strings.Contains(string(raw), `"b"`) {
			t.Fatalf("page token %q is readable: %q", tok, raw)
		}
	}
	if ids, _ := pageBreaches(ctrlB, 2); strings.Join(ids, ",") != "PAGE-2,PAGE-3,PAGE-4,PAGE-6" {
		t.Fatalf("controller B pages through %v", ids)
	}
	if ids, _ := pageBreaches(e.vendor, 1); strings.Join(ids, ",") != "PAGE-1,PAGE-2,PAGE-3,PAGE-4,PAGE-5,PAGE-6" {
		t.Fatalf("the vendor pages through %v", ids)
	}
	// The same cursor twice gives two different tokens (random nonce).
	if _, again := pageBreaches(ctrlA, 1); again[0] == toks[0] {
		t.Fatal("two page tokens for the same position are equal: the nonce is not random")
	}

	listA := func(token, pageToken string) error {
		_, err := e.breachC.ListBreaches(withToken(ctx(t), token), &cascadev1.ListBreachesRequest{PageSize: 1, PageToken: pageToken})
		return err
	}
	if err := listA(ctrlA, toks[0]); err != nil {
		t.Fatalf("the token's own caller: %v", err)
	}
	// Tampered: every byte position of the sealed token matters.
	raw, _ := base64.RawURLEncoding.DecodeString(toks[0])
	for _, i := range []int{0, 1, len(raw) / 2, len(raw) - 1} {
		bad := append([]byte(nil), raw...)
		bad[i] ^= 0x01
		wantPageTokenRefused(t, "a token with one bit flipped", listA(ctrlA, base64.RawURLEncoding.EncodeToString(bad)))
	}
	wantPageTokenRefused(t, "a truncated token", listA(ctrlA, toks[0][:len(toks[0])-4]))
	wantPageTokenRefused(t, "not base64", listA(ctrlA, "garbage!"))
	wantPageTokenRefused(t, "a readable cursor of the old format", listA(ctrlA, base64.RawURLEncoding.EncodeToString([]byte(`{"b":"PAGE-3"}`))))
	// Another caller: another organisation, the same organisation's other token, the vendor.
	wantPageTokenRefused(t, "controller B with A's token", listA(ctrlB, toks[0]))
	wantPageTokenRefused(t, "A's other token", listA(ctrlA2, toks[0]))
	wantPageTokenRefused(t, "the vendor with A's token", listA(e.vendor, toks[0]))

	// ListNotices: bound to its filters and to the RPC.
	nreq := &cascadev1.ListNoticesRequest{BreachId: "PAGE-3", PageSize: 1}
	r, err := e.noticeC.ListNotices(withToken(ctx(t), e.vendor), nreq)
	if err != nil || r.GetNextPageToken() == "" {
		t.Fatalf("ListNotices first page: %v, %v", r, err)
	}
	ntok := r.GetNextPageToken()
	for name, other := range map[string]*cascadev1.ListNoticesRequest{
		"another breach_id":  {BreachId: "PAGE-1", PageSize: 1, PageToken: ntok},
		"no breach_id":       {PageSize: 1, PageToken: ntok},
		"another state":      {BreachId: "PAGE-3", State: cascadev1.NoticeState_NOTICE_STATE_DELIVERED, PageSize: 1, PageToken: ntok},
		"overdue_only added": {BreachId: "PAGE-3", OverdueOnly: true, PageSize: 1, PageToken: ntok},
		"an org_id added":    {BreachId: "PAGE-3", OrgId: b, PageSize: 1, PageToken: ntok},
	} {
		_, err := e.noticeC.ListNotices(withToken(ctx(t), e.vendor), other)
		wantPageTokenRefused(t, "ListNotices with "+name, err)
	}
	wantPageTokenRefused(t, "a ListNotices token in ListBreaches", listA(e.vendor, ntok))
	wantPageTokenRefused(t, "a ListBreaches token in ListNotices", func() error {
		_, err := e.noticeC.ListNotices(withToken(ctx(t), ctrlA), &cascadev1.ListNoticesRequest{PageToken: toks[0]})
		return err
	}())
	_, err = e.ds.ListDeadLetters(withToken(ctx(t), e.vendor), &cascadev1.ListDeadLettersRequest{PageToken: "5"})
	wantPageTokenRefused(t, "ListDeadLetters with a sequence number", err)
	// The same filters, page_size changed: still the same listing, every notice once.
	nreq.PageToken, nreq.PageSize = ntok, 5
	r2, err := e.noticeC.ListNotices(withToken(ctx(t), e.vendor), nreq)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{r.GetNotices()[0].GetId()}
	for _, n := range r2.GetNotices() {
		got = append(got, n.GetId())
	}
	if strings.Join(got, ",") != "PAGE-3/"+a+",PAGE-3/"+b || r2.GetNextPageToken() != "" {
		t.Fatalf("notices of PAGE-3 over two pages: %v (next %q)", got, r2.GetNextPageToken())
	}
	// A scoped caller's notices, one a page, each once.
	e.useToken(ctrlA) // the only credentials of these clients
	var mine []string
	for _, n := range e.listAll(&cascadev1.ListNoticesRequest{PageSize: 1}) {
		mine = append(mine, n.GetId())
	}
	if strings.Join(mine, ",") != "PAGE-1/"+a+",PAGE-3/"+a+",PAGE-5/"+a {
		t.Fatalf("controller A's notices: %v", mine)
	}
}
