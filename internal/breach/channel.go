package breach

import (
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// Channel is a way of delivering messages to an organisation: its NATS
// subject, a webhook (HTTPS POST) or e-mail.
type Channel string

// Delivery channels.
const (
	ChannelNATS    Channel = "nats"
	ChannelWebhook Channel = "webhook"
	ChannelEmail   Channel = "email"
)

// Channels lists every channel, in the canonical order.
var Channels = []Channel{ChannelNATS, ChannelWebhook, ChannelEmail}

// ParseChannel parses a channel name ("nats", "webhook", "email").
func ParseChannel(s string) (Channel, error) {
	if c := Channel(s); slices.Contains(Channels, c) {
		return c, nil
	}
	return "", fmt.Errorf("unknown delivery channel %q (want nats, webhook or email)", truncate(s))
}

// Events of the webhook and e-mail channels on a notice. They never change
// the notice's state, except that an organisation without the NATS
// channel has its notice delivered (EventDelivered) by the first
// successful delivery on another channel.
const (
	EventChannelDelivered    Event = "channel_delivered"     // a message reached the organisation on a channel
	EventChannelFailed       Event = "channel_failed"        // an attempt failed; it is retried
	EventChannelDeadLettered Event = "channel_dead_lettered" // a message was given up on; see the dead letters
)

// DeliveryChannels are the organisation's channels: the ones the registry
// names, or by default nats, plus webhook if it has a webhook URL, plus
// email if it has an e-mail address.
func (o Org) DeliveryChannels() []Channel {
	if len(o.Channels) > 0 {
		return o.Channels
	}
	cs := []Channel{ChannelNATS}
	if o.WebhookURL != "" {
		cs = append(cs, ChannelWebhook)
	}
	if len(o.EmailAddresses()) > 0 {
		cs = append(cs, ChannelEmail)
	}
	return cs
}

// HasChannel reports whether c is one of the organisation's channels.
func (o Org) HasChannel(c Channel) bool { return slices.Contains(o.DeliveryChannels(), c) }

// ClockOnNATS reports whether the organisation receives its notices on its
// NATS subject: then the durable publish there is the delivery that starts
// its clock. Without it, the first successful delivery on another channel
// does.
func (o Org) ClockOnNATS() bool { return o.HasChannel(ChannelNATS) }

// EmailAddresses are the addresses e-mail goes to: the DPO's and the
// security contact's, each once.
func (o Org) EmailAddresses() []string {
	var out []string
	for _, a := range []string{o.DPOEmail, o.SecurityEmail} {
		if a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// MaxChannelError bounds the error text kept per channel and dead letter.
const MaxChannelError = 500

// ChannelDelivery is how a notice's messages fared on one channel (webhook
// or e-mail): every message to the organisation (the notice, revisions,
// reminders, escalations) is one delivery, each retried until it succeeds
// or is given up on.
type ChannelDelivery struct {
	Channel         Channel   `json:"channel"`
	Attempts        int       `json:"attempts"`                   // every attempt, successful or not
	Delivered       int       `json:"delivered,omitempty"`        // messages delivered
	DeliveredAt     time.Time `json:"delivered_at,omitzero"`      // the first message delivered
	LastDeliveredAt time.Time `json:"last_delivered_at,omitzero"` // the latest message delivered
	LastAttemptAt   time.Time `json:"last_attempt_at,omitzero"`   // the latest attempt
	LastError       string    `json:"last_error,omitempty"`       // of the latest attempt, if it failed
	DeadLettered    int       `json:"dead_lettered,omitempty"`    // messages given up on
	NotConfigured   string    `json:"not_configured,omitempty"`   // why the channel cannot deliver at all
	DeadLetteredAt  time.Time `json:"dead_lettered_at,omitzero"`  // the latest message given up on
}

// ChannelDelivery returns the record of channel c, or nil if nothing was
// recorded for it.
func (n *Notice) ChannelDelivery(c Channel) *ChannelDelivery {
	for i := range n.Channels {
		if n.Channels[i].Channel == c {
			return &n.Channels[i]
		}
	}
	return nil
}

func (n *Notice) channel(c Channel) *ChannelDelivery {
	if d := n.ChannelDelivery(c); d != nil {
		return d
	}
	n.Channels = append(n.Channels, ChannelDelivery{Channel: c})
	return &n.Channels[len(n.Channels)-1]
}

// RecordChannelAttempt records an attempt at at to deliver a message on
// c: successful when errText is empty, else failed with that error. It
// never changes the notice's state or clock (the caller delivers a notice
// whose organisation has no NATS channel with Deliver).
func (n *Notice) RecordChannelAttempt(c Channel, at time.Time, errText string) Event {
	d := n.channel(c)
	d.Attempts++
	d.LastAttemptAt = at
	d.NotConfigured = ""
	if errText != "" {
		d.LastError = clip(errText)
		return EventChannelFailed
	}
	d.LastError = ""
	d.Delivered++
	if d.DeliveredAt.IsZero() {
		d.DeliveredAt = at
	}
	d.LastDeliveredAt = at
	return EventChannelDelivered
}

// RecordDeadLetter records that a message on c was given up on at at,
// after its last error.
func (n *Notice) RecordDeadLetter(c Channel, at time.Time, errText string) Event {
	d := n.channel(c)
	d.DeadLettered++
	d.DeadLetteredAt = at
	if errText != "" {
		d.LastError = clip(errText)
	}
	return EventChannelDeadLettered
}

// RecordNotConfigured records that c cannot deliver at all (why: e.g. no
// mail relay is configured) and that the message was given up on (the
// caller leaves a dead letter). It returns "" when that was recorded before,
// so a channel left unconfigured costs one change per notice, not one per
// message.
func (n *Notice) RecordNotConfigured(c Channel, at time.Time, why string) Event {
	d := n.channel(c)
	if d.NotConfigured != "" {
		return ""
	}
	d.NotConfigured = clip(why)
	d.LastAttemptAt = at
	// The message is not sent and its dead letter tells the vendor: the
	// notice records it as given up on, like any dead letter.
	d.DeadLettered++
	d.DeadLetteredAt = at
	return EventChannelDeadLettered
}

// clip bounds an error text to MaxChannelError characters.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= MaxChannelError {
		return s
	}
	r := []rune(s)
	return string(r[:MaxChannelError]) + "…"
}

// DeadLetter is a message that could not be delivered on a channel and was
// given up on: what the vendor must follow up by other means.
type DeadLetter struct {
	NoticeID    NoticeID  `json:"notice_id"`
	Channel     Channel   `json:"channel"`
	Event       string    `json:"event"`                // notice, revision, reminder, overdue
	Revision    int       `json:"revision,omitempty"`   // breach revision the message carried
	MessageID   string    `json:"message_id"`           // the message's Nats-Msg-Id, its webhook Idempotency-Key
	NoticeSeq   uint64    `json:"notice_seq,omitempty"` // its sequence in CASCADE_NOTICES
	Destination string    `json:"destination"`          // the webhook URL without query, or the e-mail addresses
	Attempts    int       `json:"attempts"`
	PublishedAt time.Time `json:"published_at"` // when the message was published on cascade.notice.<org_id>
	At          time.Time `json:"dead_lettered_at"`
	LastError   string    `json:"last_error"`
}
