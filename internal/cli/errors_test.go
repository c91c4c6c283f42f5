package cli

import (
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestAdvise: every gRPC error a verb can meet ends with what to do next.
func TestAdvise(t *testing.T) {
	badRequest, err := status.New(codes.InvalidArgument, "invalid notice id").WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "notice_id", Description: `want "<breach_id>/<org_id>"`}}})
	if err != nil {
		t.Fatal(err)
	}
	withToken := func(g *globals) { g.token = testToken }
	withTokenFile := func(g *globals) { g.envTokenFile = "/run/secrets/cascade.token" }
	withCert := func(g *globals) { g.tlsCert, g.tlsKey = "c.pem", "c.key" }
	for _, tc := range []struct {
		name string
		verb string
		err  error
		set  func(*globals)
		want string // the whole of formatError's output
	}{
		{"daemon not running", "breach list", status.Error(codes.Unavailable, `connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:7400: connect: connection refused"`), nil,
			`cascadectl: Unavailable: connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:7400: connect: connection refused"
  (is cascaded running at 127.0.0.1:7400? Start it with 'make run', or pass its address with --grpc-addr or CASCADE_GRPC_ADDR)
`},
		{"store not answering", "notice ack", status.Error(codes.Unavailable, "the store is not available; retry later"), nil,
			`cascadectl: Unavailable: the store is not available; retry later
  (cascaded is running but its store did not answer: retry in a moment; if this persists, check cascaded's log and its NATS server)
`},
		{"TLS mismatch: only the TLS advice", "breach list", status.Error(codes.Unavailable, "connection error: tls: first record does not look like a TLS handshake"),
			func(g *globals) { g.tlsCA = "ca.pem" },
			`cascadectl: Unavailable: connection error: tls: first record does not look like a TLS handshake
  (cascaded does not serve TLS at 127.0.0.1:7400: drop the --tls-* flags and CASCADE_TLS_* variables, or check --grpc-addr)
`},
		{"no token", "breach list", status.Error(codes.Unauthenticated, "missing credentials"), nil,
			`cascadectl: Unauthenticated: missing credentials
  (no token given: pass --token-file FILE or set CASCADE_TOKEN_FILE (or CASCADE_TOKEN, or --token); the first vendor token is in <data-dir>/vendor.token, and the vendor issues others with 'cascadectl tokens issue')
`},
		{"token refused", "notice show", status.Error(codes.Unauthenticated, "invalid or revoked token"), withToken,
			`cascadectl: Unauthenticated: invalid or revoked token
  (cascaded refused the token of --token: it may be revoked, mistyped or from another installation; the vendor issues a new one with 'cascadectl tokens issue')
`},
		{"token file refused", "notice show", status.Error(codes.Unauthenticated, "invalid or revoked token"), withTokenFile,
			`cascadectl: Unauthenticated: invalid or revoked token
  (cascaded refused the token of CASCADE_TOKEN_FILE /run/secrets/cascade.token: it may be revoked, mistyped or from another installation; the vendor issues a new one with 'cascadectl tokens issue')
`},
		{"certificate not asked for", "breach list", status.Error(codes.Unauthenticated, "missing credentials"), withCert,
			`cascadectl: Unauthenticated: missing credentials
  (cascaded did not ask for the client certificate of --tls-cert: it takes certificates only when started with --tls-client-ca)
  (no token given: pass --token-file FILE or set CASCADE_TOKEN_FILE (or CASCADE_TOKEN, or --token); the first vendor token is in <data-dir>/vendor.token, and the vendor issues others with 'cascadectl tokens issue')
`},
		{"vendor only", "tokens list", status.Error(codes.PermissionDenied, "controller@se-kommun-0180 (abc) may not call /cascade.v1.TokenService/ListTokens"), withToken,
			`cascadectl: PermissionDenied: controller@se-kommun-0180 (abc) may not call /cascade.v1.TokenService/ListTokens
  (only the vendor may do this: use the vendor's token, e.g. --token-file <data-dir>/vendor.token)
`},
		{"controller only", "notice ack", status.Error(codes.PermissionDenied, "vendor (abc) may not call /cascade.v1.NoticeService/AcknowledgeNotice"), withToken,
			`cascadectl: PermissionDenied: vendor (abc) may not call /cascade.v1.NoticeService/AcknowledgeNotice
  (only the notice's own organisation records this: use a controller token of that organisation; the vendor issues one with 'cascadectl tokens issue --org ORG --role controller')
`},
		{"progress not for controllers", "breach status", status.Error(codes.PermissionDenied, "controller@o (abc) may not call /cascade.v1.BreachService/WatchBreach"), withToken,
			`cascadectl: PermissionDenied: controller@o (abc) may not call /cascade.v1.BreachService/WatchBreach
  (a breach's progress is for the vendor and for viewers without an organisation; a controller follows its own notice with 'cascadectl notice show ID')
`},
		{"another organisation's notices", "notice list", status.Error(codes.PermissionDenied, "viewer@o (abc) may not call /cascade.v1.NoticeService/ListNotices for org p"), withToken,
			`cascadectl: PermissionDenied: viewer@o (abc) may not call /cascade.v1.NoticeService/ListNotices for org p
  (a controller or viewer of an organisation lists only that organisation's notices: leave out --org, or give its own)
`},
		{"other denial", "keys list", status.Error(codes.PermissionDenied, "nobody may call /x"), withToken,
			`cascadectl: PermissionDenied: nobody may call /x
  (the role of your token may not do this: see "Who may do what" in docs/security.md; the vendor issues tokens of other roles with 'cascadectl tokens issue')
`},
		{"unknown breach", "breach status", status.Error(codes.NotFound, "breach NOPE: not found"), nil,
			`cascadectl: NotFound: breach NOPE: not found
  (check the breach id: 'cascadectl breach list' lists the breaches you may see)
`},
		{"unknown notice", "notice ack", status.Error(codes.NotFound, "notice B/o: not found"), nil,
			`cascadectl: NotFound: notice B/o: not found
  (check the notice id, <breach_id>/<org_id>: 'cascadectl notice list --breach BREACH_ID' lists them; a controller sees only its own organisation's notices)
`},
		{"unknown token", "tokens revoke", status.Error(codes.NotFound, "token 0123456789abcdef: not found"), nil,
			`cascadectl: NotFound: token 0123456789abcdef: not found
  (check the token id: 'cascadectl tokens list' lists them)
`},
		{"field violations", "notice show", badRequest.Err(), nil,
			`cascadectl: InvalidArgument: invalid notice id
  notice_id: want "<breach_id>/<org_id>"
  (correct the fields above; 'cascadectl notice show --help' shows the arguments, with an example)
`},
		{"invalid without fields", "notice list", status.Error(codes.InvalidArgument, "bad page token"), nil,
			`cascadectl: InvalidArgument: bad page token
  ('cascadectl notice list --help' shows the arguments, with an example)
`},
		{"illegal transition", "notice record-report", status.Error(codes.FailedPrecondition, "notice B/o is resolved"), nil,
			`cascadectl: FailedPrecondition: notice B/o is resolved
  (the notice's state does not allow this: 'cascadectl notice show ID' shows it, 'cascadectl notice history ID' how it got there)
`},
		{"conflict: the message says it", "breach publish", status.Error(codes.AlreadyExists, "breach B already reported with different content"), nil,
			"cascadectl: AlreadyExists: breach B already reported with different content\n"},
		{"a verb's own hint comes first", "keys list", &hintError{err: status.Error(codes.Unavailable, "connection refused"), hint: "(or verify offline)"}, nil,
			`cascadectl: Unavailable: connection refused
  (or verify offline)
  (is cascaded running at 127.0.0.1:7400? Start it with 'make run', or pass its address with --grpc-addr or CASCADE_GRPC_ADDR)
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &app{g: staticGlobals()}
			if tc.set != nil {
				tc.set(&a.g)
			}
			if got := formatError(a.advise(tc.verb, tc.err)); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestDidYouMean(t *testing.T) {
	for _, tc := range []struct {
		s          string
		candidates []string
		want       string
	}{
		{"stauts", []string{"list", "publish", "status", "update"}, " (did you mean status?)"},
		{"pagesize", []string{"limit", "page-size"}, " (did you mean page-size?)"},
		{"x", []string{"o", "q"}, ""}, // too short to tell a typo
		{"frobnicate", []string{"breach", "notice"}, ""},
		{"", []string{"list"}, ""},
	} {
		if got := didYouMean(tc.s, tc.candidates, func(s string) string { return s }); got != tc.want {
			t.Errorf("didYouMean(%q) = %q, want %q", tc.s, got, tc.want)
		}
	}
}
