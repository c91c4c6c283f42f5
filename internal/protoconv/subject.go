package protoconv

import (
	"github.com/cascadehq/cascade/internal/breach"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// SubjectNotice converts a wire subject_notice; nil stays nil.
func SubjectNotice(s *cascadev1.SubjectNotice) *breach.SubjectNotice {
	if s == nil {
		return nil
	}
	text := func(t *cascadev1.SubjectNoticeText) *breach.SubjectNoticeText {
		if t == nil {
			return nil
		}
		return &breach.SubjectNoticeText{WhatHappened: t.GetWhatHappened(), WhichData: t.GetWhichData(),
			WhatToDo: t.GetWhatToDo(), RecognisePhishing: t.GetRecognisePhishing()}
	}
	return &breach.SubjectNotice{Sv: text(s.GetSv()), En: text(s.GetEn())}
}

// SubjectNoticeProto converts a subject_notice to the wire type; nil stays nil.
func SubjectNoticeProto(s *breach.SubjectNotice) *cascadev1.SubjectNotice {
	if s == nil {
		return nil
	}
	text := func(t *breach.SubjectNoticeText) *cascadev1.SubjectNoticeText {
		if t == nil {
			return nil
		}
		return &cascadev1.SubjectNoticeText{WhatHappened: t.WhatHappened, WhichData: t.WhichData,
			WhatToDo: t.WhatToDo, RecognisePhishing: t.RecognisePhishing}
	}
	return &cascadev1.SubjectNotice{Sv: text(s.Sv), En: text(s.En)}
}

// advisoryProto sets the breach's advisory fields on the wire type.
func advisoryProto(b *breach.Breach, out *cascadev1.Breach) {
	out.AdvisoryPublishedAt = pts(b.AdvisoryPublishedAt())
	if b.ID != "" {
		out.AdvisoryPath = breach.AdvisoryPath(b.ID)
	}
}
