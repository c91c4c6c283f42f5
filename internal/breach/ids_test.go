package breach

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// Ids at and around the documented length limits: organisation ids have at
// most 63 characters (one DNS label), breach ids at most 64.
var (
	org63    = "a" + strings.Repeat("b", 62)
	org64    = "a" + strings.Repeat("b", 63)
	breach64 = "B" + strings.Repeat("x", 63)
	breach65 = "B" + strings.Repeat("x", 64)
)

func TestParseOrgID(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"single letter", "a", true},
		{"single digit", "7", true},
		{"lower letters digits", "acme42", true},
		{"dash and underscore inside", "se-kommun_0180", true},
		{"trailing dash", "acme-", true},
		{"63 characters", org63, true},
		{"64 characters", org64, false},
		{"empty", "", false},
		{"uppercase", "Acme", false},
		{"uppercase inside", "acMe", false},
		{"leading dash", "-acme", false},
		{"leading underscore", "_acme", false},
		{"dot", "acme.se", false},
		{"slash", "acme/se", false},
		{"space", "acme se", false},
		{"nats wildcard star", "*", false},
		{"nats wildcard gt", ">", false},
		{"trailing newline", "acme\n", false},
		{"non-ascii letter", "åbo", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseOrgID(tc.in)
			if tc.ok {
				if err != nil {
					t.Fatalf("ParseOrgID(%q) = error %v, want ok", tc.in, err)
				}
				if string(got) != tc.in {
					t.Errorf("ParseOrgID(%q) = %q", tc.in, got)
				}
				if !got.Valid() {
					t.Errorf("OrgID(%q).Valid() = false after successful parse", got)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseOrgID(%q) = %q, want error", tc.in, got)
			}
			if got != "" {
				t.Errorf("ParseOrgID(%q) returned %q with its error, want empty", tc.in, got)
			}
			if !strings.Contains(err.Error(), OrgIDPattern) {
				t.Errorf("error %q does not name the pattern %s", err, OrgIDPattern)
			}
			if OrgID(tc.in).Valid() {
				t.Errorf("OrgID(%q).Valid() = true, want false", tc.in)
			}
		})
	}
}

func TestParseBreachID(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"single letter", "b", true},
		{"single digit", "1", true},
		{"uppercase allowed", "INC-2024-0042", true},
		{"mixed case underscore", "Inc_2024_x", true},
		{"64 characters", breach64, true},
		{"65 characters", breach65, false},
		{"empty", "", false},
		{"leading dash", "-INC", false},
		{"leading underscore", "_INC", false},
		{"dot", "INC.42", false},
		{"slash", "INC/42", false},
		{"space", "INC 42", false},
		{"trailing newline", "INC\n", false},
		{"nats wildcard", "INC*", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseBreachID(tc.in)
			if tc.ok {
				if err != nil {
					t.Fatalf("ParseBreachID(%q) = error %v, want ok", tc.in, err)
				}
				if string(got) != tc.in || !got.Valid() {
					t.Errorf("ParseBreachID(%q) = %q (valid %v)", tc.in, got, got.Valid())
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseBreachID(%q) = %q, want error", tc.in, got)
			}
			if got != "" {
				t.Errorf("ParseBreachID(%q) returned %q with its error, want empty", tc.in, got)
			}
			if !strings.Contains(err.Error(), BreachIDPattern) {
				t.Errorf("error %q does not name the pattern %s", err, BreachIDPattern)
			}
		})
	}
}

func TestParseNoticeID(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    NoticeID
		wantErr string // substring of the error; "" = success
	}{
		{"simple", "INC-1/acme", NoticeID{Breach: "INC-1", Org: "acme"}, ""},
		{"longest parts", breach64 + "/" + org63, NoticeID{Breach: BreachID(breach64), Org: OrgID(org63)}, ""},
		{"empty", "", NoticeID{}, "is not of the form"},
		{"no slash", "INC-1acme", NoticeID{}, "is not of the form"},
		{"only slash", "/", NoticeID{}, "breach id"},
		{"empty breach", "/acme", NoticeID{}, "breach id"},
		{"empty org", "INC-1/", NoticeID{}, "organisation id"},
		{"two slashes", "INC-1/acme/x", NoticeID{}, "organisation id"},
		{"uppercase org", "INC-1/Acme", NoticeID{}, "organisation id"},
		{"dot in org", "INC-1/acme.se", NoticeID{}, "organisation id"},
		{"dot in breach", "INC.1/acme", NoticeID{}, "breach id"},
		{"breach too long", breach65 + "/acme", NoticeID{}, "breach id"},
		{"org too long", "INC-1/" + org64, NoticeID{}, "organisation id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseNoticeID(tc.in)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseNoticeID(%q) = error %v", tc.in, err)
				}
				if got != tc.want {
					t.Errorf("ParseNoticeID(%q) = %#v, want %#v", tc.in, got, tc.want)
				}
				if got.String() != tc.in {
					t.Errorf("String() = %q, want %q", got.String(), tc.in)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseNoticeID(%q) = %#v, want error containing %q", tc.in, got, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseNoticeID(%q) error %q does not contain %q", tc.in, err, tc.wantErr)
			}
			if got != (NoticeID{}) {
				t.Errorf("ParseNoticeID(%q) returned %#v with its error, want zero", tc.in, got)
			}
		})
	}
}

// TestParseErrorTruncatesHostileInput: error messages quote at most 80 bytes
// of the input.
func TestParseErrorTruncatesHostileInput(t *testing.T) {
	long := strings.Repeat("X", 10_000)
	tests := []struct {
		name  string
		parse func(string) error
	}{
		{"org", func(s string) error { _, err := ParseOrgID(s); return err }},
		{"breach", func(s string) error { _, err := ParseBreachID(s + "!"); return err }},
		{"notice", func(s string) error { _, err := ParseNoticeID(s); return err }},
		{"state", func(s string) error { _, err := ParseState(s); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.parse(long)
			if err == nil {
				t.Fatal("no error")
			}
			if len(err.Error()) > 300 {
				t.Errorf("error has %d bytes, want the input truncated", len(err.Error()))
			}
			if !strings.Contains(err.Error(), strings.Repeat("X", 80)+"…") {
				t.Errorf("error %q does not quote the first 80 bytes followed by …", err)
			}
		})
	}
}

func TestNoticeIDText(t *testing.T) {
	tests := []struct {
		name string
		id   NoticeID
		text string
	}{
		{"simple", NewNoticeID("INC-1", "acme"), "INC-1/acme"},
		{"underscores and dashes", NewNoticeID("a_b-C", "x-y_z"), "a_b-C/x-y_z"},
		{"longest", NewNoticeID(BreachID(breach64), OrgID(org63)), breach64 + "/" + org63},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.id.MarshalText()
			if err != nil {
				t.Fatalf("MarshalText: %v", err)
			}
			if string(b) != tc.text {
				t.Errorf("MarshalText = %q, want %q", b, tc.text)
			}
			var got NoticeID
			if err := got.UnmarshalText(b); err != nil {
				t.Fatalf("UnmarshalText(%q): %v", b, err)
			}
			if got != tc.id {
				t.Errorf("round trip = %#v, want %#v", got, tc.id)
			}

			// As a JSON value and as a JSON map key.
			j, err := json.Marshal(map[NoticeID]NoticeID{tc.id: tc.id})
			if err != nil {
				t.Fatalf("json.Marshal: %v", err)
			}
			want := `{"` + tc.text + `":"` + tc.text + `"}`
			if string(j) != want {
				t.Errorf("JSON = %s, want %s", j, want)
			}
			var m map[NoticeID]NoticeID
			if err := json.Unmarshal(j, &m); err != nil {
				t.Fatalf("json.Unmarshal: %v", err)
			}
			if len(m) != 1 || m[tc.id] != tc.id {
				t.Errorf("JSON round trip = %v", m)
			}
		})
	}
}

func TestNoticeIDUnmarshalTextInvalid(t *testing.T) {
	for _, in := range []string{"", "no-slash", "INC/Acme", "INC/acme/x", "/acme", "INC/"} {
		t.Run(in, func(t *testing.T) {
			id := NewNoticeID("KEEP", "keep")
			if err := id.UnmarshalText([]byte(in)); err == nil {
				t.Fatalf("UnmarshalText(%q) = nil, want error", in)
			}
			if id != NewNoticeID("KEEP", "keep") {
				t.Errorf("UnmarshalText(%q) changed the id on error to %#v", in, id)
			}
		})
	}
}

// TestIDsMatchDocumentedPatterns: the byte-by-byte checks accept exactly
// what the documented regular expressions accept: every string of up to
// three characters over an alphabet with each class and its neighbours,
// and strings around the length limits.
func TestIDsMatchDocumentedPatterns(t *testing.T) {
	orgRE, breachRE := regexp.MustCompile(OrgIDPattern), regexp.MustCompile(BreachIDPattern)
	alphabet := []string{"a", "z", "A", "Z", "0", "9", "_", "-", "/", ".", " ", "`", "{", "@", "[", ":", "ö", "\x00"}
	var cases []string
	var grow func(prefix string, n int)
	grow = func(prefix string, n int) {
		cases = append(cases, prefix)
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			grow(prefix+c, n-1)
		}
	}
	grow("", 3)
	for _, n := range []int{61, 62, 63, 64, 65} {
		for _, first := range []string{"a", "A", "-", "0"} {
			for _, rest := range []string{"b", "B", "_", "-"} {
				cases = append(cases, first+strings.Repeat(rest, n-1), first+strings.Repeat(rest, n-2)+"ö")
			}
		}
	}
	for _, s := range cases {
		if got, want := OrgID(s).Valid(), orgRE.MatchString(s); got != want {
			t.Errorf("OrgID(%q).Valid() = %v, pattern says %v", s, got, want)
		}
		if got, want := BreachID(s).Valid(), breachRE.MatchString(s); got != want {
			t.Errorf("BreachID(%q).Valid() = %v, pattern says %v", s, got, want)
		}
	}
	if len(cases) < 6000 {
		t.Fatalf("only %d cases", len(cases))
	}
}
