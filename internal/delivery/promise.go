package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/signing"
	"github.com/cascadehq/cascade/internal/store"
)

// Events of the vendor's promise messages (Cascade-Event), on
// RoundSubject(breach, event): cascade.events.<breach_id>._update_due and
// ._update_overdue.
const (
	VendorUpdateDue     = "update_due"     // the promised update is due soon
	VendorUpdateOverdue = "update_overdue" // the promised time passed without an update
)

// PromiseNoticeID is the Cascade-Notice-Id of breach b's promise messages,
// "<breach_id>/_update": signed like a notice id, bound to the breach, and
// never a notice's (no organisation id starts with "_").
func PromiseNoticeID(b breach.BreachID) string { return string(b) + "/_update" }

// PromiseMessage is the body of the vendor's promise messages: the
// processor's own clock for one breach (Art. 33(4)).
type PromiseMessage struct {
	Event            string          `json:"event"` // update_due or update_overdue
	BreachID         breach.BreachID `json:"breach_id"`
	Title            string          `json:"title"`
	NextUpdateBy     time.Time       `json:"next_update_by"`
	PromisedAt       time.Time       `json:"promised_at,omitzero"`
	PromisedRevision int             `json:"promised_revision,omitempty"`
	LatestRevision   int             `json:"latest_revision"`
	Remaining        string          `json:"remaining,omitempty"` // update_due: time left to the promised time
	LateBy           string          `json:"late_by,omitempty"`   // update_overdue: how late when sent
	// Late marks a message sent well after it was due (the daemon was down).
	Late   bool      `json:"late,omitempty"`
	Kept   int       `json:"promises_kept"`
	Missed int       `json:"promises_missed"`
	SentAt time.Time `json:"sent_at"`
	How    string    `json:"how_to_update,omitempty"`
}

// SendPromiseEvent tells the vendor about its promise on breach b (event
// VendorUpdateDue or VendorUpdateOverdue), signed like an organisation's
// message (Cascade-Notice-Id: PromiseNoticeID), and returns once it is
// stored in CASCADE_EVENTS. The Nats-Msg-Id names the breach, the event
// and the promised time, so the same event of the same promise again (a
// firing handled again after a crash) is stored once.
func (p *Publisher) SendPromiseEvent(ctx context.Context, e PromiseMessage) error {
	if e.Event != VendorUpdateDue && e.Event != VendorUpdateOverdue {
		return fmt.Errorf("promise message: event %q", e.Event)
	}
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	m := &nats.Msg{Subject: RoundSubject(e.BreachID, e.Event), Data: body, Header: nats.Header{}}
	m.Header.Set(HeaderEvent, e.Event)
	m.Header.Set(HeaderNoticeID, PromiseNoticeID(e.BreachID))
	m.Header.Set(HeaderBreachID, string(e.BreachID))
	if e.Late {
		m.Header.Set(HeaderLate, "true")
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
