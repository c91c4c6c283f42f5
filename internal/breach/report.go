package breach

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/mail"
	"time"
)

// Limits on a breach report. They keep one report inside one NATS message
// and keep hostile input from growing the store.
const (
	MaxShortText      = 200    // processor, title, contact fields, category entries
	MaxLongText       = 10_000 // nature, consequences, measures, advice
	MaxCategories     = 100    // entries per category list
	MaxAffected       = 20_000 // entries in affected; use all_customers beyond that
	MaxApproxQuantity = 1 << 40
)

// Contact is the processor's contact point.
type Contact struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// Affected is one affected organisation with its approximate numbers (0 = unknown).
type Affected struct {
	Org            OrgID `json:"org_id"`
	ApproxSubjects int64 `json:"approx_subjects,omitempty"`
	ApproxRecords  int64 `json:"approx_records,omitempty"`
	// Status is what the processor says of the organisation (empty:
	// CONFIRMED; withdraw.go).
	Status AffectedStatus `json:"status,omitempty"`
}

// Report is the Art. 33(3) content a processor publishes for one breach.
type Report struct {
	ID                  BreachID   `json:"id"`
	Processor           string     `json:"processor"`
	Title               string     `json:"title"`
	Nature              string     `json:"nature"`
	DiscoveredAt        time.Time  `json:"discovered_at"`
	OccurredFrom        time.Time  `json:"occurred_from,omitzero"`
	OccurredTo          time.Time  `json:"occurred_to,omitzero"`
	DataCategories      []string   `json:"data_categories,omitempty"`
	SubjectCategories   []string   `json:"subject_categories,omitempty"`
	Affected            []Affected `json:"affected,omitempty"`
	AllCustomers        bool       `json:"all_customers,omitempty"`
	LikelyConsequences  string     `json:"likely_consequences,omitempty"`
	MeasuresTaken       string     `json:"measures_taken,omitempty"`
	MeasuresProposed    string     `json:"measures_proposed,omitempty"`
	AdviceToControllers string     `json:"advice_to_controllers,omitempty"`
	Contact             Contact    `json:"contact"`
	// NextUpdateBy is the processor's promise of further information
	// (zero: none); ValidatePromise checks it against the receipt.
	NextUpdateBy  time.Time      `json:"next_update_by,omitzero"`
	SubjectNotice *SubjectNotice `json:"subject_notice,omitempty"` // words for the data subjects (Art. 34)
	// Upstream is the notice this breach forwards (upstream.go); nil for
	// a breach of the processor's own.
	Upstream *Upstream `json:"upstream,omitempty"`
}

// Digest is the SHA-256 (hex) of the report's canonical JSON: equal
// reports have equal digests, which tells a re-publish from a conflicting
// report with the same id.
func (r *Report) Digest() string {
	data, _ := json.Marshal(r)
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// Validate checks every field of r and returns an *InvalidError listing all
// violations, or nil. An empty ID is allowed (the caller generates one).
// now bounds discovered_at: a report cannot be discovered in the future.
func (r *Report) Validate(now time.Time) error {
	var vs violations
	if r.ID != "" && !r.ID.Valid() {
		vs.add("id", "pattern", "breach id %q does not match %s", truncate(string(r.ID)), BreachIDPattern)
	}
	text := func(field, v string, required bool, max int) { textField(&vs, field, v, required, max) }
	text("processor", r.Processor, true, MaxShortText)
	text("title", r.Title, true, MaxShortText)
	text("nature", r.Nature, true, MaxLongText)
	text("likely_consequences", r.LikelyConsequences, false, MaxLongText)
	text("measures_taken", r.MeasuresTaken, false, MaxLongText)
	text("measures_proposed", r.MeasuresProposed, false, MaxLongText)
	text("advice_to_controllers", r.AdviceToControllers, false, MaxLongText)
	text("contact.name", r.Contact.Name, false, MaxShortText)
	text("contact.email", r.Contact.Email, false, MaxShortText)
	text("contact.phone", r.Contact.Phone, false, MaxShortText)
	if r.Contact.Email == "" && r.Contact.Phone == "" {
		vs.add("contact", "required", "contact needs an email or a phone")
	}
	if r.Contact.Email != "" {
		if a, err := mail.ParseAddress(r.Contact.Email); err != nil || a.Address != r.Contact.Email {
			vs.add("contact.email", "format", "contact.email %q is not an e-mail address", truncate(r.Contact.Email))
		}
	}
	switch {
	case r.DiscoveredAt.IsZero():
		vs.add("discovered_at", "required", "discovered_at is required (RFC 3339)")
	case !timeField(&vs, "discovered_at", r.DiscoveredAt):
	case r.DiscoveredAt.After(now.Add(5 * time.Minute)):
		vs.add("discovered_at", "future", "discovered_at %s is in the future", r.DiscoveredAt.Format(time.RFC3339))
	}
	fromOK, toOK := timeField(&vs, "occurred_from", r.OccurredFrom), timeField(&vs, "occurred_to", r.OccurredTo)
	if fromOK && toOK && !r.OccurredFrom.IsZero() && !r.OccurredTo.IsZero() && r.OccurredTo.Before(r.OccurredFrom) {
		vs.add("occurred_to", "order", "occurred_to is before occurred_from")
	}
	timeField(&vs, "next_update_by", r.NextUpdateBy)
	categoryList(&vs, "data_categories", r.DataCategories)
	categoryList(&vs, "subject_categories", r.SubjectCategories)
	validateSubjectNotice(&vs, r.SubjectNotice)

	switch {
	case len(r.Affected) == 0 && !r.AllCustomers:
		vs.add("affected", "required", "affected must name at least one organisation, or set all_customers")
	case r.AllCustomers && len(r.Affected) > 0:
		vs.add("all_customers", "ambiguous",
			"all_customers notifies every organisation in the registry, yet affected names %d; send either all_customers or the affected list, not both",
			len(r.Affected))
	case len(r.Affected) > MaxAffected:
		vs.add("affected", "too_many", "affected has %d entries; at most %d (use all_customers)", len(r.Affected), MaxAffected)
	default:
		seen := make(map[OrgID]int, len(r.Affected))
		for i, a := range r.Affected {
			field := fmt.Sprintf("affected[%d]", i)
			if !a.Org.Valid() {
				vs.add(field+".org_id", "pattern", "organisation id %q does not match %s", truncate(string(a.Org)), OrgIDPattern)
			} else if j, dup := seen[a.Org]; dup {
				vs.add(field+".org_id", "duplicate", "organisation %q is listed twice (also affected[%d])", a.Org, j)
			} else {
				seen[a.Org] = i
			}
			approxRange(&vs, field, a)
			statusField(&vs, field, a.Status)
		}
	}
	return vs.err()
}

// categoryList checks a list of category names.
func categoryList(vs *violations, field string, vals []string) {
	if len(vals) > MaxCategories {
		vs.add(field, "too_many", "%s has %d entries; at most %d", field, len(vals), MaxCategories)
		return
	}
	for i, v := range vals {
		textField(vs, fmt.Sprintf("%s[%d]", field, i), v, true, MaxShortText)
	}
}

// approxRange checks the approximate numbers of one affected organisation.
func approxRange(vs *violations, field string, a Affected) {
	if a.ApproxSubjects < 0 || a.ApproxSubjects > MaxApproxQuantity {
		vs.add(field+".approx_subjects", "range", "approx_subjects must be between 0 and %d", int64(MaxApproxQuantity))
	}
	if a.ApproxRecords < 0 || a.ApproxRecords > MaxApproxQuantity {
		vs.add(field+".approx_records", "range", "approx_records must be between 0 and %d", int64(MaxApproxQuantity))
	}
}
