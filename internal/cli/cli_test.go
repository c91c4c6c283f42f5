package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cascadehq/cascade/internal/testkit"
	"github.com/cascadehq/cascade/internal/version"
)

// result is one cascadectl run.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs Main with args and no stdin.
func runCLI(ctx context.Context, args ...string) result {
	return runCLIStdin(ctx, "", args...)
}

func runCLIStdin(ctx context.Context, stdin string, args ...string) result {
	var stdout, stderr bytes.Buffer
	code := Main(ctx, args, strings.NewReader(stdin), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func TestHelpGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"help", []string{"help"}},
		{"help", []string{"-h"}},
		{"help", []string{"--help"}},
		{"help_breach", []string{"help", "breach"}},
		{"help_breach", []string{"breach", "-h"}},
		{"help_breach_publish", []string{"help", "breach", "publish"}},
		{"help_breach_publish", []string{"breach", "publish", "-h"}},
		{"help_breach_publish", []string{"breach", "publish", "--help"}},
		{"help_notice_list", []string{"notice", "list", "-h"}},
		{"help_notice", []string{"help", "notice"}},
		{"help_evidence", []string{"evidence", "--help"}},
		{"help_breach_update", []string{"help", "breach", "update"}},
		{"help_breach_status", []string{"breach", "status", "--help"}},
		{"help_notice_record_subjects", []string{"notice", "record-subjects", "-h"}},
		{"help_tokens", []string{"help", "tokens"}},
		{"help_tokens_issue", []string{"tokens", "issue", "-h"}},
		{"help_keys", []string{"keys", "--help"}},
		{"help_keys_list", []string{"help", "keys", "list"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := runCLI(t.Context(), tc.args...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			testkit.Golden(t, tc.golden+".golden", r.stdout)
		})
	}
}

// TestEveryCommandHasHelp renders the help of every verb; each must name
// its flags and the global ones.
func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t.Context(), append([]string{"help"}, strings.Fields(c.name)...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			for _, want := range []string{"Usage:\n  cascadectl " + c.name, "--grpc-addr", "--timeout", c.summary} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("help lacks %q:\n%s", want, r.stdout)
				}
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		stderr []string // each must appear
	}{
		{"no arguments", nil, []string{"Usage:", "Commands:"}},
		{"unknown verb", []string{"frobnicate"}, []string{`cascadectl: unknown command "frobnicate"`, "Commands:"}},
		{"unknown sub-verb", []string{"breach", "explode"}, []string{`unknown command "breach explode"`, "breach publish"}},
		{"group without verb", []string{"notice"}, []string{"notice ack"}},
		{"unknown flag", []string{"breach", "list", "--bogus"}, []string{"flag provided but not defined: -bogus\nUsage: cascadectl breach list [flags]\nRun 'cascadectl breach list --help' for its flags and examples.\n"}},
		{"misspelt flag", []string{"notice", "list", "--overdeu"}, []string{"flag provided but not defined: -overdeu (did you mean --overdue?)"}},
		{"misspelt verb", []string{"breach", "stauts", "X"}, []string{`unknown command "breach stauts" (did you mean "breach status"?)`}},
		{"misspelt global flag", []string{"--grpc-adr", "x", "breach", "list"}, []string{"flag provided but not defined: -grpc-adr (did you mean --grpc-addr?)"}},
		{"bad display", []string{"breach", "status", "B", "--watch", "--display", "fancy"}, []string{`--display must be auto, live or plain, not "fancy"`}},
		{"negative deadlines", []string{"breach", "status", "B", "--watch", "--deadlines", "-1"}, []string{"--deadlines must not be negative"}},
		{"misspelt group", []string{"notcie", "list"}, []string{`unknown command "notcie" (did you mean "notice"?)`}},
		{"bad output format", []string{"breach", "list", "-o", "yaml"}, []string{`-o must be "table" or "json", not "yaml"`}},
		{"missing argument", []string{"breach", "status"}, []string{"missing argument: want 1, got 0\nUsage: cascadectl breach status [flags] ID\n"}},
		{"extra argument", []string{"notice", "show", "a/b", "c"}, []string{`unexpected argument "c"`}},
		{"ack without --by", []string{"notice", "ack", "B/o"}, []string{"--by is required"}},
		{"bad state", []string{"notice", "list", "--state", "LOST"}, []string{`unknown notice state "LOST"`}},
		{"help for unknown verb", []string{"help", "breach", "nope"}, []string{`unknown command "breach nope"`}},
		{"update without file", []string{"breach", "update"}, []string{"missing argument"}},
		{"ack negative revision", []string{"notice", "ack", "B/o", "--by", "x", "--revision", "-1"}, []string{"--revision must be"}},
		{"ack revision not a number", []string{"notice", "ack", "B/o", "--by", "x", "--revision", "two"}, []string{"invalid value"}},
		{"history without id", []string{"notice", "history"}, []string{"missing argument"}},
		{"record-report without authority", []string{"notice", "record-report", "B/o", "--reference", "R", "--by", "x"}, []string{"--authority is required"}},
		{"record-report without reference", []string{"notice", "record-report", "B/o", "--authority", "IMY", "--by", "x"}, []string{"--reference is required"}},
		{"record-report without --by", []string{"notice", "record-report", "B/o", "--authority", "IMY", "--reference", "R"}, []string{"--by is required"}},
		{"record-report bad time", []string{"notice", "record-report", "B/o", "--authority", "IMY", "--reference", "R", "--by", "x", "--reported-at", "yesterday"},
			[]string{`--reported-at: "yesterday" is not an RFC 3339 time`}},
		{"record-not-reportable without justification", []string{"notice", "record-not-reportable", "B/o", "--by", "x"}, []string{"--justification is required"}},
		{"record-subjects without mode", []string{"notice", "record-subjects", "B/o", "--by", "x"}, []string{"choose exactly one of --communicated, --not-required or --exempt"}},
		{"record-subjects two modes", []string{"notice", "record-subjects", "B/o", "--by", "x", "--not-required", "--exempt", "a", "--justification", "j"},
			[]string{"choose exactly one"}},
		{"record-subjects bad ground", []string{"notice", "record-subjects", "B/o", "--by", "x", "--exempt", "d"}, []string{`--exempt must be a, b or c`}},
		{"record-subjects flag of another mode", []string{"notice", "record-subjects", "B/o", "--by", "x", "--exempt", "c", "--how", "letter"},
			[]string{"--how goes only with --communicated"}},
		{"record-subjects public without exempt", []string{"notice", "record-subjects", "B/o", "--by", "x", "--not-required", "--justification", "j", "--public", "p"},
			[]string{"--public goes only with --exempt"}},
		{"record-subjects bad time", []string{"notice", "record-subjects", "B/o", "--by", "x", "--communicated", "--how", "h", "--at", "2025-08-24"},
			[]string{"--at:"}},
		{"report bad language", []string{"notice", "report", "B/o", "--lang", "fi"}, []string{`--lang must be sv or en, not "fi"`}},
		{"report bad format", []string{"notice", "report", "B/o", "--format", "pdf"}, []string{`--format must be markdown or json`}},
		{"export without scope", []string{"evidence", "export"}, []string{"name exactly one of --breach ID or --org ID"}},
		{"export with both scopes", []string{"evidence", "export", "--breach", "B", "--org", "o"}, []string{"name exactly one"}},
		{"verify without dir", []string{"evidence", "verify"}, []string{"missing argument"}},
		{"unknown evidence verb", []string{"evidence", "delete"}, []string{`unknown command "evidence delete"`, "evidence export"}},
		{"token and token file", []string{"breach", "list", "--token", "cas_x", "--token-file", "f"}, []string{"give either --token or --token-file, not both"}},
		{"tls cert without key", []string{"--tls-cert", "c.pem", "notice", "list"}, []string{"--tls-cert and --tls-key go together"}},
		{"issue without role", []string{"tokens", "issue", "--org", "o"}, []string{"--role is required"}},
		{"issue bad role", []string{"tokens", "issue", "--role", "admin"}, []string{`unknown role "admin": want controller, vendor or viewer`}},
		{"issue controller without org", []string{"tokens", "issue", "--role", "controller"}, []string{"--org is required with --role controller"}},
		{"issue vendor with org", []string{"tokens", "issue", "--role", "vendor", "--org", "o"}, []string{"--org does not go with --role vendor"}},
		{"issue quiet json", []string{"tokens", "issue", "--role", "viewer", "-q", "-o", "json"}, []string{"-q prints only the token"}},
		{"issue argument", []string{"tokens", "issue", "--role", "viewer", "x"}, []string{`unexpected argument "x"`}},
		{"revoke without id", []string{"tokens", "revoke"}, []string{"missing argument"}},
		{"revoke a token", []string{"tokens", "revoke", "cas_secret"}, []string{"that is a token, not its id"}},
		{"revoke bad id", []string{"tokens", "revoke", "12345"}, []string{`"12345" is not a token id`}},
		{"unknown tokens verb", []string{"tokens", "show"}, []string{`unknown command "tokens show"`, "tokens issue"}},
		{"keys list argument", []string{"keys", "list", "x"}, []string{`unexpected argument "x"`}},
		{"keys rotate argument", []string{"keys", "rotate", "now"}, []string{`unexpected argument "now"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t.Context(), tc.args...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2", r.code)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty: %q", r.stdout)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	// Test binaries record no VCS information: the Makefile's stamp stands in.
	old := version.Revision
	version.Revision = "0123456789abcdef0123456789abcdef01234567"
	t.Cleanup(func() { version.Revision = old })
	r := runCLI(t.Context(), "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "cascadectl ") || !strings.Contains(r.stdout, " commit 0123456789ab ") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t.Context(), "version", "-o", "json")
	var v map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v["version"] == "" || v["revision"] != version.Revision {
		t.Fatalf("version -o json: %v: %q", err, r.stdout)
	}
}

func TestParseInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		wantPos  []string
		wantBy   string
		wantJSON bool
	}{
		{[]string{"ID", "--by", "x"}, []string{"ID"}, "x", false},
		{[]string{"--by", "x", "ID"}, []string{"ID"}, "x", false},
		{[]string{"-o", "json", "ID", "--by=x"}, []string{"ID"}, "x", true},
		{[]string{"ID", "--", "--by", "x"}, []string{"ID", "--by", "x"}, "", false},
		{[]string{"-", "--by", "x"}, []string{"-"}, "x", false},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			g := staticGlobals()
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			g.register(fs)
			by := fs.String("by", "", "")
			pos, err := parseInterspersed(fs, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(pos, tc.wantPos) || *by != tc.wantBy || (g.output == outputJSON) != tc.wantJSON {
				t.Errorf("got %q by=%q o=%q", pos, *by, g.output)
			}
		})
	}
}

func TestGlobalsFromEnv(t *testing.T) {
	env := map[string]string{EnvGRPCAddr: "10.0.0.1:1", EnvNATSURL: "nats://10.0.0.1:2", EnvToken: "cas_t", EnvTokenFile: "t.file",
		EnvTLSCA: "ca.pem", EnvTLSCert: "c.pem", EnvTLSKey: "c.key", EnvTLSServerName: "cascade.example.org"}
	g := envGlobals(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if g.grpcAddr != "10.0.0.1:1" || g.natsURL != "nats://10.0.0.1:2" || g.output != outputTable || g.timeout != DefaultTimeout {
		t.Errorf("got %+v", g)
	}
	// Tokens stay out of the flags (and so out of help); TLS files are defaults.
	if g.token != "" || g.tokenFile != "" || g.envToken != "cas_t" || g.envTokenFile != "t.file" ||
		g.tlsCA != "ca.pem" || g.tlsCert != "c.pem" || g.tlsKey != "c.key" || g.tlsServerName != "cascade.example.org" {
		t.Errorf("got %+v", g)
	}
	g = envGlobals(func(string) (string, bool) { return "", false })
	if g != staticGlobals() {
		t.Errorf("without env: got %+v", g)
	}
}

func TestPrepareReport(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		wantErr string
		wantID  string // "" with generate: a UUIDv7
		gen     bool
	}{
		{name: "with id", in: `{"id": "B-1", "title": "t"}`, wantID: "B-1"},
		{name: "without id", in: "{\"title\": 5}\n", gen: true},
		{name: "empty id", in: `{"id": "", "title": "t"}`, gen: true},
		{name: "empty object", in: ` {} `, gen: true},
		{name: "id not a string", in: `{"id": 5}`, wantID: ""},
		{name: "array", in: `[{"id": "x"}]`, wantErr: "not a JSON object"},
		{name: "null", in: `null`, wantErr: "not a JSON object"},
		{name: "truncated", in: `{"id": "x"`, wantErr: "not valid JSON"},
		{name: "empty", in: " \n", wantErr: "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, id, err := prepareReport([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.gen {
				if len(id) != 36 || id[14] != '7' {
					t.Fatalf("generated id %q is not a UUIDv7", id)
				}
			} else if id != tc.wantID {
				t.Fatalf("id %q, want %q", id, tc.wantID)
			}
			var obj map[string]any
			if err := json.Unmarshal(out, &obj); err != nil {
				t.Fatalf("output is not JSON: %v: %s", err, out)
			}
			if tc.gen && obj["id"] != id {
				t.Errorf("output id %v, want %q: %s", obj["id"], id, out)
			}
			if tc.name == "without id" && !strings.HasPrefix(string(out), `{"title": 5`) {
				t.Errorf("the report's own bytes moved: %s", out)
			}
		})
	}
}

func TestFormatError(t *testing.T) {
	st := status.New(codes.InvalidArgument, "invalid: affected[0].org_id: organisation \"x\" is not in the registry")
	st, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
		{Field: "affected[0].org_id", Description: `organisation "x" is not in the registry`},
		{Field: "title", Description: "title is required"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"bad request", st.Err(), `cascadectl: InvalidArgument: invalid: affected[0].org_id: organisation "x" is not in the registry
  affected[0].org_id: organisation "x" is not in the registry
  title: title is required
`},
		{"not found", status.Error(codes.NotFound, "notice B/o: not found"), "cascadectl: NotFound: notice B/o: not found\n"},
		{"unavailable", status.Error(codes.Unavailable, "connection refused"), "cascadectl: Unavailable: connection refused\n"},
		{"plain", errors.New("boom"), "cascadectl: boom\n"},
		{"hint", &hintError{err: errors.New("boom"), hint: "(try again)"}, "cascadectl: boom\n  (try again)\n"},
		{"hints, innermost first", &hintError{err: fmt.Errorf("fetch: %w", &hintError{err: status.Error(codes.Unavailable, "down"), hint: "(inner)"}), hint: "(outer)"},
			"cascadectl: fetch: Unavailable: down\n  (inner)\n  (outer)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatError(tc.err); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
