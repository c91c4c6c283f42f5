package breach

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// UnsafeRune reports whether r may not appear in accepted text: a C0 or C1
// control character or DEL (which start terminal escape sequences such as
// ESC [ … and the 8-bit CSI U+009B and OSC U+009D), or a bidirectional
// embedding, override or isolate (U+202A–U+202E, U+2066–U+2069), which can
// make text display other than it reads. Multi-line text (long texts and
// notes) may hold newlines and tabs; every other text, none.
func UnsafeRune(r rune, multiline bool) bool {
	switch {
	case r == '\n' || r == '\t':
		return !multiline
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// unsafeRune returns the first rune of s that UnsafeRune refuses and its
// position in characters (from 1), or ok false.
func unsafeRune(s string, multiline bool) (r rune, pos int, ok bool) {
	n := 0
	for _, c := range s {
		n++
		if UnsafeRune(c, multiline) {
			return c, n, true
		}
	}
	return 0, 0, false
}

// unsafeDetail describes an unsafe rune of field.
func unsafeDetail(field string, r rune, pos int, multiline bool) string {
	what := "a control character"
	switch {
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		what = "a bidirectional override character"
	case r == 0x1b || r == 0x9b || r == 0x9d:
		what = "a terminal escape character"
	}
	allowed := "; no control characters are allowed"
	if multiline {
		allowed = "; only newline and tab are allowed"
	}
	return fmt.Sprintf("%s contains %s (%U) at character %d%s", field, what, r, pos, allowed)
}

// CheckText checks one free-text value that is not part of a report,
// update or outcome (a token label, say): valid UTF-8 and no character
// UnsafeRune refuses. It returns an *InvalidError naming field, or nil.
func CheckText(field, v string, multiline bool) error {
	var vs violations
	textChars(&vs, field, v, multiline)
	return vs.err()
}

// textChars adds a violation when v is not valid UTF-8 or holds a
// character UnsafeRune refuses; it reports whether v passed.
func textChars(vs *violations, field, v string, multiline bool) bool {
	if !utf8.ValidString(v) {
		vs.add(field, "encoding", "%s is not valid UTF-8", field)
		return false
	}
	if r, pos, bad := unsafeRune(v, multiline); bad {
		vs.add(field, "control_character", "%s", unsafeDetail(field, r, pos, multiline))
		return false
	}
	return true
}

// Bounds of a time Cascade accepts: what RFC 3339 (and so the stored JSON)
// can represent.
var (
	minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC)
)

// timeField adds a violation when a set t lies outside the years 0001–9999
// (a wire timestamp that is not valid converts to such a time).
func timeField(vs *violations, field string, t time.Time) bool {
	if t.IsZero() || (!t.Before(minTime) && !t.After(maxTime)) {
		return true
	}
	vs.add(field, "range", "%s is not a valid timestamp (RFC 3339, between years 0001 and 9999)", field)
	return false
}
