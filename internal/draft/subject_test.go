package draft

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/testkit"
)

// subjectFixture is the fixture with the processor's words for the data
// subjects in both languages and the organisation's telephone number.
func subjectFixture(t *testing.T) (*breach.Breach, *breach.Notice, *breach.Org) {
	t.Helper()
	b, n, org := fixture(t)
	b.Report.SubjectNotice = &breach.SubjectNotice{
		Sv: &breach.SubjectNoticeText{
			WhatHappened: "Någon tog sig in i systemet för lön och personal och kopierade uppgifter om anställda.\nVi har stängt ute angriparen.",
			WhichData:    "Namn, personnummer, adress, telefonnummer och lön. För en del även sjukfrånvaro.",
			WhatToDo:     "Var vaksam på e-post och sms om lön eller skatt.\nSpärra gärna ditt personnummer hos kreditupplysningsföretagen.",
			RecognisePhishing: "Bedragare kan använda dina riktiga uppgifter för att verka trovärdiga. " +
				"Meddelanden om \"återbetalning av lön\" kommer inte från oss.",
		},
		En: &breach.SubjectNoticeText{
			WhatHappened:      "Someone broke into the payroll and HR system and copied data about employees.\nThe attacker has been locked out.",
			WhichData:         "Name, personal identity number, address, telephone number and salary; for some, sick leave.",
			WhatToDo:          "Be careful with e-mails and text messages about salary or tax.",
			RecognisePhishing: "Fraudsters may use your real details to seem credible.",
		},
	}
	org.Phone = "+46 8 123 456 78"
	return b, n, org
}

func TestSubjectGolden(t *testing.T) {
	b, n, org := subjectFixture(t)
	for _, lang := range []Lang{Swedish, English} {
		d := BuildSubject(b, n, org, lang)
		testkit.Golden(t, "subject_"+string(lang)+".golden.md", d.Markdown())
		testkit.Golden(t, "subject_"+string(lang)+".golden.txt", d.PlainText())
		testkit.Golden(t, "subject_"+string(lang)+".golden.sms", d.SMS()+"\n")
	}
}

// Without the processor's words the draft is still a letter: the
// organisation's name and numbers, the categories, generic advice and
// how to recognise phishing, with placeholders for the rest.
func TestSubjectGenericGolden(t *testing.T) {
	b, n, org := fixture(t)
	org.DPOEmail = ""
	for _, lang := range []Lang{Swedish, English} {
		d := BuildSubject(b, n, org, lang)
		testkit.Golden(t, "subject_generic_"+string(lang)+".golden.md", d.Markdown())
		for _, f := range []string{SubjectFieldWhatHappened, SubjectFieldLikelyConsequences, SubjectFieldMeasures, SubjectFieldDPOContact, SubjectFieldPhone} {
			if !slices.Contains(d.FieldsToComplete, f) {
				t.Errorf("%s: fields_to_complete %v lacks %s", lang, d.FieldsToComplete, f)
			}
		}
		if slices.Contains(d.FieldsToComplete, SubjectFieldWhichData) {
			t.Errorf("%s: which_data to complete though the processor named categories", lang)
		}
		sms := d.SMS()
		if n, ok := gsm7Len(sms); !ok || n > SMSLimit {
			t.Errorf("%s: SMS of %d septets (GSM-7: %v): %q", lang, n, ok, sms)
		}
	}
}

func TestSubjectOtherLanguageOnly(t *testing.T) {
	b, n, org := subjectFixture(t)
	b.Report.SubjectNotice.En = nil
	d := BuildSubject(b, n, org, English)
	if d.Text != nil || !d.OtherLanguageOnly || !slices.Contains(d.FieldsToComplete, SubjectFieldWhatHappened) {
		t.Fatalf("text %v, other language only %v, fields %v", d.Text, d.OtherLanguageOnly, d.FieldsToComplete)
	}
	mustContain(t, d.Markdown(), "Swedish only", "**[TO COMPLETE: in plain words, what happened]**")
	mustNotContain(t, d.Markdown(), "Någon tog sig in")
}

// The latest revision's subject_notice is the one drafted.
func TestSubjectUsesLatestRevision(t *testing.T) {
	b, n, org := subjectFixture(t)
	b.Revisions[0].Update.SubjectNotice = &breach.SubjectNotice{En: &breach.SubjectNoticeText{WhatHappened: "Revised words."}}
	mustContain(t, BuildSubject(b, n, org, English).Markdown(), "Revised words.")
	mustNotContain(t, BuildSubject(b, n, org, English).Markdown(), "Someone broke into")
	if d := BuildSubject(b, n, org, Swedish); d.Text != nil {
		t.Error("the update replaced the whole subject_notice, yet the Swedish text of the report is drafted")
	}
}

func TestSMS(t *testing.T) {
	b, n, org := subjectFixture(t)
	long := strings.Repeat("Mycket långt kommunnamn ", 10)
	tests := []struct {
		name, orgName, phone string
		want                 []string
		wantNot              []string
	}{
		{"with phone", "Exempelby kommun", "+46 8 123 456 78", []string{"Exempelby kommun:", "Ring +46 8 123 456 78"}, nil},
		{"without phone", "Exempelby kommun", "", []string{"Exempelby kommun:", "Vi återkommer med mer."}, []string{"Ring"}},
		{"long name drops the phone, then shortens", long, "+46 8 123 456 78", []string{"...:"}, []string{"Ring"}},
		{"characters outside GSM-7", "Łódź “kommun” – test", "", []string{"Lodz \"kommun\" - test:"}, nil},
		{"a newline in the name", "Exempel\nby", "", []string{"Exempel by:"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org.Name, org.Phone = tt.orgName, tt.phone
			sms := BuildSubject(b, n, org, Swedish).SMS()
			if n, ok := gsm7Len(sms); !ok || n > SMSLimit {
				t.Errorf("SMS of %d septets (GSM-7: %v): %q", n, ok, sms)
			}
			mustContain(t, sms, tt.want...)
			mustNotContain(t, sms, tt.wantNot...)
			mustNotContain(t, sms, "http", "www.", "\n")
		})
	}
	for _, lang := range []Lang{Swedish, English} {
		org.Name, org.Phone = "Exempelby kommun", "+46 8 123 456 78"
		sms := BuildSubject(b, n, org, lang).SMS()
		if n, _ := gsm7Len(sms); n > SMSLimit || utf8.RuneCountInString(sms) > SMSLimit {
			t.Errorf("%s: %d septets: %q", lang, n, sms)
		}
	}
}

func TestGSM7Len(t *testing.T) {
	for s, want := range map[string]int{"abc": 3, "åäö ÅÄÖ": 7, "[x]": 5, "€": 2} {
		if n, ok := gsm7Len(s); n != want || !ok {
			t.Errorf("gsm7Len(%q) = %d, %v; want %d, true", s, n, ok, want)
		}
	}
	if _, ok := gsm7Len("ł"); ok {
		t.Error("ł is not GSM-7")
	}
}

// unescapedLink is "](" not preceded by a backslash: a link or image.
var unescapedLink = regexp.MustCompile(`(^|[^\\])\]\(`)

// TestSubjectMarkdownEscapesHostileValues: the processor's words, the
// categories and the registry's entries render as the text they are, and
// the letter keeps its shape.
func TestSubjectMarkdownEscapesHostileValues(t *testing.T) {
	build := func(v string, lines []string, lang Lang) string {
		b, n, org := subjectFixture(t)
		multi := strings.Join(lines, "\n")
		b.Report.Processor = v
		b.Report.DataCategories = []string{v, v}
		b.Revisions[0].Update.DataCategories = nil
		text := &breach.SubjectNoticeText{WhatHappened: multi, WhichData: multi, WhatToDo: multi, RecognisePhishing: multi}
		b.Report.SubjectNotice = &breach.SubjectNotice{Sv: text, En: text}
		org.Name, org.DPOEmail, org.Phone = v, v, v
		return BuildSubject(b, n, org, lang).Markdown()
	}
	benign := make([]string, len(hostileLines))
	for i := range benign {
		benign[i] = "plain line"
	}
	for _, lang := range []Lang{Swedish, English} {
		base := structure(build("plain", benign, lang))
		for _, v := range hostileValues {
			md := build(v, hostileLines, lang)
			if got := structure(md); !slices.Equal(got, base) {
				t.Errorf("%s, %q: the letter's shape changed:\n%s", lang, v, md)
			}
			if strings.Contains(md, "<") {
				t.Errorf("%s, %q: raw < in the letter (HTML or autolink):\n%s", lang, v, md)
			}
			if unescapedLink.MatchString(md) {
				t.Errorf("%s, %q: a link or image in the letter:\n%s", lang, v, md)
			}
			if strings.Contains(md, v) && strings.ContainsAny(v, "<[*_`|~") {
				t.Errorf("%s: value %q copied unescaped", lang, v)
			}
		}
		// Categories as a list and which_data from the categories too.
		b, n, org := fixture(t)
		b.Report.DataCategories = []string{"- [x](http://evil.example)"}
		b.Revisions[0].Update.DataCategories = nil
		mustContain(t, BuildSubject(b, n, org, lang).Markdown(), `- \- \[x\](http://evil.example)`)
	}
}
