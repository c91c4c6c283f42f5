package email

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Stockholm on hosts without a zone database

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/message"
)

// AttachmentName is the file the signed message is attached as, ready for
// cascadectl verify.
const AttachmentName = "cascade-message.json"

// doc is one e-mail's content, rendered as plain text and as HTML.
type doc struct {
	Lang     string
	Subject  string
	Greeting string
	Intro    []string
	Facts    []fact
	Sections []section
	Warning  string
	Footer   string
}

type fact struct{ Label, Value string }

type section struct {
	Title    string
	Paras    []string
	Commands []string
	After    []string
}

// texts are the words of one language.
type texts struct {
	lang                                                          string
	subjNotice, subjRevision, subjReminder, subjOverdue, subjRedo string
	greeting                                                      string
	introNotice, introRevision, introReminder, introOverdue       string
	introRedelivery, late, changed                                string
	escalated                                                     string
	lNotice, lTitle, lNature, lDiscovered, lOccurred, lAffected   string
	lData, lSubjects, lConsequences, lTaken, lProposed, lAdvice   string
	lContact, lDeadline, about, unknown, subjectsRecords          string
	deadlineTitle, deadlinePara, deadlineOverdue                  string
	ackTitle, ackPara, ackOther, outcomePara                      string
	verifyTitle, verifyPara, verifyAfter, verifyUnsigned          string
	trustPara                                                     string
	warning, footer                                               string
	subjAnswer, introAnswer, introShared, lQuestion, lAnswer      string
	subjWithdrawal, introWithdrawal, lStatement                   string
	withdrawnTitle, withdrawnPara, investigating                  string
	hours, minutes                                                func(int) string
	// The NIS2 obligations' reminder and overdue texts (Cybersecurity
	// Act), and the obligations' names by kind.
	nis2Reminder, nis2Overdue, nis2Para string
	obligations                         map[string]string
}

var swedish = texts{
	lang:         "sv",
	subjNotice:   "Personuppgiftsincident: %s [%s]",
	subjRevision: "Ny information (version %d): %s [%s]",
	subjReminder: "Påminnelse, %s kvar: %s [%s]",
	subjOverdue:  "Tidsfristen har passerat: %s [%s]",
	nis2Reminder: "Påminnelse: det återstår %s till tidsfristen %s för er %s (NIS2, cybersäkerhetslagen) om incidenten nedan, och den är ännu inte registrerad i Cascade (rapporterad, eller dokumenterad som inte tillämplig).",
	nis2Overdue:  "Tidsfristen %s för er %s (NIS2, cybersäkerhetslagen) om incidenten nedan har passerat och den är inte registrerad i Cascade. Rapportera så snart som möjligt och ange skälen till dröjsmålet.",
	nis2Para:     "Ni informerades %s. Er organisation omfattas av cybersäkerhetslagen: rapporten till CERT-SE ska vara inlämnad senast %s. Registrera den sedan i Cascade: cascadectl notice record-report --obligation (eller på underrättelsens sida i Cascade).",
	obligations: map[string]string{"nis2_early_warning": "tidiga varning", "nis2_incident_notification": "incidentanmälan",
		"nis2_final_report": "slutrapport"},
	subjRedo:        "Ej kvitterad: %s [%s]",
	greeting:        "Till %s",
	introNotice:     "%s, som behandlar personuppgifter för er räkning (personuppgiftsbiträde), har drabbats av en personuppgiftsincident som berör er organisation. Detta är biträdets underrättelse till er enligt artikel 33.2 i dataskyddsförordningen.",
	introRevision:   "%s har lämnat ny information om personuppgiftsincidenten (version %d, artikel 33.4 i dataskyddsförordningen).",
	introReminder:   "Påminnelse: det återstår %s till er tidsfrist %s för personuppgiftsincidenten nedan, och ärendet är ännu inte avslutat i Cascade (anmält till Integritetsskyddsmyndigheten eller dokumenterat som inte anmälningspliktigt).",
	introOverdue:    "Er tidsfrist %s för personuppgiftsincidenten nedan har passerat och ärendet är inte avslutat i Cascade. En anmälan till Integritetsskyddsmyndigheten som görs efter 72 timmar ska ange skälen till dröjsmålet (artikel 33.1).",
	introRedelivery: "Ni har ännu inte kvitterat underrättelsen om personuppgiftsincidenten nedan, så den skickas igen (utskick %d).",
	late:            "Meddelandet skickas senare än planerat.",
	escalated:       "Meddelandet går också till %s, er organisations kontakt för eskalering.",
	changed:         "Det här har ändrats: %s",
	lNotice:         "Ärende",
	lTitle:          "Incident",
	lNature:         "Vad har hänt",
	lDiscovered:     "Upptäckt av biträdet",
	lOccurred:       "Inträffade",
	lAffected:       "Berörda hos er",
	lData:           "Personuppgifter",
	lSubjects:       "Registrerade",
	lConsequences:   "Troliga konsekvenser",
	lTaken:          "Vidtagna åtgärder",
	lProposed:       "Föreslagna åtgärder",
	lAdvice:         "Råd till er",
	lContact:        "Kontakt hos biträdet",
	lDeadline:       "Er tidsfrist",
	about:           "cirka %s",
	unknown:         "okänt",
	subjectsRecords: "%s registrerade, %s poster",
	deadlineTitle:   "Er tidsfrist",
	deadlinePara:    "Ni informerades %s. Om incidenten ska anmälas till Integritetsskyddsmyndigheten (IMY) ska det ske utan onödigt dröjsmål och senast %s (72 timmar, artikel 33.1). Tidsfristen flyttas inte när ni kvitterar.",
	deadlineOverdue: "Tidsfristen var %s.",
	ackTitle:        "Så kvitterar ni",
	ackPara:         "Bekräfta att ni tagit emot underrättelsen med Cascades kommandoradsverktyg:",
	ackOther:        "eller via Cascades gRPC-API (NoticeService/AcknowledgeNotice) eller er instrumentpanel för Cascade, med den åtkomst ni redan har fått av %s.",
	outcomePara:     "Registrera sedan vad ni gjort: cascadectl notice record-report (anmält till IMY) eller cascadectl notice record-not-reportable (inte anmälningspliktigt).",
	verifyTitle:     "Så kontrollerar ni att meddelandet är äkta",
	verifyPara:      "Meddelandet är signerat med Cascades nyckel %s (Ed25519). Spara bilagan " + AttachmentName + " och kör:",
	verifyAfter:     "Cascades publika nycklar publiceras också på NATS-subjektet cascade.keys och via gRPC (KeyService/ListSigningKeys). Kontrollera även att ärendet %s finns hos er i Cascade: cascadectl notice show %s.",
	verifyUnsigned:  "Meddelandet saknar Cascades signatur: lita inte på det, och kontrollera ärendet %s i Cascade (cascadectl notice show %s).",
	trustPara:       "Lita bara på uppgifter som går att verifiera, eller som ni ser i Cascade självt: på sidan ”Kontrollera ett meddelande” i er instrumentpanel för Cascade kan ni släppa bilagan (eller hela e-postmeddelandet) och se om Cascade har signerat den och, med er åtkomst, vad Cascade har om ärendet. Ring personuppgiftsbiträdet bara på ett nummer ni känner till från avtalet, aldrig på ett nummer som står i ett meddelande.",
	warning:         "Cascade ber aldrig om lösenord, inloggningsuppgifter eller andra behörighetsuppgifter och länkar aldrig till en inloggningssida. Ett meddelande som gör det kommer inte från oss: rapportera det till er säkerhetsfunktion.",
	footer:          "Skickat av Cascade för %s. Meddelande-id %s.",
	subjAnswer:      "Svar från biträdet: %s [%s]",
	introAnswer:     "%s har besvarat er fråga om personuppgiftsincidenten nedan (artikel 28.3 f i dataskyddsförordningen). Svaret påverkar inte er tidsfrist.",
	introShared:     "%s har besvarat en fråga om personuppgiftsincidenten nedan och delar svaret med alla berörda organisationer. Svaret påverkar inte er tidsfrist.",
	lQuestion:       "Fråga",
	lAnswer:         "Svar",
	investigating:   " (biträdet utreder fortfarande om ni berörs)",
	subjWithdrawal:  "Ni berörs inte: %s [%s]",
	introWithdrawal: "%s har konstaterat att er organisation inte berörs av personuppgiftsincidenten nedan och drar tillbaka sin underrättelse (version %d).",
	lStatement:      "Biträdets förklaring",
	withdrawnTitle:  "Vad det innebär",
	withdrawnPara:   "Ärendet är tillbakadraget i Cascade: inga fler påminnelser skickas och tidsfristen gäller inte längre. Ni kan fortfarande dokumentera er bedömning (artikel 33.5), till exempel med cascadectl notice record-not-reportable. Om biträdet senare anger er organisation som berörd igen får ni en ny underrättelse med en ny tidsfrist.",
	hours: func(n int) string {
		if n == 1 {
			return "1 timme"
		}
		return fmt.Sprintf("%d timmar", n)
	},
	minutes: func(n int) string {
		if n == 1 {
			return "1 minut"
		}
		return fmt.Sprintf("%d minuter", n)
	},
}

var english = texts{
	lang:         "en",
	subjNotice:   "Personal data breach: %s [%s]",
	subjRevision: "New information (revision %d): %s [%s]",
	subjReminder: "Reminder, %s left: %s [%s]",
	subjOverdue:  "Deadline passed: %s [%s]",
	nis2Reminder: "Reminder: %s remain before the deadline %s of your %s (NIS2) about the incident below, and it is not recorded in Cascade yet (reported, or documented as not applicable).",
	nis2Overdue:  "The deadline %s of your %s (NIS2) about the incident below has passed and it is not recorded in Cascade. Report as soon as possible and give the reasons for the delay.",
	nis2Para:     "You were informed at %s. Your organisation is under NIS2: the report to the CSIRT (in Sweden CERT-SE) is due by %s. Then record it in Cascade: cascadectl notice record-report --obligation (or on the notice's page in Cascade).",
	obligations: map[string]string{"nis2_early_warning": "early warning", "nis2_incident_notification": "incident notification",
		"nis2_final_report": "final report"},
	subjRedo:        "Not yet acknowledged: %s [%s]",
	greeting:        "To %s",
	introNotice:     "%s, which processes personal data on your behalf (your processor), has suffered a personal data breach that affects your organisation. This is the processor's notification to you under Article 33(2) GDPR.",
	introRevision:   "%s has provided new information about the personal data breach (revision %d, Article 33(4) GDPR).",
	introReminder:   "Reminder: %s remain until your deadline %s for the personal data breach below, and it is not yet resolved in Cascade (reported to the supervisory authority or documented as not reportable).",
	introOverdue:    "Your deadline %s for the personal data breach below has passed and it is not resolved in Cascade. A notification to the supervisory authority made after 72 hours must give the reasons for the delay (Article 33(1)).",
	introRedelivery: "You have not yet acknowledged the notification of the personal data breach below, so it is sent again (delivery %d).",
	late:            "This message is sent later than planned.",
	escalated:       "This message also goes to %s, your organisation's escalation contact.",
	changed:         "What changed: %s",
	lNotice:         "Notice",
	lTitle:          "Breach",
	lNature:         "What happened",
	lDiscovered:     "Discovered by the processor",
	lOccurred:       "Occurred",
	lAffected:       "Affected at your organisation",
	lData:           "Personal data",
	lSubjects:       "Data subjects",
	lConsequences:   "Likely consequences",
	lTaken:          "Measures taken",
	lProposed:       "Measures proposed",
	lAdvice:         "Advice to you",
	lContact:        "Processor's contact",
	lDeadline:       "Your deadline",
	about:           "about %s",
	unknown:         "unknown",
	subjectsRecords: "%s data subjects, %s records",
	deadlineTitle:   "Your deadline",
	deadlinePara:    "You were informed at %s. If the breach is to be notified to the supervisory authority (in Sweden IMY), do so without undue delay and by %s at the latest (72 hours, Article 33(1)). Acknowledging does not move the deadline.",
	deadlineOverdue: "The deadline was %s.",
	ackTitle:        "How to acknowledge",
	ackPara:         "Confirm that you received this notification with Cascade's command-line tool:",
	ackOther:        "or through Cascade's gRPC API (NoticeService/AcknowledgeNotice) or your Cascade dashboard, with the access %s has already given you.",
	outcomePara:     "Then record what you did: cascadectl notice record-report (reported to the authority) or cascadectl notice record-not-reportable.",
	verifyTitle:     "How to check that this message is genuine",
	verifyPara:      "This message is signed with Cascade's key %s (Ed25519). Save the attachment " + AttachmentName + " and run:",
	verifyAfter:     "Cascade's public keys are also published on the NATS subject cascade.keys and through gRPC (KeyService/ListSigningKeys). Check too that notice %s is there for you in Cascade: cascadectl notice show %s.",
	verifyUnsigned:  "This message lacks Cascade's signature: do not trust it, and check notice %s in Cascade (cascadectl notice show %s).",
	trustPara:       "Trust only facts that verify, or that you see in Cascade itself: on the page \"Check a message\" of your Cascade dashboard you can drop the attachment (or the whole e-mail) and see whether Cascade signed it and, with your access, what Cascade holds for the notice. Call the processor only on a number you know from your contract, never on one given in a message.",
	warning:         "Cascade never asks for passwords, login details or any other credentials and never links to a login page. A message that does is not from us: report it to your security team.",
	footer:          "Sent by Cascade for %s. Message id %s.",
	subjAnswer:      "Answer from the processor: %s [%s]",
	introAnswer:     "%s has answered your question about the personal data breach below (Article 28(3)(f) GDPR). The answer does not move your deadline.",
	introShared:     "%s has answered a question about the personal data breach below and shares the answer with every affected organisation. The answer does not move your deadline.",
	lQuestion:       "Question",
	lAnswer:         "Answer",
	investigating:   " (the processor is still investigating whether you are affected)",
	subjWithdrawal:  "Not affected: %s [%s]",
	introWithdrawal: "%s has found that your organisation is not affected by the personal data breach below and withdraws its notification (revision %d).",
	lStatement:      "Processor's statement",
	withdrawnTitle:  "What this means",
	withdrawnPara:   "The notice is withdrawn in Cascade: no more reminders are sent and the deadline no longer applies. You can still document your assessment (Article 33(5)), for example with cascadectl notice record-not-reportable. Should the processor name your organisation affected again, you get a new notification with a new deadline.",
	hours: func(n int) string {
		if n == 1 {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", n)
	},
	minutes: func(n int) string {
		if n == 1 {
			return "1 minute"
		}
		return fmt.Sprintf("%d minutes", n)
	},
}

// number groups the digits of n by thousands: "52 000" in Swedish (with a
// no-break space), "52,000" in English.
func (tx *texts) number(n int64) string {
	sep := ","
	if tx.lang == "sv" {
		sep = "\u00a0"
	}
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + sep + s[i:]
	}
	return s
}

// language picks the texts of a registry locale: English for "en",
// Swedish otherwise (the default).
func language(locale string) *texts {
	if locale == "en" {
		return &english
	}
	return &swedish
}

// stockholm is the zone every time in an e-mail is shown in.
var stockholm = mustZone("Europe/Stockholm")

func mustZone(name string) *time.Location {
	z, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC // unreachable with time/tzdata linked in
	}
	return z
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(stockholm).Format("2006-01-02 15:04 MST")
}

// span is a remaining time in words: whole hours, or minutes below two hours
// that are not whole.
func (tx *texts) span(d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		return tx.hours(int(d / time.Hour))
	}
	if d >= 2*time.Hour {
		return tx.hours(int(d.Round(time.Hour) / time.Hour))
	}
	return tx.minutes(int(d.Round(time.Minute) / time.Minute))
}

// content builds the e-mail of message m for its organisation.
func content(m *Message) doc {
	if message.IsTokenEvent(m.Msg.Event) {
		return tokenContent(m)
	}
	tx := language(m.Locale)
	msg := &m.Msg
	id := msg.NoticeID.String()
	title := oneLine(msg.Title)
	facts := msg.Breach
	processor := ""
	if facts != nil {
		processor = oneLine(facts.Processor)
	}
	if processor == "" {
		processor = "Cascade"
	}
	org := msg.OrgName
	if org == "" {
		org = string(msg.OrgID)
	}
	d := doc{Lang: tx.lang, Greeting: fmt.Sprintf(tx.greeting, org), Warning: tx.warning,
		Footer: fmt.Sprintf(tx.footer, processor, m.MessageID)}

	switch {
	case msg.Event == message.EventWithdrawal:
		d.Subject = fmt.Sprintf(tx.subjWithdrawal, title, id)
		d.Intro = []string{fmt.Sprintf(tx.introWithdrawal, processor, msg.Revision)}
	case msg.Event == message.EventAnswer:
		d.Subject = fmt.Sprintf(tx.subjAnswer, title, id)
		if msg.QuestionID != "" {
			d.Intro = []string{fmt.Sprintf(tx.introAnswer, processor)}
		} else {
			d.Intro = []string{fmt.Sprintf(tx.introShared, processor)}
		}
	case msg.Event == message.EventReminder:
		left := m.Deadline.Sub(m.Date)
		if r, err := time.ParseDuration(msg.Remaining); err == nil {
			left = r
		}
		d.Subject = fmt.Sprintf(tx.subjReminder, tx.span(left), title, id)
		d.Intro = []string{fmt.Sprintf(tx.introReminder, tx.span(left), formatTime(m.Deadline))}
	case msg.Event == message.EventOverdue:
		d.Subject = fmt.Sprintf(tx.subjOverdue, title, id)
		d.Intro = []string{fmt.Sprintf(tx.introOverdue, formatTime(m.Deadline))}
	case msg.Redelivery > 0:
		d.Subject = fmt.Sprintf(tx.subjRedo, title, id)
		d.Intro = []string{fmt.Sprintf(tx.introRedelivery, msg.Redelivery+1)}
	case msg.Event == message.EventRevision:
		d.Subject = fmt.Sprintf(tx.subjRevision, msg.Revision, title, id)
		d.Intro = []string{fmt.Sprintf(tx.introRevision, processor, msg.Revision)}
		if s := strings.TrimSpace(msg.RevisionSummary); s != "" {
			d.Intro = append(d.Intro, fmt.Sprintf(tx.changed, s))
		}
	default:
		d.Subject = fmt.Sprintf(tx.subjNotice, title, id)
		d.Intro = []string{fmt.Sprintf(tx.introNotice, processor)}
	}
	if name, ok := tx.obligations[msg.Obligation]; ok {
		d.Subject = "NIS2 " + name + ": " + d.Subject
		switch msg.Event {
		case message.EventReminder:
			left := m.Deadline.Sub(m.Date)
			if r, err := time.ParseDuration(msg.Remaining); err == nil {
				left = r
			}
			d.Intro = []string{fmt.Sprintf(tx.nis2Reminder, tx.span(left), formatTime(m.Deadline), name)}
		case message.EventOverdue:
			d.Intro = []string{fmt.Sprintf(tx.nis2Overdue, formatTime(m.Deadline), name)}
		}
	}
	if msg.Late {
		d.Intro = append(d.Intro, tx.late)
	}
	if len(m.Escalation) > 0 {
		d.Intro = append(d.Intro, fmt.Sprintf(tx.escalated, strings.Join(m.Escalation, ", ")))
	}

	d.Facts = append(d.Facts, fact{tx.lNotice, id}, fact{tx.lTitle, title})
	if msg.Event == message.EventAnswer {
		d.Facts = append(d.Facts, fact{tx.lQuestion, strings.TrimSpace(msg.Question)}, fact{tx.lAnswer, strings.TrimSpace(msg.Answer)})
	}
	if facts != nil && (msg.Event == message.EventNotice || msg.Event == message.EventRevision) {
		add := func(label, v string) {
			if v = strings.TrimSpace(v); v != "" {
				d.Facts = append(d.Facts, fact{label, v})
			}
		}
		add(tx.lNature, facts.Nature)
		add(tx.lDiscovered, formatTime(facts.DiscoveredAt))
		if !facts.OccurredFrom.IsZero() || !facts.OccurredTo.IsZero() {
			add(tx.lOccurred, formatTime(facts.OccurredFrom)+" – "+formatTime(facts.OccurredTo))
		}
		count := func(n int64) string {
			if n <= 0 {
				return tx.unknown
			}
			return fmt.Sprintf(tx.about, tx.number(n))
		}
		affected := fmt.Sprintf(tx.subjectsRecords, count(msg.ApproxSubjects), count(msg.ApproxRecords))
		if msg.AffectedStatus == breach.StatusUnderInvestigation {
			affected += tx.investigating
		}
		add(tx.lAffected, affected)
		add(tx.lData, strings.Join(facts.DataCategories, ", "))
		add(tx.lSubjects, strings.Join(facts.SubjectCategories, ", "))
		add(tx.lConsequences, facts.LikelyConsequences)
		add(tx.lTaken, facts.MeasuresTaken)
		add(tx.lProposed, facts.MeasuresProposed)
		add(tx.lAdvice, facts.AdviceToControllers)
		add(tx.lContact, contact(facts.Contact))
	}
	if msg.Event == message.EventWithdrawal {
		d.Facts = append(d.Facts, fact{tx.lStatement, strings.TrimSpace(msg.Statement)})
		d.Sections = append(d.Sections, section{Title: tx.withdrawnTitle, Paras: []string{tx.withdrawnPara}})
		d.verify(tx, m, id)
		return d
	}
	d.Facts = append(d.Facts, fact{tx.lDeadline, formatTime(m.Deadline)})

	_, nis2 := tx.obligations[msg.Obligation]
	switch {
	case msg.Event == message.EventOverdue:
		d.Sections = append(d.Sections, section{Title: tx.deadlineTitle, Paras: []string{fmt.Sprintf(tx.deadlineOverdue, formatTime(m.Deadline))}})
	case nis2: // the intro said which report and by when; the GDPR paragraph is not this one's
		d.Sections = append(d.Sections, section{Title: tx.deadlineTitle,
			Paras: []string{fmt.Sprintf(tx.nis2Para, formatTime(m.DeliveredAt), formatTime(m.Deadline))}})
	default:
		d.Sections = append(d.Sections, section{Title: tx.deadlineTitle,
			Paras: []string{fmt.Sprintf(tx.deadlinePara, formatTime(m.DeliveredAt), formatTime(m.Deadline))}})
	}
	d.Sections = append(d.Sections, section{
		Title:    tx.ackTitle,
		Paras:    []string{tx.ackPara},
		Commands: []string{fmt.Sprintf(`cascadectl notice ack %s --by "…"`, id)},
		After:    []string{fmt.Sprintf(tx.ackOther, processor), tx.outcomePara},
	})
	d.verify(tx, m, id)
	return d
}

// verify adds the section on checking the message's signature.
func (d *doc) verify(tx *texts, m *Message, id string) {
	if m.KeyID != "" {
		d.Sections = append(d.Sections, section{
			Title:    tx.verifyTitle,
			Paras:    []string{fmt.Sprintf(tx.verifyPara, m.KeyID)},
			Commands: []string{"cascadectl keys list --save keys.json", "cascadectl verify " + AttachmentName + " --keys keys.json"},
			After:    []string{fmt.Sprintf(tx.verifyAfter, id, id), tx.trustPara},
		})
	} else {
		d.Sections = append(d.Sections, section{Title: tx.verifyTitle, Paras: []string{fmt.Sprintf(tx.verifyUnsigned, id, id), tx.trustPara}})
	}
}

func contact(c breach.Contact) string {
	var parts []string
	for _, p := range []string{c.Name, c.Email, c.Phone} {
		if p = oneLine(p); p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}

// oneLine replaces line breaks and other control characters with spaces,
// so that no text from a report can break a header or a table row.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)), " ")
}

// plain renders the text/plain part.
func (d *doc) plain() string {
	var b strings.Builder
	b.WriteString(d.Greeting + "\n\n")
	for _, p := range d.Intro {
		b.WriteString(p + "\n\n")
	}
	width := 0
	for _, f := range d.Facts {
		width = max(width, len([]rune(f.Label)))
	}
	for _, f := range d.Facts {
		pad := strings.Repeat(" ", width-len([]rune(f.Label)))
		lines := strings.Split(strings.ReplaceAll(f.Value, "\r\n", "\n"), "\n")
		b.WriteString(f.Label + ":" + pad + " " + lines[0] + "\n")
		for _, l := range lines[1:] {
			b.WriteString(strings.Repeat(" ", width+2) + l + "\n")
		}
	}
	for _, s := range d.Sections {
		b.WriteString("\n" + strings.ToUpper(s.Title) + "\n")
		for _, p := range s.Paras {
			b.WriteString(p + "\n")
		}
		for _, c := range s.Commands {
			b.WriteString("    " + c + "\n")
		}
		for _, p := range s.After {
			b.WriteString(p + "\n")
		}
	}
	b.WriteString("\n" + d.Warning + "\n\n-- \n" + d.Footer + "\n")
	return b.String()
}
