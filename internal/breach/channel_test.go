package breach

import (
	"slices"
	"testing"
	"time"
)

func TestDeliveryChannels(t *testing.T) {
	for _, tc := range []struct {
		name string
		org  Org
		want []Channel
		nats bool
	}{
		{"nothing but the subject", Org{ID: "a"}, []Channel{ChannelNATS}, true},
		{"default with webhook and e-mail", Org{ID: "a", WebhookURL: "https://h.example.org/", SecurityEmail: "s@example.org"},
			[]Channel{ChannelNATS, ChannelWebhook, ChannelEmail}, true},
		{"explicit webhook only", Org{ID: "a", WebhookURL: "https://h.example.org/", DPOEmail: "d@example.org", Channels: []Channel{ChannelWebhook}},
			[]Channel{ChannelWebhook}, false},
		{"explicit e-mail and nats", Org{ID: "a", DPOEmail: "d@example.org", Channels: []Channel{ChannelEmail, ChannelNATS}},
			[]Channel{ChannelEmail, ChannelNATS}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.org.DeliveryChannels(); !slices.Equal(got, tc.want) {
				t.Errorf("DeliveryChannels() = %v, want %v", got, tc.want)
			}
			if got := tc.org.ClockOnNATS(); got != tc.nats {
				t.Errorf("ClockOnNATS() = %v, want %v", got, tc.nats)
			}
		})
	}
	o := Org{DPOEmail: "x@example.org", SecurityEmail: "x@example.org"}
	if got := o.EmailAddresses(); !slices.Equal(got, []string{"x@example.org"}) {
		t.Errorf("EmailAddresses() = %v", got)
	}
	if _, err := ParseChannel("sms"); err == nil {
		t.Error(`ParseChannel("sms") succeeded`)
	}
}

func TestChannelRecords(t *testing.T) {
	t0 := time.Date(2025, 8, 23, 14, 0, 0, 0, time.UTC)
	n := &Notice{ID: NewNoticeID("B", "a"), State: StateDelivered}
	if ev := n.RecordChannelAttempt(ChannelWebhook, t0, "HTTP 500"); ev != EventChannelFailed {
		t.Fatalf("failed attempt: %s", ev)
	}
	if ev := n.RecordChannelAttempt(ChannelWebhook, t0.Add(time.Minute), ""); ev != EventChannelDelivered {
		t.Fatalf("successful attempt: %s", ev)
	}
	n.RecordChannelAttempt(ChannelWebhook, t0.Add(time.Hour), "")
	d := n.ChannelDelivery(ChannelWebhook)
	if d.Attempts != 3 || d.Delivered != 2 || !d.DeliveredAt.Equal(t0.Add(time.Minute)) || !d.LastDeliveredAt.Equal(t0.Add(time.Hour)) || d.LastError != "" {
		t.Fatalf("webhook record = %+v", d)
	}
	if n.State != StateDelivered || !n.DeliveredAt.IsZero() {
		t.Fatal("a channel record changed the notice's state or clock")
	}
	if ev := n.RecordDeadLetter(ChannelEmail, t0, string(make([]byte, 2*MaxChannelError))); ev != EventChannelDeadLettered {
		t.Fatalf("dead letter: %s", ev)
	}
	if e := n.ChannelDelivery(ChannelEmail); e.DeadLettered != 1 || len([]rune(e.LastError)) != MaxChannelError+1 {
		t.Fatalf("e-mail record = %+v", e)
	}
	if ev := n.RecordNotConfigured(ChannelEmail, t0, "no relay"); ev != EventChannelDeadLettered || n.ChannelDelivery(ChannelEmail).DeadLettered != 2 {
		t.Fatalf("not configured: %s", ev)
	}
	if ev := n.RecordNotConfigured(ChannelEmail, t0, "no relay"); ev != "" {
		t.Fatalf("not configured twice: %s", ev)
	}
}

func TestRecordEscalation(t *testing.T) {
	at := time.Date(2025, 8, 26, 14, 0, 0, 0, time.UTC)
	n := &Notice{ID: NewNoticeID("B", "o")}
	e := Escalation{Email: "head@example.org", Phone: "+46 8", Event: "overdue", MessageID: "B/o/overdue", SentAt: at}
	if ev := n.RecordEscalation(e); ev != EventEscalated || len(n.EscalatedTo) != 1 {
		t.Fatalf("first: %q %v", ev, n.EscalatedTo)
	}
	e.SentAt = at.Add(time.Minute) // the same message again, after a crash
	if ev := n.RecordEscalation(e); ev != "" || len(n.EscalatedTo) != 1 || !n.EscalatedTo[0].SentAt.Equal(at) {
		t.Fatalf("repeat: %q %v", ev, n.EscalatedTo)
	}
	if d := EscalationDetail(Escalation{Email: "h@x", Event: "reminder", Remaining: "1h0m0s", MessageID: "m"}); d != "last reminder (1h0m0s left) escalated by e-mail to h@x, message m" {
		t.Errorf("detail %q", d)
	}
	o := Org{DPOEmail: "dpo@x", EscalationEmail: "DPO@x"}
	if got := o.EscalationAddresses(); got != nil {
		t.Errorf("escalation to the DPO's own address: %v", got)
	}
	o.EscalationEmail = "head@x"
	if got := o.EscalationAddresses(); !slices.Equal(got, []string{"head@x"}) {
		t.Errorf("EscalationAddresses() = %v", got)
	}
}
