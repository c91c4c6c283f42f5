// Package draft renders, for one controller, a draft of its Art. 33(3)
// report to the supervisory authority, pre-filled from the processor's
// breach report.
//
// A draft is built from the breach's latest facts (every revision
// applied), the controller's notice (when it became aware, its deadline,
// what it has recorded) and the controller's registry entry. It comes in
// two forms: Markdown in Swedish or English, laid out along Art. 33(3)
// (a)–(d) so a data protection officer can copy it into the authority's
// form (IMY's e-service in Sweden), and JSON with fixed English keys for
// tools. A draft never states the controller's own assessment: what only
// the controller can say is left as a marked placeholder and listed in
// FieldsToComplete.
package draft

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
)

// Lang is the language of a draft's text.
type Lang string

// Supported languages.
const (
	Swedish Lang = "sv"
	English Lang = "en"
)

// DefaultLang is used when neither the caller nor the organisation's
// locale names a supported language.
const DefaultLang = Swedish

// ParseLang parses "sv" or "en", case-insensitively and ignoring
// surrounding spaces. The empty string parses to "" without error: the
// caller (or Build) then picks the default.
func ParseLang(s string) (Lang, error) {
	switch l := Lang(strings.ToLower(strings.TrimSpace(s))); l {
	case "", Swedish, English:
		return l, nil
	}
	if len(s) > 20 {
		s = s[:20] + "…"
	}
	return "", fmt.Errorf("unknown draft language %q: use %q or %q", s, Swedish, English)
}

// Notification types (the EDPB template's "new" or "follow-up").
const (
	TypeNew      = "new"       // nothing reported to the authority yet
	TypeFollowUp = "follow-up" // the notice is resolved as reported: this supplements that report (Art. 33(4))
)

// DiscoveryRoute is the EDPB template's discovery route for every breach
// Cascade carries.
const DiscoveryRoute = "detected and communicated by the data processor"

// AuthorityIMY is the authority named in a Swedish draft that has not yet
// been reported; AuthorityGeneric in an English one.
const (
	AuthorityIMY     = "IMY"
	AuthorityGeneric = "the supervisory authority"
)

// Codes in Draft.FieldsToComplete: what the controller must still fill in.
// They are stable, snake_case and English in both languages; the Markdown
// renders them as a localised checklist.
const (
	FieldAuthority            = "authority"             // an English draft names no authority until one is recorded
	FieldOrganisationNumber   = "organisation_number"   // the controller's organisation number (not in the registry)
	FieldOwnReference         = "own_reference"         // the controller's own case reference; absent once reported with a reference
	FieldIncidentType         = "incident_type"         // unauthorised access or disclosure, loss, alteration, destruction
	FieldIncidentStarted      = "incident_started"      // when the incident began, if the processor did not say
	FieldIncidentEnded        = "incident_ended"        // when the incident ended (or that it is ongoing), if the processor did not say
	FieldSubjectCategories    = "subject_categories"    // the processor named no categories of data subjects
	FieldDataCategories       = "data_categories"       // the processor named no categories of personal data
	FieldApproxSubjects       = "approx_subjects"       // the processor gave no number of data subjects for this controller
	FieldApproxRecords        = "approx_records"        // the processor gave no number of records for this controller
	FieldDPOContact           = "dpo_contact"           // the registry has no DPO address
	FieldRiskAssessment       = "risk_assessment"       // the controller's own assessment of consequences and severity
	FieldControllerMeasures   = "controller_measures"   // measures the controller took or proposes
	FieldSubjectCommunication = "subject_communication" // Art. 34 decision not recorded yet
	FieldDelayReason          = "delay_reason"          // late (Art. 33(1)) and no reason recorded
)

// Draft is one controller's draft report. Its JSON form is the draft for
// tools: keys are snake_case English whatever the language, times are UTC
// (RFC 3339), durations are Go duration strings rounded to the minute, and
// an approximate number of 0 means unknown.
type Draft struct {
	Language          Lang        `json:"language"`
	GeneratedAt       time.Time   `json:"generated_at"`
	NoticeID          string      `json:"notice_id"`
	Controller        Controller  `json:"controller"`
	Authority         string      `json:"authority"`         // the recorded authority once reported, else AuthorityIMY (sv) or AuthorityGeneric (en)
	NotificationType  string      `json:"notification_type"` // TypeNew or TypeFollowUp
	Outcome           *Outcome    `json:"outcome,omitempty"` // what the controller recorded, if anything
	DiscoveryRoute    string      `json:"discovery_route"`
	Processor         Processor   `json:"processor"`
	BecameAwareAt     time.Time   `json:"became_aware_at,omitzero"` // the notice's delivered_at: the processor informed the controller
	Deadline          time.Time   `json:"deadline,omitzero"`
	TimeRemaining     string      `json:"time_remaining,omitempty"` // until the deadline, while not late and not reported
	Late              bool        `json:"late"`                     // the deadline has passed and nothing was reported to the authority
	DelayReasonNeeded bool        `json:"delay_reason_needed"`      // Late, or reported after the deadline (Art. 33(1))
	DelayReason       string      `json:"delay_reason"`             // as recorded with a late report, else ""
	ProcessorDelay    string      `json:"processor_delay"`          // delivered_at - discovered_at; "" before delivery
	Breach            BreachFacts `json:"breach"`

	DataCategories    []string `json:"data_categories"`
	SubjectCategories []string `json:"subject_categories"`
	ApproxSubjects    int64    `json:"approx_subjects"` // this controller's; 0 = unknown
	ApproxRecords     int64    `json:"approx_records"`  // this controller's; 0 = unknown
	// AffectedStatus is what the processor says of this controller:
	// CONFIRMED, UNDER_INVESTIGATION or NOT_AFFECTED (its notice was
	// withdrawn: WithdrawnAt and WithdrawalStatement say when and why).
	AffectedStatus              breach.AffectedStatus `json:"affected_status"`
	WithdrawnAt                 time.Time             `json:"withdrawn_at,omitzero"`
	WithdrawalStatement         string                `json:"withdrawal_statement,omitempty"`
	LikelyConsequences          string                `json:"likely_consequences"`
	MeasuresTakenByProcessor    string                `json:"measures_taken_by_processor"`
	MeasuresProposedByProcessor string                `json:"measures_proposed_by_processor"`
	AdviceToControllers         string                `json:"advice_to_controllers"`
	ControllerMeasures          string                `json:"controller_measures"` // always "": for the controller to fill in
	DPOContact                  string                `json:"dpo_contact"`

	SubjectCommunication SubjectCommunication `json:"subject_communication"`
	FieldsToComplete     []string             `json:"fields_to_complete"` // Field… codes, in checklist order
}

// Controller names the organisation the draft is for.
type Controller struct {
	Name  string       `json:"name"`
	OrgID breach.OrgID `json:"org_id"`
}

// Processor is the source of the facts and its contact point.
type Processor struct {
	Name    string         `json:"name"`
	Contact breach.Contact `json:"contact"`
}

// BreachFacts is the processor's breach as of its latest revision.
type BreachFacts struct {
	ID                      breach.BreachID `json:"id"`
	Title                   string          `json:"title"`
	Revision                int             `json:"revision"` // latest revision the facts come from
	Nature                  string          `json:"nature"`
	OccurredFrom            time.Time       `json:"occurred_from,omitzero"`
	OccurredTo              time.Time       `json:"occurred_to,omitzero"`
	DiscoveredByProcessorAt time.Time       `json:"discovered_by_processor_at"`
	Updates                 []Update        `json:"updates,omitempty"` // revisions 2.., oldest first
}

// Update is one follow-up from the processor (Art. 33(4)).
type Update struct {
	Revision int       `json:"revision"`
	At       time.Time `json:"at"`
	Summary  string    `json:"summary"`
}

// Outcome is what the controller recorded to resolve its notice.
type Outcome struct {
	Kind          breach.OutcomeKind `json:"kind"`
	Authority     string             `json:"authority,omitempty"`
	Reference     string             `json:"reference,omitempty"`
	ReportedAt    time.Time          `json:"reported_at,omitzero"`
	Late          bool               `json:"late,omitempty"`
	Justification string             `json:"justification,omitempty"` // why it is not reportable
}

// SubjectCommunication is the Art. 34 status. Recorded is false until the
// controller records a decision; the Markdown then shows a placeholder.
type SubjectCommunication struct {
	Recorded            bool             `json:"recorded"`
	Kind                breach.CommKind  `json:"kind,omitempty"`
	CommunicatedAt      time.Time        `json:"communicated_at,omitzero"`
	How                 string           `json:"how,omitempty"`
	Exemption           breach.Exemption `json:"exemption,omitempty"`
	PublicCommunication string           `json:"public_communication,omitempty"`
	Justification       string           `json:"justification,omitempty"`
}

// Build drafts the report of org for notice n of breach b at now. The
// facts are b.Facts() (the latest revision). lang "" means the
// organisation's locale if it is "sv" or "en", else DefaultLang; so does a
// language Build does not support. org may be nil (an organisation
// missing from the registry): the notice's name and id are used instead.
func Build(b *breach.Breach, n *breach.Notice, org *breach.Org, lang Lang, now time.Time) Draft {
	f := b.Facts()
	if org == nil {
		org = &breach.Org{ID: n.ID.Org, Name: n.OrgName}
	}
	d := Draft{
		Language:         pickLang(lang, org.Locale),
		GeneratedAt:      now.UTC(),
		NoticeID:         n.ID.String(),
		Controller:       Controller{Name: firstNonEmpty(org.Name, n.OrgName, string(n.ID.Org)), OrgID: n.ID.Org},
		NotificationType: TypeNew,
		DiscoveryRoute:   DiscoveryRoute,
		Processor:        Processor{Name: f.Processor, Contact: f.Contact},
		BecameAwareAt:    utc(n.DeliveredAt),
		Deadline:         utc(n.Deadline),
		Breach: BreachFacts{
			ID:                      b.ID,
			Title:                   f.Title,
			Revision:                b.Latest(),
			Nature:                  f.Nature,
			OccurredFrom:            utc(f.OccurredFrom),
			OccurredTo:              utc(f.OccurredTo),
			DiscoveredByProcessorAt: utc(f.DiscoveredAt),
		},
		DataCategories:              nonNil(f.DataCategories),
		SubjectCategories:           nonNil(f.SubjectCategories),
		ApproxSubjects:              n.ApproxSubjects,
		ApproxRecords:               n.ApproxRecords,
		AffectedStatus:              n.Status(),
		WithdrawnAt:                 utc(n.WithdrawnAt),
		WithdrawalStatement:         n.WithdrawalStatement,
		LikelyConsequences:          f.LikelyConsequences,
		MeasuresTakenByProcessor:    f.MeasuresTaken,
		MeasuresProposedByProcessor: f.MeasuresProposed,
		AdviceToControllers:         f.AdviceToControllers,
		DPOContact:                  org.DPOEmail,
	}
	if d.Breach.ID == "" {
		d.Breach.ID = n.ID.Breach
	}
	for _, r := range b.Revisions {
		d.Breach.Updates = append(d.Breach.Updates, Update{Revision: r.Number, At: utc(r.At), Summary: r.Update.Summary})
	}
	// The notice carries the numbers known when it was created; an update
	// naming the organisation again may have supplied them later.
	for _, a := range f.Affected {
		if a.Org != n.ID.Org {
			continue
		}
		if d.ApproxSubjects == 0 {
			d.ApproxSubjects = a.ApproxSubjects
		}
		if d.ApproxRecords == 0 {
			d.ApproxRecords = a.ApproxRecords
		}
	}

	reported := false
	if o := n.Outcome; o != nil {
		d.Outcome = &Outcome{Kind: o.Kind, Authority: o.Authority, Reference: o.Reference,
			ReportedAt: utc(o.ReportedAt), Late: o.Late, Justification: o.Justification}
		if o.Kind == breach.OutcomeReported {
			reported = true
			d.NotificationType = TypeFollowUp
			d.Authority = o.Authority
			d.DelayReason = o.DelayReason
			d.DelayReasonNeeded = o.Late
		}
	}
	if d.Authority == "" {
		d.Authority = AuthorityGeneric
		if d.Language == Swedish {
			d.Authority = AuthorityIMY
		}
	}
	if !reported && !n.Deadline.IsZero() && n.State != breach.StateWithdrawn { // a withdrawn notice is never late
		if now.Before(n.Deadline) {
			d.TimeRemaining = goDuration(n.Deadline.Sub(now))
		} else {
			d.Late = true // as breach.Notice.Overdue: at the deadline is late
			d.DelayReasonNeeded = true
		}
	}
	discovered := n.DiscoveredAt
	if discovered.IsZero() {
		discovered = f.DiscoveredAt
	}
	if !n.DeliveredAt.IsZero() && !discovered.IsZero() {
		d.ProcessorDelay = goDuration(n.DeliveredAt.Sub(discovered))
	}
	if sc := n.SubjectComm; sc != nil {
		d.SubjectCommunication = SubjectCommunication{Recorded: true, Kind: sc.Kind, CommunicatedAt: utc(sc.CommunicatedAt),
			How: sc.How, Exemption: sc.Exemption, PublicCommunication: sc.PublicCommunication, Justification: sc.Justification}
	}
	d.FieldsToComplete = d.missing()
	return d
}

// missing lists the Field… codes the controller must still fill in, in
// the order of the checklist.
func (d *Draft) missing() []string {
	var fields []string
	add := func(cond bool, f string) {
		if cond {
			fields = append(fields, f)
		}
	}
	add(d.Authority == AuthorityGeneric, FieldAuthority)
	add(true, FieldOrganisationNumber)
	add(d.Outcome == nil || d.Outcome.Reference == "", FieldOwnReference)
	add(true, FieldIncidentType)
	add(d.Breach.OccurredFrom.IsZero(), FieldIncidentStarted)
	add(d.Breach.OccurredTo.IsZero(), FieldIncidentEnded)
	add(len(d.SubjectCategories) == 0, FieldSubjectCategories)
	add(len(d.DataCategories) == 0, FieldDataCategories)
	add(d.ApproxSubjects == 0, FieldApproxSubjects)
	add(d.ApproxRecords == 0, FieldApproxRecords)
	add(d.DPOContact == "", FieldDPOContact)
	add(true, FieldRiskAssessment)
	add(true, FieldControllerMeasures)
	add(!d.SubjectCommunication.Recorded, FieldSubjectCommunication)
	add(d.DelayReasonNeeded && d.DelayReason == "", FieldDelayReason)
	return fields
}

// JSON is the draft as indented JSON, ending in a newline.
func (d Draft) JSON() ([]byte, error) {
	data, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode draft %s: %w", d.NoticeID, err)
	}
	return append(data, '\n'), nil
}

func pickLang(lang Lang, locale string) Lang {
	if lang == Swedish || lang == English {
		return lang
	}
	// A locale such as "sv-SE" or "en_GB" counts by its language.
	base, _, _ := strings.Cut(strings.ReplaceAll(locale, "_", "-"), "-")
	if l, err := ParseLang(base); err == nil && l != "" {
		return l
	}
	return DefaultLang
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// goDuration is d rounded to the minute as a Go duration string without
// trailing zero units: "26h30m", "72h", "45m", "0m".
func goDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	if d == 0 {
		return "0m"
	}
	s := strings.TrimSuffix(d.String(), "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
