package cli

import (
	"fmt"
	"io"
	"strings"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// renderChannels writes one row per webhook or e-mail channel of a notice
// (none when the organisation has only its NATS subject), e.g.
// "Webhook:  1 delivered in 4 attempts, first 2025-08-23T14:02:10Z".
func renderChannels(tw io.Writer, cs []*cascadev1.ChannelDelivery) {
	for _, c := range cs {
		label := map[cascadev1.DeliveryChannel]string{
			cascadev1.DeliveryChannel_DELIVERY_CHANNEL_WEBHOOK: "Webhook:",
			cascadev1.DeliveryChannel_DELIVERY_CHANNEL_EMAIL:   "E-mail:",
			cascadev1.DeliveryChannel_DELIVERY_CHANNEL_NATS:    "NATS:",
		}[c.GetChannel()]
		if label == "" {
			label = channelName(c.GetChannel()) + ":"
		}
		row(tw, label, formatChannel(c))
	}
}

// formatChannel summarises one channel's record.
func formatChannel(c *cascadev1.ChannelDelivery) string {
	if c.GetNotConfigured() != "" && c.GetAttempts() == 0 {
		s := "not configured: " + c.GetNotConfigured()
		if n := c.GetDeadLettered(); n > 0 {
			s += fmt.Sprintf("; %d given up (cascadectl deadletter list)", n)
		}
		return s
	}
	parts := []string{fmt.Sprintf("%d delivered in %s", c.GetDelivered(), plural(int64(c.GetAttempts()), "attempt", "attempts"))}
	if c.GetDeliveredAt() != nil {
		parts[0] += ", first " + formatTime(c.GetDeliveredAt())
	}
	if c.GetLastAttemptAt() != nil {
		parts = append(parts, "last attempt "+formatTime(c.GetLastAttemptAt()))
	}
	if n := c.GetDeadLettered(); n > 0 {
		parts = append(parts, fmt.Sprintf("%d given up (cascadectl deadletter list)", n))
	}
	if e := c.GetLastError(); e != "" {
		parts = append(parts, "last error: "+truncate(e, 120))
	}
	return strings.Join(parts, "; ")
}
