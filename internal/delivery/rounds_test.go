package delivery

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/message"
)

// TestRounds: the vendor's messages of one send are grouped by breach,
// event and threshold or redelivery attempt; organisations are listed
// sorted, late ones also apart; messages not flagged Vendor are not
// listed; a round of more than MaxRoundOrgs goes as several messages,
// each with an id that the same organisations always give.
func TestRounds(t *testing.T) {
	at := time.Date(2025, 8, 25, 9, 0, 0, 0, time.UTC)
	b := &breach.Breach{ID: "B-1", Report: breach.Report{ID: "B-1", Title: "HR system breach"}}
	n := func(org breach.OrgID, rev int) *breach.Notice {
		return &breach.Notice{ID: breach.NewNoticeID("B-1", org), State: breach.StateDelivered, Revision: rev,
			DeliveredAt: at.Add(-48 * time.Hour), Deadline: at.Add(24 * time.Hour)}
	}
	out := []Outgoing{
		ReminderMessage(b, n("se-c", 1), 24*time.Hour, at, false, false),
		ReminderMessage(b, n("se-a", 1), 24*time.Hour, at, true, false),
		OverdueMessage(b, n("se-b", 1), at, false),
		ReminderMessage(b, n("se-b", 1), 48*time.Hour, at, true, false),
		RedeliveryMessage(b, n("se-d", 2), 1, at),
		RedeliveryMessage(b, n("se-e", 2), 2, at),
		RedeliveryMessage(b, n("se-f", 2), 1, at),
		NoticeMessage(b, n("se-x", 1), 1, at, 72*time.Hour), // not the vendor's
	}
	rounds := Rounds(out)
	type got struct {
		event, remaining string
		redelivery, rev  int
		orgs, late       string
	}
	var gs []got
	for _, r := range rounds {
		join := func(os []breach.OrgID) string {
			s := make([]string, len(os))
			for i, o := range os {
				s[i] = string(o)
			}
			return strings.Join(s, ",")
		}
		if r.BreachID != "B-1" || r.Title != "HR system breach" || !r.SentAt.Equal(at) {
			t.Errorf("round %+v: breach, title or time wrong", r)
		}
		gs = append(gs, got{r.Event, r.Remaining, r.Redelivery, r.Revision, join(r.Orgs), join(r.Late)})
	}
	want := []got{
		{"reminder", "24h0m0s", 0, 0, "se-a,se-c", "se-a"},
		{"overdue", "", 0, 0, "se-b", ""},
		{"reminder", "48h0m0s", 0, 0, "se-b", "se-b"},
		{"redelivery", "", 1, 2, "se-d,se-f", ""},
		{"redelivery", "", 2, 2, "se-e", ""},
	}
	if !slices.Equal(gs, want) {
		t.Fatalf("rounds\n got %v\nwant %v", gs, want)
	}

	msgs, err := roundMsgs(rounds)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != len(rounds) {
		t.Fatalf("%d messages for %d rounds", len(msgs), len(rounds))
	}
	m := msgs[0]
	if m.Subject != "cascade.events.B-1._reminder" || m.Header.Get(message.HeaderEvent) != "reminder" || m.Header.Get(message.HeaderBreachID) != "B-1" {
		t.Fatalf("round message %s %v", m.Subject, m.Header)
	}
	var body map[string]any
	if err := json.Unmarshal(m.Data, &body); err != nil {
		t.Fatal(err)
	}
	if body["remaining"] != "24h0m0s" || fmt.Sprint(body["org_ids"]) != "[se-a se-c]" || fmt.Sprint(body["late_org_ids"]) != "[se-a]" {
		t.Fatalf("round body %s", m.Data)
	}
	if msgs[3].Subject != "cascade.events.B-1._redelivery" {
		t.Fatalf("redelivery round on %s", msgs[3].Subject)
	}
	ids := map[string]bool{}
	for _, m := range msgs {
		ids[m.Header.Get(jetstream.MsgIDHeader)] = true
	}
	if len(ids) != len(msgs) {
		t.Fatalf("round message ids not distinct: %v", ids)
	}
	// The same organisations in rounds that differ in one field each:
	// every field is part of the id.
	same := message.Round{Event: message.RoundRedelivery, BreachID: "B-1", Redelivery: 1, Revision: 2, SentAt: at, Orgs: []breach.OrgID{"se-d"}}
	variants := []message.Round{same, same, same, same, same, same}
	variants[1].Redelivery = 2
	variants[2].Revision = 3
	variants[3].Event, variants[3].Redelivery, variants[3].Revision = message.RoundReminder, 0, 0
	variants[4].Event, variants[4].Redelivery, variants[4].Revision, variants[4].Remaining = message.RoundReminder, 0, 0, "1h0m0s"
	variants[5].BreachID = "B-2"
	vms, err := roundMsgs(variants)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for i, m := range vms {
		id := m.Header.Get(jetstream.MsgIDHeader)
		if j, ok := seen[id]; ok {
			t.Fatalf("rounds %d and %d share the id %s", j, i, id)
		}
		seen[id] = i
	}
	if again, _ := roundMsgs(variants[:1]); again[0].Header.Get(jetstream.MsgIDHeader) != vms[0].Header.Get(jetstream.MsgIDHeader) {
		t.Fatalf("the same round, another id")
	}

	// 2,500 organisations: three messages; the same organisations in
	// another order give the same ids, one organisation fewer another.
	var big []Outgoing
	for i := range 2500 {
		big = append(big, ReminderMessage(b, n(breach.OrgID(fmt.Sprintf("org-%04d", i)), 1), time.Hour, at, i%1000 == 7, false))
	}
	idsOf := func(out []Outgoing) []string {
		ms, err := roundMsgs(Rounds(out))
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range ms {
			var r message.Round
			if err := json.Unmarshal(m.Data, &r); err != nil {
				t.Fatal(err)
			}
			var late []breach.OrgID // the parts' late organisations: number % 1000 == 7
			for _, o := range r.Orgs {
				if strings.HasSuffix(string(o), "007") {
					late = append(late, o)
				}
			}
			if len(r.Orgs) > MaxRoundOrgs || !slices.Equal(r.Late, late) {
				t.Fatalf("part of %d organisations, late %v, want %v", len(r.Orgs), r.Late, late)
			}
			ids = append(ids, m.Header.Get(jetstream.MsgIDHeader))
		}
		return ids
	}
	first := idsOf(big)
	if len(first) != 3 {
		t.Fatalf("%d messages for 2,500 organisations", len(first))
	}
	reversed := slices.Clone(big)
	slices.Reverse(reversed)
	if again := idsOf(reversed); !slices.Equal(again, first) {
		t.Fatalf("same organisations, other ids:\n%v\n%v", first, again)
	}
	if fewer := idsOf(big[1:]); fewer[0] == first[0] {
		t.Fatalf("other organisations, same id %s", fewer[0])
	}
}
