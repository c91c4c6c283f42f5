package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
)

// ledgerPromise holds each breach's promise history: one message per
// promise made, kept, missed (late or overdue) and reminded.
const ledgerPromise = "cascade.ledger.promise" // + ".<breach>"

// promiseRecord is the stored form of a breach.PromiseEvent; V guards
// future formats.
type promiseRecord struct {
	V int `json:"v"`
	breach.PromiseEvent
}

// AppendPromiseEvent appends ev to breach b's promise history. msgID makes
// a repeat (a crashed step done again) within the ledger's duplicate
// window a no-op; the breach record, changed first through UpdateBreach,
// is what decides that an event happened.
func (s *Store) AppendPromiseEvent(ctx context.Context, b breach.BreachID, ev breach.PromiseEvent, msgID string) error {
	data, err := json.Marshal(promiseRecord{V: recordVersion, PromiseEvent: ev})
	if err != nil {
		return err
	}
	m := &nats.Msg{Subject: ledgerPromise + "." + string(b), Data: data, Header: nats.Header{}}
	m.Header.Set(jetstream.MsgIDHeader, msgID)
	if _, err := s.js.PublishMsg(ctx, m, jetstream.WithExpectStream(StreamLedger)); err != nil {
		return fmt.Errorf("record promise %s of %s: %w", ev.Event, b, err)
	}
	return nil
}

// PromiseHistory is breach b's promise history, oldest first.
func (s *Store) PromiseHistory(ctx context.Context, b breach.BreachID) ([]breach.PromiseEvent, error) {
	var out []breach.PromiseEvent
	err := s.scan(ctx, ledgerPromise+"."+string(b), jetstream.DeliverAllPolicy, func(m jetstream.Msg) error {
		var r promiseRecord
		if err := json.Unmarshal(m.Data(), &r); err != nil {
			return fmt.Errorf("decode promise history of %s: %w", b, err)
		}
		if r.V != recordVersion {
			return fmt.Errorf("promise record version %d not supported", r.V)
		}
		out = append(out, r.PromiseEvent)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read promise history of %s: %w", b, err)
	}
	return out, nil
}
