package breach

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/mail"
	"slices"
	"time"
)

// Update is follow-up information for a breach (Art. 33(4): information in
// phases). Non-empty fields replace the breach's facts; AddAffected names
// organisations newly found affected, who get their own notice and clock.
type Update struct {
	Breach              BreachID   `json:"breach_id"`
	Summary             string     `json:"summary"` // what changed, in a sentence or two (required)
	Nature              string     `json:"nature,omitempty"`
	OccurredFrom        time.Time  `json:"occurred_from,omitzero"`
	OccurredTo          time.Time  `json:"occurred_to,omitzero"`
	DataCategories      []string   `json:"data_categories,omitempty"`
	SubjectCategories   []string   `json:"subject_categories,omitempty"`
	AddAffected         []Affected `json:"add_affected,omitempty"`
	LikelyConsequences  string     `json:"likely_consequences,omitempty"`
	MeasuresTaken       string     `json:"measures_taken,omitempty"`
	MeasuresProposed    string     `json:"measures_proposed,omitempty"`
	AdviceToControllers string     `json:"advice_to_controllers,omitempty"`
	Contact             *Contact   `json:"contact,omitempty"`
	// NextUpdateBy is the processor's next promise of further information
	// (zero: none); it replaces the open one (see Promise).
	NextUpdateBy  time.Time      `json:"next_update_by,omitzero"`
	SubjectNotice *SubjectNotice `json:"subject_notice,omitempty"` // replaces the previous one as a whole
	// CorrectAffected and Withdraw change what is said of organisations
	// notified before (withdraw.go).
	CorrectAffected []Affected             `json:"correct_affected,omitempty"`
	Withdraw        []WithdrawOrganisation `json:"withdraw,omitempty"`
	// Upstream is a later revision of the upstream notice a forwarded
	// breach forwards (upstream.go).
	Upstream *Upstream `json:"upstream,omitempty"`
}

// Digest identifies an update's content: publishing the same update again
// is idempotent.
func (u *Update) Digest() string {
	data, _ := json.Marshal(u)
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// Validate checks the update's fields.
func (u *Update) Validate() error {
	var vs violations
	if !u.Breach.Valid() {
		vs.add("breach_id", "pattern", "breach id %q does not match %s", truncate(string(u.Breach)), BreachIDPattern)
	}
	textField(&vs, "summary", u.Summary, true, MaxLongText)
	textField(&vs, "nature", u.Nature, false, MaxLongText)
	textField(&vs, "likely_consequences", u.LikelyConsequences, false, MaxLongText)
	textField(&vs, "measures_taken", u.MeasuresTaken, false, MaxLongText)
	textField(&vs, "measures_proposed", u.MeasuresProposed, false, MaxLongText)
	textField(&vs, "advice_to_controllers", u.AdviceToControllers, false, MaxLongText)
	categoryList(&vs, "data_categories", u.DataCategories)
	categoryList(&vs, "subject_categories", u.SubjectCategories)
	validateSubjectNotice(&vs, u.SubjectNotice)
	if u.Contact != nil {
		textField(&vs, "contact.name", u.Contact.Name, false, MaxShortText)
		textField(&vs, "contact.email", u.Contact.Email, false, MaxShortText)
		textField(&vs, "contact.phone", u.Contact.Phone, false, MaxShortText)
		if u.Contact.Email == "" && u.Contact.Phone == "" {
			vs.add("contact", "required", "contact needs an email or a phone")
		}
		if u.Contact.Email != "" {
			if a, err := mail.ParseAddress(u.Contact.Email); err != nil || a.Address != u.Contact.Email {
				vs.add("contact.email", "format", "contact.email %q is not an e-mail address", truncate(u.Contact.Email))
			}
		}
	}
	fromOK, toOK := timeField(&vs, "occurred_from", u.OccurredFrom), timeField(&vs, "occurred_to", u.OccurredTo)
	if fromOK && toOK && !u.OccurredFrom.IsZero() && !u.OccurredTo.IsZero() && u.OccurredTo.Before(u.OccurredFrom) {
		vs.add("occurred_to", "order", "occurred_to is before occurred_from")
	}
	timeField(&vs, "next_update_by", u.NextUpdateBy)
	if len(u.AddAffected) > MaxAffected {
		vs.add("add_affected", "too_many", "add_affected has %d entries; at most %d", len(u.AddAffected), MaxAffected)
	}
	seen := map[OrgID]bool{}
	for i, a := range u.AddAffected {
		field := fmt.Sprintf("add_affected[%d]", i)
		switch {
		case !a.Org.Valid():
			vs.add(field+".org_id", "pattern", "organisation id %q does not match %s", truncate(string(a.Org)), OrgIDPattern)
		case seen[a.Org]:
			vs.add(field+".org_id", "duplicate", "organisation %q is listed twice", a.Org)
		}
		seen[a.Org] = true
		approxRange(&vs, field, a)
		statusField(&vs, field, a.Status)
	}
	u.validateTargets(&vs)
	return vs.err()
}

// Revision is one phase of a breach's information: revision 1 is the
// report, each update adds one.
type Revision struct {
	Number         int       `json:"number"`
	At             time.Time `json:"at"`
	Update         Update    `json:"update"`
	Digest         string    `json:"digest"`
	FirstChunk     int       `json:"first_chunk"` // membership chunks of organisations added by this revision
	Chunks         int       `json:"chunks"`
	Added          int       `json:"added"` // organisations newly notified
	UnknownOrgs    []OrgID   `json:"unknown_org_ids,omitempty"`
	FanoutComplete bool      `json:"fanout_complete"`
	// PromiseOutcome is what the update did to the promise open when it
	// arrived: PromiseKept, PromiseLate, or "" (none open).
	PromiseOutcome string `json:"promise_outcome,omitempty"`
	// Corrected, Withdrawn and Renotified count the organisations whose
	// numbers the revision corrected, that it withdrew, and withdrawn ones
	// it named affected again.
	Corrected  int `json:"corrected,omitempty"`
	Withdrawn  int `json:"withdrawn,omitempty"`
	Renotified int `json:"renotified,omitempty"`
}

// LatestShared is the latest revision delivered to every affected
// organisation: revisions that only correct or withdraw (Targeted) go to
// the organisations they name only.
func (b *Breach) LatestShared() int {
	for i := len(b.Revisions) - 1; i >= 0; i-- {
		if !b.Revisions[i].Update.Targeted() {
			return b.Revisions[i].Number
		}
	}
	return 1
}

// RevisionNumber is revision rev (2, 3, ...), if recorded.
func (b *Breach) RevisionNumber(rev int) *Revision {
	for i := range b.Revisions {
		if b.Revisions[i].Number == rev {
			return &b.Revisions[i]
		}
	}
	return nil
}

// Latest is the breach's latest revision number.
func (b *Breach) Latest() int {
	if len(b.Revisions) == 0 {
		return 1
	}
	return b.Revisions[len(b.Revisions)-1].Number
}

// RevisionByDigest returns the revision with this update digest, if any.
func (b *Breach) RevisionByDigest(d string) *Revision {
	for i := range b.Revisions {
		if b.Revisions[i].Digest == d {
			return &b.Revisions[i]
		}
	}
	return nil
}

// Facts is the breach's report with every update applied in order: what
// the latest revision says.
func (b *Breach) Facts() Report {
	r := b.Report
	for _, rev := range b.Revisions {
		u := rev.Update
		set := func(dst *string, v string) {
			if v != "" {
				*dst = v
			}
		}
		set(&r.Nature, u.Nature)
		set(&r.LikelyConsequences, u.LikelyConsequences)
		set(&r.MeasuresTaken, u.MeasuresTaken)
		set(&r.MeasuresProposed, u.MeasuresProposed)
		set(&r.AdviceToControllers, u.AdviceToControllers)
		if !u.OccurredFrom.IsZero() {
			r.OccurredFrom = u.OccurredFrom
		}
		if !u.OccurredTo.IsZero() {
			r.OccurredTo = u.OccurredTo
		}
		if u.DataCategories != nil {
			r.DataCategories = u.DataCategories
		}
		if u.SubjectCategories != nil {
			r.SubjectCategories = u.SubjectCategories
		}
		if u.Contact != nil {
			r.Contact = *u.Contact
		}
		if u.SubjectNotice != nil {
			r.SubjectNotice = u.SubjectNotice
		}
		if u.Upstream != nil {
			r.Upstream = u.Upstream
		}
		r.Affected = append(slices.Clip(r.Affected), u.AddAffected...)
		r.NextUpdateBy = u.NextUpdateBy // the latest promise replaces the previous one, or leaves none
		if len(u.CorrectAffected) > 0 || len(u.Withdraw) > 0 {
			as := slices.Clone(r.Affected)
			for i := range as {
				if c, ok := u.Correction(as[i].Org); ok {
					as[i] = c
				}
				if _, ok := u.Withdrawal(as[i].Org); ok {
					as[i].Status = StatusNotAffected
				}
			}
			r.Affected = as
		}
	}
	return r
}

// TotalChunks is the number of membership chunks across all revisions.
func (b *Breach) TotalChunks() int {
	n := b.Chunks
	for _, r := range b.Revisions {
		n += r.Chunks
	}
	return n
}
