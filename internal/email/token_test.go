package email

import (
	"encoding/json"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/delivery"
	"github.com/cascadehq/cascade/internal/message"
)

// TestTokenMessageContent: a token message's e-mail names the token, its
// role and who issued it, in the organisation's language, and is not
// written as a breach notice.
func TestTokenMessageContent(t *testing.T) {
	tm := message.Token{Event: message.EventTokenIssued, OrgID: "se-kommun-0180", OrgName: "Kommun", TokenID: "fedcba9876543210",
		Label: "DPO", Role: "controller", IssuedAt: time.Date(2025, 8, 23, 10, 0, 0, 0, time.UTC),
		By: breach.Principal{Kind: breach.PrincipalToken, ID: "0123456789abcdef", Label: "bootstrap", Role: "vendor"}}
	body, err := json.Marshal(tm)
	if err != nil {
		t.Fatal(err)
	}
	for _, locale := range []string{"en", "sv"} {
		m := &Message{Msg: message.Message{Event: tm.Event, OrgID: tm.OrgID}, Subject: delivery.Subject(tm.OrgID),
			Header: nats.Header{"Cascade-Event": {tm.Event}}, Body: body, MessageID: "_token/se-kommun-0180/fedcba9876543210/token_issued",
			Locale: locale, To: []string{"dpo@kommun.example"}, Date: tm.IssuedAt}
		d := content(m)
		text := d.Subject + "\n" + d.plain()
		for _, want := range []string{"fedcba9876543210", "controller", `token 0123456789abcdef "bootstrap" (vendor)`} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: the e-mail lacks %q:\n%s", locale, want, text)
			}
		}
		if strings.Contains(text, "72") || strings.Contains(text, "notice ack") {
			t.Errorf("%s: the token e-mail reads like a notice:\n%s", locale, text)
		}
		if _, err := Compose(&mail.Address{Address: "cascade@supplier.example"}, m); err != nil {
			t.Errorf("%s: compose: %v", locale, err)
		}
	}
}
