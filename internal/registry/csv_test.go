package registry

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
)

// at is one expected RowError: where, and in which column.
type at struct {
	line  int
	field string
}

type parseCase struct {
	name string
	in   string
	want []breach.Org // on success
	errs []at         // every expected RowError, in order; nil = success
}

var (
	runes200 = strings.Repeat("å", 200)
	runes201 = strings.Repeat("å", 201)
	id63     = "a" + strings.Repeat("-", 61) + "z"
	url2000  = "https://hooks.example.org/" + strings.Repeat("p", 2000-len("https://hooks.example.org/"))
)

func org(id, name string) breach.Org { return breach.Org{ID: breach.OrgID(id), Name: name} }

var parseCases = []parseCase{
	// Accepted files.
	{name: "minimal", in: "id,name\nacme,Acme AB\n", want: []breach.Org{org("acme", "Acme AB")}},
	{name: "no trailing newline", in: "id,name\nacme,Acme AB", want: []breach.Org{org("acme", "Acme AB")}},
	{name: "header only", in: "id,name\n", want: []breach.Org{}},
	{
		name: "all columns in any order",
		in: "locale,name,webhook_url,id,phone,security_email,dpo_email\n" +
			"sv,Stockholms kommun,https://hooks.example.org/cascade?x=1,se-kommun-0180,+46 8 000 00 00,security@example.org,dpo@example.org\n" +
			"en,Example Ltd,http://127.0.0.1:8080/hook,example_ltd,,,\n",
		want: []breach.Org{
			{ID: "se-kommun-0180", Name: "Stockholms kommun", DPOEmail: "dpo@example.org", SecurityEmail: "security@example.org",
				Phone: "+46 8 000 00 00", WebhookURL: "https://hooks.example.org/cascade?x=1", Locale: "sv"},
			{ID: "example_ltd", Name: "Example Ltd", WebhookURL: "http://127.0.0.1:8080/hook", Locale: "en"},
		},
	},
	{name: "utf-8 BOM stripped", in: "\ufeffid,name\nacme,Acme AB\n", want: []breach.Org{org("acme", "Acme AB")}},
	{name: "CRLF line ends", in: "id,name\r\nacme,Acme AB\r\nb,B\r\n", want: []breach.Org{org("acme", "Acme AB"), org("b", "B")}},
	{name: "blank trailing lines", in: "id,name\nacme,Acme AB\n\n\n  \n\t\n", want: []breach.Org{org("acme", "Acme AB")}},
	{name: "surrounding whitespace trimmed", in: " id , name \n acme ,  Acme AB \n", want: []breach.Org{org("acme", "Acme AB")}},
	{name: "quoted name with comma and quote", in: "id,name\nacme,\"Acme, \"\"the\"\" AB\"\n", want: []breach.Org{org("acme", `Acme, "the" AB`)}},
	{name: "name of 200 runes", in: "id,name\nacme," + runes200 + "\n", want: []breach.Org{org("acme", runes200)}},
	{name: "id of 63 characters", in: "id,name\n" + id63 + ",X\n", want: []breach.Org{org(id63, "X")}},
	{name: "url of 2000 characters", in: "id,name,webhook_url\nacme,A," + url2000 + "\n",
		want: []breach.Org{{ID: "acme", Name: "A", WebhookURL: url2000}}},
	{name: "empty optional values", in: "id,name,dpo_email,security_email,phone,webhook_url,locale\nacme,A,,,,,\n",
		want: []breach.Org{org("acme", "A")}},

	// The header.
	{name: "empty input", in: "", errs: []at{{1, ""}}},
	{name: "only blank lines", in: "\n\n  \n", errs: []at{{1, ""}}},
	{name: "only a BOM", in: "\ufeff", errs: []at{{1, ""}}},
	{name: "missing name column", in: "id\nacme\n", errs: []at{{1, "name"}}},
	{name: "missing id column", in: "name,locale\nAcme,sv\n", errs: []at{{1, "id"}}},
	{name: "unknown column", in: "id,name,fax\nacme,A,123\n", errs: []at{{1, "fax"}}},
	{name: "unknown column, different case", in: "ID,name\nacme,A\n", errs: []at{{1, "ID"}, {1, "id"}}},
	{name: "duplicate column", in: "id,name,id\nacme,A,acme\n", errs: []at{{1, "id"}}},
	{name: "empty column name", in: "id,name,\nacme,A,\n", errs: []at{{1, ""}}},
	{name: "header after blank lines keeps its line", in: "\n\nid,fax\n", errs: []at{{3, "fax"}, {3, "name"}}},
	{name: "header CSV syntax", in: "id,na\"me\nacme,A\n", errs: []at{{1, ""}}},

	// Rows: id.
	{name: "id uppercase", in: "id,name\nacme,A\nFoo,B\n", errs: []at{{3, "id"}}},
	{name: "id empty", in: "id,name\n,A\n", errs: []at{{2, "id"}}},
	{name: "id too long", in: "id,name\n" + id63 + "x,A\n", errs: []at{{2, "id"}}},
	{name: "id with dot", in: "id,name\nacme.se,A\n", errs: []at{{2, "id"}}},
	{name: "id starting with hyphen", in: "id,name\n-acme,A\n", errs: []at{{2, "id"}}},
	{name: "duplicate id", in: "id,name\nacme,A\nb,B\nacme,A again\n", errs: []at{{4, "id"}}},
	{name: "duplicate id after trimming", in: "id,name\nacme,A\n acme ,A\n", errs: []at{{3, "id"}}},

	// Rows: name.
	{name: "name empty", in: "id,name\nacme,\n", errs: []at{{2, "name"}}},
	{name: "name blank", in: "id,name\nacme,   \n", errs: []at{{2, "name"}}},
	{name: "name of 201 runes", in: "id,name\nacme," + runes201 + "\n", errs: []at{{2, "name"}}},
	{name: "name not utf-8", in: "id,name\nacme,Malm\xf6\n", errs: []at{{2, "name"}}},
	{name: "name with newline", in: "id,name\nacme,\"two\nlines\"\nb,B\nC,x\n", errs: []at{{2, "name"}, {5, "id"}}},
	{name: "name with control character", in: "id,name\nacme,A\x1b[31m\n", errs: []at{{2, "name"}}},
	{name: "name with C1 CSI", in: "id,name\nacme,A\u009b31m\n", errs: []at{{2, "name"}}},
	{name: "name with bidi override", in: "id,name\nacme,Kommun\u202eAB\n", errs: []at{{2, "name"}}},
	{name: "name with bidi isolate", in: "id,name\nacme,\u2067Kommun\u2069\n", errs: []at{{2, "name"}}},

	// Rows: e-mail.
	{name: "dpo_email not an address", in: "id,name,dpo_email\nacme,A,not-an-address\n", errs: []at{{2, "dpo_email"}}},
	{name: "dpo_email with display name", in: "id,name,dpo_email\nacme,A,DPO <dpo@example.org>\n", errs: []at{{2, "dpo_email"}}},
	{name: "dpo_email two addresses", in: "id,name,dpo_email\nacme,A,\"a@example.org, b@example.org\"\n", errs: []at{{2, "dpo_email"}}},
	{name: "security_email not an address", in: "id,name,security_email\nacme,A,security@\n", errs: []at{{2, "security_email"}}},
	{name: "email too long", in: "id,name,dpo_email\nacme,A," + strings.Repeat("a", 190) + "@example.org\n", errs: []at{{2, "dpo_email"}}},

	// Rows: phone.
	{name: "phone too long", in: "id,name,phone\nacme,A," + strings.Repeat("1", 201) + "\n", errs: []at{{2, "phone"}}},
	{name: "phone not utf-8", in: "id,name,phone\nacme,A,\xff\n", errs: []at{{2, "phone"}}},

	// Rows: webhook_url.
	{name: "webhook ftp", in: "id,name,webhook_url\nacme,A,ftp://example.org/x\n", errs: []at{{2, "webhook_url"}}},
	{name: "webhook relative", in: "id,name,webhook_url\nacme,A,/hook\n", errs: []at{{2, "webhook_url"}}},
	{name: "webhook without host", in: "id,name,webhook_url\nacme,A,https:///hook\n", errs: []at{{2, "webhook_url"}}},
	{name: "webhook opaque", in: "id,name,webhook_url\nacme,A,https:example.org\n", errs: []at{{2, "webhook_url"}}},
	{name: "webhook unparsable", in: "id,name,webhook_url\nacme,A,https://exa mple.org/\n", errs: []at{{2, "webhook_url"}}},
	{name: "webhook too long", in: "id,name,webhook_url\nacme,A," + url2000 + "p\n", errs: []at{{2, "webhook_url"}}},

	{name: "webhook http to a public host", in: "id,name,webhook_url\nacme,A,http://hooks.example.org/x\n", errs: []at{{2, "webhook_url"}}},
	{name: "webhook with password", in: "id,name,webhook_url\nacme,A,https://u:p@hooks.example.org/x\n", errs: []at{{2, "webhook_url"}}},
	{name: "webhook http to localhost and ::1", in: "id,name,webhook_url\na,A,http://localhost:8080/x\nb,B,http://[::1]:8080/x\n",
		want: []breach.Org{{ID: "a", Name: "A", WebhookURL: "http://localhost:8080/x"}, {ID: "b", Name: "B", WebhookURL: "http://[::1]:8080/x"}}},
	{name: "webhook to an address no webhook reaches", in: "id,name,webhook_url\na,A,https://0.0.0.0/x\nb,B,https://224.0.0.1/x\nc,C,https://[ff02::1]/x\nd,D,https://[::]:8443/x\ne,E,https://[::ffff:0.0.0.0]/x\nf,F,https://255.255.255.255/x\n",
		errs: []at{{2, "webhook_url"}, {3, "webhook_url"}, {4, "webhook_url"}, {5, "webhook_url"}, {6, "webhook_url"}, {7, "webhook_url"}}},
	// Private addresses are the daemon's to refuse (--webhook-allow-private), when connecting.
	{name: "webhook to private addresses", in: "id,name,webhook_url\na,A,https://10.0.0.5/x\nb,B,https://[fd00::1]/x\nc,C,http://127.0.0.1:8080/x\n",
		want: []breach.Org{{ID: "a", Name: "A", WebhookURL: "https://10.0.0.5/x"}, {ID: "b", Name: "B", WebhookURL: "https://[fd00::1]/x"}, {ID: "c", Name: "C", WebhookURL: "http://127.0.0.1:8080/x"}}},

	// Rows: channels.
	{name: "channels empty is the default", in: "id,name,webhook_url,channels\nacme,A,https://h.example.org/,\n",
		want: []breach.Org{{ID: "acme", Name: "A", WebhookURL: "https://h.example.org/"}}},
	{name: "channels separated by spaces and semicolons",
		in: "id,name,webhook_url,dpo_email,channels\nacme,A,https://h.example.org/,dpo@example.org,webhook; email\nb,B,,,nats\n",
		want: []breach.Org{
			{ID: "acme", Name: "A", WebhookURL: "https://h.example.org/", DPOEmail: "dpo@example.org", Channels: []breach.Channel{"webhook", "email"}},
			{ID: "b", Name: "B", Channels: []breach.Channel{"nats"}},
		}},
	{name: "channels unknown", in: "id,name,channels\nacme,A,nats sms\n", errs: []at{{2, "channels"}}},
	{name: "channels twice", in: "id,name,channels\nacme,A,nats;nats\n", errs: []at{{2, "channels"}}},
	{name: "channels only separators", in: "id,name,channels\nacme,A, ; \n", errs: []at{{2, "channels"}}},
	{name: "channels webhook without url", in: "id,name,channels\nacme,A,nats\nb,B,webhook\n", errs: []at{{3, "channels"}}},
	{name: "channels email without address", in: "id,name,security_email,channels\nacme,A,s@example.org,email\nb,B,,email nats\n",
		errs: []at{{3, "channels"}}},

	// Rows: regimes.
	{name: "regimes empty, gdpr and nis2",
		in: "id,name,regimes\na,A,\nb,B,gdpr\nc,C,nis2\nd,D,gdpr; nis2\ne,E,NIS2 gdpr\n",
		want: []breach.Org{
			{ID: "a", Name: "A"}, {ID: "b", Name: "B"},
			{ID: "c", Name: "C", Regimes: []breach.Regime{"gdpr", "nis2"}},
			{ID: "d", Name: "D", Regimes: []breach.Regime{"gdpr", "nis2"}},
			{ID: "e", Name: "E", Regimes: []breach.Regime{"gdpr", "nis2"}},
		}},
	{name: "regimes unknown", in: "id,name,regimes\nacme,A,nis2 dora\n", errs: []at{{2, "regimes"}}},
	{name: "regimes twice", in: "id,name,regimes\nacme,A,nis2;nis2\n", errs: []at{{2, "regimes"}}},
	{name: "regimes only separators", in: "id,name,regimes\nacme,A, ; \n", errs: []at{{2, "regimes"}}},

	// Rows: escalation.
	{name: "escalation contact",
		in: "id,name,dpo_email,escalation_email,escalation_phone\nacme,A,dpo@example.org,head@example.org,+46 8 000 00 01\nb,B,,head@b.example.org,\n",
		want: []breach.Org{
			{ID: "acme", Name: "A", DPOEmail: "dpo@example.org", EscalationEmail: "head@example.org", EscalationPhone: "+46 8 000 00 01"},
			{ID: "b", Name: "B", EscalationEmail: "head@b.example.org"},
		}},
	{name: "escalation_email not bare", in: "id,name,escalation_email\nacme,A,Head <head@example.org>\nb,B,nope\n",
		errs: []at{{2, "escalation_email"}, {3, "escalation_email"}}},
	{name: "escalation_phone without escalation_email", in: "id,name,dpo_email,escalation_phone\nacme,A,dpo@example.org,+46 8 000 00 01\n",
		errs: []at{{2, "escalation_phone"}}},
	{name: "escalation_phone with control characters", in: "id,name,escalation_email,escalation_phone\nacme,A,h@example.org,\"+46\x07\"\n",
		errs: []at{{2, "escalation_phone"}}},

	// Rows: locale.
	{name: "locale unknown", in: "id,name,locale\nacme,A,de\n", errs: []at{{2, "locale"}}},
	{name: "locale upper case", in: "id,name,locale\nacme,A,SV\n", errs: []at{{2, "locale"}}},
	{name: "locale with region", in: "id,name,locale\nacme,A,sv-SE\n", errs: []at{{2, "locale"}}},

	// Rows: shape.
	{name: "too few fields", in: "id,name,locale\nacme,A,sv\nb,B\n", errs: []at{{3, ""}}},
	{name: "too many fields", in: "id,name\nacme,A\nb,B,extra\n", errs: []at{{3, ""}}},
	{name: "CSV syntax error, later rows still checked", in: "id,name\nacme,A \"quoted\"\nb,B\nC,c\n", errs: []at{{2, ""}, {4, "id"}}},
	{name: "unterminated quote", in: "id,name\nacme,A\nb,\"B\nc,C\n", errs: []at{{3, ""}}},

	// Every bad row, with the right line numbers.
	{
		name: "every bad row reported",
		in: "id,name,dpo_email,locale\n" +
			"ok1,One,,sv\n" + // 2
			"Bad,Two,,sv\n" + // 3
			"ok3,Three,,sv\n" + // 4
			"ok4,,nope,xx\n" + // 5: three problems
			"\n" + // 6: blank lines still count
			"ok7,Seven\n" + // 7: short
			"ok1,Eight,,en\n", // 8: duplicate of line 2
		errs: []at{{3, "id"}, {5, "name"}, {5, "dpo_email"}, {5, "locale"}, {7, ""}, {8, "id"}},
	},
	{
		name: "line numbers after a multi-line field",
		in:   "id,name\n\"a\",\"Acme\"\nb,\"B\"\"\nstill b\"\nC,c\n",
		errs: []at{{3, "name"}, {5, "id"}},
	},
	{name: "BOM does not shift lines", in: "\ufeffid,name\nacme,A\nBAD,B\n", errs: []at{{3, "id"}}},
	{name: "CRLF does not shift lines", in: "id,name\r\nacme,A\r\n\r\nBAD,B\r\n", errs: []at{{4, "id"}}},
}

func TestParseCSV(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			orgs, err := ParseCSV(strings.NewReader(tc.in))
			if tc.errs == nil {
				if err != nil {
					t.Fatalf("ParseCSV: %v", err)
				}
				if orgs == nil || !reflect.DeepEqual(orgs, tc.want) {
					t.Fatalf("orgs:\n got %#v\nwant %#v", orgs, tc.want)
				}
				return
			}
			if orgs != nil {
				t.Errorf("got %d orgs with an error; want none", len(orgs))
			}
			var perr *ParseError
			if !errors.As(err, &perr) {
				t.Fatalf("error %v (%T); want *ParseError", err, err)
			}
			var got []at
			for _, r := range perr.Rows {
				got = append(got, at{r.Line, r.Field})
				if r.Detail == "" {
					t.Errorf("line %d field %q: empty Detail", r.Line, r.Field)
				}
			}
			if !reflect.DeepEqual(got, tc.errs) {
				t.Fatalf("row errors:\n got %v\nwant %v\nerror: %v", got, tc.errs, err)
			}
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,name\n")
	for range 25 {
		b.WriteString("Foo,x\n") // lines 2..26
	}
	_, err := ParseCSV(strings.NewReader(b.String()))
	var perr *ParseError
	if !errors.As(err, &perr) || len(perr.Rows) != 25 {
		t.Fatalf("got %v; want a ParseError with 25 rows", err)
	}
	msg := err.Error()
	const first = `registry line 2: id "Foo": does not match ^[a-z0-9][a-z0-9_-]{0,62}$; registry line 3: `
	if !strings.HasPrefix(msg, first) {
		t.Errorf("message starts %q; want %q", msg[:min(len(msg), len(first))], first)
	}
	if n := strings.Count(msg, "registry line "); n != maxMessageRows {
		t.Errorf("message spells out %d rows; want %d", n, maxMessageRows)
	}
	if !strings.HasSuffix(msg, "registry line 21: id \"Foo\": does not match "+breach.OrgIDPattern+"; and 5 more") {
		t.Errorf("message ends %q", msg[max(0, len(msg)-80):])
	}

	for _, tc := range []struct {
		e    RowError
		want string
	}{
		{RowError{Line: 7, Field: "name", Detail: "is required"}, "registry line 7: name: is required"},
		{RowError{Line: 3, Detail: "has 3 fields; the header has 2"}, "registry line 3: has 3 fields; the header has 2"},
		{RowError{Line: 1, Field: "fa x\n", Detail: "header: unknown column"}, `registry line 1: "fa x\n": header: unknown column`},
		{RowError{Line: 2, Field: "name", Value: "A\x00", Detail: "contains control characters"}, `registry line 2: name "A\x00": contains control characters`},
	} {
		if got := tc.e.String(); got != tc.want {
			t.Errorf("RowError.String() = %q; want %q", got, tc.want)
		}
	}
}

func TestParseErrorKeepsAtMostMaxRowErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,name\n")
	for range MaxRowErrors + 5 {
		b.WriteString("X,\n") // two problems each
	}
	_, err := ParseCSV(strings.NewReader(b.String()))
	var perr *ParseError
	if !errors.As(err, &perr) {
		t.Fatalf("got %v; want *ParseError", err)
	}
	if len(perr.Rows) != MaxRowErrors || perr.Omitted != 2*(MaxRowErrors+5)-MaxRowErrors {
		t.Fatalf("kept %d, omitted %d; want %d, %d", len(perr.Rows), perr.Omitted, MaxRowErrors, MaxRowErrors+10)
	}
	if last := perr.Rows[len(perr.Rows)-1]; last.Line != MaxRowErrors/2+1 || last.Field != ColName {
		t.Errorf("last kept error %+v", last)
	}
	if want := "; and 19990 more"; !strings.HasSuffix(err.Error(), want) {
		t.Errorf("message does not end with %q", want)
	}
}

func TestShortenLongValue(t *testing.T) {
	_, err := ParseCSV(strings.NewReader("id,name\n" + strings.Repeat("Ö", 100) + ",A\n"))
	var perr *ParseError
	if !errors.As(err, &perr) || len(perr.Rows) != 1 {
		t.Fatalf("got %v", err)
	}
	if v := perr.Rows[0].Value; len(v) > 64+len("…") || !strings.HasSuffix(v, "…") || !strings.HasPrefix(v, "ÖÖ") || strings.ContainsRune(v, '\uFFFD') {
		t.Errorf("value %q not shortened on a rune boundary", v)
	}
}

func TestLimits(t *testing.T) {
	if MaxBytes != 64<<20 || MaxRows != 1_000_000 || MaxField != 200 || MaxURL != 2000 {
		t.Fatalf("documented limits changed: %d bytes, %d rows, %d, %d", MaxBytes, MaxRows, MaxField, MaxURL)
	}
	rows := func(n int) string {
		var b strings.Builder
		b.WriteString("id,name\n")
		for i := range n {
			b.WriteString("o")
			b.WriteString(strings.Repeat("x", i%5))
			b.WriteString(string(rune('a' + i/5)))
			b.WriteString(",N\n")
		}
		return b.String()
	}
	for _, tc := range []struct {
		name    string
		in      string
		lim     limits
		wantErr bool
	}{
		{"rows at limit", rows(10), limits{bytes: 1 << 20, rows: 10}, false},
		{"rows over limit", rows(11), limits{bytes: 1 << 20, rows: 10}, true},
		{"blank lines are not rows", rows(10) + "\n\n\n", limits{bytes: 1 << 20, rows: 10}, false},
		{"bad rows count too", rows(10) + "x\n", limits{bytes: 1 << 20, rows: 10}, true},
		{"bytes at limit", rows(10), limits{bytes: int64(len(rows(10))), rows: 100}, false},
		{"bytes over limit", rows(10), limits{bytes: int64(len(rows(10))) - 1, rows: 100}, true},
		{"bytes over limit inside header", rows(10), limits{bytes: 4, rows: 100}, true},
		{"bytes over limit inside quoted field", "id,name\na,\"" + strings.Repeat("x", 100), limits{bytes: 50, rows: 100}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orgs, err := parse(strings.NewReader(tc.in), tc.lim)
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("parse: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("got %v; want ErrTooLarge", err)
			}
			if orgs != nil {
				t.Errorf("got %d orgs with the error", len(orgs))
			}
		})
	}
}

// endless yields fill over and over, forever.
type endless struct {
	fill string
	off  int
}

func (e *endless) Read(p []byte) (int, error) {
	if len(e.fill) < 4096 {
		e.fill = strings.Repeat(e.fill, 4096/len(e.fill)+1)
	}
	for n := 0; n < len(p); {
		c := copy(p[n:], e.fill[e.off:])
		n += c
		e.off = (e.off + c) % len(e.fill)
	}
	return len(p), nil
}

func TestParseCSVDefaultLimits(t *testing.T) {
	t.Run("bytes", func(t *testing.T) {
		// One endless quoted field: the row limit cannot trigger first.
		_, err := ParseCSV(io.MultiReader(strings.NewReader("id,name\nacme,\""), &endless{fill: "x"}))
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "67108864 bytes") {
			t.Fatalf("got %v; want ErrTooLarge naming 67108864 bytes", err)
		}
	})
	t.Run("rows", func(t *testing.T) {
		// Short bad rows: the byte limit cannot trigger first.
		_, err := ParseCSV(io.MultiReader(strings.NewReader("id,name\n"), &endless{fill: "x\n"}))
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "1000000 rows") {
			t.Fatalf("got %v; want ErrTooLarge naming 1000000 rows", err)
		}
	})
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(good, []byte("id,name\nacme,Acme AB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("id,name\nacme,Acme AB\nBAD,x\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	orgs, err := LoadFile(good)
	if err != nil || len(orgs) != 1 || orgs[0].ID != "acme" {
		t.Fatalf("LoadFile(good) = %v, %v", orgs, err)
	}

	orgs, err = LoadFile(bad)
	var perr *ParseError
	if !errors.As(err, &perr) || orgs != nil {
		t.Fatalf("LoadFile(bad) = %v, %v; want no orgs and a *ParseError", orgs, err)
	}
	if !strings.Contains(err.Error(), bad) || perr.Rows[0].Line != 3 || perr.Rows[0].Field != ColID {
		t.Errorf("LoadFile(bad) error %q; want the path and line 3, id", err)
	}

	_, err = LoadFile(filepath.Join(dir, "missing.csv"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "missing.csv") {
		t.Errorf("LoadFile(missing) error %v; want fs.ErrNotExist naming the file", err)
	}
}

const (
	exampleOrgs      = "../../deploy/examples/orgs.csv"
	exampleBreach    = "../../deploy/examples/breach.json"
	exampleBreachAll = "../../deploy/examples/breach-all.json"
)

// TestExampleRegistry checks deploy/examples/orgs.csv: Sweden's 290
// municipalities and 21 regions, with Region Gotland (municipality and
// region in one legal body) listed once.
func TestExampleRegistry(t *testing.T) {
	orgs, err := LoadFile(exampleOrgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(orgs) != 310 {
		t.Fatalf("%s has %d organisations; want 310 (290 municipalities + 21 regions - Gotland once)", exampleOrgs, len(orgs))
	}
	byID := make(map[breach.OrgID]breach.Org, len(orgs))
	var kommuner, regioner int
	for _, o := range orgs {
		byID[o.ID] = o
		switch {
		case strings.HasPrefix(string(o.ID), "se-kommun-"):
			kommuner++
		case strings.HasPrefix(string(o.ID), "se-region-"):
			regioner++
		default:
			t.Errorf("unexpected id %s", o.ID)
		}
		if o.Locale != "sv" || o.DPOEmail != "dpo@"+string(o.ID)+".example.org" ||
			o.SecurityEmail != "security@"+string(o.ID)+".example.org" || o.Phone != "" || o.WebhookURL != "" ||
			!strings.HasSuffix(o.EscalationEmail, "direktor@"+string(o.ID)+".example.org") || o.EscalationPhone != "" {
			t.Errorf("org %+v: want locale sv, example.org addresses (the escalation one the head of administration's), no phone or webhook", o)
		}
	}
	if kommuner != 290 || regioner != 20 {
		t.Errorf("%d municipalities, %d regions; want 290, 20", kommuner, regioner)
	}
	// Regions and Jämtland County's municipalities carry NIS2's
	// obligations; the others GDPR's alone.
	for id, nis2 := range map[breach.OrgID]bool{"se-region-01": true, "se-region-14": true, "se-kommun-2380": true,
		"se-kommun-0180": false, "se-kommun-2584": false, "se-kommun-0980": false} {
		if got := byID[id].UnderNIS2(); got != nis2 {
			t.Errorf("%s under NIS2 = %v; want %v", id, got, nis2)
		}
	}
	for id, name := range map[breach.OrgID]string{
		"se-kommun-0180": "Stockholms kommun",
		"se-kommun-0980": "Region Gotland",
		"se-kommun-2584": "Kiruna kommun",
		"se-region-01":   "Region Stockholm",
		"se-region-14":   "Västra Götalandsregionen",
	} {
		if got := byID[id].Name; got != name {
			t.Errorf("%s is %q; want %q", id, got, name)
		}
	}
	if _, ok := byID["se-region-09"]; ok {
		t.Error("Region Gotland is listed twice (se-region-09 and se-kommun-0980)")
	}
}

// TestExampleBreaches checks that the example reports in deploy/examples
// are valid and name organisations of the example registry, except the one
// unknown id kept to demonstrate unknown-organisation reporting.
func TestExampleBreaches(t *testing.T) {
	orgs, err := LoadFile(exampleOrgs)
	if err != nil {
		t.Fatal(err)
	}
	known := make(map[breach.OrgID]bool, len(orgs))
	for _, o := range orgs {
		known[o.ID] = true
	}
	read := func(path string) breach.Report {
		t.Helper()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		var r breach.Report
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if err := r.Validate(time.Now()); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return r
	}

	r := read(exampleBreach)
	var unknown []breach.OrgID
	for _, a := range r.Affected {
		if !known[a.Org] {
			unknown = append(unknown, a.Org)
		}
	}
	if r.ID != "EXAMPLE-2025-08-23" || r.AllCustomers || len(r.Affected) < 10 || !slices.Equal(unknown, []breach.OrgID{"se-kommun-9999"}) {
		t.Errorf("%s: id %s, %d affected, unknown %v; want EXAMPLE-2025-08-23, >= 10 affected, only se-kommun-9999 unknown",
			exampleBreach, r.ID, len(r.Affected), unknown)
	}

	all := read(exampleBreachAll)
	if all.ID != "EXAMPLE-ALL-1" || !all.AllCustomers || len(all.Affected) != 0 {
		t.Errorf("%s: id %s, all_customers %v, %d affected", exampleBreachAll, all.ID, all.AllCustomers, len(all.Affected))
	}
}

func FuzzParseCSV(f *testing.F) {
	for _, tc := range parseCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		orgs, err := ParseCSV(bytes.NewReader(data))
		if err != nil {
			if orgs != nil {
				t.Fatalf("%d orgs returned with error %v", len(orgs), err)
			}
			var perr *ParseError
			if errors.As(err, &perr) {
				if len(perr.Rows) == 0 {
					t.Fatal("ParseError without rows")
				}
				for _, r := range perr.Rows {
					if r.Line < 1 || r.Detail == "" {
						t.Fatalf("bad RowError %+v", r)
					}
				}
				_ = perr.Error()
			}
			return
		}
		seen := make(map[breach.OrgID]bool, len(orgs))
		for _, o := range orgs {
			if !o.ID.Valid() || o.Name == "" || seen[o.ID] {
				t.Fatalf("invalid or duplicate org %+v", o)
			}
			seen[o.ID] = true
		}

		// What parsed writes back and parses the same.
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		_ = w.Write(Columns)
		for _, o := range orgs {
			var chans []string
			for _, c := range o.Channels {
				chans = append(chans, string(c))
			}
			var regimes []string
			for _, r := range o.Regimes {
				regimes = append(regimes, string(r))
			}
			_ = w.Write([]string{string(o.ID), o.Name, o.DPOEmail, o.SecurityEmail, o.Phone, o.WebhookURL, o.Locale, strings.Join(chans, " "),
				o.EscalationEmail, o.EscalationPhone, strings.Join(regimes, ";")})
		}
		w.Flush()
		again, err := ParseCSV(&buf)
		if err != nil || !reflect.DeepEqual(again, orgs) {
			t.Fatalf("round trip: %v\n got %#v\nwant %#v", err, again, orgs)
		}
	})
}

// TestWebhookURLDetail: what a row with a webhook URL Cascade never posts
// to is told.
func TestWebhookURLDetail(t *testing.T) {
	for url, want := range map[string]string{
		"https://0.0.0.0/x":           "has host 0.0.0.0, which is unspecified: no webhook is posted there",
		"https://[::ffff:0.0.0.0]/x":  "has host ::ffff:0.0.0.0, which is unspecified (IPv4-mapped form of 0.0.0.0): no webhook is posted there",
		"https://224.0.0.1/x":         "has host 224.0.0.1, which is multicast: no webhook is posted there",
		"http://hooks.example.org/x":  "must be https:// (http:// only to a loopback host such as 127.0.0.1, for development with cascaded --webhook-allow-private)",
		"https://169.254.169.254/x":   "",
		"https://hooks.example.org/x": "",
	} {
		if got := checkURL(url); got != want {
			t.Errorf("checkURL(%q) = %q, want %q", url, got, want)
		}
	}
}
