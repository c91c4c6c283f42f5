package breach

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseQuestionID(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"B-1/se-kommun-0180/1", true},
		{"B-1/se-kommun-0180/20", true},
		{"B-1/se-kommun-0180", false},
		{"B-1/se-kommun-0180/0", false},
		{"B-1/se-kommun-0180/-1", false},
		{"B-1/se-kommun-0180/01", false},
		{"B-1/se-kommun-0180/1/2", false},
		{"B-1/se-kommun-0180/>", false},
		{"B-1/SE/1", false},
		{"../x/1", false},
		{"", false},
	} {
		id, err := ParseQuestionID(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseQuestionID(%q) = %v, %v", tc.in, id, err)
			continue
		}
		if tc.ok && id.String() != tc.in {
			t.Errorf("round trip %q -> %q", tc.in, id.String())
		}
	}
}

func TestValidateQuestionText(t *testing.T) {
	for _, tc := range []struct {
		text, reason string
	}{
		{"Were the files encrypted?\nAnd the backups?", ""},
		{strings.Repeat("å", MaxQuestionText), ""},
		{"", "required"},
		{" \n\t", "required"},
		{strings.Repeat("å", MaxQuestionText+1), "too_long"},
		{"bad \x1b[2J", "control_character"},
		{"bad \u202e", "control_character"},
		{"bad \xff", "encoding"},
	} {
		err := ValidateQuestionText("text", tc.text)
		var inv *InvalidError
		switch {
		case tc.reason == "" && err != nil:
			t.Errorf("%.20q: %v", tc.text, err)
		case tc.reason != "" && (!errors.As(err, &inv) || inv.Violations[0].Reason != tc.reason):
			t.Errorf("%.20q: %v, want %s", tc.text, err, tc.reason)
		}
	}
}

// TestQuestionsKeepTheNotice: asking, answering and sharing change only
// the question counts, never the state, deadline or deliveries, and the
// cap holds.
func TestQuestionsKeepTheNotice(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	n := &Notice{ID: NewNoticeID("B-1", "org-a"), State: StateDelivered, DeliveredAt: at, Deadline: at.Add(72 * time.Hour), DeliveryCount: 1, Revision: 1}
	before := *n
	var ids []QuestionID
	for i := range MaxOpenQuestions {
		id, ev, err := n.Ask()
		if err != nil || ev != EventQuestionAsked || id.N != i+1 {
			t.Fatalf("ask %d: %v %v %v", i, id, ev, err)
		}
		ids = append(ids, id)
	}
	if _, _, err := n.Ask(); !errors.Is(err, ErrTooManyQuestions) || !errors.Is(err, ErrLimit) {
		t.Fatalf("ask past the cap: %v", err)
	}
	if ev, err := n.Answer(ids[3]); err != nil || ev != EventQuestionAnswered {
		t.Fatalf("answer: %v %v", ev, err)
	}
	if _, err := n.Answer(ids[3]); !errors.Is(err, ErrIllegalTransition) {
		t.Fatalf("answer twice: %v", err)
	}
	if _, err := n.Answer(NewQuestionID(NewNoticeID("B-1", "org-b"), 1)); !errors.Is(err, ErrIllegalTransition) {
		t.Fatalf("answer another notice's question: %v", err)
	}
	if id, _, err := n.Ask(); err != nil || id.N != MaxOpenQuestions+1 {
		t.Fatalf("ask after an answer: %v %v", id, err)
	}
	if ev := n.ShareAnswer("s1"); ev != EventAnswerShared {
		t.Fatalf("share: %v", ev)
	}
	if ev := n.ShareAnswer("s1"); ev != "" {
		t.Fatalf("share again: %v", ev)
	}
	if n.State != before.State || !n.Deadline.Equal(before.Deadline) || !n.DeliveredAt.Equal(before.DeliveredAt) ||
		n.DeliveryCount != before.DeliveryCount || n.Revision != before.Revision || len(n.Reminders) != 0 {
		t.Fatalf("notice changed: %+v", n)
	}
	c := Change{Event: EventQuestionAsked, Prev: before.State, Notice: *n}
	if MovesSummary(c) {
		t.Fatal("a question moves the summary")
	}
}

func TestSharedAnswerNamesNoAsker(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	q := &Question{ID: NewQuestionID(NewNoticeID("B-1", "org-a"), 1), OrgName: "Alpha", Text: "Q?", AskedAt: at,
		AskedBy: Principal{Kind: PrincipalToken, ID: "abc", Role: "controller", Org: "org-a"}}
	if _, ok := q.SharedAnswer(); ok {
		t.Fatal("an unanswered question is shared")
	}
	q.Answer, q.AnsweredAt, q.SharedID = "A.", at, "s1"
	sa, ok := q.SharedAnswer()
	if !ok || sa != (SharedAnswer{ID: "s1", Question: "Q?", Answer: "A.", SharedAt: at}) {
		t.Fatalf("shared %+v", sa)
	}
}
