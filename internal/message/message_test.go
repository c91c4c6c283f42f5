package message_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/message"
)

// TestMessageJSON: the JSON names a receiver decodes are those of the
// published format (docs/reference.md); empty optional fields are left out.
func TestMessageJSON(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	id := breach.NoticeID{Breach: "b1", Org: "org1"}
	m := message.Message{Event: message.EventReminder, NoticeID: id, BreachID: id.Breach, OrgID: id.Org,
		Revision: 2, Title: "T", SentAt: at, Remaining: "24h0m0s", Escalation: true}
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"event":"reminder","notice_id":"b1/org1","breach_id":"b1","org_id":"org1","revision":2,"title":"T","sent_at":"2026-01-02T03:04:05Z","remaining":"24h0m0s","escalation":true}`
	if string(body) != want {
		t.Fatalf("body\n got %s\nwant %s", body, want)
	}
	var back message.Message
	if err := json.Unmarshal(body, &back); err != nil || back.NoticeID != id {
		t.Fatalf("decoded %+v, %v", back, err)
	}
}

// TestForOrganisation: a copy that leaves NATS keeps the Cascade-* headers
// and none of NATS's own, in any letter case, and the original is unchanged.
func TestForOrganisation(t *testing.T) {
	h := map[string][]string{
		message.HeaderEvent: {"notice"}, "Cascade-Signature": {"s"},
		"Nats-Msg-Id": {"x"}, "nats-expected-stream": {"y"}, "NATS-Batch-Id": {"z"},
	}
	got := message.ForOrganisation(h)
	if len(got) != 2 || got[message.HeaderEvent][0] != "notice" || got["Cascade-Signature"][0] != "s" {
		t.Fatalf("kept %v", got)
	}
	if len(h) != 5 {
		t.Fatalf("original changed: %v", h)
	}
}
