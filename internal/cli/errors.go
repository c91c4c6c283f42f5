package cli

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// usageError is a mistake in the command line: exit code 2.
type usageError struct {
	name  string          // the verb, for the "Run 'cascadectl help ...'" hint
	msg   string          // what is wrong
	usage func(io.Writer) // prints the usage after the message, if set
}

func (e *usageError) Error() string { return e.msg }

// usageErrorf is a usage error of verb name.
func usageErrorf(name, format string, args ...any) error {
	return &usageError{name: name, msg: fmt.Sprintf(format, args...)}
}

// exitError ends the program with code after its message was printed.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// timeoutError is the cause of a context ended by --timeout.
type timeoutError struct{ after time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("timed out after %s (raise --timeout, or 0 for none)", e.after)
}

// hintError adds a hint line below an error.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

// exitCode prints err to stderr and returns the exit code for it.
func (a *app) exitCode(err error) int {
	if err == nil {
		return 0
	}
	w := a.stderr
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(w, "cascadectl: %s\n", ue.msg)
		switch cmd, _ := lookup(strings.Fields(ue.name)); {
		case ue.usage != nil:
			ue.usage(w)
		case cmd != nil:
			fmt.Fprintf(w, "Usage: %s\nRun 'cascadectl %s --help' for its flags and examples.\n", synopsis(cmd), cmd.name)
		default:
			fmt.Fprintln(w, "Run 'cascadectl help' for usage.")
		}
		return 2
	}
	fmt.Fprint(w, formatError(err))
	return 1
}

// formatError renders err as "cascadectl: <message>" lines. A gRPC status
// is shown as its code and message, with every BadRequest field violation
// on a line of its own. The hints of err follow, the innermost first.
func formatError(err error) string {
	var b strings.Builder
	switch st, ok := grpcStatus(err); {
	case ok:
		prefix := ""
		if msg := err.Error(); strings.Contains(msg, ": rpc error: ") { // wrapped with context
			prefix = msg[:strings.Index(msg, ": rpc error: ")] + ": "
		}
		fmt.Fprintf(&b, "cascadectl: %s%s: %s\n", prefix, st.Code(), st.Message())
		for _, v := range fieldViolations(st) {
			fmt.Fprintf(&b, "  %s: %s\n", v.GetField(), v.GetDescription())
		}
	default:
		fmt.Fprintf(&b, "cascadectl: %s\n", err)
	}
	var hints []string
	for e := err; e != nil; e = errors.Unwrap(e) {
		if h, ok := e.(*hintError); ok {
			hints = append(hints, h.hint)
		}
	}
	for _, h := range slices.Backward(hints) {
		fmt.Fprintf(&b, "  %s\n", h)
	}
	return safeMultiline(b.String())
}

// fieldViolations are the BadRequest field violations of st.
func fieldViolations(st *status.Status) []*errdetails.BadRequest_FieldViolation {
	var vs []*errdetails.BadRequest_FieldViolation
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			vs = append(vs, br.GetFieldViolations()...)
		}
	}
	return vs
}

// advise adds to err, the failure of verb, what the user can do next: the
// explanation of a TLS mismatch or of an unrequested client certificate
// (connHint), and the advice for its gRPC code (nextStep). An explained
// TLS mismatch is the whole story of an Unavailable error: the daemon is
// running.
func (a *app) advise(verb string, err error) error {
	st, ok := grpcStatus(err)
	if !ok {
		return err
	}
	conn := a.connHint(st)
	if conn != "" {
		err = &hintError{err: err, hint: conn}
	}
	if conn != "" && st.Code() == codes.Unavailable {
		return err
	}
	if next := a.nextStep(verb, st); next != "" {
		err = &hintError{err: err, hint: next}
	}
	return err
}

// nextStep is the advice that follows a gRPC error of verb with status st,
// or "" when the server's message says it all.
func (a *app) nextStep(verb string, st *status.Status) string {
	msg := st.Message()
	switch st.Code() {
	case codes.Unavailable:
		if strings.HasSuffix(msg, "retry later") { // said by cascaded: it is running
			return "(cascaded is running but its store did not answer: retry in a moment; if this persists, check cascaded's log and its NATS server)"
		}
		return fmt.Sprintf("(is cascaded running at %s? Start it with 'make run', or pass its address with --grpc-addr or %s)", a.g.grpcAddr, EnvGRPCAddr)
	case codes.Unauthenticated:
		if src := a.g.tokenSource(); src != "" {
			return fmt.Sprintf("(cascaded refused the token of %s: it may be revoked, mistyped or from another installation; the vendor issues a new one with 'cascadectl tokens issue')", src)
		}
		return fmt.Sprintf("(no token given: pass --token-file FILE or set %s (or %s, or --token); the first vendor token is in <data-dir>/vendor.token, and the vendor issues others with 'cascadectl tokens issue')", EnvTokenFile, EnvToken)
	case codes.PermissionDenied:
		switch {
		case containsAny(msg, "/cascade.v1.TokenService/", "/ReportBreach", "/UpdateBreach", "/RotateSigningKey"):
			return "(only the vendor may do this: use the vendor's token, e.g. --token-file <data-dir>/vendor.token)"
		case containsAny(msg, "/AcknowledgeNotice", "/Record"):
			return "(only the notice's own organisation records this: use a controller token of that organisation; the vendor issues one with 'cascadectl tokens issue --org ORG --role controller')"
		case containsAny(msg, "/GetBreachSummary", "/WatchBreach"):
			return "(a breach's progress is for the vendor and for viewers without an organisation; a controller follows its own notice with 'cascadectl notice show ID')"
		case containsAny(msg, "/ListNotices"):
			return "(a controller or viewer of an organisation lists only that organisation's notices: leave out --org, or give its own)"
		case containsAny(msg, "/ExportEvidence"):
			return "(a controller or viewer of an organisation exports only that organisation's record: 'cascadectl evidence export --org ORG')"
		}
		return "(the role of your token may not do this: see \"Who may do what\" in docs/security.md; the vendor issues tokens of other roles with 'cascadectl tokens issue')"
	case codes.NotFound:
		switch group, _, _ := strings.Cut(verb, " "); group {
		case "breach":
			return "(check the breach id: 'cascadectl breach list' lists the breaches you may see)"
		case "notice":
			return "(check the notice id, <breach_id>/<org_id>: 'cascadectl notice list --breach BREACH_ID' lists them; a controller sees only its own organisation's notices)"
		case "evidence":
			return "(check the id: 'cascadectl breach list' lists the breaches, 'cascadectl notice list --org ORG' an organisation's notices)"
		case "tokens":
			return "(check the token id: 'cascadectl tokens list' lists them)"
		}
		return "(check the id you gave)"
	case codes.InvalidArgument:
		if len(fieldViolations(st)) > 0 {
			return fmt.Sprintf("(correct the fields above; 'cascadectl %s --help' shows the arguments, with an example)", verb)
		}
		return fmt.Sprintf("('cascadectl %s --help' shows the arguments, with an example)", verb)
	case codes.FailedPrecondition:
		if verb == "webhook secret" {
			return "(add the organisation's webhook_url to the registry file and restart cascaded, or pass --prepare to issue the secret in advance)"
		}
		if strings.HasPrefix(verb, "notice ") {
			return "(the notice's state does not allow this: 'cascadectl notice show ID' shows it, 'cascadectl notice history ID' how it got there)"
		}
	}
	return ""
}

// containsAny reports whether s contains any of subs.
func containsAny(s string, subs ...string) bool {
	return slices.ContainsFunc(subs, func(sub string) bool { return strings.Contains(s, sub) })
}

// grpcStatus returns the gRPC status err carries, if any, unwrapping.
func grpcStatus(err error) (*status.Status, bool) {
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		return se.GRPCStatus(), true
	}
	return nil, false
}

// isCode reports whether err is a gRPC status with code c.
func isCode(err error, c codes.Code) bool {
	st, ok := grpcStatus(err)
	return ok && st.Code() == c
}

// didYouMean is " (did you mean X?)" for the candidate closest to s, if
// one is close enough to be a typo of it, else "".
func didYouMean(s string, candidates []string, format func(string) string) string {
	if len(s) < 3 {
		return ""
	}
	best, bestDist := "", max(1, len(s)/3)+1
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + format(best) + "?)"
}

// editDistance is the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
