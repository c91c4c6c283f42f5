package breach

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func validUpdate() Update {
	return Update{
		Breach:              "INC-2024-0042",
		Summary:             "Root cause found; two more customers affected.",
		Nature:              "The bucket was also listable.",
		OccurredFrom:        reportNow.Add(-96 * time.Hour),
		OccurredTo:          reportNow.Add(-3 * time.Hour),
		DataCategories:      []string{"name", "salary", "bank account"},
		SubjectCategories:   []string{"employees", "contractors"},
		AddAffected:         []Affected{{Org: "initech", ApproxSubjects: 5}, {Org: "umbrella"}},
		LikelyConsequences:  "Disclosure of salaries and bank accounts.",
		MeasuresTaken:       "Bucket deleted.",
		MeasuresProposed:    "Bucket policy lint in CI.",
		AdviceToControllers: "Watch for phishing.",
		Contact:             &Contact{Name: "Sam", Phone: "+46 8 000 00 00"},
	}
}

func TestUpdateValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(u *Update)
		want   []violation
		bug    string
	}{
		{"valid", func(u *Update) {}, nil, ""},
		{"minimal", func(u *Update) { *u = Update{Breach: "INC-1", Summary: "s"} }, nil, ""},
		{"summary required", func(u *Update) { u.Summary = "" }, []violation{{"summary", "required"}}, ""},
		{"summary too long", func(u *Update) { u.Summary = strings.Repeat("ü", MaxLongText+1) }, []violation{{"summary", "too_long"}}, ""},
		{"summary at limit", func(u *Update) { u.Summary = strings.Repeat("ü", MaxLongText) }, nil, ""},
		{"summary invalid utf-8", func(u *Update) { u.Summary = "\xff" }, []violation{{"summary", "encoding"}}, ""},
		{"breach id empty", func(u *Update) { u.Breach = "" }, []violation{{"breach_id", "pattern"}}, ""},
		{"breach id bad", func(u *Update) { u.Breach = "INC 1/x" }, []violation{{"breach_id", "pattern"}}, ""},
		{"breach id too long", func(u *Update) { u.Breach = BreachID(breach65) }, []violation{{"breach_id", "pattern"}}, ""},
		{"breach id at limit", func(u *Update) { u.Breach = BreachID(breach64) }, nil, ""},
		{"nature too long", func(u *Update) { u.Nature = strings.Repeat("x", MaxLongText+1) }, []violation{{"nature", "too_long"}}, ""},
		{"consequences too long", func(u *Update) { u.LikelyConsequences = strings.Repeat("x", MaxLongText+1) }, []violation{{"likely_consequences", "too_long"}}, ""},
		{"measures taken too long", func(u *Update) { u.MeasuresTaken = strings.Repeat("x", MaxLongText+1) }, []violation{{"measures_taken", "too_long"}}, ""},
		{"measures proposed too long", func(u *Update) { u.MeasuresProposed = strings.Repeat("x", MaxLongText+1) }, []violation{{"measures_proposed", "too_long"}}, ""},
		{"advice too long", func(u *Update) { u.AdviceToControllers = strings.Repeat("x", MaxLongText+1) }, []violation{{"advice_to_controllers", "too_long"}}, ""},
		{"data category empty", func(u *Update) { u.DataCategories = []string{"name", ""} }, []violation{{"data_categories[1]", "required"}}, ""},
		{"subject category too long", func(u *Update) { u.SubjectCategories = []string{strings.Repeat("x", MaxShortText+1)} },
			[]violation{{"subject_categories[0]", "too_long"}}, ""},
		{"too many data categories", func(u *Update) { u.DataCategories = make([]string, MaxCategories+1) }, []violation{{"data_categories", "too_many"}}, ""},
		{"contact without email or phone", func(u *Update) { u.Contact = &Contact{Name: "Sam"} }, []violation{{"contact", "required"}}, ""},
		{"contact with email only", func(u *Update) { u.Contact = &Contact{Email: "sec@example.com"} }, nil, ""},
		{"contact name too long", func(u *Update) { u.Contact.Name = strings.Repeat("x", MaxShortText+1) }, []violation{{"contact.name", "too_long"}}, ""},
		{"contact email not an address", func(u *Update) { u.Contact = &Contact{Email: "not an address"} },
			[]violation{{"contact.email", "format"}}, ""},
		{"no contact", func(u *Update) { u.Contact = nil }, nil, ""},
		{"occurred_to before occurred_from", func(u *Update) { u.OccurredTo = u.OccurredFrom.Add(-time.Second) }, []violation{{"occurred_to", "order"}}, ""},
		{"add_affected duplicate", func(u *Update) { u.AddAffected = append(u.AddAffected, Affected{Org: "initech"}) },
			[]violation{{"add_affected[2].org_id", "duplicate"}}, ""},
		{"add_affected bad org", func(u *Update) { u.AddAffected[0].Org = "Initech" }, []violation{{"add_affected[0].org_id", "pattern"}}, ""},
		{"add_affected negative", func(u *Update) { u.AddAffected[1].ApproxRecords = -1 }, []violation{{"add_affected[1].approx_records", "range"}}, ""},
		{"add_affected beyond the approximate maximum", func(u *Update) { u.AddAffected[0].ApproxSubjects = MaxApproxQuantity + 1 },
			[]violation{{"add_affected[0].approx_subjects", "range"}}, ""},
		{"add_affected too many", func(u *Update) {
			u.AddAffected = make([]Affected, MaxAffected+1)
			for i := range u.AddAffected {
				u.AddAffected[i].Org = OrgID(fmt.Sprintf("org-%d", i))
			}
		}, []violation{{"add_affected", "too_many"}}, ""},
		{"several at once, in field order", func(u *Update) {
			u.Breach, u.Summary = "", ""
			u.Contact = &Contact{}
			u.AddAffected = []Affected{{Org: "a"}, {Org: "a"}}
		}, []violation{{"breach_id", "pattern"}, {"summary", "required"}, {"contact", "required"}, {"add_affected[1].org_id", "duplicate"}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.bug != "" {
				t.Skip("BUG: " + tc.bug)
			}
			u := validUpdate()
			tc.modify(&u)
			got := violationsOf(t, u.Validate())
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("violations = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestUpdateDigest(t *testing.T) {
	u := validUpdate()
	d := u.Digest()
	if len(d) != 64 || strings.Trim(d, "0123456789abcdef") != "" {
		t.Fatalf("Digest = %q, want 64 lower-case hex digits", d)
	}
	same := validUpdate()
	if same.Digest() != d {
		t.Errorf("equal updates have different digests")
	}
	other := validUpdate()
	other.Summary += "."
	if other.Digest() == d {
		t.Errorf("different updates have the same digest")
	}
	moved := validUpdate()
	moved.AddAffected[0], moved.AddAffected[1] = moved.AddAffected[1], moved.AddAffected[0]
	if moved.Digest() == d {
		t.Errorf("reordered add_affected has the same digest")
	}
}

// revisedBreach is a breach with two updates (revisions 2 and 3).
func revisedBreach() Breach {
	r := validReport()
	return Breach{
		ID: r.ID, Revision: 1, Report: r, Chunks: 2,
		Revisions: []Revision{
			{Number: 2, At: reportNow.Add(time.Hour), Chunks: 1, Digest: "d2", Update: Update{
				Breach:         r.ID,
				Summary:        "more categories, new contact",
				Nature:         "nature v2",
				MeasuresTaken:  "measures v2",
				DataCategories: []string{"name", "salary", "iban"},
				AddAffected:    []Affected{{Org: "initech", ApproxSubjects: 3}},
				Contact:        &Contact{Name: "Incident desk", Email: "incident@example.com"},
			}},
			{Number: 3, At: reportNow.Add(2 * time.Hour), Chunks: 0, Digest: "d3", Update: Update{
				Breach:            r.ID,
				Summary:           "root cause",
				Nature:            "nature v3",
				OccurredTo:        reportNow.Add(-time.Hour),
				SubjectCategories: []string{"employees", "former employees"},
				AddAffected:       []Affected{{Org: "umbrella"}, {Org: "hooli", ApproxRecords: 7}},
			}},
		},
	}
}

func TestBreachFacts(t *testing.T) {
	b := revisedBreach()
	want := validReport()
	want.Nature = "nature v3"                                                    // revision 3 wins over 2
	want.MeasuresTaken = "measures v2"                                           // revision 3 left it empty
	want.DataCategories = []string{"name", "salary", "iban"}                     // revision 2
	want.SubjectCategories = []string{"employees", "former employees"}           // revision 3
	want.OccurredTo = reportNow.Add(-time.Hour)                                  // revision 3; OccurredFrom stays
	want.Contact = Contact{Name: "Incident desk", Email: "incident@example.com"} // replaced whole
	want.Affected = append(append([]Affected(nil), want.Affected...),
		Affected{Org: "initech", ApproxSubjects: 3}, Affected{Org: "umbrella"}, Affected{Org: "hooli", ApproxRecords: 7})
	got := b.Facts()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Facts:\n got %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(b.Report, validReport()) {
		t.Errorf("Facts modified the stored report: %+v", b.Report)
	}
	if err := got.Validate(reportNow); err != nil {
		t.Errorf("facts of valid report and updates do not validate: %v", err)
	}

	// Without updates the facts are the report.
	b.Revisions = nil
	if got := b.Facts(); !reflect.DeepEqual(got, validReport()) {
		t.Errorf("Facts without revisions = %+v, want the report", got)
	}
}

// TestBreachFactsNoAliasing: the facts of two calls are independent, so
// callers (and concurrent readers of one stored breach) cannot see each
// other's writes.
func TestBreachFactsNoAliasing(t *testing.T) {
	b := revisedBreach()
	aff := make([]Affected, len(b.Report.Affected), 16) // spare capacity, as json.Unmarshal leaves it
	copy(aff, b.Report.Affected)
	b.Report.Affected = aff
	f1 := b.Facts()
	f2 := b.Facts()
	f1.Affected[2].ApproxSubjects = 99
	if f2.Affected[2].ApproxSubjects != 3 {
		t.Errorf("two Facts results share memory: f2.Affected[2] = %+v after writing f1", f2.Affected[2])
	}
}

func TestBreachLatest(t *testing.T) {
	b := revisedBreach()
	if got := b.Latest(); got != 3 {
		t.Errorf("Latest = %d, want 3", got)
	}
	b.Revisions = b.Revisions[:1]
	if got := b.Latest(); got != 2 {
		t.Errorf("Latest = %d, want 2", got)
	}
	b.Revisions = nil
	if got := b.Latest(); got != 1 {
		t.Errorf("Latest without updates = %d, want 1 (the report)", got)
	}
}

func TestBreachRevisionByDigest(t *testing.T) {
	b := revisedBreach()
	for _, tc := range []struct {
		digest string
		want   int // 0: none
	}{{"d2", 2}, {"d3", 3}, {"d4", 0}, {"", 0}} {
		got := b.RevisionByDigest(tc.digest)
		switch {
		case tc.want == 0 && got != nil:
			t.Errorf("RevisionByDigest(%q) = revision %d, want nil", tc.digest, got.Number)
		case tc.want != 0 && (got == nil || got.Number != tc.want):
			t.Errorf("RevisionByDigest(%q) = %+v, want revision %d", tc.digest, got, tc.want)
		}
	}
	// It points into the breach, not at a copy.
	if r := b.RevisionByDigest("d3"); r != &b.Revisions[1] {
		t.Errorf("RevisionByDigest returned a copy")
	}
	var empty Breach
	if r := empty.RevisionByDigest("d2"); r != nil {
		t.Errorf("RevisionByDigest on a breach without updates = %+v", r)
	}
}

func TestBreachTotalChunks(t *testing.T) {
	b := revisedBreach()
	if got := b.TotalChunks(); got != 3 {
		t.Errorf("TotalChunks = %d, want 3 (2 + 1 + 0)", got)
	}
	b.Revisions = nil
	if got := b.TotalChunks(); got != 2 {
		t.Errorf("TotalChunks without updates = %d, want 2", got)
	}
	if got := (&Breach{}).TotalChunks(); got != 0 {
		t.Errorf("TotalChunks of an empty breach = %d", got)
	}
}

func TestBreachFor(t *testing.T) {
	b := Breach{ID: "B-1", NoticeCount: 3, UnknownOrgs: []OrgID{"x-9"},
		Report: Report{Affected: []Affected{{Org: "a-1", ApproxSubjects: 10}, {Org: "b-2", ApproxSubjects: 20}}},
		Revisions: []Revision{{Number: 2, Added: 1, UnknownOrgs: []OrgID{"y-8"},
			Update: Update{Summary: "more", AddAffected: []Affected{{Org: "c-3"}}}}}}
	got := b.For("a-1")
	if len(got.Report.Affected) != 1 || got.Report.Affected[0].ApproxSubjects != 10 || got.NoticeCount != 0 || got.UnknownOrgs != nil ||
		len(got.Revisions[0].Update.AddAffected) != 0 || got.Revisions[0].Added != 0 || got.Revisions[0].UnknownOrgs != nil ||
		got.Revisions[0].Update.Summary != "more" {
		t.Errorf("For(a-1) = %+v", got)
	}
	if len(b.Report.Affected) != 2 || len(b.Revisions[0].Update.AddAffected) != 1 || b.Revisions[0].Added != 1 {
		t.Errorf("For changed the breach it was called on: %+v", b)
	}
}
