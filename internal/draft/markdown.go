package draft

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Stockholm times in Swedish drafts, whatever the host has installed

	"github.com/cascadehq/cascade/internal/breach"
)

// timeLayout is how a draft shows a time: always UTC, to the minute.
const timeLayout = "2006-01-02 15:04 UTC"

// Markdown renders the draft in d.Language, along Art. 33(3) (a)–(d).
// Times are UTC; a Swedish draft adds Swedish local time. What the
// controller must fill in is marked in bold brackets and listed in a
// closing checklist.
func (d Draft) Markdown() string {
	r := &renderer{d: &d, w: wordsFor(d.Language)}
	if d.Language != English {
		if loc, err := time.LoadLocation("Europe/Stockholm"); err == nil {
			r.loc = loc
		}
	}
	r.header()
	r.particulars()
	r.timing()
	r.delay()
	r.pointA()
	r.pointB()
	r.pointC()
	r.pointD()
	r.subjects()
	r.source()
	r.checklist()
	return strings.TrimRight(r.b.String(), "\n") + "\n"
}

type renderer struct {
	d   *Draft
	w   *words
	loc *time.Location // local time shown beside UTC; nil for none
	b   strings.Builder
}

func (r *renderer) heading(level int, text string) {
	r.b.WriteString(strings.Repeat("#", level) + " " + text + "\n\n")
}

func (r *renderer) para(text string) { r.b.WriteString(text + "\n\n") }

// item writes one "- **label:** value" line; end the list with r.endList.
func (r *renderer) item(label, value string) {
	r.b.WriteString("- **" + label + ":** " + value + "\n")
}

func (r *renderer) endList() { r.b.WriteString("\n") }

// quote writes a block quote, one paragraph per element.
func (r *renderer) quote(paras ...string) {
	for i, p := range paras {
		if i > 0 {
			r.b.WriteString(">\n")
		}
		r.b.WriteString("> " + p + "\n")
	}
	r.b.WriteString("\n")
}

// todo is a placeholder for the controller to fill in.
func (r *renderer) todo(what string) string {
	return "**[" + r.w.todo + ": " + what + "]**"
}

// text is processor-supplied text as Markdown paragraphs. Line breaks are
// kept; the text is escaped (see escape), so it reads as the processor
// wrote it and cannot add HTML, links, images or headings to the draft.
func (r *renderer) text(s string) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = escapeLine(l)
	}
	return strings.Join(lines, "\n")
}

// inline is supplied text (by the processor, the controller or the
// registry) on one line, escaped.
func (r *renderer) inline(s string) string {
	return escape(strings.Join(strings.Fields(s), " "))
}

// inlineEscaper makes every character through which text could become
// markup literal: < and > as entities (no HTML, no autolink, in any
// Markdown dialect), and a backslash before the characters of links and
// images ([ ] !), emphasis and code (* _ ` ~), tables (|) and the backslash
// itself. Control characters never reach a draft: intake refuses them.
var inlineEscaper = strings.NewReplacer(
	"<", "&lt;", ">", "&gt;",
	`\`, `\\`, "[", `\[`, "]", `\]`, "!", `\!`, "*", `\*`, "_", `\_`, "`", "\\`", "~", `\~`, "|", `\|`,
)

// escape is supplied text as literal Markdown inside a line.
func escape(s string) string { return inlineEscaper.Replace(s) }

// escapeLine is supplied text that starts a line (or a list item) as
// literal Markdown: escaped, and with the marker of a heading, list item or
// heading underline made plain (a block quote's > is an entity already).
func escapeLine(line string) string {
	line = escape(line)
	indent := len(line) - len(strings.TrimLeft(line, " "))
	rest := line[indent:]
	switch {
	case rest == "":
	case strings.ContainsRune("#-+=", rune(rest[0])):
		return line[:indent] + `\` + rest
	default:
		// An ordered list marker: digits, then "." or ")".
		if n := len(rest) - len(strings.TrimLeft(rest, "0123456789")); n > 0 && n < len(rest) && (rest[n] == '.' || rest[n] == ')') {
			return line[:indent] + rest[:n] + `\` + rest[n:]
		}
	}
	return line
}

func (r *renderer) when(t time.Time) string {
	if t.IsZero() {
		return r.w.unknown
	}
	s := t.UTC().Format(timeLayout)
	if r.loc != nil && r.w.localTime != "" {
		l := t.In(r.loc)
		if l.Format(time.DateOnly) == t.UTC().Format(time.DateOnly) {
			s += " (" + l.Format("15:04") + " " + r.w.localTime + ")"
		} else {
			s += " (" + l.Format("2006-01-02 15:04") + " " + r.w.localTime + ")"
		}
	}
	return s
}

// duration is d, rounded to the minute, in words: "26 timmar och 30 minuter".
func (r *renderer) duration(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	d = d.Round(time.Minute)
	h, m := int64(d/time.Hour), int64(d%time.Hour/time.Minute)
	unit := func(n int64, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.FormatInt(n, 10) + " " + many
	}
	switch {
	case h == 0:
		return sign + unit(m, r.w.minute, r.w.minutes)
	case m == 0:
		return sign + unit(h, r.w.hour, r.w.hours)
	}
	return sign + unit(h, r.w.hour, r.w.hours) + r.w.and + unit(m, r.w.minute, r.w.minutes)
}

// parseDuration reads back a duration Build formatted.
func parseDuration(s string) (time.Duration, bool) {
	d, err := time.ParseDuration(s)
	return d, err == nil && s != ""
}

// number is n with thousands separators, approximately; 0 is unknown.
func (r *renderer) number(n int64) string {
	if n <= 0 {
		return r.w.unknown
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(r.w.thousandsSep)
		}
		b.WriteRune(c)
	}
	return fmt.Sprintf(r.w.aboutf, b.String())
}

func (r *renderer) authority() string {
	switch r.d.Authority {
	case AuthorityIMY:
		return r.w.authorityIMY
	case AuthorityGeneric, "":
		return r.w.authorityGeneric
	}
	return r.inline(r.d.Authority)
}

func (r *renderer) followUp() bool { return r.d.NotificationType == TypeFollowUp }

func (r *renderer) header() {
	title := r.w.titleNewf
	if r.followUp() {
		title = r.w.titleFollowUpf
	}
	r.heading(1, fmt.Sprintf(title, r.authority()))
	review, submit := r.w.reviewOtherf, r.w.submitNew
	if r.d.Authority == AuthorityIMY {
		review = r.w.reviewIMYf
	}
	if r.followUp() {
		submit = r.w.submitFollowUp
	}
	paras := []string{
		"**" + r.w.draftNotice + "** " + fmt.Sprintf(r.w.generatedf, r.when(r.d.GeneratedAt), r.inline(r.d.Controller.Name)),
		fmt.Sprintf(r.w.sourcef, r.inline(r.d.Processor.Name), r.d.Breach.Revision),
		fmt.Sprintf(review, submit),
	}
	if o := r.d.Outcome; o != nil && o.Kind == breach.OutcomeNotReportable {
		paras = append(paras, fmt.Sprintf(r.w.notReportablef, r.inline(o.Justification)))
	}
	if r.d.AffectedStatus == breach.StatusNotAffected {
		paras = append(paras, fmt.Sprintf(r.w.withdrawnf, r.when(r.d.WithdrawnAt), r.inline(r.d.WithdrawalStatement)))
	}
	r.quote(paras...)
}

func (r *renderer) particulars() {
	d, w := r.d, r.w
	r.heading(2, w.hParticulars)
	r.item(w.lController, r.inline(d.Controller.Name)+" ("+fmt.Sprintf(w.cascadeIDf, d.Controller.OrgID)+")")
	r.item(w.lOrgNumber, r.todo(w.tOrgNumber))
	if o := d.Outcome; o != nil && o.Reference != "" {
		r.item(w.lPrevReference, r.inline(o.Reference))
	} else {
		r.item(w.lOwnReference, r.todo(w.tOwnReference))
	}
	if r.followUp() {
		o := d.Outcome
		r.item(w.lType, fmt.Sprintf(w.typeFollowUpf, r.authority(), r.when(o.ReportedAt)))
	} else {
		r.item(w.lType, w.typeNew)
	}
	if d.Authority == AuthorityGeneric {
		r.item(w.lAuthority, r.todo(w.tAuthority))
	} else {
		r.item(w.lAuthority, r.authority())
	}
	r.item(w.lDiscovery, w.discovery)
	r.item(w.lBreach, fmt.Sprintf(w.breachRefFmt, fmt.Sprintf(w.quotef, r.inline(d.Breach.Title)), d.Breach.ID, d.Breach.Revision))
	r.endList()
}

func (r *renderer) timing() {
	d, w := r.d, r.w
	r.heading(2, w.hTiming)
	r.item(w.lProcessorAware, r.when(d.Breach.DiscoveredByProcessorAt))
	if d.Breach.OccurredFrom.IsZero() {
		r.item(w.lBegan, r.todo(w.tBegan))
	} else {
		r.item(w.lBegan, r.when(d.Breach.OccurredFrom))
	}
	if d.Breach.OccurredTo.IsZero() {
		r.item(w.lEnded, r.todo(w.tEnded))
	} else {
		r.item(w.lEnded, r.when(d.Breach.OccurredTo))
	}
	if d.BecameAwareAt.IsZero() {
		r.item(w.lWeAware, w.notDelivered)
	} else {
		r.item(w.lWeAware, fmt.Sprintf(w.weAwaref, r.when(d.BecameAwareAt)))
	}
	switch {
	case d.Deadline.IsZero():
		r.item(w.lDeadline, w.deadlineRule+" "+w.noDeadline)
	default:
		status := ""
		switch o := d.Outcome; {
		case d.followUpReported() && o.Late:
			status = fmt.Sprintf(w.reportedLatef, r.when(o.ReportedAt))
		case d.followUpReported():
			status = fmt.Sprintf(w.reportedf, r.when(o.ReportedAt))
		case d.Late:
			status = fmt.Sprintf(w.overduef, r.duration(d.GeneratedAt.Sub(d.Deadline)))
		default:
			if left, ok := parseDuration(d.TimeRemaining); ok {
				status = fmt.Sprintf(w.remainingf, r.duration(left))
			}
		}
		r.item(w.lDeadline, strings.TrimSpace(r.when(d.Deadline)+". "+w.deadlineRule+" "+status))
	}
	if delay, ok := parseDuration(d.ProcessorDelay); ok {
		r.item(w.lProcessorDelay, fmt.Sprintf(w.processorDelayf, r.duration(delay)))
	} else {
		r.item(w.lProcessorDelay, w.processorDelayNone)
	}
	r.endList()
}

func (d *Draft) followUpReported() bool {
	return d.NotificationType == TypeFollowUp && d.Outcome != nil
}

func (r *renderer) delay() {
	d, w := r.d, r.w
	if !d.DelayReasonNeeded {
		return
	}
	r.heading(2, w.hDelay)
	if d.followUpReported() {
		r.quote(w.delayRecorded)
	} else {
		r.quote(w.delayRule)
	}
	if d.DelayReason != "" {
		r.para(r.text(d.DelayReason))
	} else {
		r.para(r.todo(w.tDelayReason))
	}
}

// listOr writes items as a bullet list, or a placeholder when there are none.
func (r *renderer) listOr(items []string, placeholder string) {
	if len(items) == 0 {
		r.para(r.todo(placeholder))
		return
	}
	for _, it := range items {
		r.b.WriteString("- " + escapeLine(strings.Join(strings.Fields(it), " ")) + "\n")
	}
	r.endList()
}

// textOr writes processor text, or fallback when it is empty.
func (r *renderer) textOr(s, fallback string) {
	if strings.TrimSpace(s) == "" {
		r.para(fallback)
		return
	}
	r.para(r.text(s))
}

func (r *renderer) pointA() {
	d, w := r.d, r.w
	r.heading(2, w.hA)
	r.heading(3, w.hNature)
	r.textOr(d.Breach.Nature, w.notStated)
	r.item(w.lIncidentType, r.todo(w.tIncidentType))
	r.endList()
	r.heading(3, w.hSubjectCats)
	r.listOr(d.SubjectCategories, w.tSubjectCats)
	r.heading(3, w.hDataCats)
	r.listOr(d.DataCategories, w.tDataCats)
	r.heading(3, w.hNumbers)
	approx := func(n int64, what string) string {
		if n > 0 {
			return r.number(n)
		}
		return r.w.unknown + " " + r.todo(what)
	}
	r.item(w.lSubjects, approx(d.ApproxSubjects, w.tSubjects))
	r.item(w.lRecords, approx(d.ApproxRecords, w.tRecords))
	r.item(w.lStatus, w.statusNames[d.AffectedStatus.Or()])
	r.endList()
	r.para(fmt.Sprintf(w.numbersSourcef, r.inline(d.Controller.Name)))
}

func (r *renderer) pointB() {
	d, w := r.d, r.w
	r.heading(2, w.hB)
	if d.DPOContact != "" {
		r.item(w.lDPO, r.inline(d.DPOContact))
	} else {
		r.item(w.lDPO, r.todo(w.tDPO))
	}
	r.endList()
}

func (r *renderer) pointC() {
	d, w := r.d, r.w
	r.heading(2, w.hC)
	r.heading(3, w.hProcessorDesc)
	r.textOr(d.LikelyConsequences, w.noConsequences)
	r.heading(3, w.hOurAssessment)
	r.para(r.todo(w.tRiskAssessment))
}

func (r *renderer) pointD() {
	d, w := r.d, r.w
	r.heading(2, w.hD)
	r.heading(3, w.hTaken)
	r.textOr(d.MeasuresTakenByProcessor, w.notStated)
	r.heading(3, w.hProposed)
	r.textOr(d.MeasuresProposedByProcessor, w.notStated)
	if strings.TrimSpace(d.AdviceToControllers) != "" {
		r.heading(3, w.hAdvice)
		r.para(r.text(d.AdviceToControllers))
	}
	r.heading(3, w.hOurMeasures)
	if d.ControllerMeasures != "" {
		r.para(r.text(d.ControllerMeasures))
	} else {
		r.para(r.todo(w.tOurMeasures))
	}
}

func (r *renderer) subjects() {
	sc, w := r.d.SubjectCommunication, r.w
	r.heading(2, w.h34)
	if !sc.Recorded {
		r.para(r.todo(w.tSubjectComm))
		return
	}
	switch sc.Kind {
	case breach.CommCommunicated:
		r.para(fmt.Sprintf(w.communicatedf, r.when(sc.CommunicatedAt), r.inline(sc.How)))
	case breach.CommNotRequired:
		r.para(w.notRequired)
	case breach.CommExempt:
		switch sc.Exemption {
		case breach.ExemptUnintelligible:
			r.para(w.exemptA)
		case breach.ExemptRiskRemoved:
			r.para(w.exemptB)
		default:
			r.para(fmt.Sprintf(w.exemptCf, r.inline(sc.PublicCommunication)))
		}
	}
	if sc.Justification != "" {
		r.para(fmt.Sprintf(w.justificationf, r.inline(sc.Justification)))
	}
}

func (r *renderer) source() {
	d, w := r.d, r.w
	r.heading(2, w.hSource)
	r.item(w.lProcessor, r.inline(d.Processor.Name))
	c := d.Processor.Contact
	var contact []string
	for _, v := range []string{c.Name, c.Email, c.Phone} {
		if v = r.inline(v); v != "" {
			contact = append(contact, v)
		}
	}
	if len(contact) > 0 {
		r.item(w.lProcessorContact, strings.Join(contact, ", "))
	}
	r.endList()
	r.para(fmt.Sprintf(w.revisionsf, d.Breach.Revision))
	r.b.WriteString("- " + w.revisionFirst + "\n")
	for _, u := range d.Breach.Updates {
		r.b.WriteString("- " + fmt.Sprintf(w.revisionf, u.Revision, r.when(u.At), r.inline(u.Summary)) + "\n")
	}
	r.endList()
}

func (r *renderer) checklist() {
	d, w := r.d, r.w
	if r.followUp() {
		r.heading(2, w.hChecklistFollowUp)
	} else {
		r.heading(2, w.hChecklist)
	}
	for _, f := range d.FieldsToComplete {
		label, ok := w.fieldLabels[f]
		if !ok {
			label = f
		}
		r.b.WriteString("- [ ] " + label + "\n")
	}
	r.endList()
	notes := []string{w.phasedNew}
	if r.followUp() {
		notes[0] = w.phasedFollow
	}
	if d.Authority == AuthorityIMY {
		notes = append(notes, w.phasedIMY)
	}
	notes = append(notes, w.document)
	r.para(strings.Join(notes, " "))
}
