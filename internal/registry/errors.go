package registry

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrTooLarge is returned, wrapped, when the input exceeds MaxBytes or
// MaxRows. No organisations are returned with it.
var ErrTooLarge = errors.New("registry too large")

// maxMessageRows is how many RowErrors ParseError.Error spells out.
const maxMessageRows = 20

// RowError is one problem on one line of a registry file.
type RowError struct {
	// Line is the 1-based line on which the row starts; the header is line 1.
	Line int
	// Field is the column the problem is in ("id", "dpo_email", ...), or
	// empty when it concerns the whole row (wrong number of fields, CSV
	// syntax).
	Field string
	// Value is the offending value, shortened for display; empty when the
	// value is missing or not worth repeating.
	Value string
	// Detail says what is wrong, e.g. "is required".
	Detail string
}

func (e RowError) String() string {
	var b strings.Builder
	b.WriteString("registry line ")
	b.WriteString(strconv.Itoa(e.Line))
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(fieldName(e.Field))
		if e.Value != "" {
			b.WriteString(" ")
			b.WriteString(strconv.Quote(e.Value))
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Detail)
	return b.String()
}

// fieldName prints a column name as is when it is plain, and quoted when it
// came from a header we did not recognise and holds anything else.
func fieldName(f string) string {
	for _, c := range f {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return strconv.Quote(f)
		}
	}
	return f
}

// ParseError reports every bad row of a registry file. When it is returned,
// no organisation of the file is returned: a bad row never half-loads a file.
type ParseError struct {
	// Rows lists the problems in line order, at most MaxRowErrors of them.
	Rows []RowError
	// Omitted counts the problems found beyond MaxRowErrors.
	Omitted int
}

func (e *ParseError) Error() string {
	if len(e.Rows) == 0 {
		return "registry: invalid"
	}
	n := min(len(e.Rows), maxMessageRows)
	parts := make([]string, 0, n+1)
	for _, r := range e.Rows[:n] {
		parts = append(parts, r.String())
	}
	if more := len(e.Rows) - n + e.Omitted; more > 0 {
		parts = append(parts, fmt.Sprintf("and %d more", more))
	}
	return strings.Join(parts, "; ")
}

// add records one problem, keeping at most MaxRowErrors.
func (e *ParseError) add(line int, field, value, detail string) {
	if len(e.Rows) >= MaxRowErrors {
		e.Omitted++
		return
	}
	e.Rows = append(e.Rows, RowError{Line: line, Field: field, Value: shorten(value), Detail: detail})
}

func (e *ParseError) err() error {
	if len(e.Rows) == 0 {
		return nil
	}
	return e
}

// shorten keeps hostile values in error messages short, cutting on a rune
// boundary where the value is valid UTF-8, and copies the result so an
// error never pins a whole input line in memory.
func shorten(s string) string {
	const max = 64
	if len(s) <= max {
		return strings.Clone(s)
	}
	cut := max
	for cut > max-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.Clone(s[:cut]) + "…"
}
