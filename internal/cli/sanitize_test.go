package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cascadehq/cascade/internal/breach"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// hostile is text an older Cascade may have stored, or another party may
// send: every kind of character a terminal acts on.
var hostile = []string{
	"\x1b[2J\x1b[Hscreen cleared",                          // ANSI: clear screen, cursor home
	"\x1b]0;window title\x07",                              // OSC: set the window title
	"\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\", // OSC 8 hyperlink
	"\u009b31mred via 8-bit CSI",                           // C1 CSI
	"\u009d0;title via 8-bit OSC\u009c",                    // C1 OSC, ST
	"paid\rUNPAID",                                         // carriage return overwrites
	"abc\b\b\bxyz",                                         // backspaces
	"a\x00b\x7fc\u0085d",                                   // NUL, DEL, NEL
	"invoice\u202efdp.exe",                                 // RLO
	"\u2067isolate\u2069 and \u202aembed\u202c",            // RLI/PDI, LRE/PDF
	"not utf-8 \xff\xfe",                                   // invalid UTF-8
}

func TestSafeText(t *testing.T) {
	tests := []struct{ in, one, multi string }{
		{"\x1b[31mred", `\x1b[31mred`, `\x1b[31mred`},
		{"a\u009bb", `a\u009bb`, `a\u009bb`},
		{"x\u202ey", `x\u202ey`, `x\u202ey`},
		{"l1\nl2\tx", `l1\x0al2\x09x`, "l1\nl2\tx"},
		{"bad \xff", `bad \xff`, `bad \xff`},
		{"Åsa Öberg – 日本 🔒", "Åsa Öberg – 日本 🔒", "Åsa Öberg – 日本 🔒"},
		{"\uFFFD stays", "\uFFFD stays", "\uFFFD stays"},
	}
	for _, tc := range tests {
		if got := safeText(tc.in); got != tc.one {
			t.Errorf("safeText(%q) = %q, want %q", tc.in, got, tc.one)
		}
		if got := safeMultiline(tc.in); got != tc.multi {
			t.Errorf("safeMultiline(%q) = %q, want %q", tc.in, got, tc.multi)
		}
	}
}

// unsafeOutput fails t if out holds a character a terminal could act on,
// other than the newlines and spaces of the layout.
func unsafeOutput(t *testing.T, what, out string) {
	t.Helper()
	for i, r := range out {
		if r == '\n' {
			continue
		}
		if breach.UnsafeRune(r, false) || (r == '\uFFFD' && !strings.Contains(out, "\uFFFD stays")) {
			t.Errorf("%q: %U at byte %d reaches the terminal:\n%q", what, r, i, out)
			return
		}
	}
	if strings.Contains(what, "\x1b") && !strings.Contains(out, `\x1b`) {
		t.Errorf("%q: the escape character is not shown escaped:\n%q", what, out)
	}
}

// TestPrintingStoredHostileText: every table, block and line cascadectl
// prints shows stored or remote text with its control characters escaped.
func TestPrintingStoredHostileText(t *testing.T) {
	for _, h := range hostile {
		n := fixtureResolved()
		n.OrgName, n.AcknowledgedBy, n.AcknowledgementNote = h, h, h
		n.Outcome.Authority, n.Outcome.Reference, n.Outcome.DelayReason, n.Outcome.RecordedBy = h, h, h, h
		n.SubjectCommunication.PublicCommunication, n.SubjectCommunication.Justification, n.SubjectCommunication.RecordedBy = h, h, h
		n.Channels = []*cascadev1.ChannelDelivery{{Channel: cascadev1.DeliveryChannel_DELIVERY_CHANNEL_WEBHOOK, Attempts: 3, LastError: h}}
		b := fixtureBreach()
		b.Report.Title, b.Report.Processor = h, h
		b.Revisions = []*cascadev1.BreachRevision{{Number: 2, ReceivedAt: ts(tNow), Update: &cascadev1.BreachUpdate{Summary: h}}}
		renders := map[string]func(*bytes.Buffer) error{
			"notice show": func(w *bytes.Buffer) error { return renderNotice(w, n, tNow) },
			"notice list": func(w *bytes.Buffer) error { return renderNotices(w, []*cascadev1.Notice{n}) },
			"notice history": func(w *bytes.Buffer) error {
				return renderHistory(w, []*cascadev1.NoticeEvent{{Sequence: 1, Event: h, At: ts(tNow), Actor: h, Detail: h}})
			},
			"breach status": func(w *bytes.Buffer) error { return renderBreachStatus(w, b, fixtureSummary(), tNow) },
			"breach list":   func(w *bytes.Buffer) error { return renderBreaches(w, []*cascadev1.Breach{b}) },
			"deadletter list": func(w *bytes.Buffer) error {
				return renderDeadLetters(w, []*cascadev1.DeadLetter{{NoticeId: h, Event: h, Destination: h, LastError: h}})
			},
			"tokens list": func(w *bytes.Buffer) error { return renderTokens(w, []*cascadev1.TokenInfo{{TokenId: "t", Label: h}}) },
			"watch block": func(w *bytes.Buffer) error {
				v := newWatchView(b, true)
				v.apply(watchEvent{notice: &cascadev1.Notice{Id: "x/y", OrgId: "y", OrgName: h, Deadline: ts(tNow), State: cascadev1.NoticeState_NOTICE_STATE_DELIVERED}})
				v.apply(watchEvent{caughtUp: true})
				w.WriteString(strings.Join(v.frame(tNow, 200, 5, false), "\n"))
				return nil
			},
			"error": func(w *bytes.Buffer) error {
				st, _ := status.New(codes.InvalidArgument, "invalid: "+h).WithDetails(&errdetails.BadRequest{
					FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: h, Description: h}}})
				w.WriteString(formatError(st.Err()))
				w.WriteString(formatError(errors.New(h)))
				return nil
			},
			"rejection": func(w *bytes.Buffer) error {
				a := &app{stdout: w, stderr: w}
				_ = a.rejected(nil, rejection{Reason: h, Detail: h, Field: h, UnknownOrgIDs: []string{h}}, "breach report")
				_ = a.rejected(nil, rejection{Reason: "invalid", Violations: []violation{{Field: h, Detail: h}}}, "breach report")
				warnUnknown(w, []string{h})
				warnUnknown(w, []string{h, h})
				return nil
			},
		}
		for name, render := range renders {
			var w bytes.Buffer
			if err := render(&w); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			unsafeOutput(t, name+" "+strings.ToValidUTF8(h, "?"), w.String())
		}
	}
}

// TestJSONOutputEscapesTerminalCharacters: -o json keeps every value (the
// JSON decodes to the stored text) but writes no raw C1 control, DEL or
// bidi override, which encoding/json and protojson would leave as they are.
func TestJSONOutputEscapesTerminalCharacters(t *testing.T) {
	v := "a\u009b31m\u202eb\x7fc\x1b[0m"
	var w bytes.Buffer
	if err := writeProto(&w, &cascadev1.Notice{OrgName: v}); err != nil {
		t.Fatal(err)
	}
	if err := writeProtoLine(&w, &cascadev1.Notice{OrgName: v}); err != nil {
		t.Fatal(err)
	}
	if err := writeJSON(&w, map[string]string{"org_name": v}); err != nil {
		t.Fatal(err)
	}
	out := w.String()
	for _, r := range out {
		if r != '\n' && breach.UnsafeRune(r, false) {
			t.Fatalf("%U reaches the terminal in %q", r, out)
		}
	}
	dec := json.NewDecoder(strings.NewReader(out))
	for i := 0; i < 3; i++ {
		var got map[string]any
		if err := dec.Decode(&got); err != nil {
			t.Fatal(err)
		}
		if got["org_name"] != v {
			t.Errorf("value %d decodes to %q, want %q", i, got["org_name"], v)
		}
	}
}
