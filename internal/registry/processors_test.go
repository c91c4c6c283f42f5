package registry

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cascadehq/cascade/internal/breach"
)

func TestParseProcessorsCSV(t *testing.T) {
	in := "\ufeffid,name,contact_email,contact_phone,customers,org_id\n" +
		"alfa-lon,Alfa Lön AB,security@alfa.example,+46 8 1,se-kommun-1480;se-kommun-0180 se-kommun-0180,se-foretag-alfa\n" +
		"\n" +
		"beta,Beta AB,,,*,\n" +
		"gamma,Gamma AB,,,,\n"
	ps, err := ParseProcessorsCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 {
		t.Fatalf("%d processors", len(ps))
	}
	a := ps[0]
	if a.ID != "alfa-lon" || a.Name != "Alfa Lön AB" || a.ContactEmail != "security@alfa.example" || a.OrgID != "se-foretag-alfa" ||
		!slices.Equal(a.Customers, []breach.OrgID{"se-kommun-0180", "se-kommun-1480"}) || a.AllCustomers {
		t.Fatalf("alfa-lon: %+v", a)
	}
	if !ps[1].AllCustomers || ps[1].Customers != nil || ps[2].AllCustomers || ps[2].Customers != nil {
		t.Fatalf("beta %+v, gamma %+v", ps[1], ps[2])
	}
}

func TestParseProcessorsCSVErrors(t *testing.T) {
	for name, c := range map[string]struct{ in, want string }{
		"no header":       {"", "missing header row"},
		"unknown column":  {"id,name,webhook_url\n", `header: unknown column`},
		"no name column":  {"id\nx\n", "name: header: required column missing"},
		"bad id":          {"id,name\nAlfa_Lön,A\n", `id "Alfa_Lön": does not match`},
		"duplicate id":    {"id,name\na,A\na,B\n", "duplicate; first on line 2"},
		"no name":         {"id,name\na,\n", "name: is required"},
		"bad e-mail":      {"id,name,contact_email\na,A,Security <s@a.example>\n", "is not a bare e-mail address"},
		"bad customer":    {"id,name,customers\na,A,se-kommun-0180 Stockholm!\n", `customers "Stockholm!": is not an organisation id`},
		"bad org_id":      {"id,name,org_id\na,A,Alfa AB\n", `org_id "Alfa AB": does not match`},
		"control char":    {"id,name\na,A\x07B\n", "control characters"},
		"fields":          {"id,name\na,A,extra\n", "has 3 fields; the header has 2"},
		"every bad row":   {"id,name\n-a,A\nb,\n", "line 2"},
		"every bad row 2": {"id,name\n-a,A\nb,\n", "line 3"},
	} {
		t.Run(name, func(t *testing.T) {
			ps, err := ParseProcessorsCSV(strings.NewReader(c.in))
			if err == nil || ps != nil {
				t.Fatalf("got %v, %v; want an error", ps, err)
			}
			var perr *ParseError
			if !errors.As(err, &perr) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
		})
	}
	if _, err := ParseProcessorsCSV(strings.NewReader("id,name\n" + strings.Repeat("a,A\n", 1) + strings.Repeat("x", MaxBytes))); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized file: %v", err)
	}
}
