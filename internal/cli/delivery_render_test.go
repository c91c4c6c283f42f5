package cli

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func TestRenderDeliveryChannels(t *testing.T) {
	at := timestamppb.New(time.Date(2025, 8, 23, 14, 2, 10, 0, time.UTC))
	var b strings.Builder
	tw := newTable(&b)
	renderChannels(tw, []*cascadev1.ChannelDelivery{
		{Channel: cascadev1.DeliveryChannel_DELIVERY_CHANNEL_WEBHOOK, Attempts: 4, Delivered: 1, DeliveredAt: at, LastAttemptAt: at},
		{Channel: cascadev1.DeliveryChannel_DELIVERY_CHANNEL_EMAIL, Attempts: 31, DeadLettered: 1, LastAttemptAt: at, LastError: "SMTP relay r:587: RCPT TO x: 451 later"},
		{Channel: cascadev1.DeliveryChannel_DELIVERY_CHANNEL_EMAIL, NotConfigured: "no SMTP relay is configured (cascaded --smtp-addr)"},
		{Channel: cascadev1.DeliveryChannel_DELIVERY_CHANNEL_WEBHOOK, Attempts: 1, Delivered: 1, DeliveredAt: at, LastAttemptAt: at},
	})
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	want := `Webhook:  1 delivered in 4 attempts, first 2025-08-23T14:02:10Z; last attempt 2025-08-23T14:02:10Z
E-mail:   0 delivered in 31 attempts; last attempt 2025-08-23T14:02:10Z; 1 given up (cascadectl deadletter list); last error: SMTP relay r:587: RCPT TO x: 451 later
E-mail:   not configured: no SMTP relay is configured (cascaded --smtp-addr)
Webhook:  1 delivered in 1 attempt, first 2025-08-23T14:02:10Z; last attempt 2025-08-23T14:02:10Z
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}

	b.Reset()
	if err := renderDeadLetters(&b, nil); err != nil || !strings.HasPrefix(b.String(), "No dead letters") {
		t.Fatalf("empty: %q %v", b.String(), err)
	}
	b.Reset()
	err := renderDeadLetters(&b, []*cascadev1.DeadLetter{{NoticeId: "B/a", Channel: cascadev1.DeliveryChannel_DELIVERY_CHANNEL_WEBHOOK,
		Event: "notice", Revision: 1, Destination: "https://hooks.example.org/cascade", Attempts: 31, DeadLetteredAt: at, LastError: "HTTP 503"}})
	if err != nil {
		t.Fatal(err)
	}
	want = `NOTICE  CHANNEL  EVENT   REV  DESTINATION                        ATTEMPTS  GIVEN UP              LAST ERROR
B/a     webhook  notice  1    https://hooks.example.org/cascade  31        2025-08-23T14:02:10Z  HTTP 503
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
