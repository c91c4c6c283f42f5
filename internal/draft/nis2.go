package draft

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
)

// AuthorityCERTSE is the authority named in a NIS2 early-warning draft:
// in Sweden the supervisory authority's incident reporting goes to
// CERT-SE (MSB) under the Cybersecurity Act (cybersäkerhetslagen
// 2025:1506).
const AuthorityCERTSE = "CERT-SE"

// Codes in EarlyWarning.FieldsToComplete besides the shared ones.
const (
	FieldSignificance       = "significance"        // whether the incident is significant (NIS2 Art. 23(3)): only the entity can say
	FieldSuspectedMalicious = "suspected_malicious" // suspected unlawful or malicious act, when the processor's facts do not say
	FieldCrossBorder        = "cross_border"        // whether the incident could have a cross-border impact
	FieldAffectedServices   = "affected_services"   // which of the entity's services are affected
)

// EarlyWarning is a draft of a NIS2 early warning (Art. 23(4)(a); in
// Sweden to CERT-SE): within 24 hours of becoming aware of a significant
// incident, saying whether it is suspected of being caused by unlawful or
// malicious acts and whether it could have a cross-border impact. Only
// what the processor's facts say is filled in; the rest is listed in
// FieldsToComplete.
type EarlyWarning struct {
	Language      Lang        `json:"language"`
	GeneratedAt   time.Time   `json:"generated_at"`
	NoticeID      string      `json:"notice_id"`
	Obligation    string      `json:"obligation"` // nis2_early_warning
	Controller    Controller  `json:"controller"`
	Authority     string      `json:"authority"` // the recorded authority once reported, else AuthorityCERTSE
	Reported      bool        `json:"reported"`  // the early warning is recorded as reported
	Processor     Processor   `json:"processor"`
	BecameAwareAt time.Time   `json:"became_aware_at,omitzero"` // the notice's delivery
	Deadline      time.Time   `json:"deadline,omitzero"`        // the early warning's
	TimeRemaining string      `json:"time_remaining,omitempty"` // until the deadline, while open and not late
	Late          bool        `json:"late"`                     // the deadline passed and nothing is recorded
	Breach        BreachFacts `json:"breach"`
	// SuspectedMalicious is "suspected" when the processor's description
	// names an attack (MaliciousHint: the words it used), else "" (to be
	// filled in). CrossBorder is always the entity's to say.
	SuspectedMalicious string   `json:"suspected_malicious"`
	MaliciousHint      string   `json:"malicious_hint,omitempty"`
	MeasuresTaken      string   `json:"measures_taken_by_processor"`
	FieldsToComplete   []string `json:"fields_to_complete"`
}

// maliciousWords are words in a processor's description of the breach
// that say it was an attack (lower case, English and Swedish).
var maliciousWords = []string{"ransomware", "malware", "attack", "attacker", "hacker", "hacked", "intrusion", "phishing",
	"exfiltrat", "stolen credentials", "unauthorised access", "unauthorized access", "ddos", "extortion",
	"angrepp", "attacken", "intrång", "skadlig kod", "utpressning", "nätfiske", "obehörig åtkomst", "dataintrång"}

// BuildEarlyWarning drafts n's NIS2 early warning from b's latest facts;
// org is the registry entry (nil: the notice's name alone).
func BuildEarlyWarning(b *breach.Breach, n *breach.Notice, org *breach.Org, lang Lang, now time.Time) EarlyWarning {
	f := b.Facts()
	if org == nil {
		org = &breach.Org{ID: n.ID.Org, Name: n.OrgName}
	}
	w := EarlyWarning{
		Language:      pickLang(lang, org.Locale),
		GeneratedAt:   now.UTC(),
		NoticeID:      n.ID.String(),
		Obligation:    string(breach.ObligationNIS2EarlyWarning),
		Controller:    Controller{Name: firstNonEmpty(org.Name, n.OrgName, string(n.ID.Org)), OrgID: n.ID.Org},
		Authority:     AuthorityCERTSE,
		Processor:     Processor{Name: f.Processor, Contact: f.Contact},
		BecameAwareAt: utc(n.DeliveredAt),
		Breach: BreachFacts{ID: b.ID, Title: f.Title, Revision: b.Latest(), Nature: f.Nature,
			OccurredFrom: utc(f.OccurredFrom), OccurredTo: utc(f.OccurredTo), DiscoveredByProcessorAt: utc(f.DiscoveredAt)},
		MeasuresTaken: f.MeasuresTaken,
	}
	if w.Breach.ID == "" {
		w.Breach.ID = n.ID.Breach
	}
	if o := n.Obligation(breach.ObligationNIS2EarlyWarning); o != nil {
		w.Deadline = utc(o.Deadline)
		if out := o.Outcome; out != nil && out.Kind == breach.OutcomeReported {
			w.Reported, w.Authority = true, out.Authority
		}
		if o.Outcome == nil && !o.Deadline.IsZero() && n.State != breach.StateWithdrawn {
			if now.Before(o.Deadline) {
				w.TimeRemaining = goDuration(o.Deadline.Sub(now))
			} else {
				w.Late = true
			}
		}
	}
	text := strings.ToLower(f.Title + "\n" + f.Nature)
	var hits []string
	for _, m := range maliciousWords {
		if strings.Contains(text, m) {
			hits = append(hits, m)
		}
	}
	if len(hits) > 0 {
		w.SuspectedMalicious, w.MaliciousHint = "suspected", strings.Join(hits, ", ")
	}
	w.FieldsToComplete = []string{FieldSignificance}
	if w.SuspectedMalicious == "" {
		w.FieldsToComplete = append(w.FieldsToComplete, FieldSuspectedMalicious)
	}
	w.FieldsToComplete = append(w.FieldsToComplete, FieldCrossBorder, FieldAffectedServices, FieldOrganisationNumber)
	return w
}

// JSON is the draft for tools, indented.
func (w EarlyWarning) JSON() ([]byte, error) { return json.MarshalIndent(w, "", "  ") }

// ewWords are an early-warning draft's words in one language.
type ewWords struct {
	title, intro, particulars, entity, authority, aware, deadline, remaining, late, reported string
	incident, titleL, nature, discovered, occurred, questions, malicious, maliciousYes       string
	maliciousTodo, cross, crossTodo, significance, significanceTodo, services, servicesTodo  string
	orgNumber, orgNumberTodo, measures, source, checklist                                    string
}

var ewSwedish = ewWords{
	title:            "Utkast: tidig varning enligt cybersäkerhetslagen (NIS2)",
	intro:            "Utkast till tidig varning (NIS2-direktivet artikel 23.4 a, cybersäkerhetslagen 2025:1506) om en betydande incident, förifyllt med personuppgiftsbiträdets uppgifter. Kontrollera och komplettera före inlämning.",
	particulars:      "Uppgifter",
	entity:           "Verksamhetsutövare",
	authority:        "Mottagare",
	aware:            "Fick kännedom",
	deadline:         "Tidsfrist för tidig varning (24 timmar)",
	remaining:        "Tid kvar",
	late:             "Tidsfristen har passerat: ange skälen till dröjsmålet",
	reported:         "Registrerad som rapporterad till",
	incident:         "Incidenten",
	titleL:           "Rubrik",
	nature:           "Beskrivning",
	discovered:       "Upptäckt av biträdet",
	occurred:         "Inträffade",
	questions:        "Det som en tidig varning ska ange",
	malicious:        "Misstänks incidenten ha orsakats av olagliga eller avsiktligt skadliga handlingar?",
	maliciousYes:     "Misstänks: biträdets beskrivning nämner",
	maliciousTodo:    "ja eller nej, och varför",
	cross:            "Kan incidenten få gränsöverskridande konsekvenser?",
	crossTodo:        "ja eller nej, och vilka länder",
	significance:     "Är incidenten betydande (artikel 23.3)?",
	significanceTodo: "er bedömning: allvarlig driftstörning eller ekonomisk förlust, eller betydande skada för andra",
	services:         "Berörda tjänster",
	servicesTodo:     "vilka av era tjänster som påverkas",
	orgNumber:        "Organisationsnummer",
	orgNumberTodo:    "ert organisationsnummer",
	measures:         "Åtgärder som biträdet har vidtagit",
	source:           "Källa: personuppgiftsbiträdets incidentrapport i Cascade, version",
	checklist:        "Att komplettera",
}

var ewEnglish = ewWords{
	title:            "Draft: NIS2 early warning",
	intro:            "Draft of an early warning (NIS2 Directive Art. 23(4)(a)) of a significant incident, pre-filled with the processor's facts. Check and complete it before submitting.",
	particulars:      "Particulars",
	entity:           "Entity",
	authority:        "Recipient",
	aware:            "Became aware",
	deadline:         "Early-warning deadline (24 hours)",
	remaining:        "Time remaining",
	late:             "The deadline has passed: give the reasons for the delay",
	reported:         "Recorded as reported to",
	incident:         "The incident",
	titleL:           "Title",
	nature:           "Description",
	discovered:       "Discovered by the processor",
	occurred:         "Occurred",
	questions:        "What an early warning states",
	malicious:        "Is the incident suspected of being caused by unlawful or malicious acts?",
	maliciousYes:     "Suspected: the processor's description mentions",
	maliciousTodo:    "yes or no, and why",
	cross:            "Could the incident have a cross-border impact?",
	crossTodo:        "yes or no, and which countries",
	significance:     "Is the incident significant (Art. 23(3))?",
	significanceTodo: "your assessment: severe operational disruption or financial loss, or considerable damage to others",
	services:         "Services affected",
	servicesTodo:     "which of your services are affected",
	orgNumber:        "Organisation number",
	orgNumberTodo:    "your organisation number",
	measures:         "Measures taken by the processor",
	source:           "Source: the processor's breach report in Cascade, revision",
	checklist:        "To complete",
}

// Markdown renders the early-warning draft in w.Language.
func (w EarlyWarning) Markdown() string {
	ew := &ewEnglish
	if w.Language != English {
		ew = &ewSwedish
	}
	r := &renderer{w: wordsFor(w.Language)}
	if w.Language != English {
		if loc, err := time.LoadLocation("Europe/Stockholm"); err == nil {
			r.loc = loc
		}
	}
	r.heading(1, ew.title)
	r.para(ew.intro)
	r.heading(2, ew.particulars)
	r.item(ew.entity, r.inline(w.Controller.Name)+" ("+r.inline(string(w.Controller.OrgID))+")")
	r.item(ew.orgNumber, r.todo(ew.orgNumberTodo))
	if w.Reported {
		r.item(ew.reported, r.inline(w.Authority))
	} else {
		r.item(ew.authority, r.inline(w.Authority))
	}
	r.item(ew.aware, r.when(w.BecameAwareAt))
	r.item(ew.deadline, r.when(w.Deadline))
	if d, ok := parseDuration(w.TimeRemaining); ok {
		r.item(ew.remaining, r.duration(d))
	}
	r.endList()
	if w.Late {
		r.para("**" + ew.late + ".**")
	}
	r.heading(2, ew.incident)
	r.item(ew.titleL, r.inline(w.Breach.Title))
	r.item(ew.discovered, r.when(w.Breach.DiscoveredByProcessorAt))
	if !w.Breach.OccurredFrom.IsZero() {
		r.item(ew.occurred, r.when(w.Breach.OccurredFrom))
	}
	r.endList()
	r.para("**" + ew.nature + ":**")
	r.para(r.text(w.Breach.Nature))
	if strings.TrimSpace(w.MeasuresTaken) != "" {
		r.para("**" + ew.measures + ":**")
		r.para(r.text(w.MeasuresTaken))
	}
	r.heading(2, ew.questions)
	if w.SuspectedMalicious != "" {
		r.item(ew.malicious, ew.maliciousYes+" "+r.inline(w.MaliciousHint))
	} else {
		r.item(ew.malicious, r.todo(ew.maliciousTodo))
	}
	r.item(ew.cross, r.todo(ew.crossTodo))
	r.item(ew.significance, r.todo(ew.significanceTodo))
	r.item(ew.services, r.todo(ew.servicesTodo))
	r.endList()
	r.para(ew.source + " " + strconv.Itoa(w.Breach.Revision) + ".")
	r.heading(2, ew.checklist)
	for _, f := range w.FieldsToComplete {
		r.b.WriteString("- [ ] " + f + "\n")
	}
	return strings.TrimRight(r.b.String(), "\n") + "\n"
}
