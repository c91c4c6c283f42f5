package breach

import "testing"

func TestQualify(t *testing.T) {
	for _, c := range []struct {
		p     ProcessorID
		local BreachID
		want  BreachID
		mine  bool
	}{
		{"", "INC-1", "INC-1", true},
		{"alfa-lon", "INC-1", "alfa-lon__INC-1", true},
		{"alfa-lon", "alfa-lon__INC-1", "alfa-lon__INC-1", true}, // its own, already qualified
		{"alfa-lon", "beta__INC-1", "beta__INC-1", false},        // another's
		{"", "beta__INC-1", "beta__INC-1", false},                // the default processor may not use the separator
		{"alfa-lon", "a__b__c", "a__b__c", false},
	} {
		got, mine := Qualify(c.p, c.local)
		if got != c.want || mine != c.mine {
			t.Errorf("Qualify(%q, %q) = %q, %v; want %q, %v", c.p, c.local, got, mine, c.want, c.mine)
		}
		if mine && (got.Processor() != c.p || got.Local() != BreachID(trimOwn(string(c.local), c.p))) {
			t.Errorf("%q: processor %q, local %q", got, got.Processor(), got.Local())
		}
		if mine && !got.Valid() {
			t.Errorf("%q is not a valid breach id", got)
		}
	}
}

func trimOwn(s string, p ProcessorID) string {
	if p != "" && len(s) > len(p)+2 && s[:len(p)+2] == string(p)+"__" {
		return s[len(p)+2:]
	}
	return s
}

func TestQualifiedIDsValid(t *testing.T) {
	long := "A123456789012345678901234567890123456789012345678901234567890123" // 64
	for id, want := range map[BreachID]bool{
		"alfa-lon__INC-1": true,
		BreachID("abcdefghijklmnopqrstuvwxyz012345__" + long):  true,  // 32 + 2 + 64
		BreachID("abcdefghijklmnopqrstuvwxyz0123456__" + long): false, // processor of 33, and over 64 as a plain id
		BreachID("alfa-lon__" + long + "X"):                    false, // local of 65
		"__INC":                                                false,
		// Plain ids of the documented pattern stay valid (ids stored before
		// processors; a new report may not contain the separator).
		"Alfa__INC-1":    true,
		"alfa-lon__-INC": true,
	} {
		if got := id.Valid(); got != want {
			t.Errorf("%q.Valid() = %v, want %v", id, got, want)
		}
	}
	for id, want := range map[ProcessorID]bool{"alfa-lon": true, "a": true, "": false, "Alfa": false, "alfa_lon": false, "-a": false,
		"abcdefghijklmnopqrstuvwxyz012345": true, "abcdefghijklmnopqrstuvwxyz0123456": false} {
		if got := id.Valid(); got != want {
			t.Errorf("ProcessorID(%q).Valid() = %v, want %v", id, got, want)
		}
	}
}

func TestReportQualify(t *testing.T) {
	r := Report{ID: "beta__X"}
	if err := r.Qualify("alfa"); err == nil {
		t.Fatal("a report under another processor's id was qualified")
	}
	r = Report{ID: "X"}
	if err := r.Qualify("alfa"); err != nil || r.ID != "alfa__X" {
		t.Fatalf("Qualify: %q, %v", r.ID, err)
	}
}

func TestHasCustomer(t *testing.T) {
	p := Processor{Customers: []OrgID{"a", "c", "e"}}
	for org, want := range map[OrgID]bool{"a": true, "b": false, "e": true, "f": false} {
		if p.HasCustomer(org) != want {
			t.Errorf("HasCustomer(%s) != %v", org, want)
		}
	}
	if !(&Processor{AllCustomers: true}).HasCustomer("z") {
		t.Error("all_customers does not have z")
	}
}
