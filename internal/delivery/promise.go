package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/message"
	"github.com/cascadehq/cascade/internal/signing"
	"github.com/cascadehq/cascade/internal/store"
)

// SendPromiseEvent tells the vendor about its promise on breach b (event
// message.VendorUpdateDue or message.VendorUpdateOverdue), signed like an
// organisation's message (Cascade-Notice-Id: message.PromiseNoticeID), and
// returns once it is stored in CASCADE_EVENTS. The Nats-Msg-Id names the breach, the event
// and the promised time, so the same event of the same promise again (a
// firing handled again after a crash) is stored once.
func (p *Publisher) SendPromiseEvent(ctx context.Context, e message.Promise) error {
	if e.Event != message.VendorUpdateDue && e.Event != message.VendorUpdateOverdue {
		return fmt.Errorf("promise message: event %q", e.Event)
	}
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	m := &nats.Msg{Subject: RoundSubject(e.BreachID, e.Event), Data: body, Header: nats.Header{}}
	m.Header.Set(message.HeaderEvent, e.Event)
	m.Header.Set(message.HeaderNoticeID, message.PromiseNoticeID(e.BreachID))
	m.Header.Set(message.HeaderBreachID, string(e.BreachID))
	if e.Late {
		m.Header.Set(message.HeaderLate, "true")
	}
	m.Header.Set("Content-Type", "application/json")
	signing.SignMsg(p.keys.Active(), m)
	m.Header.Set(jetstream.MsgIDHeader, PromiseMsgID(e.BreachID, e.Event, e.NextUpdateBy))
	acks, err := p.st.PublishBatched(ctx, store.StreamEvents, []*nats.Msg{m})
	if err != nil {
		return fmt.Errorf("tell the vendor %s of %s: %w", e.Event, e.BreachID, err)
	}
	if a := acks[0]; a.Err != nil {
		return fmt.Errorf("tell the vendor %s of %s: %w", e.Event, e.BreachID, a.Err)
	}
	return nil
}

// PromiseMsgID is the Nats-Msg-Id of event about breach b's promise by:
// "<breach_id>/_<event>/<next_update_by, RFC 3339>".
func PromiseMsgID(b breach.BreachID, event string, by time.Time) string {
	return fmt.Sprintf("%s/_%s/%s", b, event, by.UTC().Format(time.RFC3339Nano))
}
