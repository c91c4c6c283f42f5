package intake

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/store"
)

func knownOrgs(orgs ...breach.Org) map[breach.OrgID]breach.Org {
	m := make(map[breach.OrgID]breach.Org, len(orgs))
	for _, o := range orgs {
		m[o.ID] = o
	}
	return m
}

func TestMembers(t *testing.T) {
	acme := breach.Org{ID: "acme", Name: "Acme AB", DPOEmail: "dpo@acme.example"}
	globex := breach.Org{ID: "globex", Name: "Globex"}
	initech := breach.Org{ID: "initech", Name: "Initech"}
	zeta := breach.Org{ID: "zeta-0", Name: "Zeta"}
	known := knownOrgs(zeta, initech, globex, acme)

	tests := []struct {
		name  string
		r     breach.Report
		known map[breach.OrgID]breach.Org
		want  []store.Member
	}{
		{
			name:  "explicit list in org id order",
			r:     breach.Report{Affected: []breach.Affected{{Org: "zeta-0"}, {Org: "acme", ApproxSubjects: 3, ApproxRecords: 4}, {Org: "globex"}}},
			known: known,
			want: []store.Member{
				{Org: "acme", Name: "Acme AB", ApproxSubjects: 3, ApproxRecords: 4},
				{Org: "globex", Name: "Globex"},
				{Org: "zeta-0", Name: "Zeta"},
			},
		},
		{
			name:  "unknown ids skipped",
			r:     breach.Report{Affected: []breach.Affected{{Org: "nobody", ApproxSubjects: 9}, {Org: "initech", ApproxRecords: 7}, {Org: "ghost"}}},
			known: known,
			want:  []store.Member{{Org: "initech", Name: "Initech", ApproxRecords: 7}},
		},
		{
			name:  "all unknown",
			r:     breach.Report{Affected: []breach.Affected{{Org: "nobody"}, {Org: "ghost"}}},
			known: known,
			want:  nil,
		},
		{
			name:  "explicit list with empty registry",
			r:     breach.Report{Affected: []breach.Affected{{Org: "acme"}}},
			known: knownOrgs(),
			want:  nil,
		},
		{
			name:  "explicit list ignores registry orgs not listed",
			r:     breach.Report{Affected: []breach.Affected{{Org: "globex", ApproxSubjects: 1}}},
			known: known,
			want:  []store.Member{{Org: "globex", Name: "Globex", ApproxSubjects: 1}},
		},
		{
			name:  "duplicate affected entries give one member",
			r:     breach.Report{Affected: []breach.Affected{{Org: "acme", ApproxSubjects: 1}, {Org: "globex"}, {Org: "acme", ApproxSubjects: 2}}},
			known: known,
			want: []store.Member{
				{Org: "acme", Name: "Acme AB", ApproxSubjects: 2},
				{Org: "globex", Name: "Globex"},
			},
		},
		{
			name:  "all customers",
			r:     breach.Report{AllCustomers: true},
			known: known,
			want: []store.Member{
				{Org: "acme", Name: "Acme AB"},
				{Org: "globex", Name: "Globex"},
				{Org: "initech", Name: "Initech"},
				{Org: "zeta-0", Name: "Zeta"},
			},
		},
		{
			name: "all customers with affected numbers",
			r: breach.Report{AllCustomers: true, Affected: []breach.Affected{
				{Org: "initech", ApproxSubjects: 100, ApproxRecords: 250},
				{Org: "nobody", ApproxSubjects: 5},
				{Org: "acme", ApproxRecords: 1},
			}},
			known: known,
			want: []store.Member{
				{Org: "acme", Name: "Acme AB", ApproxRecords: 1},
				{Org: "globex", Name: "Globex"},
				{Org: "initech", Name: "Initech", ApproxSubjects: 100, ApproxRecords: 250},
				{Org: "zeta-0", Name: "Zeta"},
			},
		},
		{
			name:  "all customers with empty registry",
			r:     breach.Report{AllCustomers: true, Affected: []breach.Affected{{Org: "acme"}}},
			known: knownOrgs(),
			want:  nil,
		},
		{
			name:  "all customers with nil registry",
			r:     breach.Report{AllCustomers: true},
			known: nil,
			want:  nil,
		},
		{
			name: "ordering is bytewise: digits and dash before letters",
			r:    breach.Report{AllCustomers: true},
			known: knownOrgs(
				breach.Org{ID: "b", Name: "B"}, breach.Org{ID: "a_1", Name: "A_1"}, breach.Org{ID: "a-1", Name: "A-1"},
				breach.Org{ID: "a", Name: "A"}, breach.Org{ID: "9", Name: "Nine"}, breach.Org{ID: "a1", Name: "A1"},
			),
			want: []store.Member{
				{Org: "9", Name: "Nine"}, {Org: "a", Name: "A"}, {Org: "a-1", Name: "A-1"},
				{Org: "a1", Name: "A1"}, {Org: "a_1", Name: "A_1"}, {Org: "b", Name: "B"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r
			got := members(&r, tc.known)
			if len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
				t.Errorf("members =\n %+v\nwant\n %+v", got, tc.want)
			}
			if !reflect.DeepEqual(r, tc.r) {
				t.Errorf("members modified the report")
			}
		})
	}
}

// TestMembersLarge: a big registry comes out sorted, without duplicates,
// every organisation once, whatever the map's iteration order.
func TestMembersLarge(t *testing.T) {
	known := make(map[breach.OrgID]breach.Org)
	var affected []breach.Affected
	for i := range 2500 {
		id := breach.OrgID(fmt.Sprintf("org-%05d", (i*7919)%2500))
		known[id] = breach.Org{ID: id, Name: "Org " + string(id)}
		if i%3 == 0 {
			affected = append(affected, breach.Affected{Org: id, ApproxSubjects: int64(i) + 1})
		}
	}
	tests := []struct {
		name string
		r    breach.Report
		want int
	}{
		{"all customers", breach.Report{AllCustomers: true, Affected: affected}, len(known)},
		{"explicit", breach.Report{Affected: affected}, len(affected)},
		{"explicit listed twice", breach.Report{Affected: append(slices.Clone(affected), affected...)}, len(affected)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 3 { // map order varies between runs
				got := members(&tc.r, known)
				if len(got) != tc.want {
					t.Fatalf("len = %d, want %d", len(got), tc.want)
				}
				if !slices.IsSortedFunc(got, func(a, b store.Member) int { return compare(a.Org, b.Org) }) {
					t.Fatal("members not sorted by org id")
				}
				for i := 1; i < len(got); i++ {
					if got[i].Org == got[i-1].Org {
						t.Fatalf("duplicate member %s", got[i].Org)
					}
				}
				for _, m := range got {
					if m.Name != known[m.Org].Name {
						t.Fatalf("member %s has name %q, want %q", m.Org, m.Name, known[m.Org].Name)
					}
				}
			}
		})
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		a, b breach.OrgID
		want int
	}{
		{"a", "b", -1},
		{"b", "a", 1},
		{"a", "a", 0},
		{"a", "a-1", -1},
		{"", "a", -1},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s_%s", tc.a, tc.b), func(t *testing.T) {
			if got := compare(tc.a, tc.b); got != tc.want {
				t.Errorf("compare(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
}
