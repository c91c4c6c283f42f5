package dispatch_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/delivery"
	"github.com/cascadehq/cascade/internal/dispatch"
	"github.com/cascadehq/cascade/internal/message"
	"github.com/cascadehq/cascade/internal/signing"
	"github.com/cascadehq/cascade/internal/testkit"
)

// TestTokenMessageDelivered: a token message (no notice to record on) is
// delivered to the organisation's webhook like any other, retried after a
// failure, signed as it was published.
func TestTokenMessageDelivered(t *testing.T) {
	rc := newReceiver(t, func(n int, _ *http.Request, _ []byte) int {
		if n == 0 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	h := newHarness(t, []breach.Org{hookOrg("tok", rc.URL+"/hook")}, dispatch.Config{})
	h.secret("tok")
	by := breach.Principal{Kind: breach.PrincipalToken, ID: "0123456789abcdef", Label: "bootstrap", Role: "vendor"}
	if _, err := h.pub.SendToken(ctx(t), message.Token{Event: message.EventTokenIssued, OrgID: "tok", TokenID: "fedcba9876543210",
		Label: "DPO", Role: "controller", IssuedAt: time.Now(), By: by, SentAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 20*time.Second, func() error {
		if hits := rc.all(); len(hits) < 2 || hits[1].status != http.StatusOK {
			return fmt.Errorf("%d requests", len(hits))
		}
		return nil
	})
	last := rc.all()[1]
	if got := last.header.Get("Cascade-Event"); got != message.EventTokenIssued {
		t.Errorf("Cascade-Event %q", got)
	}
	if _, err := signing.Verify(h.keys(), delivery.Subject("tok"), nats.Header(last.header), last.body, time.Now()); err != nil {
		t.Errorf("the delivered token message does not verify: %v", err)
	}
	// A token message that is not a valid one is refused before it is sent.
	if _, err := h.pub.SendToken(ctx(t), message.Token{Event: "notice", OrgID: "tok", TokenID: "x"}); err == nil {
		t.Error("a token message with event notice was sent")
	}
}
