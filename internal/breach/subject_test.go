package breach

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSubjectNoticeValidate(t *testing.T) {
	text := func() *SubjectNoticeText {
		return &SubjectNoticeText{WhatHappened: "Någon kom åt lönesystemet.", WhichData: "Namn och lön.",
			WhatToDo: "Var vaksam.", RecognisePhishing: "Vi ber aldrig om lösenord.\nRing oss om du är osäker."}
	}
	tests := []struct {
		name string
		s    *SubjectNotice
		want []violation
	}{
		{"none", nil, nil},
		{"both", &SubjectNotice{Sv: text(), En: text()}, nil},
		{"english only", &SubjectNotice{En: text()}, nil},
		{"what happened only", &SubjectNotice{Sv: &SubjectNoticeText{WhatHappened: "x"}}, nil},
		{"empty", &SubjectNotice{}, []violation{{"subject_notice", "required"}}},
		{"what happened required", &SubjectNotice{Sv: &SubjectNoticeText{WhatToDo: "x"}},
			[]violation{{"subject_notice.sv.what_happened", "required"}}},
		{"at limit", &SubjectNotice{En: &SubjectNoticeText{WhatHappened: strings.Repeat("å", MaxLongText)}}, nil},
		{"too long", &SubjectNotice{En: &SubjectNoticeText{WhatHappened: "x", WhatToDo: strings.Repeat("å", MaxLongText+1)}},
			[]violation{{"subject_notice.en.what_to_do", "too_long"}}},
		{"control character", &SubjectNotice{Sv: &SubjectNoticeText{WhatHappened: "x", WhichData: "a\x1b[31mb"}},
			[]violation{{"subject_notice.sv.which_data", "control_character"}}},
		{"bidi override", &SubjectNotice{Sv: &SubjectNoticeText{WhatHappened: "x", RecognisePhishing: "a\u202eb"}},
			[]violation{{"subject_notice.sv.recognise_phishing", "control_character"}}},
		{"invalid utf-8", &SubjectNotice{En: &SubjectNoticeText{WhatHappened: "\xff"}},
			[]violation{{"subject_notice.en.what_happened", "encoding"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validReport()
			r.SubjectNotice = tt.s
			if got := violationsOf(t, r.Validate(reportNow)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("report: violations = %v, want %v", got, tt.want)
			}
			u := validUpdate()
			u.SubjectNotice = tt.s
			if got := violationsOf(t, u.Validate()); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("update: violations = %v, want %v", got, tt.want)
			}
		})
	}
}

// An old report (no subject_notice) keeps its digest: publishing it again
// stays idempotent.
func TestSubjectNoticeKeepsDigest(t *testing.T) {
	r := validReport()
	before := r.Digest()
	r.SubjectNotice = nil
	if r.Digest() != before {
		t.Fatal("a nil subject_notice changed the digest")
	}
	r.SubjectNotice = &SubjectNotice{En: &SubjectNoticeText{WhatHappened: "x"}}
	if r.Digest() == before {
		t.Fatal("a subject_notice did not change the digest")
	}
}

func TestSubjectNoticeUpdateReplaces(t *testing.T) {
	first := &SubjectNotice{Sv: &SubjectNoticeText{WhatHappened: "först"}, En: &SubjectNoticeText{WhatHappened: "first"}}
	second := &SubjectNotice{En: &SubjectNoticeText{WhatHappened: "second"}}
	b := &Breach{ID: "INC-1", Report: validReport()}
	b.Report.SubjectNotice = first
	b.Revisions = []Revision{{Number: 2, Update: Update{Breach: "INC-1", Summary: "no new words"}}}
	if got := b.Facts().SubjectNotice; got != first {
		t.Fatalf("an update without subject_notice changed it: %+v", got)
	}
	b.Revisions = append(b.Revisions, Revision{Number: 3, Update: Update{Breach: "INC-1", Summary: "new words", SubjectNotice: second}})
	got := b.Facts().SubjectNotice
	if !reflect.DeepEqual(got, second) {
		t.Fatalf("subject_notice = %+v, want the update's", got)
	}
	if got.Sv != nil {
		t.Error("the update replaces the whole subject_notice, yet the old Swedish text remains")
	}
}

func TestAdvisoryPublishUnpublish(t *testing.T) {
	now := time.Date(2025, 8, 25, 9, 0, 0, 0, time.UTC)
	vendor := Principal{Kind: PrincipalToken, ID: "v1", Role: "vendor"}
	b := &Breach{ID: "INC-1", Report: validReport()}
	if _, err := b.PublishAdvisory(now, vendor); !errors.Is(err, ErrIllegalTransition) {
		t.Fatalf("publishing without subject_notice: %v, want ErrIllegalTransition", err)
	}
	b.Revisions = []Revision{{Number: 2, Update: Update{Breach: "INC-1", Summary: "words",
		SubjectNotice: &SubjectNotice{Sv: &SubjectNoticeText{WhatHappened: "x"}}}}}
	if !b.AdvisoryPublishedAt().IsZero() {
		t.Fatal("published before PublishAdvisory")
	}
	if ok, err := b.PublishAdvisory(now, vendor); !ok || err != nil {
		t.Fatalf("publish = %v, %v", ok, err)
	}
	if ok, err := b.PublishAdvisory(now.Add(time.Minute), vendor); ok || err != nil {
		t.Fatalf("publish again = %v, %v; want false, nil", ok, err)
	}
	if got := b.AdvisoryPublishedAt(); !got.Equal(now) {
		t.Errorf("published at %v, want %v", got, now)
	}
	if !b.UnpublishAdvisory(now.Add(time.Hour), vendor) || b.UnpublishAdvisory(now.Add(2*time.Hour), vendor) {
		t.Error("unpublish, then unpublish again: want true, false")
	}
	if !b.AdvisoryPublishedAt().IsZero() {
		t.Error("still published after UnpublishAdvisory")
	}
	if ok, _ := b.PublishAdvisory(now.Add(3*time.Hour), vendor); !ok || !b.AdvisoryPublishedAt().Equal(now.Add(3*time.Hour)) {
		t.Error("publishing again after a withdrawal")
	}
	if len(b.Advisory) != 3 || b.Advisory[1].Event != AdvisoryUnpublished || b.Advisory[2].Principal != vendor {
		t.Errorf("advisory history = %+v", b.Advisory)
	}
	if AdvisoryPath("INC-1") != "/advisories/INC-1" {
		t.Error(AdvisoryPath("INC-1"))
	}
}
