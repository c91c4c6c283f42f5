package breach

import (
	"errors"
	"fmt"
	"strings"
)

// Domain errors. Storage translates its errors into these once; the API
// translates these into gRPC codes once.
var (
	// ErrNotFound: the breach, notice or organisation does not exist.
	ErrNotFound = errors.New("not found")
	// ErrIllegalTransition: the notice's state does not allow the change.
	ErrIllegalTransition = errors.New("illegal state transition")
	// ErrConflict: the id exists already with different content.
	ErrConflict = errors.New("conflict")
	// ErrLimit: the change would pass a limit on what one caller may
	// accumulate (such as unanswered questions on a notice).
	ErrLimit = errors.New("limit reached")
)

// FieldViolation names one invalid field of a request or report.
type FieldViolation struct {
	Field  string `json:"field"`  // JSON path, e.g. "affected[3].org_id"
	Reason string `json:"reason"` // short machine-readable reason, e.g. "required"
	Detail string `json:"detail"` // human-readable sentence
}

// InvalidError is returned for input that fails validation. It lists every
// violation found, not just the first.
type InvalidError struct {
	Violations []FieldViolation
}

func (e *InvalidError) Error() string {
	parts := make([]string, 0, len(e.Violations))
	for _, v := range e.Violations {
		parts = append(parts, v.Field+": "+v.Detail)
	}
	return "invalid: " + strings.Join(parts, "; ")
}

// violations collects FieldViolations while validating.
type violations []FieldViolation

func (vs *violations) add(field, reason, format string, args ...any) {
	*vs = append(*vs, FieldViolation{Field: field, Reason: reason, Detail: fmt.Sprintf(format, args...)})
}

func (vs violations) err() error {
	if len(vs) == 0 {
		return nil
	}
	return &InvalidError{Violations: vs}
}

// Invalid is a single-field InvalidError.
func Invalid(field, reason, format string, args ...any) error {
	var vs violations
	vs.add(field, reason, format, args...)
	return vs.err()
}
