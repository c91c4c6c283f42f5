package cli

import (
	"errors"
	"fmt"
	"io"
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
		switch {
		case ue.usage != nil:
			ue.usage(w)
		case ue.name != "":
			fmt.Fprintf(w, "Run 'cascadectl help %s' for usage.\n", ue.name)
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
// on a line of its own.
func formatError(err error) string {
	var b strings.Builder
	var hint *hintError
	hasHint := errors.As(err, &hint)
	switch st, ok := grpcStatus(err); {
	case ok:
		prefix := ""
		if msg := err.Error(); strings.Contains(msg, ": rpc error: ") { // wrapped with context
			prefix = msg[:strings.Index(msg, ": rpc error: ")] + ": "
		}
		fmt.Fprintf(&b, "cascadectl: %s%s: %s\n", prefix, st.Code(), st.Message())
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					fmt.Fprintf(&b, "  %s: %s\n", v.GetField(), v.GetDescription())
				}
			}
		}
		if !hasHint && st.Code() == codes.Unavailable {
			b.WriteString("  (is cascaded running? Set the address with --grpc-addr or " + EnvGRPCAddr + ".)\n")
		}
		if st.Code() == codes.Unauthenticated {
			b.WriteString("  " + unauthenticatedHint + "\n")
		}
	default:
		fmt.Fprintf(&b, "cascadectl: %s\n", err)
	}
	if hasHint {
		fmt.Fprintf(&b, "  %s\n", hint.hint)
	}
	return b.String()
}

// unauthenticatedHint follows every Unauthenticated error. A
// PermissionDenied error is shown as the server words it: who may not
// call what.
const unauthenticatedHint = "(set --token or " + EnvToken + "; the first vendor token is in <data-dir>/vendor.token)"

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
