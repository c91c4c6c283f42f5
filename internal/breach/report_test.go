package breach

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// reportNow is the "now" every report is validated at.
var reportNow = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

// validReport is a report that passes Validate at reportNow, with every
// field set.
func validReport() Report {
	return Report{
		ID:                  "INC-2024-0042",
		Processor:           "Example Payroll AB",
		Title:               "Misconfigured storage bucket",
		Nature:              "A storage bucket holding payslips was publicly readable.",
		DiscoveredAt:        reportNow.Add(-2 * time.Hour),
		OccurredFrom:        reportNow.Add(-72 * time.Hour),
		OccurredTo:          reportNow.Add(-3 * time.Hour),
		DataCategories:      []string{"name", "salary"},
		SubjectCategories:   []string{"employees"},
		Affected:            []Affected{{Org: "acme", ApproxSubjects: 10, ApproxRecords: 20}, {Org: "globex"}},
		LikelyConsequences:  "Disclosure of salaries.",
		MeasuresTaken:       "Bucket made private.",
		MeasuresProposed:    "Audit all buckets.",
		AdviceToControllers: "Inform employees.",
		Contact:             Contact{Name: "Sam Security", Email: "security@example.com", Phone: "+46 8 000 00 00"},
	}
}

// violation is the part of a FieldViolation a test pins down.
type violation struct{ field, reason string }

func violationsOf(t *testing.T, err error) []violation {
	t.Helper()
	if err == nil {
		return nil
	}
	var inv *InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("error %v (%T) is not an *InvalidError", err, err)
	}
	out := make([]violation, len(inv.Violations))
	for i, v := range inv.Violations {
		if v.Detail == "" {
			t.Errorf("violation %s/%s has no detail", v.Field, v.Reason)
		}
		if !strings.Contains(err.Error(), v.Field+": "+v.Detail) {
			t.Errorf("Error() %q does not contain %q", err, v.Field+": "+v.Detail)
		}
		out[i] = violation{v.Field, v.Reason}
	}
	return out
}

func TestReportValidate(t *testing.T) {
	short201 := strings.Repeat("ü", MaxShortText+1)
	long10001 := strings.Repeat("ü", MaxLongText+1)
	badUTF8 := "caf\xe9"
	tooMany := make([]string, MaxCategories+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("c%d", i)
	}
	tooManyAffected := make([]Affected, MaxAffected+1)
	for i := range tooManyAffected {
		tooManyAffected[i] = Affected{Org: OrgID(fmt.Sprintf("org-%d", i))}
	}

	tests := []struct {
		name   string
		modify func(r *Report)
		want   []violation // nil = valid
	}{
		// Valid reports.
		{"fully populated", func(r *Report) {}, nil},
		{"empty id is allowed", func(r *Report) { r.ID = "" }, nil},
		{"minimal", func(r *Report) {
			*r = Report{Processor: "p", Title: "t", Nature: "n", DiscoveredAt: reportNow,
				Affected: []Affected{{Org: "acme"}}, Contact: Contact{Phone: "1"}}
		}, nil},
		{"all customers without affected", func(r *Report) { r.Affected = nil; r.AllCustomers = true }, nil},
		{"contact email only", func(r *Report) { r.Contact = Contact{Email: "dpo@example.org"} }, nil},
		{"contact phone only", func(r *Report) { r.Contact = Contact{Phone: "+1 555"} }, nil},
		{"short text at limit", func(r *Report) { r.Title = strings.Repeat("ü", MaxShortText) }, nil},
		{"long text at limit", func(r *Report) { r.Nature = strings.Repeat("ü", MaxLongText) }, nil},
		{"discovered exactly 5 minutes ahead", func(r *Report) { r.DiscoveredAt = reportNow.Add(5 * time.Minute) }, nil},
		{"occurred from equals to", func(r *Report) { r.OccurredTo = r.OccurredFrom }, nil},
		{"occurred from only", func(r *Report) { r.OccurredTo = time.Time{} }, nil},
		{"occurred to only", func(r *Report) { r.OccurredFrom = time.Time{} }, nil},
		{"categories at limit", func(r *Report) { r.DataCategories = tooMany[:MaxCategories] }, nil},
		{"approx quantities at limit", func(r *Report) {
			r.Affected[0].ApproxSubjects = MaxApproxQuantity
			r.Affected[0].ApproxRecords = MaxApproxQuantity
		}, nil},
		{"affected at limit", func(r *Report) { r.Affected = tooManyAffected[:MaxAffected] }, nil},

		// id
		{"id pattern", func(r *Report) { r.ID = "INC/42" }, []violation{{"id", "pattern"}}},
		{"id too long", func(r *Report) { r.ID = BreachID(breach65) }, []violation{{"id", "pattern"}}},

		// required texts
		{"processor required", func(r *Report) { r.Processor = "" }, []violation{{"processor", "required"}}},
		{"title required", func(r *Report) { r.Title = "" }, []violation{{"title", "required"}}},
		{"nature required", func(r *Report) { r.Nature = "" }, []violation{{"nature", "required"}}},

		// encoding
		{"processor encoding", func(r *Report) { r.Processor = badUTF8 }, []violation{{"processor", "encoding"}}},
		{"title encoding", func(r *Report) { r.Title = badUTF8 }, []violation{{"title", "encoding"}}},
		{"nature encoding", func(r *Report) { r.Nature = badUTF8 }, []violation{{"nature", "encoding"}}},
		{"likely_consequences encoding", func(r *Report) { r.LikelyConsequences = badUTF8 }, []violation{{"likely_consequences", "encoding"}}},
		{"measures_taken encoding", func(r *Report) { r.MeasuresTaken = badUTF8 }, []violation{{"measures_taken", "encoding"}}},
		{"measures_proposed encoding", func(r *Report) { r.MeasuresProposed = badUTF8 }, []violation{{"measures_proposed", "encoding"}}},
		{"advice_to_controllers encoding", func(r *Report) { r.AdviceToControllers = badUTF8 }, []violation{{"advice_to_controllers", "encoding"}}},
		{"contact.name encoding", func(r *Report) { r.Contact.Name = badUTF8 }, []violation{{"contact.name", "encoding"}}},
		{"contact.phone encoding", func(r *Report) { r.Contact.Phone = badUTF8 }, []violation{{"contact.phone", "encoding"}}},
		{"contact.email encoding", func(r *Report) { r.Contact.Email = badUTF8 + "@example.com" },
			[]violation{{"contact.email", "encoding"}, {"contact.email", "format"}}},

		// lengths
		{"processor too long", func(r *Report) { r.Processor = short201 }, []violation{{"processor", "too_long"}}},
		{"title too long", func(r *Report) { r.Title = short201 }, []violation{{"title", "too_long"}}},
		{"nature too long", func(r *Report) { r.Nature = long10001 }, []violation{{"nature", "too_long"}}},
		{"likely_consequences too long", func(r *Report) { r.LikelyConsequences = long10001 }, []violation{{"likely_consequences", "too_long"}}},
		{"measures_taken too long", func(r *Report) { r.MeasuresTaken = long10001 }, []violation{{"measures_taken", "too_long"}}},
		{"measures_proposed too long", func(r *Report) { r.MeasuresProposed = long10001 }, []violation{{"measures_proposed", "too_long"}}},
		{"advice_to_controllers too long", func(r *Report) { r.AdviceToControllers = long10001 }, []violation{{"advice_to_controllers", "too_long"}}},
		{"contact.name too long", func(r *Report) { r.Contact.Name = short201 }, []violation{{"contact.name", "too_long"}}},
		{"contact.phone too long", func(r *Report) { r.Contact.Phone = short201 }, []violation{{"contact.phone", "too_long"}}},
		{"contact.email too long", func(r *Report) { r.Contact.Email = strings.Repeat("a", MaxShortText) + "@example.com" },
			[]violation{{"contact.email", "too_long"}}},

		// contact
		{"contact needs email or phone", func(r *Report) { r.Contact = Contact{Name: "Sam"} }, []violation{{"contact", "required"}}},
		{"contact.email not an address", func(r *Report) { r.Contact.Email = "not-an-address" }, []violation{{"contact.email", "format"}}},
		{"contact.email with display name", func(r *Report) { r.Contact.Email = "Sam <sam@example.com>" }, []violation{{"contact.email", "format"}}},
		{"contact.email with spaces", func(r *Report) { r.Contact.Email = " sam@example.com" }, []violation{{"contact.email", "format"}}},

		// times
		{"discovered_at required", func(r *Report) { r.DiscoveredAt = time.Time{} }, []violation{{"discovered_at", "required"}}},
		{"discovered_at in the future", func(r *Report) { r.DiscoveredAt = reportNow.Add(5*time.Minute + time.Nanosecond) },
			[]violation{{"discovered_at", "future"}}},
		{"occurred_to before occurred_from", func(r *Report) { r.OccurredTo = r.OccurredFrom.Add(-time.Second) },
			[]violation{{"occurred_to", "order"}}},

		// category lists
		{"data_categories too many", func(r *Report) { r.DataCategories = tooMany }, []violation{{"data_categories", "too_many"}}},
		{"subject_categories too many", func(r *Report) { r.SubjectCategories = tooMany }, []violation{{"subject_categories", "too_many"}}},
		{"data_categories entry required", func(r *Report) { r.DataCategories = []string{"name", ""} },
			[]violation{{"data_categories[1]", "required"}}},
		{"subject_categories entry encoding", func(r *Report) { r.SubjectCategories = []string{badUTF8} },
			[]violation{{"subject_categories[0]", "encoding"}}},
		{"data_categories entry too long", func(r *Report) { r.DataCategories = []string{"a", "b", short201} },
			[]violation{{"data_categories[2]", "too_long"}}},

		// affected
		{"affected required", func(r *Report) { r.Affected = nil }, []violation{{"affected", "required"}}},
		{"affected empty list", func(r *Report) { r.Affected = []Affected{} }, []violation{{"affected", "required"}}},
		{"affected too many", func(r *Report) { r.Affected = tooManyAffected }, []violation{{"affected", "too_many"}}},
		// all_customers with an affected list is ambiguous: it used to notify
		// the whole registry and silently ignore the list.
		{"all customers with affected", func(r *Report) { r.AllCustomers = true },
			[]violation{{"all_customers", "ambiguous"}}},
		{"all customers with one affected", func(r *Report) { r.AllCustomers = true; r.Affected = r.Affected[:1] },
			[]violation{{"all_customers", "ambiguous"}}},
		{"affected too many with all customers", func(r *Report) { r.Affected = tooManyAffected; r.AllCustomers = true },
			[]violation{{"all_customers", "ambiguous"}}},

		// times outside RFC 3339 (an invalid wire timestamp converts to one)
		{"discovered_at after year 9999", func(r *Report) { r.DiscoveredAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
			[]violation{{"discovered_at", "range"}}},
		{"discovered_at before year 1", func(r *Report) { r.DiscoveredAt = time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC) },
			[]violation{{"discovered_at", "range"}}},
		{"occurred_from and occurred_to out of range", func(r *Report) {
			r.OccurredFrom = time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC)
			r.OccurredTo = time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC)
		}, []violation{{"occurred_from", "range"}, {"occurred_to", "range"}}},
		{"affected org_id pattern", func(r *Report) { r.Affected[1].Org = "Globex" }, []violation{{"affected[1].org_id", "pattern"}}},
		{"affected org_id empty", func(r *Report) { r.Affected[0].Org = "" }, []violation{{"affected[0].org_id", "pattern"}}},
		{"affected org_id duplicate", func(r *Report) { r.Affected = append(r.Affected, Affected{Org: "acme"}) },
			[]violation{{"affected[2].org_id", "duplicate"}}},
		{"affected approx_subjects negative", func(r *Report) { r.Affected[0].ApproxSubjects = -1 },
			[]violation{{"affected[0].approx_subjects", "range"}}},
		{"affected approx_subjects too large", func(r *Report) { r.Affected[0].ApproxSubjects = MaxApproxQuantity + 1 },
			[]violation{{"affected[0].approx_subjects", "range"}}},
		{"affected approx_records negative", func(r *Report) { r.Affected[1].ApproxRecords = -5 },
			[]violation{{"affected[1].approx_records", "range"}}},
		{"affected approx_records too large", func(r *Report) { r.Affected[1].ApproxRecords = MaxApproxQuantity + 1 },
			[]violation{{"affected[1].approx_records", "range"}}},

		// several at once, in the order Validate checks them
		{"several violations", func(r *Report) {
			r.ID = "bad id"
			r.Processor = ""
			r.Title = short201
			r.Nature = badUTF8
			r.Contact = Contact{Name: "only a name"}
			r.DiscoveredAt = time.Time{}
			r.OccurredTo = r.OccurredFrom.Add(-time.Hour)
			r.DataCategories = tooMany
			r.SubjectCategories = []string{""}
			r.Affected = []Affected{{Org: "acme"}, {Org: "ACME", ApproxSubjects: -1}, {Org: "acme", ApproxRecords: -1}}
		}, []violation{
			{"id", "pattern"},
			{"processor", "required"},
			{"title", "too_long"},
			{"nature", "encoding"},
			{"contact", "required"},
			{"discovered_at", "required"},
			{"occurred_to", "order"},
			{"data_categories", "too_many"},
			{"subject_categories[0]", "required"},
			{"affected[1].org_id", "pattern"},
			{"affected[1].approx_subjects", "range"},
			{"affected[2].org_id", "duplicate"},
			{"affected[2].approx_records", "range"},
		}},
		{"empty report", func(r *Report) { *r = Report{} }, []violation{
			{"processor", "required"},
			{"title", "required"},
			{"nature", "required"},
			{"contact", "required"},
			{"discovered_at", "required"},
			{"affected", "required"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := validReport()
			tc.modify(&r)
			got := violationsOf(t, r.Validate(reportNow))
			if len(got) != len(tc.want) {
				t.Fatalf("violations = %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("violation %d = %v, want %v (all: %v)", i, got[i], tc.want[i], got)
				}
			}
		})
	}
}

// TestReportValidateDuplicateDetail: the duplicate violation points at the
// first occurrence.
func TestReportValidateDuplicateDetail(t *testing.T) {
	r := validReport()
	r.Affected = []Affected{{Org: "a"}, {Org: "b"}, {Org: "a"}}
	var inv *InvalidError
	if err := r.Validate(reportNow); !errors.As(err, &inv) {
		t.Fatalf("Validate = %v, want *InvalidError", err)
	}
	if len(inv.Violations) != 1 {
		t.Fatalf("violations = %+v", inv.Violations)
	}
	if d := inv.Violations[0].Detail; !strings.Contains(d, "affected[0]") {
		t.Errorf("detail %q does not name affected[0]", d)
	}
}

func TestInvalid(t *testing.T) {
	err := Invalid("acknowledged_by", "required", "%s is required", "acknowledged_by")
	var inv *InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("Invalid = %T, want *InvalidError", err)
	}
	want := FieldViolation{Field: "acknowledged_by", Reason: "required", Detail: "acknowledged_by is required"}
	if len(inv.Violations) != 1 || inv.Violations[0] != want {
		t.Errorf("violations = %+v, want [%+v]", inv.Violations, want)
	}
	if got, want := err.Error(), "invalid: acknowledged_by: acknowledged_by is required"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
