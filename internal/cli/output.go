package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cascadehq/cascade/internal/breach"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// jsonOptions render proto messages for -o json: the .proto field names
// (snake_case), unset fields left out.
func jsonOptions() protojson.MarshalOptions {
	return protojson.MarshalOptions{Multiline: true, UseProtoNames: true, EmitUnpopulated: false}
}

// protoJSON is m as JSON. protojson deliberately varies its whitespace
// between builds; indenting it again makes the output stable.
func protoJSON(m proto.Message) (json.RawMessage, error) {
	data, err := jsonOptions().Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s as JSON: %w", m.ProtoReflect().Descriptor().Name(), err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeJSON writes v indented, with a final newline. v may hold
// json.RawMessage values made by protoJSON.
func writeJSON(w io.Writer, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(jsonSafe(data), '\n'))
	return err
}

// writeProto writes one message as indented JSON.
func writeProto(w io.Writer, m proto.Message) error {
	raw, err := protoJSON(m)
	if err != nil {
		return err
	}
	return writeJSON(w, raw)
}

// writeProtoList writes messages as one JSON array ([] when empty).
func writeProtoList[M proto.Message](w io.Writer, ms []M) error {
	list := make([]json.RawMessage, 0, len(ms))
	for _, m := range ms {
		raw, err := protoJSON(m)
		if err != nil {
			return err
		}
		list = append(list, raw)
	}
	return writeJSON(w, list)
}

// writeProtoLine writes one message as compact JSON on one line (for streams).
func writeProtoLine(w io.Writer, m proto.Message) error {
	raw, err := protoJSON(m)
	if err != nil {
		return err
	}
	_, err = w.Write(append(jsonSafe(raw), '\n'))
	return err
}

// newTable is a tabwriter for aligned columns.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// row writes one tab-separated table row. Every cell is printed through
// safeText.
func row(tw io.Writer, cells ...string) {
	for i, c := range cells {
		// A tab or newline in a value would break the columns.
		cells[i] = safeText(strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(c))
	}
	fmt.Fprintln(tw, strings.Join(cells, "\t"))
}

// safeText is text from the server or a file as it may be printed on a
// terminal: every character Cascade's intake refuses in a one-line text
// (breach.UnsafeRune: control characters, which start escape sequences
// that could rewrite the screen, the window title or a hyperlink, and bidi
// overrides, which make text display other than it reads), and every byte
// that is not UTF-8, is shown as an escape such as \x1b or \u202e. Intake
// refuses such text; this covers text stored by older versions and what
// other parties wrote (a webhook endpoint's error, a file being verified).
// All stored or remote text cascadectl prints goes through safeText or
// safeMultiline.
func safeText(s string) string { return sanitize(s, false) }

// safeMultiline is safeText keeping newlines and tabs: a draft report, an
// error with its field violations.
func safeMultiline(s string) string { return sanitize(s, true) }

func sanitize(s string, multiline bool) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r == utf8.RuneError || breach.UnsafeRune(r, multiline) }) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case breach.UnsafeRune(r, multiline) && r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case breach.UnsafeRune(r, multiline):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// jsonSafe escapes in JSON output what encoding/json and protojson leave
// raw although a terminal may act on it: DEL, the C1 controls (U+009B
// starts an escape sequence like ESC [) and bidi overrides, as \u escapes,
// which decode to the same string. Outside strings, JSON is ASCII
// punctuation, so no such character is there.
func jsonSafe(data []byte) []byte {
	s := string(data)
	if !strings.ContainsFunc(s, func(r rune) bool { return breach.UnsafeRune(r, true) }) {
		return data
	}
	var b strings.Builder
	for _, r := range s {
		if breach.UnsafeRune(r, true) {
			fmt.Fprintf(&b, `\u%04x`, r)
		} else {
			b.WriteRune(r)
		}
	}
	return []byte(b.String())
}

// none is what an unset value shows in a table.
const none = "-"

// formatTime is t in RFC 3339 UTC, or "-" when unset.
func formatTime(t *timestamppb.Timestamp) string {
	if t == nil {
		return none
	}
	return t.AsTime().UTC().Format(time.RFC3339)
}

// formatDuration is d rounded down to minutes, like "71h59m", "5m" or
// "0m"; durations of days stay in hours, as deadlines are counted in hours.
func formatDuration(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	h := int64(d / time.Hour)
	m := int64(d % time.Hour / time.Minute)
	if h == 0 {
		return fmt.Sprintf("%s%dm", sign, m)
	}
	return fmt.Sprintf("%s%dh%02dm", sign, h, m)
}

// formatProtoDuration is formatDuration of a proto duration, or "-".
func formatProtoDuration(d *durationpb.Duration) string {
	if d == nil {
		return none
	}
	return formatDuration(d.AsDuration())
}

// formatDeadline is the deadline with the time left at now, e.g.
// "2025-08-26T14:00:00Z (71h59m left)" or "(3h02m overdue)".
func formatDeadline(t *timestamppb.Timestamp, now time.Time) string {
	if t == nil {
		return none
	}
	left := t.AsTime().Sub(now)
	if left > 0 {
		return fmt.Sprintf("%s (%s left)", formatTime(t), formatDuration(left))
	}
	return fmt.Sprintf("%s (%s overdue)", formatTime(t), formatDuration(-left))
}

// stateName is a notice state without its enum prefix, e.g. "DELIVERED".
func stateName(s cascadev1.NoticeState) string {
	return strings.TrimPrefix(s.String(), "NOTICE_STATE_")
}

// parseState accepts "DELIVERED", "delivered" or "NOTICE_STATE_DELIVERED".
func parseState(s string) (cascadev1.NoticeState, error) {
	name := strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(name, "NOTICE_STATE_") {
		name = "NOTICE_STATE_" + name
	}
	v, ok := cascadev1.NoticeState_value[name]
	if !ok || v == 0 {
		return 0, fmt.Errorf("unknown notice state %q: want PENDING, DELIVERED, ACKNOWLEDGED or RESOLVED", s)
	}
	return cascadev1.NoticeState(v), nil
}

// yesNo renders a flag.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// orNone is s, or "-" when empty.
func orNone(s string) string {
	if s == "" {
		return none
	}
	return s
}

// truncate shortens s to at most n runes, marking the cut with "…".
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
