package draft

import "github.com/cascadehq/cascade/internal/breach"

// words is every phrase of the Markdown draft in one language. Phrases
// ending in "f" are fmt formats. The Swedish follows the wording of the
// Swedish text of the GDPR and of IMY; the English that of the GDPR.
type words struct {
	titleNewf, titleFollowUpf string // authority

	draftNotice      string
	generatedf       string // time, controller
	sourcef          string // processor, revision
	reviewIMYf       string // what is submitted
	reviewOtherf     string // what is submitted
	submitNew        string
	submitFollowUp   string
	notReportablef   string // justification
	todo             string // marker inside the placeholder brackets
	notStated        string
	quotef           string // quoting a title
	localTime        string // suffix for Europe/Stockholm time; "" for none
	aboutf           string // approximate number
	unknown          string
	thousandsSep     string
	hour, hours      string
	minute, minutes  string
	and              string
	authorityIMY     string
	authorityGeneric string

	hParticulars   string
	lController    string
	cascadeIDf     string // org id
	lOrgNumber     string
	tOrgNumber     string
	lOwnReference  string
	tOwnReference  string
	lPrevReference string
	lType          string
	typeNew        string
	typeFollowUpf  string // authority, time
	lAuthority     string
	tAuthority     string
	lDiscovery     string
	discovery      string
	lBreach        string
	breachRefFmt   string // quoted title, id, revision

	hTiming            string
	lProcessorAware    string
	lBegan             string
	tBegan             string
	lEnded             string
	tEnded             string
	lWeAware           string
	weAwaref           string // time
	notDelivered       string
	lDeadline          string
	deadlineRule       string
	remainingf         string // duration
	overduef           string // duration
	reportedf          string // time
	reportedLatef      string // time
	noDeadline         string
	lProcessorDelay    string
	processorDelayf    string // duration
	processorDelayNone string

	hDelay          string
	delayRule       string
	delayRecorded   string
	tDelayReason    string
	hA              string
	hNature         string
	lIncidentType   string
	tIncidentType   string
	hSubjectCats    string
	tSubjectCats    string
	hDataCats       string
	tDataCats       string
	hNumbers        string
	lStatus         string
	statusNames     map[breach.AffectedStatus]string
	withdrawnf      string // time, statement
	lSubjects       string
	tSubjects       string
	lRecords        string
	tRecords        string
	numbersSourcef  string // controller
	hB              string
	lDPO            string
	tDPO            string
	hC              string
	hProcessorDesc  string
	noConsequences  string
	hOurAssessment  string
	tRiskAssessment string
	hD              string
	hTaken          string
	hProposed       string
	hAdvice         string
	hOurMeasures    string
	tOurMeasures    string

	h34            string
	communicatedf  string // time, how
	notRequired    string
	exemptA        string
	exemptB        string
	exemptCf       string // public communication
	justificationf string
	tSubjectComm   string

	hSource           string
	lProcessor        string
	lProcessorContact string
	revisionsf        string // latest revision
	revisionFirst     string
	revisionf         string // number, time, summary

	hChecklist         string
	hChecklistFollowUp string
	phasedNew          string
	phasedIMY          string
	phasedFollow       string
	document           string
	fieldLabels        map[string]string
}

func wordsFor(l Lang) *words {
	if l == English {
		return english()
	}
	return swedish()
}

func swedish() *words {
	return &words{
		titleNewf:      "Utkast: anmälan av personuppgiftsincident till %s",
		titleFollowUpf: "Utkast: kompletterande uppgifter om personuppgiftsincident till %s",

		draftNotice:      "Detta är ett utkast, inte en anmälan.",
		generatedf:       "Det skapades av Cascade %s för %s.",
		sourcef:          "Uppgifterna om incidenten kommer från personuppgiftsbiträdet %s och gäller revision %d av biträdets rapport. Biträdet rapporterar vad som har hänt men gör ingen riskbedömning åt er; den gör ni som personuppgiftsansvarig.",
		reviewIMYf:       "Granska varje avsnitt, fyll i de fält som är markerade **[ATT FYLLA I]** och lämna %s i IMY:s e-tjänst.",
		submitNew:        "anmälan",
		submitFollowUp:   "kompletteringen",
		reviewOtherf:     "Granska varje avsnitt, fyll i de fält som är markerade **[ATT FYLLA I]** och lämna %s till tillsynsmyndigheten.",
		notReportablef:   "Ni har dokumenterat att incidenten inte behöver anmälas, med motiveringen: ”%s”. Använd utkastet om ni omprövar den bedömningen.",
		todo:             "ATT FYLLA I",
		notStated:        "Inte angivet av personuppgiftsbiträdet.",
		quotef:           "”%s”",
		localTime:        "svensk tid",
		aboutf:           "cirka %s",
		unknown:          "okänt",
		thousandsSep:     " ",
		hour:             "timme",
		hours:            "timmar",
		minute:           "minut",
		minutes:          "minuter",
		and:              " och ",
		authorityIMY:     "Integritetsskyddsmyndigheten (IMY)",
		authorityGeneric: "tillsynsmyndigheten",

		hParticulars:   "Uppgifter om anmälan",
		lController:    "Personuppgiftsansvarig",
		cascadeIDf:     "id i Cascade: `%s`",
		lOrgNumber:     "Organisationsnummer",
		tOrgNumber:     "organisationsnummer",
		lOwnReference:  "Egen referens (diarienummer)",
		tOwnReference:  "ert diarienummer för incidenten",
		lPrevReference: "Referens till anmälan",
		lType:          "Typ av anmälan",
		typeNew:        "Ny anmälan",
		typeFollowUpf:  "Komplettering av anmälan till %s, lämnad %s",
		lAuthority:     "Tillsynsmyndighet",
		tAuthority:     "behörig tillsynsmyndighet",
		lDiscovery:     "Hur incidenten upptäcktes",
		discovery:      "Den upptäcktes av personuppgiftsbiträdet, som underrättade oss",
		lBreach:        "Incidenten hos personuppgiftsbiträdet",
		breachRefFmt:   "%s (id `%s`, revision %d)",

		hTiming:            "Tidpunkter",
		lProcessorAware:    "Personuppgiftsbiträdet fick kännedom om incidenten",
		lBegan:             "Incidenten inträffade",
		tBegan:             "när incidenten inträffade",
		lEnded:             "Incidenten upphörde",
		tEnded:             "när incidenten upphörde, eller att den fortfarande pågår",
		lWeAware:           "Vi fick kännedom om incidenten",
		weAwaref:           "%s, när personuppgiftsbiträdet underrättade oss (artikel 33.2). Enligt EDPB:s riktlinjer har den personuppgiftsansvarige fått kännedom om incidenten när biträdet har underrättat den.",
		notDelivered:       "Personuppgiftsbiträdets underrättelse har ännu inte levererats till oss.",
		lDeadline:          "Frist för anmälan",
		deadlineRule:       "Anmälan ska göras inom 72 timmar från det att vi fick kännedom om incidenten (artikel 33.1).",
		remainingf:         "Återstående tid när utkastet skapades: %s.",
		overduef:           "Fristen har gått ut; anmälan är %s försenad.",
		reportedf:          "Anmälan lämnades %s.",
		reportedLatef:      "Anmälan lämnades %s, efter fristen.",
		noDeadline:         "Fristen börjar löpa när underrättelsen har levererats till oss.",
		lProcessorDelay:    "Personuppgiftsbiträdets dröjsmål",
		processorDelayf:    "%s mellan biträdets upptäckt och dess underrättelse till oss.",
		processorDelayNone: "Kan inte beräknas ännu: underrättelsen har inte levererats.",

		hDelay:        "Skäl till förseningen (artikel 33.1)",
		delayRule:     "Anmälan görs inte inom 72 timmar. En anmälan som inte görs inom 72 timmar ska enligt artikel 33.1 åtföljas av en motivering till förseningen.",
		delayRecorded: "Anmälan gjordes efter fristen. Skäl till förseningen som angavs vid anmälan:",
		tDelayReason:  "skälen till att anmälan inte gjordes inom 72 timmar",
		hA:            "a) Incidentens art, kategorier och ungefärligt antal (artikel 33.3 a)",
		hNature:       "Personuppgiftsincidentens art",
		lIncidentType: "Typ av incident",
		tIncidentType: "till exempel obehörig åtkomst, obehörigt röjande, förlust, ändring eller förstöring av personuppgifter",
		hSubjectCats:  "Kategorier av registrerade",
		tSubjectCats:  "vilka kategorier av registrerade som berörs",
		hDataCats:     "Kategorier av personuppgifter",
		tDataCats:     "vilka kategorier av personuppgifter som berörs",
		hNumbers:      "Ungefärligt antal",
		lStatus:       "Berörs enligt biträdet",
		statusNames: map[breach.AffectedStatus]string{
			breach.StatusConfirmed:          "ja, bekräftat",
			breach.StatusUnderInvestigation: "under utredning",
			breach.StatusNotAffected:        "nej, inte berörd",
		},
		withdrawnf:      "Personuppgiftsbiträdet meddelade %s att er organisation inte berörs av incidenten och drog tillbaka underrättelsen: %s",
		lSubjects:       "Antal berörda registrerade",
		tSubjects:       "uppskatta antalet berörda registrerade",
		lRecords:        "Antal berörda personuppgiftsposter",
		tRecords:        "uppskatta antalet berörda personuppgiftsposter",
		numbersSourcef:  "Antalen är personuppgiftsbiträdets och gäller endast %s.",
		hB:              "b) Dataskyddsombud eller annan kontaktpunkt (artikel 33.3 b)",
		lDPO:            "Dataskyddsombud",
		tDPO:            "dataskyddsombudets eller annan kontaktpunkts namn och kontaktuppgifter",
		hC:              "c) Sannolika konsekvenser (artikel 33.3 c)",
		hProcessorDesc:  "Personuppgiftsbiträdets beskrivning",
		noConsequences:  "Personuppgiftsbiträdet har inte beskrivit några sannolika konsekvenser.",
		hOurAssessment:  "Vår bedömning",
		tRiskAssessment: "er bedömning av de sannolika konsekvenserna för de registrerade och av incidentens allvarlighetsgrad",
		hD:              "d) Vidtagna åtgärder och förslag till åtgärder (artikel 33.3 d)",
		hTaken:          "Åtgärder som personuppgiftsbiträdet har vidtagit",
		hProposed:       "Åtgärder som personuppgiftsbiträdet föreslår",
		hAdvice:         "Personuppgiftsbiträdets råd till personuppgiftsansvariga",
		hOurMeasures:    "Våra vidtagna och planerade åtgärder",
		tOurMeasures:    "de åtgärder ni har vidtagit eller planerar, inklusive åtgärder för att mildra incidentens möjliga negativa effekter för de registrerade",

		h34:            "Information till de registrerade (artikel 34)",
		communicatedf:  "De registrerade informerades %s via %s.",
		notRequired:    "De registrerade har inte informerats: incidenten bedöms sannolikt inte leda till en hög risk för fysiska personers rättigheter och friheter.",
		exemptA:        "De registrerade informeras inte var för sig, enligt artikel 34.3 a: personuppgifterna har gjorts oläsliga för alla som inte är behöriga att få tillgång till dem, till exempel genom kryptering.",
		exemptB:        "De registrerade informeras inte var för sig, enligt artikel 34.3 b: efterföljande åtgärder säkerställer att den höga risken för de registrerades rättigheter och friheter sannolikt inte längre kommer att uppstå.",
		exemptCf:       "De registrerade informeras inte var för sig, enligt artikel 34.3 c: det skulle innebära en oproportionell ansträngning. De registrerade informeras i stället genom ett offentligt tillkännagivande: %s",
		justificationf: "Motivering: %s",
		tSubjectComm:   "om och när de registrerade har informerats eller kommer att informeras och på vilket sätt, eller varför de inte informeras (artikel 34.3)",

		hSource:           "Källa: personuppgiftsbiträdets rapport",
		lProcessor:        "Personuppgiftsbiträde",
		lProcessorContact: "Kontaktpunkt hos personuppgiftsbiträdet",
		revisionsf:        "Utkastet bygger på revision %d av biträdets rapport:",
		revisionFirst:     "Revision 1: den första rapporten.",
		revisionf:         "Revision %d, %s: %s",

		hChecklist:         "Att fylla i innan anmälan lämnas",
		hChecklistFollowUp: "Att fylla i innan kompletteringen lämnas",
		phasedNew:          "Saknas uppgifter när fristen närmar sig: anmäl ändå inom fristen och lämna kompletterande uppgifter senare, utan ytterligare onödigt dröjsmål (artikel 33.4).",
		phasedIMY:          "IMY tar emot kompletterande uppgifter inom fyra veckor.",
		phasedFollow:       "Uppgifterna får lämnas i omgångar utan ytterligare onödigt dröjsmål (artikel 33.4).",
		document:           "Incidenten ska dokumenteras enligt artikel 33.5, oavsett om den anmäls eller inte.",
		fieldLabels: map[string]string{
			FieldAuthority:            "Behörig tillsynsmyndighet",
			FieldOrganisationNumber:   "Organisationsnummer",
			FieldOwnReference:         "Egen referens (diarienummer)",
			FieldIncidentType:         "Typ av incident",
			FieldIncidentStarted:      "När incidenten inträffade",
			FieldIncidentEnded:        "När incidenten upphörde, eller att den fortfarande pågår",
			FieldSubjectCategories:    "Kategorier av registrerade",
			FieldDataCategories:       "Kategorier av personuppgifter",
			FieldApproxSubjects:       "Ungefärligt antal berörda registrerade",
			FieldApproxRecords:        "Ungefärligt antal berörda personuppgiftsposter",
			FieldDPOContact:           "Dataskyddsombudets kontaktuppgifter",
			FieldRiskAssessment:       "Egen bedömning av sannolika konsekvenser och allvarlighetsgrad",
			FieldControllerMeasures:   "Egna vidtagna och planerade åtgärder",
			FieldSubjectCommunication: "Information till de registrerade: när och hur, eller varför inte",
			FieldDelayReason:          "Skäl till förseningen (artikel 33.1)",
		},
	}
}

func english() *words {
	return &words{
		titleNewf:      "Draft: personal data breach notification to %s",
		titleFollowUpf: "Draft: follow-up notification of a personal data breach to %s",

		draftNotice:      "This is a draft, not a notification.",
		generatedf:       "Cascade generated it on %s for %s.",
		sourcef:          "The facts about the breach come from the processor %s, as of revision %d of its report. The processor reports what happened but does not assess the risk for you; that assessment is yours as the controller.",
		reviewIMYf:       "Review every section, fill in the fields marked **[TO COMPLETE]**, and submit %s through IMY's e-service.",
		submitNew:        "the notification",
		submitFollowUp:   "the follow-up",
		reviewOtherf:     "Review every section, fill in the fields marked **[TO COMPLETE]**, and submit %s to the supervisory authority.",
		notReportablef:   "You documented this breach as not reportable, with the justification: “%s”. Use this draft if you reconsider.",
		todo:             "TO COMPLETE",
		notStated:        "Not stated by the processor.",
		quotef:           "“%s”",
		aboutf:           "about %s",
		unknown:          "unknown",
		thousandsSep:     ",",
		hour:             "hour",
		hours:            "hours",
		minute:           "minute",
		minutes:          "minutes",
		and:              " and ",
		authorityIMY:     "the Swedish Authority for Privacy Protection (IMY)",
		authorityGeneric: "the supervisory authority",

		hParticulars:   "About this notification",
		lController:    "Controller",
		cascadeIDf:     "Cascade id `%s`",
		lOrgNumber:     "Organisation number",
		tOrgNumber:     "organisation number",
		lOwnReference:  "Own reference",
		tOwnReference:  "your case reference for the breach",
		lPrevReference: "Reference of the notification",
		lType:          "Type of notification",
		typeNew:        "New notification",
		typeFollowUpf:  "Follow-up to the notification made to %s on %s",
		lAuthority:     "Supervisory authority",
		tAuthority:     "the competent supervisory authority",
		lDiscovery:     "How the breach was discovered",
		discovery:      "Detected and communicated by the data processor",
		lBreach:        "The processor's breach",
		breachRefFmt:   "%s (id `%s`, revision %d)",

		hTiming:            "Timing",
		lProcessorAware:    "The processor became aware of the breach",
		lBegan:             "The breach began",
		tBegan:             "when the breach began",
		lEnded:             "The breach ended",
		tEnded:             "when the breach ended, or that it is ongoing",
		lWeAware:           "We became aware of the breach",
		weAwaref:           "%s, when the processor informed us (Art. 33(2)). Under the EDPB guidelines a controller is aware of a breach once its processor has informed it.",
		notDelivered:       "The processor's notice has not been delivered to us yet.",
		lDeadline:          "Deadline for notifying the authority",
		deadlineRule:       "The notification is due within 72 hours of our becoming aware of the breach (Art. 33(1)).",
		remainingf:         "Time remaining when this draft was generated: %s.",
		overduef:           "The deadline has passed; the notification is %s late.",
		reportedf:          "Notified on %s.",
		reportedLatef:      "Notified on %s, after the deadline.",
		noDeadline:         "The deadline starts when the processor's notice is delivered to us.",
		lProcessorDelay:    "The processor's delay",
		processorDelayf:    "%s between the processor becoming aware and its informing us.",
		processorDelayNone: "Not known yet: the notice has not been delivered.",

		hDelay:        "Reasons for the delay (Art. 33(1))",
		delayRule:     "The notification is not made within 72 hours. Under Art. 33(1) a notification made later must be accompanied by the reasons for the delay.",
		delayRecorded: "The notification was made after the deadline. The reasons for the delay given with it:",
		tDelayReason:  "the reasons why the notification was not made within 72 hours",
		hA:            "(a) Nature of the breach, categories and approximate numbers (Art. 33(3)(a))",
		hNature:       "Nature of the breach",
		lIncidentType: "Type of breach",
		tIncidentType: "e.g. unauthorised access or disclosure, loss, alteration or destruction of personal data",
		hSubjectCats:  "Categories of data subjects",
		tSubjectCats:  "the categories of data subjects concerned",
		hDataCats:     "Categories of personal data",
		tDataCats:     "the categories of personal data concerned",
		hNumbers:      "Approximate numbers",
		lStatus:       "Affected according to the processor",
		statusNames: map[breach.AffectedStatus]string{
			breach.StatusConfirmed:          "yes, confirmed",
			breach.StatusUnderInvestigation: "under investigation",
			breach.StatusNotAffected:        "no, not affected",
		},
		withdrawnf:      "On %s the processor stated that your organisation is not affected by the breach and withdrew the notice: %s",
		lSubjects:       "Data subjects concerned",
		tSubjects:       "estimate the number of data subjects concerned",
		lRecords:        "Personal data records concerned",
		tRecords:        "estimate the number of personal data records concerned",
		numbersSourcef:  "The numbers are the processor's, for %s only.",
		hB:              "(b) Data protection officer or other contact point (Art. 33(3)(b))",
		lDPO:            "Data protection officer",
		tDPO:            "name and contact details of the data protection officer or other contact point",
		hC:              "(c) Likely consequences (Art. 33(3)(c))",
		hProcessorDesc:  "As described by the processor",
		noConsequences:  "The processor has not described any likely consequences.",
		hOurAssessment:  "Our assessment",
		tRiskAssessment: "your assessment of the likely consequences for the data subjects and of the severity of the breach",
		hD:              "(d) Measures taken or proposed (Art. 33(3)(d))",
		hTaken:          "Measures taken by the processor",
		hProposed:       "Measures proposed by the processor",
		hAdvice:         "The processor's advice to controllers",
		hOurMeasures:    "Our measures, taken or planned",
		tOurMeasures:    "the measures you have taken or plan, including measures to mitigate the breach's possible adverse effects on the data subjects",

		h34:            "Communication to data subjects (Art. 34)",
		communicatedf:  "The data subjects were informed on %s by %s.",
		notRequired:    "The data subjects have not been informed: the breach is assessed as unlikely to result in a high risk to the rights and freedoms of natural persons.",
		exemptA:        "The data subjects are not informed individually, under Art. 34(3)(a): the personal data were made unintelligible to anyone not authorised to access them, such as by encryption.",
		exemptB:        "The data subjects are not informed individually, under Art. 34(3)(b): subsequent measures ensure that the high risk to their rights and freedoms is no longer likely to materialise.",
		exemptCf:       "The data subjects are not informed individually, under Art. 34(3)(c): it would involve disproportionate effort. They are informed instead by a public communication: %s",
		justificationf: "Justification: %s",
		tSubjectComm:   "whether and when the data subjects were or will be informed, and how, or why they are not (Art. 34(3))",

		hSource:           "Source: the processor's report",
		lProcessor:        "Processor",
		lProcessorContact: "The processor's contact point",
		revisionsf:        "This draft uses revision %d of the processor's report:",
		revisionFirst:     "Revision 1: the first report.",
		revisionf:         "Revision %d, %s: %s",

		hChecklist:         "Fields to complete before submitting",
		hChecklistFollowUp: "Fields to complete before submitting the follow-up",
		phasedNew:          "If information is still missing as the deadline approaches, notify within the deadline anyway and provide the rest later, without undue further delay (Art. 33(4)).",
		phasedIMY:          "IMY accepts supplementary information within four weeks.",
		phasedFollow:       "Information may be provided in phases without undue further delay (Art. 33(4)).",
		document:           "Document the breach under Art. 33(5), whether or not it is notified.",
		fieldLabels: map[string]string{
			FieldAuthority:            "Competent supervisory authority",
			FieldOrganisationNumber:   "Organisation number",
			FieldOwnReference:         "Own reference",
			FieldIncidentType:         "Type of breach",
			FieldIncidentStarted:      "When the breach began",
			FieldIncidentEnded:        "When the breach ended, or that it is ongoing",
			FieldSubjectCategories:    "Categories of data subjects",
			FieldDataCategories:       "Categories of personal data",
			FieldApproxSubjects:       "Approximate number of data subjects concerned",
			FieldApproxRecords:        "Approximate number of personal data records concerned",
			FieldDPOContact:           "Contact details of the data protection officer",
			FieldRiskAssessment:       "Own assessment of the likely consequences and the severity",
			FieldControllerMeasures:   "Own measures, taken or planned",
			FieldSubjectCommunication: "Communication to data subjects: when and how, or why not",
			FieldDelayReason:          "Reasons for the delay (Art. 33(1))",
		},
	}
}
