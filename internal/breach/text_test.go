package breach

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// hostileText is one class of character intake refuses, embedded in
// otherwise ordinary text; multiOK says multi-line fields accept it.
var hostileText = []struct {
	name    string
	v       string
	multiOK bool
}{
	{"NUL", "a\x00b", false},
	{"BEL", "a\ab", false},
	{"backspace", "abc\b\b\bxyz", false},
	{"carriage return", "paid\rUNPAID", false},
	{"vertical tab", "a\vb", false},
	{"form feed", "a\fb", false},
	{"ESC alone", "a\x1bb", false},
	{"ANSI colour (ESC [)", "\x1b[31mred\x1b[0m", false},
	{"ANSI clear screen", "\x1b[2J\x1b[H", false},
	{"OSC window title (ESC ])", "\x1b]0;owned\x07", false},
	{"OSC 8 hyperlink", "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\", false},
	{"DEL", "a\x7fb", false},
	{"C1 U+0080", "a\u0080b", false},
	{"C1 NEL U+0085", "a\u0085b", false},
	{"C1 CSI U+009B", "\u009b31mred", false},
	{"C1 OSC U+009D", "\u009d0;owned\u009c", false},
	{"C1 U+009F", "a\u009fb", false},
	{"bidi LRE U+202A", "a\u202ab", false},
	{"bidi RLE U+202B", "a\u202bb", false},
	{"bidi PDF U+202C", "a\u202cb", false},
	{"bidi LRO U+202D", "a\u202db", false},
	{"bidi RLO U+202E", "invoice\u202efdp.exe", false},
	{"bidi LRI U+2066", "a\u2066b", false},
	{"bidi RLI U+2067", "a\u2067b", false},
	{"bidi FSI U+2068", "a\u2068b", false},
	{"bidi PDI U+2069", "a\u2069b", false},
	{"newline", "line one\nline two", true},
	{"tab", "a\tb", true},
}

// benignText is accepted everywhere.
var benignText = []string{"Åsa Öberg", "日本語", "emoji 🔒", "left\u200eright mark", "a–b — c", "\u00a0no-break space", "<b>&amp;</b> [x](y)"}

// textCase sets one free-text field of one validated input.
type textCase struct {
	field     string
	multiline bool
	// check sets the field to v and returns the validation error.
	check func(v string) error
}

func textCases() []textCase {
	report := func(set func(r *Report, v string)) func(string) error {
		return func(v string) error {
			r := validReport()
			set(&r, v)
			return r.Validate(reportNow)
		}
	}
	update := func(set func(u *Update, v string)) func(string) error {
		return func(v string) error {
			u := validUpdate()
			set(&u, v)
			return u.Validate()
		}
	}
	notice := func(do func(n *Notice, v string) error) func(string) error {
		return func(v string) error {
			n := deliveredNotice()
			return do(&n, v)
		}
	}
	now := t1.Add(time.Hour)
	authority := func(set func(by, authority, ref, reason *string, v string)) func(string) error {
		return notice(func(n *Notice, v string) error {
			by, auth, ref, reason := "dpo", "IMY", "IMY-1", ""
			set(&by, &auth, &ref, &reason, v)
			_, err := n.RecordAuthorityReport(now, by, auth, ref, now, reason)
			return err
		})
	}
	comm := func(set func(by *string, sc *SubjectCommunication, v string)) func(string) error {
		return notice(func(n *Notice, v string) error {
			by := "dpo"
			sc := SubjectCommunication{Kind: CommExempt, Exemption: ExemptDisproportion, PublicCommunication: "press release",
				Justification: "many subjects", How: "letter"}
			set(&by, &sc, v)
			_, err := n.RecordSubjectCommunication(now, by, sc)
			return err
		})
	}
	return []textCase{
		{"processor", false, report(func(r *Report, v string) { r.Processor = v })},
		{"title", false, report(func(r *Report, v string) { r.Title = v })},
		{"nature", true, report(func(r *Report, v string) { r.Nature = v })},
		{"likely_consequences", true, report(func(r *Report, v string) { r.LikelyConsequences = v })},
		{"measures_taken", true, report(func(r *Report, v string) { r.MeasuresTaken = v })},
		{"measures_proposed", true, report(func(r *Report, v string) { r.MeasuresProposed = v })},
		{"advice_to_controllers", true, report(func(r *Report, v string) { r.AdviceToControllers = v })},
		{"contact.name", false, report(func(r *Report, v string) { r.Contact.Name = v })},
		{"contact.phone", false, report(func(r *Report, v string) { r.Contact.Phone = v })},
		{"data_categories[1]", false, report(func(r *Report, v string) { r.DataCategories[1] = v })},
		{"subject_categories[0]", false, report(func(r *Report, v string) { r.SubjectCategories[0] = v })},

		{"summary", true, update(func(u *Update, v string) { u.Summary = v })},
		{"nature", true, update(func(u *Update, v string) { u.Nature = v })},
		{"advice_to_controllers", true, update(func(u *Update, v string) { u.AdviceToControllers = v })},
		{"contact.name", false, update(func(u *Update, v string) { u.Contact = &Contact{Name: v, Phone: "1"} })},
		{"data_categories[0]", false, update(func(u *Update, v string) { u.DataCategories = []string{v} })},

		{"acknowledged_by", false, notice(func(n *Notice, v string) error { _, err := n.Acknowledge(now, v, "", 0); return err })},
		{"note", true, notice(func(n *Notice, v string) error { _, err := n.Acknowledge(now, "dpo", v, 0); return err })},
		{"recorded_by", false, authority(func(by, _, _, _ *string, v string) { *by = v })},
		{"authority", false, authority(func(_, a, _, _ *string, v string) { *a = v })},
		{"reference", false, authority(func(_, _, ref, _ *string, v string) { *ref = v })},
		{"delay_reason", true, authority(func(_, _, _, reason *string, v string) { *reason = v })},
		{"justification", true, notice(func(n *Notice, v string) error { _, err := n.RecordNotReportable(now, "dpo", v); return err })},
		{"recorded_by", false, notice(func(n *Notice, v string) error { _, err := n.RecordNotReportable(now, v, "fine"); return err })},
		{"how", false, comm(func(_ *string, sc *SubjectCommunication, v string) { sc.How = v })},
		{"public_communication", true, comm(func(_ *string, sc *SubjectCommunication, v string) { sc.PublicCommunication = v })},
		{"justification", true, comm(func(_ *string, sc *SubjectCommunication, v string) { sc.Justification = v })},
		{"recorded_by", false, comm(func(by *string, _ *SubjectCommunication, v string) { *by = v })},
	}
}

// TestTextControlCharacters: every free-text field a processor, vendor or
// controller sends refuses control characters, escape sequences and bidi
// overrides with one violation naming the field; multi-line fields accept
// newline and tab; ordinary text passes.
func TestTextControlCharacters(t *testing.T) {
	for _, tc := range textCases() {
		for _, h := range hostileText {
			t.Run(tc.field+"/"+h.name, func(t *testing.T) {
				err := tc.check(h.v)
				if h.multiOK && tc.multiline {
					if err != nil {
						t.Fatalf("multi-line field refused %q: %v", h.v, err)
					}
					return
				}
				got := violationsOf(t, err)
				want := []violation{{tc.field, "control_character"}}
				if len(got) != 1 || got[0] != want[0] {
					t.Fatalf("violations = %v, want %v", got, want)
				}
				var inv *InvalidError
				errors.As(err, &inv)
				if d := inv.Violations[0].Detail; !strings.HasPrefix(d, tc.field+" contains ") || !strings.Contains(d, "U+") {
					t.Errorf("detail %q does not name the field and the character", d)
				}
				if strings.ContainsFunc(err.Error(), func(r rune) bool { return UnsafeRune(r, false) }) {
					t.Errorf("error %q repeats the hostile character", err)
				}
			})
		}
		for _, v := range benignText {
			if err := tc.check(v); err != nil {
				t.Errorf("%s refused %q: %v", tc.field, v, err)
			}
		}
	}
}

func TestUnsafeRuneDetail(t *testing.T) {
	tests := []struct {
		v, field string
		multi    bool
		want     string
	}{
		{"ab\u202ec", "title", false, "title contains a bidirectional override character (U+202E) at character 3; no control characters are allowed"},
		{"x\x1b[31m", "nature", true, "nature contains a terminal escape character (U+001B) at character 2; only newline and tab are allowed"},
		{"\u009b", "note", true, "note contains a terminal escape character (U+009B) at character 1; only newline and tab are allowed"},
		{"a\nb", "title", false, "title contains a control character (U+000A) at character 2; no control characters are allowed"},
	}
	for _, tc := range tests {
		err := CheckText(tc.field, tc.v, tc.multi)
		var inv *InvalidError
		if !errors.As(err, &inv) || len(inv.Violations) != 1 {
			t.Fatalf("CheckText(%q) = %v", tc.v, err)
		}
		if got := inv.Violations[0]; got.Detail != tc.want || got.Field != tc.field || got.Reason != "control_character" {
			t.Errorf("CheckText(%q) = %+v, want detail %q", tc.v, got, tc.want)
		}
	}
	if err := CheckText("label", "fine text", false); err != nil {
		t.Errorf("CheckText(fine) = %v", err)
	}
	if err := CheckText("label", "caf\xe9", false); err == nil {
		t.Error("CheckText accepted invalid UTF-8")
	}
}

// TestOutcomeTimesOutOfRange: an invalid wire timestamp (converted to a
// time after year 9999) is a field violation, not a storage failure.
func TestOutcomeTimesOutOfRange(t *testing.T) {
	now := t1.Add(time.Hour)
	bad := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	n := deliveredNotice()
	_, err := n.RecordAuthorityReport(now, "dpo", "IMY", "R-1", bad, "")
	if got := violationsOf(t, err); len(got) != 1 || got[0] != (violation{"reported_at", "range"}) {
		t.Errorf("reported_at out of range: %v", got)
	}
	_, err = n.RecordSubjectCommunication(now, "dpo", SubjectCommunication{Kind: CommCommunicated, CommunicatedAt: bad, How: "letter"})
	if got := violationsOf(t, err); len(got) != 1 || got[0] != (violation{"communicated_at", "range"}) {
		t.Errorf("communicated_at out of range: %v", got)
	}
	u := validUpdate()
	u.OccurredTo = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := violationsOf(t, u.Validate()); len(got) != 1 || got[0] != (violation{"occurred_to", "range"}) {
		t.Errorf("update occurred_to out of range: %v", got)
	}
}
