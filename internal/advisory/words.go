package advisory

// words is every phrase of the page in one language.
type words struct {
	Kind, Switch, Title, Published, Updated, Intro, OtherLanguage string
	What, Which, ToDo, Phishing                                   string
	Advice                                                        []string
	Genuine                                                       string
	GenuineItems                                                  []string
	Contact, ContactIntro, Footer                                 string
	NotFound, NotFoundText                                        string
	unavailable                                                   string
}

func wordsFor(lang string) *words {
	if lang == "en" {
		return &wordsEN
	}
	return &wordsSV
}

var wordsSV = words{
	Kind:          "Säkerhetsmeddelande",
	Switch:        "In English",
	Title:         "Personuppgiftsincident hos",
	Published:     "Publicerad",
	Updated:       "Uppdaterad",
	Intro:         "En leverantör som behandlar personuppgifter åt flera organisationer har haft en personuppgiftsincident. Här berättar leverantören vad som har hänt och vad du kan göra. Den organisation som har dina uppgifter kan också kontakta dig direkt.",
	OtherLanguage: "Texten finns bara på engelska.",
	What:          "Vad har hänt?",
	Which:         "Vilka uppgifter berörs?",
	ToDo:          "Vad bör du göra?",
	Phishing:      "Så känner du igen bedrägeriförsök",
	Advice: []string{
		"Lämna aldrig ut lösenord, koder eller logga in med BankID för att någon ber dig om det i ett samtal, ett sms eller ett e-brev.",
		"Klicka inte på länkar och öppna inte bilagor i meddelanden som säger sig handla om incidenten.",
		"Var extra uppmärksam på meddelanden som använder dina riktiga uppgifter för att verka trovärdiga, eller som vill att du ska agera snabbt.",
	},
	Genuine: "Så kontrollerar du att ett meddelande är äkta",
	GenuineItems: []string{
		"Är du osäker, ring avsändaren på ett nummer du själv har tagit fram, till exempel från organisationens webbplats, inte numret i meddelandet.",
		"Organisationer som får besked om incidenten: Cascade signerar varje meddelande det skickar; kontrollera signaturen och ring leverantören på det nummer ni har i ert avtal.",
		"Ingen äkta avsändare ber dig om ditt lösenord.",
	},
	Contact:      "Kontakt hos leverantören",
	ContactIntro: "Frågor om incidenten kan ställas till:",
	Footer:       "Sidans adress ändras inte och kan länkas till.",
	NotFound:     "Sidan finns inte",
	NotFoundText: "Det finns inget publicerat säkerhetsmeddelande på den här adressen.",
	unavailable:  "Sidan kan inte visas just nu. Försök igen om en stund.",
}

var wordsEN = words{
	Kind:          "Security advisory",
	Switch:        "På svenska",
	Title:         "Personal data breach at",
	Published:     "Published",
	Updated:       "Updated",
	Intro:         "A supplier that processes personal data for several organisations has had a personal data breach. Here the supplier tells you what happened and what you can do. The organisation that holds your data may also contact you directly.",
	OtherLanguage: "This text is available in Swedish only.",
	What:          "What happened?",
	Which:         "Which data is concerned?",
	ToDo:          "What should you do?",
	Phishing:      "How to recognise fraud attempts",
	Advice: []string{
		"Never give out passwords or codes, or log in, because someone asks you to in a call, a text message or an e-mail.",
		"Do not click links or open attachments in messages that claim to be about this breach.",
		"Be especially careful with messages that use your real details to seem credible, or that press you to act quickly.",
	},
	Genuine: "How to check that a message is genuine",
	GenuineItems: []string{
		"If you are unsure, call the sender on a number you looked up yourself, for example on the organisation's website, not the number in the message.",
		"Organisations notified of the breach: Cascade signs every message it sends; check the signature, and call the supplier on the number in your contract.",
		"No genuine sender asks you for your password.",
	},
	Contact:      "Contact at the supplier",
	ContactIntro: "Questions about the breach can be put to:",
	Footer:       "The address of this page does not change and can be linked to.",
	NotFound:     "Page not found",
	NotFoundText: "There is no published security advisory at this address.",
	unavailable:  "The page cannot be shown just now. Please try again shortly.",
}
