package draft

// subjectWords is every phrase of the communication to the data subjects
// in one language: plain language, addressed to the person ("you"), from
// the controller ("we"). Functions take supplied text already escaped.
type subjectWords struct {
	title, draft, todo, greeting, thousandsSep string
	draftNote                                  func(org string) string
	intro                                      func(org, processor string) string
	discovered                                 func(processor, date string) string
	occurred                                   func(from, to string) string
	count                                      func(n, org string) string
	phishing                                   func(org string) []string

	hWhat, tWhat, otherLanguage  string
	hWhich, tWhich, categories   string
	hConsequences, tConsequences string
	hMeasures, tMeasures         string
	hToDo                        string
	genericToDo                  []string
	hPhishing                    string
	hContact, contactIntro       string
	lDPO, tDPO, lPhone, tPhone   string
	regards                      string
	hChecklist                   string
	field                        map[string]string
	smsf, smsPhonef, smsNoPhone  string // org; phone
}

func subjectWordsFor(l Lang) *subjectWords {
	if l == English {
		return &subjectWordsEN
	}
	return &subjectWordsSV
}

var subjectWordsSV = subjectWords{
	title:        "Information till dig om en personuppgiftsincident",
	draft:        "Utkast.",
	todo:         "ATT FYLLA I",
	greeting:     "Hej,",
	thousandsSep: "\u00a0",
	draftNote: func(org string) string {
		return "Cascade har förberett detta meddelande till de registrerade (artikel 34 i dataskyddsförordningen) åt " + org +
			". Fyll i det som är markerat, granska texten och anpassa den innan den skickas. Ta bort den här rutan och checklistan."
	},
	intro: func(org, processor string) string {
		return org + " vill informera dig om en personuppgiftsincident hos " + processor +
			", som behandlar personuppgifter för vår räkning. Uppgifter om dig kan ha berörts."
	},
	discovered: func(processor, date string) string {
		return processor + " upptäckte incidenten den " + date + "."
	},
	occurred: func(from, to string) string {
		if to == "" || to == from {
			return "Den inträffade den " + from + "."
		}
		return "Den pågick från den " + from + " till den " + to + "."
	},
	count: func(n, org string) string {
		return "Incidenten berör uppskattningsvis " + n + " personer vars uppgifter " + org + " ansvarar för."
	},
	phishing: func(org string) []string {
		return []string{
			org + " ber dig aldrig om lösenord, koder eller inloggning med BankID i e-post, sms eller telefon.",
			"Klicka inte på länkar och öppna inte bilagor i meddelanden som säger sig handla om incidenten. Gå själv till vår webbplats.",
			"Är du osäker på om ett meddelande kommer från oss: ring oss på ett nummer du själv har tagit fram, inte numret i meddelandet.",
		}
	},
	hWhat:         "Vad har hänt?",
	tWhat:         "med enkla ord, vad som hände",
	otherLanguage: "(Leverantören har bara lämnat sin text på engelska; se utkastet på engelska.)",
	hWhich:        "Vilka uppgifter om dig berörs?",
	tWhich:        "vilka uppgifter om de registrerade som berörs",
	categories:    "Enligt leverantören berörs dessa slags uppgifter:",
	hConsequences: "Vad kan det innebära för dig?",
	tConsequences: "de troliga konsekvenserna för de registrerade, så som ni bedömer dem",
	hMeasures:     "Vad har vi gjort?",
	tMeasures:     "vad ni och leverantören har gjort och kommer att göra för att åtgärda incidenten och mildra följderna",
	hToDo:         "Vad bör du göra?",
	genericToDo: []string{
		"Var extra uppmärksam på e-post, sms och samtal som hänvisar till incidenten eller ber dig agera snabbt.",
		"Byt lösenord om du använder samma lösenord på flera ställen.",
		"Kontakta din bank om du ser betalningar du inte känner igen.",
	},
	hPhishing:    "Så känner du igen bedrägeriförsök",
	hContact:     "Frågor",
	contactIntro: "Har du frågor om incidenten eller om dina uppgifter är du välkommen att kontakta oss.",
	lDPO:         "Dataskyddsombud",
	tDPO:         "dataskyddsombudets e-postadress",
	lPhone:       "Telefon",
	tPhone:       "telefonnummer",
	regards:      "Med vänliga hälsningar",
	hChecklist:   "Att fylla i innan meddelandet skickas",
	field: map[string]string{
		SubjectFieldWhatHappened:       "Vad som hände, med enkla ord",
		SubjectFieldWhichData:          "Vilka uppgifter som berörs",
		SubjectFieldLikelyConsequences: "Troliga konsekvenser för de registrerade (artikel 34.2 och 33.3 c)",
		SubjectFieldMeasures:           "Vidtagna och planerade åtgärder (artikel 34.2 och 33.3 d)",
		SubjectFieldDPOContact:         "Dataskyddsombudets kontaktuppgifter (artikel 34.2 och 33.3 b)",
		SubjectFieldPhone:              "Telefonnummer för frågor",
	},
	smsf:       "%s: En leverantör har haft en dataincident som kan gälla dina uppgifter. Vi ber aldrig om lösenord eller koder.",
	smsPhonef:  " Frågor? Ring %s",
	smsNoPhone: " Vi återkommer med mer.",
}

var subjectWordsEN = subjectWords{
	title:        "Information for you about a personal data breach",
	draft:        "Draft.",
	todo:         "TO COMPLETE",
	greeting:     "Hello,",
	thousandsSep: ",",
	draftNote: func(org string) string {
		return "Cascade prepared this communication to the data subjects (Article 34 GDPR) for " + org +
			". Fill in what is marked, review the text and adapt it before sending. Remove this box and the checklist."
	},
	intro: func(org, processor string) string {
		return org + " wants to tell you about a personal data breach at " + processor +
			", which processes personal data on our behalf. Data about you may be concerned."
	},
	discovered: func(processor, date string) string {
		return processor + " discovered the breach on " + date + "."
	},
	occurred: func(from, to string) string {
		if to == "" || to == from {
			return "It happened on " + from + "."
		}
		return "It lasted from " + from + " to " + to + "."
	},
	count: func(n, org string) string {
		return "About " + n + " people whose data " + org + " is responsible for are concerned."
	},
	phishing: func(org string) []string {
		return []string{
			org + " will never ask you for passwords, codes or to log in by e-mail, text message or telephone.",
			"Do not click links or open attachments in messages that claim to be about this breach. Go to our website yourself.",
			"If you are unsure whether a message comes from us, call us on a number you looked up yourself, not the number in the message.",
		}
	},
	hWhat:         "What happened?",
	tWhat:         "in plain words, what happened",
	otherLanguage: "(The supplier gave its text in Swedish only; see the Swedish draft.)",
	hWhich:        "Which data about you is concerned?",
	tWhich:        "which data about the data subjects is concerned",
	categories:    "According to the supplier, these kinds of data are concerned:",
	hConsequences: "What could this mean for you?",
	tConsequences: "the likely consequences for the data subjects, as you assess them",
	hMeasures:     "What have we done?",
	tMeasures:     "what you and the supplier did and will do to address the breach and mitigate its effects",
	hToDo:         "What should you do?",
	genericToDo: []string{
		"Be especially careful with e-mails, text messages and calls that mention the breach or press you to act quickly.",
		"Change your password if you use the same password in several places.",
		"Contact your bank if you see payments you do not recognise.",
	},
	hPhishing:    "How to recognise fraud attempts",
	hContact:     "Questions",
	contactIntro: "If you have questions about the breach or about your data, please contact us.",
	lDPO:         "Data protection officer",
	tDPO:         "the data protection officer's e-mail address",
	lPhone:       "Telephone",
	tPhone:       "telephone number",
	regards:      "Kind regards",
	hChecklist:   "To complete before sending",
	field: map[string]string{
		SubjectFieldWhatHappened:       "What happened, in plain words",
		SubjectFieldWhichData:          "Which data is concerned",
		SubjectFieldLikelyConsequences: "Likely consequences for the data subjects (Art. 34(2) and 33(3)(c))",
		SubjectFieldMeasures:           "Measures taken and proposed (Art. 34(2) and 33(3)(d))",
		SubjectFieldDPOContact:         "Contact details of the data protection officer (Art. 34(2) and 33(3)(b))",
		SubjectFieldPhone:              "Telephone number for questions",
	},
	smsf:       "%s: A supplier had a data breach that may involve your data. We never ask for passwords or codes.",
	smsPhonef:  " Questions? Call %s",
	smsNoPhone: " We will tell you more.",
}
