package protoconv

import (
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cascadehq/cascade/internal/breach"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

var channelProtos = map[breach.Channel]cascadev1.DeliveryChannel{
	breach.ChannelNATS:    cascadev1.DeliveryChannel_DELIVERY_CHANNEL_NATS,
	breach.ChannelWebhook: cascadev1.DeliveryChannel_DELIVERY_CHANNEL_WEBHOOK,
	breach.ChannelEmail:   cascadev1.DeliveryChannel_DELIVERY_CHANNEL_EMAIL,
}

// ChannelProto converts a delivery channel (UNSPECIFIED if unknown).
func ChannelProto(c breach.Channel) cascadev1.DeliveryChannel { return channelProtos[c] }

// ChannelDeliveriesProto converts a notice's per-channel records.
func ChannelDeliveriesProto(cs []breach.ChannelDelivery) []*cascadev1.ChannelDelivery {
	var out []*cascadev1.ChannelDelivery
	for _, c := range cs {
		out = append(out, &cascadev1.ChannelDelivery{
			Channel:         ChannelProto(c.Channel),
			Attempts:        int32(c.Attempts),
			Delivered:       int32(c.Delivered),
			DeliveredAt:     pts(c.DeliveredAt),
			LastDeliveredAt: pts(c.LastDeliveredAt),
			LastAttemptAt:   pts(c.LastAttemptAt),
			LastError:       c.LastError,
			DeadLettered:    int32(c.DeadLettered),
			DeadLetteredAt:  pts(c.DeadLetteredAt),
			NotConfigured:   c.NotConfigured,
		})
	}
	return out
}

// EscalationsProto converts a notice's escalations.
func EscalationsProto(es []breach.Escalation) []*cascadev1.Escalation {
	var out []*cascadev1.Escalation
	for _, e := range es {
		p := &cascadev1.Escalation{Email: e.Email, Phone: e.Phone, Event: e.Event, MessageId: e.MessageID, SentAt: pts(e.SentAt),
			Obligation: ObligationKindProto(breach.ObligationKind(e.Obligation))}
		if r, err := time.ParseDuration(e.Remaining); err == nil && e.Remaining != "" {
			p.Remaining = durationpb.New(r)
		}
		out = append(out, p)
	}
	return out
}

// DeadLetterProto converts a dead letter.
func DeadLetterProto(d *breach.DeadLetter) *cascadev1.DeadLetter {
	return &cascadev1.DeadLetter{
		NoticeId:       d.NoticeID.String(),
		BreachId:       string(d.NoticeID.Breach),
		OrgId:          string(d.NoticeID.Org),
		Channel:        ChannelProto(d.Channel),
		Event:          d.Event,
		Revision:       int32(d.Revision),
		MessageId:      d.MessageID,
		Destination:    d.Destination,
		Attempts:       int32(d.Attempts),
		LastError:      d.LastError,
		PublishedAt:    pts(d.PublishedAt),
		DeadLetteredAt: timestamppb.New(d.At),
		NoticeSeq:      d.NoticeSeq,
	}
}
