package breach

import (
	"fmt"
	"time"
)

// SubjectNotice is the processor's plain-language text for the data
// subjects (Art. 34): what controllers can pass on to the people
// concerned, and what the public advisory page shows. Each language is
// optional; at least one is given.
type SubjectNotice struct {
	Sv *SubjectNoticeText `json:"sv,omitempty"`
	En *SubjectNoticeText `json:"en,omitempty"`
}

// SubjectNoticeText is the words for the data subjects in one language.
type SubjectNoticeText struct {
	WhatHappened      string `json:"what_happened"`
	WhichData         string `json:"which_data,omitempty"`
	WhatToDo          string `json:"what_to_do,omitempty"`
	RecognisePhishing string `json:"recognise_phishing,omitempty"`
}

// Text returns the text in lang ("sv" or "en"), or nil.
func (s *SubjectNotice) Text(lang string) *SubjectNoticeText {
	if s == nil {
		return nil
	}
	switch lang {
	case "sv":
		return s.Sv
	case "en":
		return s.En
	}
	return nil
}

// validateSubjectNotice adds the violations of a subject_notice (nil: none
// given, which is valid).
func validateSubjectNotice(vs *violations, s *SubjectNotice) {
	if s == nil {
		return
	}
	if s.Sv == nil && s.En == nil {
		vs.add("subject_notice", "required", "subject_notice needs sv or en (or both)")
		return
	}
	for _, l := range []struct {
		lang string
		t    *SubjectNoticeText
	}{{"sv", s.Sv}, {"en", s.En}} {
		if l.t == nil {
			continue
		}
		f := "subject_notice." + l.lang + "."
		textField(vs, f+"what_happened", l.t.WhatHappened, true, MaxLongText)
		textField(vs, f+"which_data", l.t.WhichData, false, MaxLongText)
		textField(vs, f+"what_to_do", l.t.WhatToDo, false, MaxLongText)
		textField(vs, f+"recognise_phishing", l.t.RecognisePhishing, false, MaxLongText)
	}
}

// Advisory events: the breach-level record of the public advisory page.
const (
	AdvisoryPublished   = "advisory_published"
	AdvisoryUnpublished = "advisory_unpublished"
)

// AdvisoryEvent is one publication or withdrawal of a breach's public
// advisory page, with who did it.
type AdvisoryEvent struct {
	Event     string    `json:"event"` // AdvisoryPublished or AdvisoryUnpublished
	At        time.Time `json:"at"`
	Principal Principal `json:"principal"`
}

// AdvisoryPath is where a breach's public advisory page is served on the
// daemon's HTTP address. It never changes, so controllers can link to it.
func AdvisoryPath(id BreachID) string { return "/advisories/" + string(id) }

// AdvisoryPublishedAt is when the advisory was last published, or zero
// while it is not published.
func (b *Breach) AdvisoryPublishedAt() time.Time {
	if n := len(b.Advisory); n > 0 && b.Advisory[n-1].Event == AdvisoryPublished {
		return b.Advisory[n-1].At
	}
	return time.Time{}
}

// PublishAdvisory publishes the breach's advisory page at now, by p. It
// reports false (and changes nothing) if it is published already. A
// breach without a subject_notice has nothing to publish: that is
// ErrIllegalTransition.
func (b *Breach) PublishAdvisory(now time.Time, p Principal) (bool, error) {
	if !b.AdvisoryPublishedAt().IsZero() {
		return false, nil
	}
	if b.Facts().SubjectNotice == nil {
		return false, fmt.Errorf("%w: breach %s has no subject_notice to publish; add one with an update first", ErrIllegalTransition, b.ID)
	}
	b.Advisory = append(b.Advisory, AdvisoryEvent{Event: AdvisoryPublished, At: now.UTC(), Principal: p})
	return true, nil
}

// UnpublishAdvisory withdraws the advisory page at now, by p. It reports
// false (and changes nothing) if it is not published.
func (b *Breach) UnpublishAdvisory(now time.Time, p Principal) bool {
	if b.AdvisoryPublishedAt().IsZero() {
		return false
	}
	b.Advisory = append(b.Advisory, AdvisoryEvent{Event: AdvisoryUnpublished, At: now.UTC(), Principal: p})
	return true
}
