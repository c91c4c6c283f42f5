package breach

import (
	"slices"
	"time"
)

// Breach is one incident at the processor as Cascade recorded it.
type Breach struct {
	ID             BreachID   `json:"id"`
	Revision       int        `json:"revision"`
	Report         Report     `json:"report"`
	ReceivedAt     time.Time  `json:"received_at"`
	Digest         string     `json:"digest"` // SHA-256 of the canonical report, to tell a re-publish from a conflicting one
	NoticeCount    int        `json:"notice_count"`
	UnknownOrgs    []OrgID    `json:"unknown_org_ids,omitempty"`
	Chunks         int        `json:"chunks"` // membership chunks written for the fan-out
	FanoutComplete bool       `json:"fanout_complete"`
	Revisions      []Revision `json:"revisions,omitempty"` // revisions 2.. (updates)
	// Promise is the processor's own clock: its open promise of the next
	// update and how its promises went.
	Promise Promise `json:"promise,omitzero"`
	// Advisory is the history of the public advisory page, oldest first:
	// published while its last event is AdvisoryPublished.
	Advisory []AdvisoryEvent `json:"advisory,omitempty"`
}

// Org is one customer organisation in the registry.
type Org struct {
	ID            OrgID  `json:"id"`
	Name          string `json:"name"`
	DPOEmail      string `json:"dpo_email,omitempty"`
	SecurityEmail string `json:"security_email,omitempty"`
	Phone         string `json:"phone,omitempty"`
	// EscalationEmail and EscalationPhone are the organisation's second
	// line (e.g. its head of administration): the last reminder and the
	// overdue message go to EscalationEmail too; the phone is shown to the
	// vendor with the escalation.
	EscalationEmail string `json:"escalation_email,omitempty"`
	EscalationPhone string `json:"escalation_phone,omitempty"`
	WebhookURL      string `json:"webhook_url,omitempty"`
	Locale          string `json:"locale,omitempty"`
	// Channels lists the organisation's delivery channels as the registry
	// names them; empty means the default (see DeliveryChannels).
	Channels []Channel `json:"channels,omitempty"`
	// Regimes are the legal regimes whose obligations the organisation's
	// notices carry; empty means GDPR alone (obligation.go).
	Regimes []Regime `json:"regimes,omitempty"`
}

// UnderNIS2 reports whether the organisation's notices carry NIS2's
// obligations besides GDPR's.
func (o Org) UnderNIS2() bool { return slices.Contains(o.Regimes, RegimeNIS2) }

// For is the breach as one organisation may see it: the affected lists
// (the report's and each revision's) keep only org's entry, and what
// would tell how many or which others were notified (the notice count,
// the unknown organisations, the organisations each revision added) is
// left out. Digest and chunks stay: they name no organisation.
func (b Breach) For(org OrgID) Breach {
	keep := func(as []Affected) []Affected {
		var out []Affected
		for _, a := range as {
			if a.Org == org {
				out = append(out, a)
			}
		}
		return out
	}
	b.Report.Affected = keep(b.Report.Affected)
	b.NoticeCount = 0
	b.UnknownOrgs = nil
	revs := make([]Revision, len(b.Revisions))
	for i, r := range b.Revisions {
		r.Update.AddAffected = keep(r.Update.AddAffected)
		r.Update.CorrectAffected = keep(r.Update.CorrectAffected)
		r.Update.Withdraw = slices.DeleteFunc(slices.Clone(r.Update.Withdraw), func(w WithdrawOrganisation) bool { return w.Org != org })
		if len(r.Update.Withdraw) == 0 {
			r.Update.Withdraw = nil
		}
		r.UnknownOrgs, r.Added = nil, 0
		r.Corrected, r.Withdrawn, r.Renotified = 0, 0, 0
		revs[i] = r
	}
	if b.Revisions != nil {
		b.Revisions = revs
	}
	return b
}
