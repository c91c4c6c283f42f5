package draft

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cascadehq/cascade/internal/breach"
)

// Codes in SubjectDraft.FieldsToComplete: what the controller must still
// write in its communication to the data subjects (Art. 34(2)).
const (
	SubjectFieldWhatHappened       = "what_happened"       // the processor gave no subject_notice in the draft's language
	SubjectFieldWhichData          = "which_data"          // neither the subject_notice nor the categories say which data
	SubjectFieldLikelyConsequences = "likely_consequences" // the consequences for the people concerned, as the controller assesses them
	SubjectFieldMeasures           = "measures"            // what the controller and the processor did and will do
	SubjectFieldDPOContact         = "dpo_contact"         // the registry has no DPO address
	SubjectFieldPhone              = "phone"               // the registry has no telephone number for the organisation
)

// SubjectDraft is one controller's draft communication to its data
// subjects about a breach at its processor (Art. 34): a letter in plain
// language and one SMS. It is pre-filled from the controller's registry
// entry and notice and from the processor's subject_notice; what only the
// controller can say is left as a placeholder and listed in
// FieldsToComplete.
type SubjectDraft struct {
	Language          Lang
	NoticeID          string
	Controller        Controller
	Processor         string
	BreachID          breach.BreachID
	OccurredFrom      time.Time
	OccurredTo        time.Time
	DiscoveredAt      time.Time
	DataCategories    []string
	ApproxSubjects    int64                     // this controller's; 0 = unknown
	Text              *breach.SubjectNoticeText // the processor's words in Language; nil if it gave none
	OtherLanguageOnly bool                      // the processor gave words in the other language only
	DPOEmail          string
	Phone             string // the organisation's telephone number from the registry
	FieldsToComplete  []string
}

// BuildSubject drafts org's communication to its data subjects about
// breach b (its notice n). lang and org as for Build.
func BuildSubject(b *breach.Breach, n *breach.Notice, org *breach.Org, lang Lang) SubjectDraft {
	f := b.Facts()
	if org == nil {
		org = &breach.Org{ID: n.ID.Org, Name: n.OrgName}
	}
	d := SubjectDraft{
		Language:       pickLang(lang, org.Locale),
		NoticeID:       n.ID.String(),
		Controller:     Controller{Name: firstNonEmpty(org.Name, n.OrgName, string(n.ID.Org)), OrgID: n.ID.Org},
		Processor:      f.Processor,
		BreachID:       n.ID.Breach,
		OccurredFrom:   utc(f.OccurredFrom),
		OccurredTo:     utc(f.OccurredTo),
		DiscoveredAt:   utc(f.DiscoveredAt),
		DataCategories: nonNil(f.DataCategories),
		ApproxSubjects: n.ApproxSubjects,
		DPOEmail:       org.DPOEmail,
		Phone:          org.Phone,
	}
	if d.ApproxSubjects == 0 {
		for _, a := range f.Affected {
			if a.Org == n.ID.Org && a.ApproxSubjects > 0 {
				d.ApproxSubjects = a.ApproxSubjects
			}
		}
	}
	other := English
	if d.Language == English {
		other = Swedish
	}
	d.Text = f.SubjectNotice.Text(string(d.Language))
	d.OtherLanguageOnly = d.Text == nil && f.SubjectNotice.Text(string(other)) != nil

	add := func(cond bool, code string) {
		if cond {
			d.FieldsToComplete = append(d.FieldsToComplete, code)
		}
	}
	add(d.Text == nil, SubjectFieldWhatHappened)
	add((d.Text == nil || d.Text.WhichData == "") && len(d.DataCategories) == 0, SubjectFieldWhichData)
	add(true, SubjectFieldLikelyConsequences)
	add(true, SubjectFieldMeasures)
	add(d.DPOEmail == "", SubjectFieldDPOContact)
	add(d.Phone == "", SubjectFieldPhone)
	return d
}

// Markdown is the letter as Markdown: every supplied text is escaped
// (see escape), placeholders are bold and bracketed, and a closing
// checklist lists them.
func (d SubjectDraft) Markdown() string { return d.render(true) }

// PlainText is the letter as plain text: the same words, without markup.
func (d SubjectDraft) PlainText() string { return d.render(false) }

// subjectRenderer writes the letter as Markdown or plain text.
type subjectRenderer struct {
	d   *SubjectDraft
	w   *subjectWords
	md  bool
	loc *time.Location
	b   strings.Builder
}

func (d SubjectDraft) render(md bool) string {
	r := &subjectRenderer{d: &d, w: subjectWordsFor(d.Language), md: md, loc: time.UTC}
	if d.Language == Swedish {
		if loc, err := time.LoadLocation("Europe/Stockholm"); err == nil {
			r.loc = loc
		}
	}
	r.letter()
	return strings.TrimRight(r.b.String(), "\n") + "\n"
}

func (r *subjectRenderer) heading(level int, s string) {
	if r.md {
		r.b.WriteString(strings.Repeat("#", level) + " " + s + "\n\n")
		return
	}
	u := "="
	if level > 1 {
		u = "-"
	}
	r.b.WriteString(s + "\n" + strings.Repeat(u, utf8.RuneCountInString(s)) + "\n\n")
}

func (r *subjectRenderer) para(s string) { r.b.WriteString(s + "\n\n") }

func (r *subjectRenderer) list(items ...string) {
	for _, it := range items {
		r.b.WriteString("- " + it + "\n")
	}
	r.b.WriteString("\n")
}

// s is supplied text on one line.
func (r *subjectRenderer) s(v string) string {
	v = strings.Join(strings.Fields(v), " ")
	if r.md {
		return escape(v)
	}
	return v
}

// text is supplied multi-line text, its line breaks kept.
func (r *subjectRenderer) text(v string) string {
	v = strings.TrimSpace(strings.ReplaceAll(v, "\r\n", "\n"))
	if !r.md {
		return v
	}
	lines := strings.Split(v, "\n")
	for i, l := range lines {
		lines[i] = escapeLine(l)
	}
	return strings.Join(lines, "\n")
}

func (r *subjectRenderer) todo(what string) string {
	if r.md {
		return "**[" + r.w.todo + ": " + what + "]**"
	}
	return "[" + r.w.todo + ": " + what + "]"
}

func (r *subjectRenderer) date(t time.Time) string { return t.In(r.loc).Format(time.DateOnly) }

func (r *subjectRenderer) letter() {
	d, w := r.d, r.w
	org, proc := r.s(d.Controller.Name), r.s(d.Processor)
	r.heading(1, w.title)
	note := w.draftNote(org)
	if r.md {
		r.b.WriteString("> **" + w.draft + "** " + note + "\n\n")
	} else {
		r.para(strings.ToUpper(w.draft) + " " + note)
	}
	r.para(w.greeting)
	r.para(w.intro(org, proc))

	r.heading(2, w.hWhat)
	if d.Text != nil {
		r.para(r.text(d.Text.WhatHappened))
	} else {
		if d.OtherLanguageOnly {
			r.para(w.otherLanguage)
		}
		r.para(r.todo(w.tWhat))
	}
	when := w.discovered(proc, r.date(d.DiscoveredAt))
	if !d.OccurredFrom.IsZero() {
		when += " " + w.occurred(r.date(d.OccurredFrom), dateOr(r, d.OccurredTo))
	}
	r.para(when)
	if d.ApproxSubjects > 0 {
		r.para(w.count(r.number(d.ApproxSubjects), org))
	}

	r.heading(2, w.hWhich)
	switch {
	case d.Text != nil && d.Text.WhichData != "":
		r.para(r.text(d.Text.WhichData))
	case len(d.DataCategories) > 0:
		r.para(w.categories)
		items := make([]string, len(d.DataCategories))
		for i, c := range d.DataCategories {
			items[i] = r.s(c)
			if r.md {
				items[i] = escapeLine(strings.Join(strings.Fields(c), " "))
			}
		}
		r.list(items...)
	default:
		r.para(r.todo(w.tWhich))
	}

	r.heading(2, w.hConsequences)
	r.para(r.todo(w.tConsequences))

	r.heading(2, w.hMeasures)
	r.para(r.todo(w.tMeasures))

	r.heading(2, w.hToDo)
	if d.Text != nil && d.Text.WhatToDo != "" {
		r.para(r.text(d.Text.WhatToDo))
	} else {
		r.list(w.genericToDo...)
	}

	r.heading(2, w.hPhishing)
	if d.Text != nil && d.Text.RecognisePhishing != "" {
		r.para(r.text(d.Text.RecognisePhishing))
	}
	r.list(w.phishing(org)...)

	r.heading(2, w.hContact)
	r.para(w.contactIntro)
	dpo, phone := r.todo(w.tDPO), r.todo(w.tPhone)
	if d.DPOEmail != "" {
		dpo = r.s(d.DPOEmail)
	}
	if d.Phone != "" {
		phone = r.s(d.Phone)
	}
	r.list(w.lDPO+": "+dpo, w.lPhone+": "+phone)
	if r.md {
		r.para(w.regards + "\\\n" + org) // a hard line break
	} else {
		r.para(w.regards + "\n" + org)
	}

	if len(d.FieldsToComplete) == 0 {
		return
	}
	if r.md {
		r.b.WriteString("---\n\n")
	}
	r.heading(2, w.hChecklist)
	for _, f := range d.FieldsToComplete {
		if r.md {
			r.b.WriteString("- [ ] " + w.field[f] + "\n")
		} else {
			r.b.WriteString("- " + w.field[f] + "\n")
		}
	}
	r.b.WriteString("\n")
}

func dateOr(r *subjectRenderer, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return r.date(t)
}

// number is n with the language's thousands separator.
func (r *subjectRenderer) number(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(r.w.thousandsSep)
		}
		b.WriteRune(c)
	}
	return b.String()
}
