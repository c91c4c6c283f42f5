package protoconv

import (
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func TestChannelsProto(t *testing.T) {
	at := time.Date(2025, 8, 23, 14, 0, 0, 0, time.UTC)
	n := &breach.Notice{ID: breach.NewNoticeID("B", "a"), Channels: []breach.ChannelDelivery{
		{Channel: breach.ChannelWebhook, Attempts: 3, Delivered: 1, DeliveredAt: at, LastAttemptAt: at},
		{Channel: breach.ChannelEmail, NotConfigured: "no relay"},
	}}
	p := NoticeProto(n, at).GetChannels()
	if len(p) != 2 || p[0].GetChannel() != cascadev1.DeliveryChannel_DELIVERY_CHANNEL_WEBHOOK || p[0].GetAttempts() != 3 ||
		!p[0].GetDeliveredAt().AsTime().Equal(at) || p[0].GetLastDeliveredAt() != nil ||
		p[1].GetChannel() != cascadev1.DeliveryChannel_DELIVERY_CHANNEL_EMAIL || p[1].GetNotConfigured() != "no relay" {
		t.Fatalf("channels %v", p)
	}
	d := DeadLetterProto(&breach.DeadLetter{NoticeID: n.ID, Channel: breach.ChannelEmail, Event: "reminder", Attempts: 30, At: at, PublishedAt: at.Add(-24 * time.Hour)})
	if d.GetBreachId() != "B" || d.GetOrgId() != "a" || d.GetNoticeId() != "B/a" || d.GetChannel() != cascadev1.DeliveryChannel_DELIVERY_CHANNEL_EMAIL ||
		!d.GetDeadLetteredAt().AsTime().Equal(at) {
		t.Fatalf("dead letter %v", d)
	}
}
