// Package breach is Cascade's vocabulary: typed identifiers, breach reports,
// notices with their states and legal transitions, breach summaries, and the
// domain errors every boundary translates. It imports only the standard
// library.
package breach

import (
	"fmt"
	"strings"
)

// OrgID identifies a customer organisation (a controller). It is usable as
// one NATS subject token.
type OrgID string

// BreachID identifies one incident at the processor. A breach of a
// registered processor (processor.go) is stored under its qualified id,
// "<processor_id>__<id>" (Qualify); the default processor's breaches keep
// the id they were reported with.
type BreachID string

// NoticeID identifies one notice: one breach x one organisation. Its text
// form is "<breach_id>/<org_id>".
type NoticeID struct {
	Breach BreachID
	Org    OrgID
}

// OrgIDPattern and BreachIDPattern are the documented id syntaxes.
const (
	OrgIDPattern    = `^[a-z0-9][a-z0-9_-]{0,62}$`
	BreachIDPattern = `^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`
)

// Valid reports whether id matches OrgIDPattern.
func (id OrgID) Valid() bool { return validID(string(id), 63, false) }

// Valid reports whether id matches BreachIDPattern, or is a registered
// processor's qualified id: a ProcessorID, ProcessorSeparator, and an id
// that matches BreachIDPattern without the separator.
func (id BreachID) Valid() bool {
	if validID(string(id), 64, true) {
		return true
	}
	p, local, ok := strings.Cut(string(id), ProcessorSeparator)
	return ok && ProcessorID(p).Valid() && validID(local, 64, true) && !strings.Contains(local, ProcessorSeparator)
}

// validID matches s against `^[a-z0-9][a-z0-9_-]{0,max-1}$` (with upper
// case letters too if upper): the id patterns, checked byte by byte because
// every notice read parses two ids and a regular expression costs a
// tenth of the read.
func validID(s string, max int, upper bool) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case upper && 'A' <= c && c <= 'Z':
		case (c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// ParseOrgID checks s against OrgIDPattern.
func ParseOrgID(s string) (OrgID, error) {
	if !OrgID(s).Valid() {
		return "", fmt.Errorf("organisation id %q does not match %s", truncate(s), OrgIDPattern)
	}
	return OrgID(s), nil
}

// ParseBreachID checks s against BreachIDPattern.
func ParseBreachID(s string) (BreachID, error) {
	if !BreachID(s).Valid() {
		return "", fmt.Errorf("breach id %q does not match %s", truncate(s), BreachIDPattern)
	}
	return BreachID(s), nil
}

// NewNoticeID is the notice of breach b for organisation o.
func NewNoticeID(b BreachID, o OrgID) NoticeID { return NoticeID{Breach: b, Org: o} }

// String is "<breach_id>/<org_id>".
func (id NoticeID) String() string { return string(id.Breach) + "/" + string(id.Org) }

// ParseNoticeID parses "<breach_id>/<org_id>".
func ParseNoticeID(s string) (NoticeID, error) {
	b, o, ok := strings.Cut(s, "/")
	if !ok {
		return NoticeID{}, fmt.Errorf("notice id %q is not of the form <breach_id>/<org_id>", truncate(s))
	}
	bid, err := ParseBreachID(b)
	if err != nil {
		return NoticeID{}, err
	}
	oid, err := ParseOrgID(o)
	if err != nil {
		return NoticeID{}, err
	}
	return NoticeID{Breach: bid, Org: oid}, nil
}

// truncate keeps error messages about hostile input short.
func truncate(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// MarshalText encodes the id as "<breach_id>/<org_id>".
func (id NoticeID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText parses "<breach_id>/<org_id>".
func (id *NoticeID) UnmarshalText(b []byte) error {
	v, err := ParseNoticeID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}
