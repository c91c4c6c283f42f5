package daemon_test

import (
	"slices"
	"testing"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// TestTokensPaged pages through ListTokens: every token once, in issue
// order, whatever the page size; page tokens are bound to the caller.
func TestTokensPaged(t *testing.T) {
	e := startAuth(t, options(t))
	var issued []string
	for range 4 {
		_, id := e.issue("se-kommun-0180", cascadev1.Role_ROLE_CONTROLLER)
		issued = append(issued, id)
	}
	vendor2, _ := e.issue("", cascadev1.Role_ROLE_VENDOR)
	issued = append(issued, "") // the second vendor token: its id is not needed

	list := func(token string, size int32) (ids, pageTokens []string) {
		t.Helper()
		req := &cascadev1.ListTokensRequest{PageSize: size}
		for range 100 {
			r, err := e.tokens.ListTokens(withToken(ctx(t), token), req)
			if err != nil {
				t.Fatalf("ListTokens (page size %d): %v", size, err)
			}
			if r.GetNextPageToken() != "" && len(r.GetTokens()) != int(size) {
				t.Fatalf("a page of %d tokens before the last; want %d", len(r.GetTokens()), size)
			}
			for _, ti := range r.GetTokens() {
				ids = append(ids, ti.GetTokenId())
			}
			if r.GetNextPageToken() == "" {
				return ids, pageTokens
			}
			pageTokens = append(pageTokens, r.GetNextPageToken())
			req.PageToken = r.GetNextPageToken()
		}
		t.Fatal("ListTokens does not end")
		return nil, nil
	}
	all, toks := list(e.vendor, 0)
	if len(all) != 1+len(issued) || len(toks) != 0 { // the bootstrap token too
		t.Fatalf("one page of %d tokens with %d next tokens; want %d tokens on one page", len(all), len(toks), 1+len(issued))
	}
	if !slices.Equal(all[1:5], issued[:4]) {
		t.Fatalf("tokens %v; want the bootstrap token, then %v in issue order", all, issued[:4])
	}
	for _, size := range []int32{1, 2, 4} {
		ids, toks := list(e.vendor, size)
		if !slices.Equal(ids, all) {
			t.Fatalf("pages of %d: %v; want %v", size, ids, all)
		}
		if want := (len(all) - 1) / int(size); len(toks) != want {
			t.Fatalf("pages of %d: %d page tokens; want %d", size, len(toks), want)
		}
	}
	_, toks = list(e.vendor, 2)
	_, err := e.tokens.ListTokens(withToken(ctx(t), vendor2), &cascadev1.ListTokensRequest{PageSize: 2, PageToken: toks[0]})
	wantPageTokenRefused(t, "another vendor token with the vendor's page token", err)
	_, err = e.tokens.ListTokens(withToken(ctx(t), e.vendor), &cascadev1.ListTokensRequest{PageToken: "garbage!"})
	wantPageTokenRefused(t, "not base64", err)
	_, err = e.tokens.ListTokens(withToken(ctx(t), e.vendor), &cascadev1.ListTokensRequest{PageSize: -1})
	if err == nil {
		t.Fatal("a negative page_size is accepted")
	}
}
