package draft

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/testkit"
)

// Fixed times, so the drafts are the same on every run.
var (
	tOccurred   = time.Date(2025, 8, 23, 2, 15, 0, 0, time.UTC)
	tDiscovered = time.Date(2025, 8, 23, 10, 10, 0, 0, time.UTC)
	tEnded      = time.Date(2025, 8, 23, 11, 5, 0, 0, time.UTC)
	tDelivered  = time.Date(2025, 8, 24, 12, 40, 0, 0, time.UTC) // processor delay 26h30m
	tRevision2  = time.Date(2025, 8, 24, 18, 0, 0, 0, time.UTC)
	tDeadline   = tDelivered.Add(72 * time.Hour)               // 2025-08-27 12:40 UTC
	tNow        = time.Date(2025, 8, 25, 9, 0, 0, 0, time.UTC) // 51h40m left
)

const (
	breachID = breach.BreachID("EXSYS-2025-08-23")
	orgID    = breach.OrgID("exempelby")
)

// fixture is a fully populated breach (two revisions), the notice of one
// affected municipality (delivered, acknowledged, data subjects informed)
// and its registry entry.
func fixture(t *testing.T) (*breach.Breach, *breach.Notice, *breach.Org) {
	t.Helper()
	b := &breach.Breach{
		ID:       breachID,
		Revision: 2,
		Report: breach.Report{
			ID:        breachID,
			Processor: "Exempel Systemdrift AB",
			Title:     "Intrång i den driftade HR- och lönetjänsten; personaluppgifter kopierade",
			Nature: "En obehörig aktör tog sig in i driftmiljön för HR- och lönetjänsten med en stulen administratörsbehörighet " +
				"och kopierade databaser med uppgifter om kundernas anställda.\n" +
				"Angriparen krypterade därefter delar av miljön med utpressningsprogram.",
			DiscoveredAt:       tDiscovered,
			OccurredFrom:       tOccurred,
			DataCategories:     []string{"Namn", "Personnummer", "Adress och telefonnummer", "Lön och anställningsvillkor"},
			SubjectCategories:  []string{"Anställda", "Tidigare anställda", "Anhöriga angivna som kontaktpersoner"},
			Affected:           []breach.Affected{{Org: orgID, ApproxSubjects: 12500, ApproxRecords: 180000}, {Org: "grannby"}},
			LikelyConsequences: "Risk för identitetsstöld och bedrägeri.",
			MeasuresTaken: "Den drabbade miljön isolerades 2025-08-23. Alla administratörsbehörigheter har spärrats och återställts. " +
				"Polisanmälan är gjord och CERT-SE är informerat.",
			MeasuresProposed:    "Nätfiskeresistent flerfaktorsautentisering för all administration; utökad loggning.",
			AdviceToControllers: "Varna de anställda för nätfiske som utger sig för att komma från lönetjänsten.",
			Contact:             breach.Contact{Name: "Karin Lind", Email: "incident@exempel-systemdrift.se", Phone: "+46 8 123 456 78"},
		},
		ReceivedAt: tDiscovered.Add(26 * time.Hour),
		Revisions: []breach.Revision{{
			Number: 2,
			At:     tRevision2,
			Update: breach.Update{
				Breach:  breachID,
				Summary: "Kopieringen är bekräftad och uppgifterna har publicerats; sjukfrånvaro ingår.",
				LikelyConsequences: "Uppgifterna har publicerats på en läcksajt. Risk för identitetsstöld, bedrägeri och riktat nätfiske " +
					"mot de anställda; uppgifter om sjukfrånvaro kan avslöja hälsotillstånd.",
				OccurredTo:     tEnded,
				DataCategories: []string{"Namn", "Personnummer", "Adress och telefonnummer", "Lön och anställningsvillkor", "Sjukfrånvaro"},
			},
		}},
	}
	n := &breach.Notice{
		ID:             breach.NewNoticeID(breachID, orgID),
		OrgName:        "Exempelby kommun",
		State:          breach.StatePending,
		CreatedAt:      tDelivered.Add(-time.Second),
		ApproxSubjects: 12500,
		ApproxRecords:  180000,
		DiscoveredAt:   tDiscovered,
	}
	n.Deliver(tDelivered, 72*time.Hour, 1)
	n.Deliver(tRevision2.Add(time.Minute), 72*time.Hour, 2)
	if _, err := n.Acknowledge(tRevision2.Add(time.Hour), "dso@exempelby.se", "", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := n.RecordSubjectCommunication(tNow.Add(-time.Hour), "dso@exempelby.se", breach.SubjectCommunication{
		Kind: breach.CommCommunicated, CommunicatedAt: tNow.Add(-90 * time.Minute), How: "brev och kommunens webbplats",
	}); err != nil {
		t.Fatal(err)
	}
	org := &breach.Org{ID: orgID, Name: "Exempelby kommun", DPOEmail: "dataskyddsombud@exempelby.se", Locale: "sv"}
	return b, n, org
}

func TestGolden(t *testing.T) {
	b, n, org := fixture(t)
	sv := Build(b, n, org, Swedish, tNow)
	testkit.Golden(t, "draft_sv.golden.md", sv.Markdown())
	testkit.Golden(t, "draft_en.golden.md", Build(b, n, org, English, tNow).Markdown())
	data, err := sv.JSON()
	if err != nil {
		t.Fatal(err)
	}
	testkit.Golden(t, "draft_sv.golden.json", string(data))
}

func TestJSONKeys(t *testing.T) {
	b, n, org := fixture(t)
	for _, lang := range []Lang{Swedish, English} {
		data, err := Build(b, n, org, lang, tNow).JSON()
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"language", "controller", "authority", "notification_type", "discovery_route", "processor",
			"became_aware_at", "deadline", "late", "delay_reason_needed", "delay_reason", "processor_delay", "breach",
			"data_categories", "subject_categories", "approx_subjects", "approx_records", "likely_consequences",
			"measures_taken_by_processor", "measures_proposed_by_processor", "advice_to_controllers", "controller_measures",
			"dpo_contact", "subject_communication", "fields_to_complete"} {
			if _, ok := m[k]; !ok {
				t.Errorf("%s: JSON has no key %q", lang, k)
			}
		}
		if got := m["language"]; got != string(lang) {
			t.Errorf("language = %v, want %s", got, lang)
		}
		br := m["breach"].(map[string]any)
		for _, k := range []string{"id", "title", "revision", "nature", "occurred_from", "occurred_to", "discovered_by_processor_at"} {
			if _, ok := br[k]; !ok {
				t.Errorf("%s: JSON breach has no key %q", lang, k)
			}
		}
		if m["processor_delay"] != "26h30m" || m["became_aware_at"] != "2025-08-24T12:40:00Z" || m["deadline"] != "2025-08-27T12:40:00Z" {
			t.Errorf("%s: timing = %v, %v, %v", lang, m["processor_delay"], m["became_aware_at"], m["deadline"])
		}
	}
}

// scenario builds a draft in both languages from a changed fixture.
type scenario struct {
	name  string
	now   time.Time
	edit  func(t *testing.T, b *breach.Breach, n *breach.Notice, org *breach.Org) *breach.Org
	check func(t *testing.T, d Draft, sv, en string)
}

func mustContain(t *testing.T, out string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

func mustNotContain(t *testing.T, out string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(out, s) {
			t.Errorf("output contains %q:\n%s", s, out)
		}
	}
}

func wantFields(t *testing.T, d Draft, present []string, absent []string) {
	t.Helper()
	for _, f := range present {
		if !slices.Contains(d.FieldsToComplete, f) {
			t.Errorf("fields_to_complete %v lacks %s", d.FieldsToComplete, f)
		}
	}
	for _, f := range absent {
		if slices.Contains(d.FieldsToComplete, f) {
			t.Errorf("fields_to_complete %v has %s", d.FieldsToComplete, f)
		}
	}
}

func noSubjectComm(t *testing.T, b *breach.Breach, n *breach.Notice, org *breach.Org) *breach.Org {
	n.SubjectComm = nil
	return org
}

func report(reportedAt time.Time, reason string) func(*testing.T, *breach.Breach, *breach.Notice, *breach.Org) *breach.Org {
	return func(t *testing.T, b *breach.Breach, n *breach.Notice, org *breach.Org) *breach.Org {
		if _, err := n.RecordAuthorityReport(reportedAt.Add(time.Minute), "dso@exempelby.se", "IMY", "IMY-2025-1234", reportedAt, reason); err != nil {
			t.Fatal(err)
		}
		return org
	}
}

func comm(sc breach.SubjectCommunication) func(*testing.T, *breach.Breach, *breach.Notice, *breach.Org) *breach.Org {
	return func(t *testing.T, b *breach.Breach, n *breach.Notice, org *breach.Org) *breach.Org {
		n.SubjectComm = nil
		if _, err := n.RecordSubjectCommunication(tNow, "dso@exempelby.se", sc); err != nil {
			t.Fatal(err)
		}
		return org
	}
}

func TestScenarios(t *testing.T) {
	const delayReason = "Underrättelsen hamnade i en obevakad funktionsbrevlåda under helgen."
	scenarios := []scenario{{
		name: "on time, nothing recorded",
		now:  tNow,
		edit: noSubjectComm,
		check: func(t *testing.T, d Draft, sv, en string) {
			if d.NotificationType != TypeNew || d.Late || d.DelayReasonNeeded || d.TimeRemaining != "51h40m" {
				t.Errorf("type %s, late %v, reason needed %v, remaining %q", d.NotificationType, d.Late, d.DelayReasonNeeded, d.TimeRemaining)
			}
			wantFields(t, d, []string{FieldOwnReference, FieldSubjectCommunication}, []string{FieldDelayReason})
			mustContain(t, sv, "Återstående tid när utkastet skapades: 51 timmar och 40 minuter.", "Ny anmälan",
				"**[ATT FYLLA I: om och när de registrerade har informerats")
			mustContain(t, en, "Time remaining when this draft was generated: 51 hours and 40 minutes.", "New notification",
				"**[TO COMPLETE: whether and when the data subjects")
			mustNotContain(t, sv, "## Skäl till förseningen")
			mustNotContain(t, en, "## Reasons for the delay")
		},
	}, {
		name: "late and not reported",
		now:  tDeadline.Add(5*time.Hour + 30*time.Minute),
		check: func(t *testing.T, d Draft, sv, en string) {
			if d.NotificationType != TypeNew || !d.Late || !d.DelayReasonNeeded || d.DelayReason != "" || d.TimeRemaining != "" {
				t.Errorf("type %s, late %v, reason needed %v, reason %q, remaining %q", d.NotificationType, d.Late, d.DelayReasonNeeded, d.DelayReason, d.TimeRemaining)
			}
			wantFields(t, d, []string{FieldDelayReason}, nil)
			mustContain(t, sv, "## Skäl till förseningen (artikel 33.1)", "motivering till förseningen",
				"anmälan är 5 timmar och 30 minuter försenad", "**[ATT FYLLA I: skälen till att anmälan inte gjordes inom 72 timmar]**",
				"- [ ] Skäl till förseningen (artikel 33.1)")
			mustContain(t, en, "## Reasons for the delay (Art. 33(1))", "the notification is 5 hours and 30 minutes late",
				"- [ ] Reasons for the delay (Art. 33(1))")
		},
	}, {
		name: "at the deadline is late",
		now:  tDeadline,
		check: func(t *testing.T, d Draft, sv, en string) {
			if !d.Late || !d.DelayReasonNeeded {
				t.Errorf("late %v, reason needed %v", d.Late, d.DelayReasonNeeded)
			}
		},
	}, {
		name: "a minute before the deadline is not late",
		now:  tDeadline.Add(-time.Minute),
		check: func(t *testing.T, d Draft, sv, en string) {
			if d.Late || d.DelayReasonNeeded || d.TimeRemaining != "1m" {
				t.Errorf("late %v, reason needed %v, remaining %q", d.Late, d.DelayReasonNeeded, d.TimeRemaining)
			}
			mustContain(t, sv, "Återstående tid när utkastet skapades: 1 minut.")
		},
	}, {
		// A notice resolved as reported gets a follow-up draft (Art. 33(4));
		// it is never late afterwards, whatever now is.
		name: "reported on time: follow-up",
		now:  tDeadline.Add(10 * time.Hour),
		edit: report(tDelivered.Add(30*time.Hour), ""),
		check: func(t *testing.T, d Draft, sv, en string) {
			if d.NotificationType != TypeFollowUp || d.Late || d.DelayReasonNeeded || d.Authority != "IMY" {
				t.Errorf("type %s, late %v, reason needed %v, authority %q", d.NotificationType, d.Late, d.DelayReasonNeeded, d.Authority)
			}
			if d.Outcome == nil || d.Outcome.Reference != "IMY-2025-1234" {
				t.Errorf("outcome = %+v", d.Outcome)
			}
			wantFields(t, d, nil, []string{FieldOwnReference, FieldDelayReason})
			mustContain(t, sv, "# Utkast: kompletterande uppgifter om personuppgiftsincident till Integritetsskyddsmyndigheten (IMY)",
				"Komplettering av anmälan till Integritetsskyddsmyndigheten (IMY), lämnad 2025-08-25 18:40 UTC (20:40 svensk tid)",
				"- **Referens till anmälan:** IMY-2025-1234", "lämna kompletteringen i IMY:s e-tjänst", "## Att fylla i innan kompletteringen lämnas",
				"Anmälan lämnades 2025-08-25 18:40 UTC", "får lämnas i omgångar")
			mustContain(t, en, "# Draft: follow-up notification of a personal data breach to the Swedish Authority for Privacy Protection (IMY)",
				"Follow-up to the notification made to")
			mustNotContain(t, sv, "## Skäl till förseningen", "Egen referens")
		},
	}, {
		name: "reported late with a reason",
		now:  tDeadline.Add(3 * time.Hour),
		edit: report(tDeadline.Add(2*time.Hour), delayReason),
		check: func(t *testing.T, d Draft, sv, en string) {
			if d.NotificationType != TypeFollowUp || d.Late || !d.DelayReasonNeeded || d.DelayReason != delayReason {
				t.Errorf("type %s, late %v, reason needed %v, reason %q", d.NotificationType, d.Late, d.DelayReasonNeeded, d.DelayReason)
			}
			wantFields(t, d, nil, []string{FieldDelayReason})
			mustContain(t, sv, "## Skäl till förseningen (artikel 33.1)", delayReason, ", efter fristen.")
			mustContain(t, en, "## Reasons for the delay (Art. 33(1))", delayReason, ", after the deadline.")
		},
	}, {
		name: "documented not reportable, past the deadline",
		now:  tDeadline.Add(time.Hour),
		edit: func(t *testing.T, b *breach.Breach, n *breach.Notice, org *breach.Org) *breach.Org {
			if _, err := n.RecordNotReportable(tNow, "dso@exempelby.se", "Uppgifterna var krypterade."); err != nil {
				t.Fatal(err)
			}
			return org
		},
		check: func(t *testing.T, d Draft, sv, en string) {
			if d.NotificationType != TypeNew || !d.Late || d.Outcome == nil || d.Outcome.Kind != breach.OutcomeNotReportable {
				t.Errorf("type %s, late %v, outcome %+v", d.NotificationType, d.Late, d.Outcome)
			}
			mustContain(t, sv, "Ni har dokumenterat att incidenten inte behöver anmälas, med motiveringen: ”Uppgifterna var krypterade.”")
			mustContain(t, en, "You documented this breach as not reportable")
		},
	}, {
		name: "unknown approximate numbers",
		now:  tNow,
		edit: func(t *testing.T, b *breach.Breach, n *breach.Notice, org *breach.Org) *breach.Org {
			n.ApproxSubjects, n.ApproxRecords = 0, 0
			b.Report.Affected[0] = breach.Affected{Org: orgID}
			return org
		},
		check: func(t *testing.T, d Draft, sv, en string) {
			if d.ApproxSubjects != 0 || d.ApproxRecords != 0 {
				t.Errorf("approx = %d, %d", d.ApproxSubjects, d.ApproxRecords)
			}
			wantFields(t, d, []string{FieldApproxSubjects, FieldApproxRecords}, nil)
			mustContain(t, sv, "- **Antal berörda registrerade:** okänt **[ATT FYLLA I:", "- **Antal berörda personuppgiftsposter:** okänt **[ATT FYLLA I:")
			mustContain(t, en, "- **Data subjects concerned:** unknown **[TO COMPLETE:", "- **Personal data records concerned:** unknown **[TO COMPLETE:")
		},
	}, {
		name: "known approximate numbers",
		now:  tNow,
		check: func(t *testing.T, d Draft, sv, en string) {
			wantFields(t, d, nil, []string{FieldApproxSubjects, FieldApproxRecords})
			mustContain(t, sv, "- **Antal berörda registrerade:** cirka 12 500", "- **Antal berörda personuppgiftsposter:** cirka 180 000")
			mustContain(t, en, "- **Data subjects concerned:** about 12,500", "- **Personal data records concerned:** about 180,000")
		},
	}, {
		name: "numbers known only from the report",
		now:  tNow,
		edit: func(t *testing.T, b *breach.Breach, n *breach.Notice, org *breach.Org) *breach.Org {
			n.ApproxSubjects, n.ApproxRecords = 0, 0
			return org
		},
		check: func(t *testing.T, d Draft, sv, en string) {
			if d.ApproxSubjects != 12500 || d.ApproxRecords != 180000 {
				t.Errorf("approx = %d, %d", d.ApproxSubjects, d.ApproxRecords)
			}
		},
	}, {
		name: "subjects communicated",
		now:  tNow,
		check: func(t *testing.T, d Draft, sv, en string) {
			if !d.SubjectCommunication.Recorded || d.SubjectCommunication.Kind != breach.CommCommunicated {
				t.Errorf("subject communication = %+v", d.SubjectCommunication)
			}
			wantFields(t, d, nil, []string{FieldSubjectCommunication})
			mustContain(t, sv, "De registrerade informerades 2025-08-25 07:30 UTC (09:30 svensk tid) via brev och kommunens webbplats.")
			mustContain(t, en, "The data subjects were informed on 2025-08-25 07:30 UTC by brev och kommunens webbplats.")
		},
	}, {
		name: "subject communication not required",
		now:  tNow,
		edit: comm(breach.SubjectCommunication{Kind: breach.CommNotRequired, Justification: "Endast namn och arbetsadress."}),
		check: func(t *testing.T, d Draft, sv, en string) {
			wantFields(t, d, nil, []string{FieldSubjectCommunication})
			mustContain(t, sv, "sannolikt inte leda till en hög risk för fysiska personers rättigheter och friheter", "Motivering: Endast namn och arbetsadress.")
			mustContain(t, en, "unlikely to result in a high risk", "Justification: Endast namn och arbetsadress.")
		},
	}, {
		name: "subject communication exempt, public communication",
		now:  tNow,
		edit: comm(breach.SubjectCommunication{Kind: breach.CommExempt, Exemption: breach.ExemptDisproportion,
			PublicCommunication: "Pressmeddelande och information på exempelby.se."}),
		check: func(t *testing.T, d Draft, sv, en string) {
			mustContain(t, sv, "enligt artikel 34.3 c", "offentligt tillkännagivande: Pressmeddelande och information på exempelby.se.")
			mustContain(t, en, "under Art. 34(3)(c)", "public communication: Pressmeddelande")
		},
	}, {
		name: "subject communication exempt, encrypted",
		now:  tNow,
		edit: comm(breach.SubjectCommunication{Kind: breach.CommExempt, Exemption: breach.ExemptUnintelligible}),
		check: func(t *testing.T, d Draft, sv, en string) {
			mustContain(t, sv, "enligt artikel 34.3 a: personuppgifterna har gjorts oläsliga")
			mustContain(t, en, "under Art. 34(3)(a)")
		},
	}, {
		name: "incident window and categories unknown, no DPO",
		now:  tNow,
		edit: func(t *testing.T, b *breach.Breach, n *breach.Notice, org *breach.Org) *breach.Org {
			b.Report.OccurredFrom = time.Time{}
			b.Revisions[0].Update.OccurredTo = time.Time{}
			b.Report.SubjectCategories = nil
			b.Revisions[0].Update.DataCategories = nil
			b.Report.DataCategories = nil
			org.DPOEmail = ""
			return org
		},
		check: func(t *testing.T, d Draft, sv, en string) {
			wantFields(t, d, []string{FieldIncidentStarted, FieldIncidentEnded, FieldSubjectCategories, FieldDataCategories, FieldDPOContact}, nil)
			mustContain(t, sv, "- **Incidenten upphörde:** **[ATT FYLLA I: när incidenten upphörde, eller att den fortfarande pågår]**",
				"- **Dataskyddsombud:** **[ATT FYLLA I:")
			if d.DataCategories == nil || d.SubjectCategories == nil {
				t.Error("empty categories are nil; want [] in JSON")
			}
		},
	}, {
		name: "not delivered yet",
		now:  tNow,
		edit: func(t *testing.T, b *breach.Breach, n *breach.Notice, org *breach.Org) *breach.Org {
			*n = breach.Notice{ID: n.ID, OrgName: n.OrgName, State: breach.StatePending, DiscoveredAt: tDiscovered}
			return org
		},
		check: func(t *testing.T, d Draft, sv, en string) {
			if d.Late || d.DelayReasonNeeded || !d.BecameAwareAt.IsZero() || d.ProcessorDelay != "" || d.TimeRemaining != "" {
				t.Errorf("late %v, aware %v, delay %q, remaining %q", d.Late, d.BecameAwareAt, d.ProcessorDelay, d.TimeRemaining)
			}
			mustContain(t, sv, "Personuppgiftsbiträdets underrättelse har ännu inte levererats till oss.")
		},
	}, {
		name: "processor text cannot add headings",
		now:  tNow,
		edit: func(t *testing.T, b *breach.Breach, n *breach.Notice, org *breach.Org) *breach.Org {
			b.Report.Nature = "Första raden.\r\n# Inte en rubrik"
			return org
		},
		check: func(t *testing.T, d Draft, sv, en string) {
			mustContain(t, sv, "Första raden.\n\\# Inte en rubrik")
			mustNotContain(t, sv, "\n# Inte en rubrik", "\r")
		},
	}}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			b, n, org := fixture(t)
			if sc.edit != nil {
				org = sc.edit(t, b, n, org)
			}
			d := Build(b, n, org, Swedish, sc.now)
			den := Build(b, n, org, English, sc.now)
			sv, en := d.Markdown(), den.Markdown()
			sc.check(t, d, sv, en)
			// The languages differ only in the authority: an English draft
			// asks for it.
			if want := append([]string{FieldAuthority}, d.FieldsToComplete...); !slices.Equal(den.FieldsToComplete, want) && !d.followUpReported() {
				t.Errorf("en fields to complete %v, want %v", den.FieldsToComplete, want)
			}
			// Every placeholder in the text is on the checklist, and back.
			for _, c := range []struct {
				d      Draft
				out    string
				marker string
			}{{d, sv, "**[ATT FYLLA I:"}, {den, en, "**[TO COMPLETE:"}} {
				if got := strings.Count(c.out, c.marker); got != len(c.d.FieldsToComplete) {
					t.Errorf("%s: %d placeholders, %d fields to complete %v", c.d.Language, got, len(c.d.FieldsToComplete), c.d.FieldsToComplete)
				}
				if got := strings.Count(c.out, "\n- [ ] "); got != len(c.d.FieldsToComplete) {
					t.Errorf("%s: %d checklist items, %d fields to complete", c.d.Language, got, len(c.d.FieldsToComplete))
				}
			}
		})
	}
}

// TestSwedish: the Swedish draft uses the terms of the Swedish GDPR text
// and of IMY, and no English heading or marker leaks into it.
func TestSwedish(t *testing.T) {
	b, n, org := fixture(t)
	n.SubjectComm = nil
	now := tDeadline.Add(time.Hour) // late: the delay section is shown
	sv := Build(b, n, org, Swedish, now).Markdown()
	en := Build(b, n, org, English, now).Markdown()
	lower := strings.ToLower(sv)
	for _, phrase := range []string{
		"personuppgiftsincident", "personuppgiftsansvarig", "personuppgiftsbiträde", "Integritetsskyddsmyndigheten (IMY)",
		"registrerade", "kategorier av personuppgifter", "kategorier av registrerade", "sannolika konsekvenser",
		"vidtagna åtgärder", "dataskyddsombud", "skäl till förseningen", "anmälan ska göras inom 72 timmar",
		"kompletterande uppgifter", "fick kännedom om incidenten", "artikel 33.3 a", "artikel 34", "svensk tid",
		"Den upptäcktes av personuppgiftsbiträdet, som underrättade oss", "IMY:s e-tjänst",
	} {
		if !strings.Contains(lower, strings.ToLower(phrase)) {
			t.Errorf("Swedish draft lacks %q", phrase)
		}
	}
	mustNotContain(t, sv, "TO COMPLETE", "Nature of the breach", "Likely consequences", "Measures taken", "Reasons for the delay",
		"Fields to complete", "Timing", "Data protection officer", "data subjects", "supervisory authority", "Art. 33", "Art. 34",
		"Deadline", "Controller", "Processor")
	svHeadings := map[string]bool{}
	for _, l := range strings.Split(sv, "\n") {
		if strings.HasPrefix(l, "#") {
			svHeadings[l] = true
		}
	}
	for _, l := range strings.Split(en, "\n") {
		if strings.HasPrefix(l, "#") && svHeadings[l] {
			t.Errorf("English heading %q in the Swedish draft", l)
		}
	}
}

func TestParseLang(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Lang
		wantErr bool
	}{
		{"", "", false},
		{"sv", Swedish, false},
		{"SV", Swedish, false},
		{" en ", English, false},
		{"En", English, false},
		{"de", "", true},
		{"svenska", "", true},
		{"sv-SE", "", true},
	} {
		got, err := ParseLang(tc.in)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("ParseLang(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
		if err != nil && (!strings.Contains(err.Error(), `"sv"`) || !strings.Contains(err.Error(), `"en"`)) {
			t.Errorf("ParseLang(%q) error %q does not name the allowed values", tc.in, err)
		}
	}
}

func TestDefaultLanguage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lang   Lang
		locale string
		nilOrg bool
		want   Lang
	}{
		{name: "explicit wins over locale", lang: English, locale: "sv", want: English},
		{name: "locale en", locale: "en", want: English},
		{name: "locale en-GB", locale: "en-GB", want: English},
		{name: "locale sv_SE", locale: "sv_SE", want: Swedish},
		{name: "no locale", want: Swedish},
		{name: "unsupported locale", locale: "fi", want: Swedish},
		{name: "unsupported language", lang: "fi", locale: "en", want: English},
		{name: "organisation not in the registry", nilOrg: true, want: Swedish},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, n, org := fixture(t)
			org.Locale = tc.locale
			if tc.nilOrg {
				org = nil
			}
			d := Build(b, n, org, tc.lang, tNow)
			if d.Language != tc.want {
				t.Errorf("language = %q, want %q", d.Language, tc.want)
			}
			wantAuthority := map[Lang]string{Swedish: AuthorityIMY, English: AuthorityGeneric}[tc.want]
			if d.Authority != wantAuthority {
				t.Errorf("authority = %q, want %q", d.Authority, wantAuthority)
			}
			if d.Controller.Name != "Exempelby kommun" || d.Controller.OrgID != orgID {
				t.Errorf("controller = %+v", d.Controller)
			}
			if tc.nilOrg {
				wantFields(t, d, []string{FieldDPOContact}, nil)
			}
		})
	}
}

func TestFactsFromLatestRevision(t *testing.T) {
	b, n, org := fixture(t)
	d := Build(b, n, org, Swedish, tNow)
	if d.Breach.Revision != 2 || !d.Breach.OccurredTo.Equal(tEnded) || !slices.Contains(d.DataCategories, "Sjukfrånvaro") ||
		!strings.HasPrefix(d.LikelyConsequences, "Uppgifterna har publicerats") {
		t.Errorf("draft does not carry revision 2's facts: %+v", d.Breach)
	}
	if len(d.Breach.Updates) != 1 || d.Breach.Updates[0].Revision != 2 {
		t.Errorf("updates = %+v", d.Breach.Updates)
	}
	mustContain(t, d.Markdown(), "revision 2 av biträdets rapport", "- Revision 2, 2025-08-24 18:00 UTC (20:00 svensk tid): Kopieringen är bekräftad")
}
