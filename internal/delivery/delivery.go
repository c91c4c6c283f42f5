// Package delivery publishes what an organisation receives on its own
// subject, cascade.notice.<org_id>, captured durably by the CASCADE_NOTICES
// stream. Every message has a Cascade-Event header and a stable
// Nats-Msg-Id, so a delivery repeated after a crash is stored once.
package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/store"
)

// Headers on every message to an organisation.
const (
	HeaderEvent    = "Cascade-Event"     // notice (later also: revision, reminder, overdue)
	HeaderNoticeID = "Cascade-Notice-Id" // "<breach_id>/<org_id>"
	HeaderBreachID = "Cascade-Breach-Id"
	EventNotice    = "notice"
)

// Message is the JSON body an organisation receives for a new notice. It
// carries everything the controller needs for its own Art. 33 assessment.
type Message struct {
	Event          string          `json:"event"`
	NoticeID       breach.NoticeID `json:"notice_id"`
	BreachID       breach.BreachID `json:"breach_id"`
	OrgID          breach.OrgID    `json:"org_id"`
	OrgName        string          `json:"org_name,omitempty"`
	Revision       int             `json:"revision"`
	DeliveredAt    time.Time       `json:"delivered_at"`
	Deadline       time.Time       `json:"deadline"`
	ApproxSubjects int64           `json:"approx_subjects,omitempty"`
	ApproxRecords  int64           `json:"approx_records,omitempty"`
	Breach         breach.Report   `json:"breach"`
	HowToAck       string          `json:"how_to_acknowledge"`
}

// Subject is the organisation's delivery subject.
func Subject(org breach.OrgID) string { return store.SubjectNotice + "." + string(org) }

// Publisher publishes notices to organisations.
type Publisher struct {
	js     jetstream.JetStream
	notice jetstream.Stream
}

// NewPublisher returns a publisher on st's JetStream.
func NewPublisher(ctx context.Context, st *store.Store) (*Publisher, error) {
	js := st.JetStream()
	s, err := js.Stream(ctx, store.StreamNotices)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", store.StreamNotices, err)
	}
	return &Publisher{js: js, notice: s}, nil
}

// Result is the outcome of one delivery: when the organisation's copy became
// durable (for a repeated delivery: when the first copy did) and where it is.
type Result struct {
	DeliveredAt time.Time
	Seq         uint64
	Repeat      bool // an earlier copy was already stored (crash replay)
}

// PublishNotices delivers each notice of breach b, stamped at `at` with
// deadline at+window, and returns when every message is persisted.
func (p *Publisher) PublishNotices(ctx context.Context, b *breach.Breach, ns []*breach.Notice, at time.Time, window time.Duration) ([]Result, error) {
	msgs := make([]*nats.Msg, len(ns))
	for i, n := range ns {
		body, err := json.Marshal(Message{
			Event: EventNotice, NoticeID: n.ID, BreachID: n.ID.Breach, OrgID: n.ID.Org, OrgName: n.OrgName,
			Revision: b.Revision, DeliveredAt: at, Deadline: at.Add(window),
			ApproxSubjects: n.ApproxSubjects, ApproxRecords: n.ApproxRecords,
			Breach:   b.Report,
			HowToAck: fmt.Sprintf("cascadectl notice ack %s --by <your name>", n.ID),
		})
		if err != nil {
			return nil, err
		}
		m := &nats.Msg{Subject: Subject(n.ID.Org), Data: body, Header: nats.Header{}}
		m.Header.Set(HeaderEvent, EventNotice)
		m.Header.Set(HeaderNoticeID, n.ID.String())
		m.Header.Set(HeaderBreachID, string(n.ID.Breach))
		m.Header.Set("Content-Type", "application/json")
		msgs[i] = m
	}
	acks, err := store.PublishAll(ctx, p.js, msgs, func(i int) []jetstream.PublishOpt {
		return []jetstream.PublishOpt{jetstream.WithMsgID(fmt.Sprintf("%s/notice/%d", ns[i].ID, b.Revision)),
			jetstream.WithExpectStream(store.StreamNotices)}
	})
	if err != nil {
		return nil, fmt.Errorf("deliver notices of %s: %w", b.ID, err)
	}
	res := make([]Result, len(ns))
	for i, a := range acks {
		if a.Err != nil {
			return nil, fmt.Errorf("deliver %s: %w", ns[i].ID, a.Err)
		}
		res[i] = Result{DeliveredAt: at, Seq: a.Sequence, Repeat: a.Duplicate}
	}
	for i := range res {
		if !res[i].Repeat {
			continue
		}
		// The first copy's stamp is what the organisation saw: keep it.
		m, err := p.notice.GetMsg(ctx, res[i].Seq)
		if err != nil {
			return nil, fmt.Errorf("read earlier delivery of %s: %w", ns[i].ID, err)
		}
		var first Message
		if err := json.Unmarshal(m.Data, &first); err != nil {
			return nil, fmt.Errorf("decode earlier delivery of %s: %w", ns[i].ID, err)
		}
		res[i].DeliveredAt = first.DeliveredAt
	}
	return res, nil
}
