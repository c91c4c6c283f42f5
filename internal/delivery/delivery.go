// Package delivery is the publisher: it builds, signs and publishes what
// an organisation receives on its own subject, cascade.notice.<org_id>
// (captured by the CASCADE_NOTICES stream), and tells the vendor of
// reminders, escalations and redeliveries: one round message per breach,
// event and threshold (or redelivery attempt) on
// cascade.events.<breach_id>._<event> (CASCADE_EVENTS), listing the
// organisations. The format of those messages (JSON bodies, Cascade-*
// headers, event names) is internal/message; taking an organisation's
// messages on to its webhook and e-mail is internal/dispatch. Every message
// has a Cascade-Event header and a Nats-Msg-Id: an organisation's message
// repeated after a crash is stored once, and so is a round when the same
// organisations are in it again.
package delivery

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/message"
	"github.com/cascadehq/cascade/internal/signing"
	"github.com/cascadehq/cascade/internal/store"
)

// Outgoing is one message to send.
type Outgoing struct {
	Msg    message.Message
	MsgID  string // Nats-Msg-Id: stable for the same logical message
	Vendor bool   // the vendor is told: the organisation is listed in a round (message.Round)
}

// Subject is the organisation's delivery subject.
func Subject(org breach.OrgID) string { return store.SubjectNotice + "." + string(org) }

// RoundSubject is the vendor's subject for rounds of event in breach b:
// cascade.events.<breach_id>._<event>, or for a registered processor's
// breach cascade.processor.<processor_id>.events.<breach_id>._<event>,
// which its NATS account sees as cascade.events.… (its own only). The
// last token starts with "_", which no organisation id does.
func RoundSubject(b breach.BreachID, event string) string {
	if p := b.Processor(); p != "" {
		return store.SubjectProcessor + "." + string(p) + ".events." + string(b) + "._" + event
	}
	return store.SubjectEvents + "." + string(b) + "._" + event
}

// MaxRoundOrgs bounds the organisations one round message lists (at most
// about 130 KB with organisation ids of 63 characters, all late); a larger
// round goes as several messages.
const MaxRoundOrgs = 1000

func howToAck(id breach.NoticeID) string {
	return fmt.Sprintf("cascadectl notice ack %s --by <your name>", id)
}

// factsFor is what one organisation may see of the breach: the facts
// without the list of other affected organisations (its own numbers are in
// the message).
func factsFor(b *breach.Breach) breach.Report {
	f := b.Facts()
	f.Affected = nil
	return f
}

// NoticeMessage is the first delivery of a notice: revision rev of b's
// facts, sent at at, starting the clock at+window.
func NoticeMessage(b *breach.Breach, n *breach.Notice, rev int, at time.Time, window time.Duration) Outgoing {
	facts := factsFor(b)
	o := Outgoing{MsgID: fmt.Sprintf("%s/notice/%d", n.ID, rev), Msg: message.Message{
		Event: message.EventNotice, NoticeID: n.ID, BreachID: n.ID.Breach, OrgID: n.ID.Org, OrgName: n.OrgName,
		Revision: rev, Title: facts.Title, DeliveredAt: at, SentAt: at, Deadline: at.Add(window),
		ApproxSubjects: n.ApproxSubjects, ApproxRecords: n.ApproxRecords, AffectedStatus: n.Status(), Breach: &facts, HowToAck: howToAck(n.ID),
	}}
	if n.ClockOnChannel {
		o.Msg.DeliveredAt, o.Msg.Deadline = time.Time{}, time.Time{}
		o.Msg.Clock = fmt.Sprintf("your deadline is %s after the first successful delivery of this notice to your webhook or e-mail", window)
	}
	return o
}

// RevisionMessage delivers revision rev of b to a notice delivered before.
func RevisionMessage(b *breach.Breach, n *breach.Notice, rev int, at time.Time) Outgoing {
	facts := factsFor(b)
	var summary string
	for _, r := range b.Revisions {
		if r.Number == rev {
			summary = r.Update.Summary
		}
	}
	return Outgoing{MsgID: fmt.Sprintf("%s/revision/%d", n.ID, rev), Msg: message.Message{
		Event: message.EventRevision, NoticeID: n.ID, BreachID: n.ID.Breach, OrgID: n.ID.Org, OrgName: n.OrgName,
		Revision: rev, RevisionSummary: summary, Title: facts.Title, DeliveredAt: n.DeliveredAt, SentAt: at, Deadline: n.Deadline,
		ApproxSubjects: n.ApproxSubjects, ApproxRecords: n.ApproxRecords, AffectedStatus: n.Status(), Breach: &facts, HowToAck: howToAck(n.ID),
	}}
}

// WithdrawalMessage tells an organisation that revision rev of b found it
// not affected (statement is the processor's why): its notice is
// withdrawn, its clock stops. The body carries the breach's facts so the
// organisation can document what it was told (Art. 33(5)).
func WithdrawalMessage(b *breach.Breach, n *breach.Notice, rev int, statement string, at time.Time) Outgoing {
	facts := factsFor(b)
	var summary string
	if r := b.RevisionNumber(rev); r != nil {
		summary = r.Update.Summary
	}
	return Outgoing{MsgID: fmt.Sprintf("%s/withdrawal/%d", n.ID, rev), Msg: message.Message{
		Event: message.EventWithdrawal, NoticeID: n.ID, BreachID: n.ID.Breach, OrgID: n.ID.Org, OrgName: n.OrgName,
		Revision: rev, RevisionSummary: summary, Title: facts.Title, DeliveredAt: n.DeliveredAt, SentAt: at, Deadline: n.Deadline,
		AffectedStatus: breach.StatusNotAffected, Statement: statement, WithdrawnAt: at, Breach: &facts,
	}}
}

// RedeliveryMessage repeats the latest revision to an organisation that
// has not acknowledged it.
func RedeliveryMessage(b *breach.Breach, n *breach.Notice, attempt int, at time.Time) Outgoing {
	o := RevisionMessage(b, n, n.Revision, at)
	o.Msg.Event = message.EventNotice
	if n.Revision > 1 {
		o.Msg.Event = message.EventRevision
	}
	o.Msg.Redelivery = attempt
	o.MsgID = fmt.Sprintf("%s/redeliver/%d/%d", n.ID, n.Revision, attempt)
	o.Vendor = true
	return o
}

// ReminderMessage reminds an organisation that remaining is left; last
// marks the last reminder before the deadline, which escalates.
func ReminderMessage(b *breach.Breach, n *breach.Notice, remaining time.Duration, at time.Time, late, last bool) Outgoing {
	return Outgoing{MsgID: fmt.Sprintf("%s/reminder/%s", n.ID, remaining), Vendor: true, Msg: message.Message{
		Event: message.EventReminder, NoticeID: n.ID, BreachID: n.ID.Breach, OrgID: n.ID.Org, OrgName: n.OrgName,
		Revision: n.Revision, Title: b.Report.Title, DeliveredAt: n.DeliveredAt, SentAt: at, Deadline: n.Deadline,
		Remaining: remaining.String(), Late: late, Escalation: last, HowToAck: howToAck(n.ID),
	}}
}

// OverdueMessage tells an organisation (and the vendor) that the deadline
// passed unresolved; it escalates.
func OverdueMessage(b *breach.Breach, n *breach.Notice, at time.Time, late bool) Outgoing {
	return Outgoing{MsgID: fmt.Sprintf("%s/overdue", n.ID), Vendor: true, Msg: message.Message{
		Event: message.EventOverdue, NoticeID: n.ID, BreachID: n.ID.Breach, OrgID: n.ID.Org, OrgName: n.OrgName,
		Revision: n.Revision, Title: b.Report.Title, DeliveredAt: n.DeliveredAt, SentAt: at, Deadline: n.Deadline, Late: late,
		Escalation: true,
	}}
}

// ObligationReminderMessage reminds an organisation that remaining is
// left before the deadline of its obligation o (a NIS2 report); last marks
// the obligation's last reminder, which escalates.
func ObligationReminderMessage(b *breach.Breach, n *breach.Notice, o *breach.Obligation, remaining time.Duration, at time.Time, late, last bool) Outgoing {
	out := ReminderMessage(b, n, remaining, at, late, last)
	out.MsgID = fmt.Sprintf("%s/%s/reminder/%s", n.ID, o.Kind, remaining)
	out.Msg.Obligation, out.Msg.Deadline = string(o.Kind), o.Deadline
	return out
}

// ObligationOverdueMessage tells an organisation (and the vendor) that the
// deadline of its obligation o passed unresolved; it escalates.
func ObligationOverdueMessage(b *breach.Breach, n *breach.Notice, o *breach.Obligation, at time.Time, late bool) Outgoing {
	out := OverdueMessage(b, n, at, late)
	out.MsgID = fmt.Sprintf("%s/%s/overdue", n.ID, o.Kind)
	out.Msg.Obligation, out.Msg.Deadline = string(o.Kind), o.Deadline
	return out
}

// Publisher publishes to organisations, signing every message, and the
// vendor's rounds to the vendor's event stream. Rounds are not signed:
// they go only to the vendor, with --nats-auth only Cascade's NATS user
// may publish on cascade.events.> (see internal/natsauth), and every
// message a round lists is signed and stored in CASCADE_NOTICES.
type Publisher struct {
	st     *store.Store
	notice jetstream.Stream
	keys   Signer
	count  DeliveryCounter
}

// DeliveryCounter counts delivery results by channel and result
// (delivered, failed); metrics.Metrics implements it.
type DeliveryCounter interface {
	Deliveries(channel, result string, n int)
}

type noCount struct{}

func (noCount) Deliveries(string, string, int) {}

// CountDeliveries makes the publisher count the messages it stores for
// organisations (channel nats) on dc: new copies delivered, a failed
// publish failed.
func (p *Publisher) CountDeliveries(dc DeliveryCounter) { p.count = dc }

// Signer gives the active signing key (implemented by signing.Ring).
type Signer interface{ Active() *signing.Key }

// NewPublisher returns a publisher on st's JetStream that signs with keys.
func NewPublisher(ctx context.Context, st *store.Store, keys Signer) (*Publisher, error) {
	js := st.JetStream()
	s, err := js.Stream(ctx, store.StreamNotices)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", store.StreamNotices, err)
	}
	return &Publisher{st: st, notice: s, keys: keys, count: noCount{}}, nil
}

// Result is the outcome of one message: when the organisation's copy was
// sent (for a repeat: when the first copy was) and where it is stored.
type Result struct {
	SentAt time.Time
	Seq    uint64
	Repeat bool // an earlier copy was already stored (crash replay)
}

// natsMsg is o on subject, not yet signed: Send signs what it sends
// together (signing.SignBatch).
func (p *Publisher) natsMsg(subject string, o Outgoing) (*nats.Msg, error) {
	body, err := json.Marshal(o.Msg)
	if err != nil {
		return nil, err
	}
	m := &nats.Msg{Subject: subject, Data: body, Header: nats.Header{}}
	m.Header.Set(message.HeaderEvent, o.Msg.Event)
	m.Header.Set(message.HeaderNoticeID, o.Msg.NoticeID.String())
	m.Header.Set(message.HeaderBreachID, string(o.Msg.BreachID))
	m.Header.Set(message.HeaderRevision, strconv.Itoa(o.Msg.Revision))
	if o.Msg.Redelivery > 0 {
		m.Header.Set(message.HeaderRedelivery, strconv.Itoa(o.Msg.Redelivery))
	}
	if o.Msg.Late {
		m.Header.Set(message.HeaderLate, "true")
	}
	if o.Msg.QuestionID != "" {
		m.Header.Set(message.HeaderQuestionID, o.Msg.QuestionID)
	}
	m.Header.Set("Content-Type", "application/json")
	return m, nil
}

// Send publishes every message and, for those flagged Vendor, the rounds
// that tell the vendor (see message.Round), and returns when all are persisted.
// Each stream's messages go in atomic batches; the two streams are written
// at the same time.
func (p *Publisher) Send(ctx context.Context, out []Outgoing) ([]Result, error) {
	toOrgs := make([]*nats.Msg, 0, len(out))
	for _, o := range out {
		m, err := p.natsMsg(Subject(o.Msg.OrgID), o)
		if err != nil {
			return nil, err
		}
		m.Header.Set(jetstream.MsgIDHeader, o.MsgID)
		toOrgs = append(toOrgs, m)
	}
	// Signed over subject, notice id, event and body (a genuine message
	// cannot be altered or replayed to another organisation unnoticed),
	// all with one signature over a hash tree of them, each message
	// carrying its proof.
	for from := 0; from < len(toOrgs); from += store.MaxBatch {
		signing.SignBatch(p.keys.Active(), toOrgs[from:min(from+store.MaxBatch, len(toOrgs))])
	}
	toVendor, err := roundMsgs(Rounds(out))
	if err != nil {
		return nil, err
	}
	var vacks []store.Ack
	var verr error
	var wg sync.WaitGroup
	if len(toVendor) > 0 {
		wg.Go(func() { vacks, verr = p.st.PublishBatched(ctx, store.StreamEvents, toVendor) })
	}
	acks, err := p.st.PublishBatched(ctx, store.StreamNotices, toOrgs)
	wg.Wait()
	if err != nil {
		p.count.Deliveries(string(breach.ChannelNATS), "failed", len(toOrgs))
		return nil, fmt.Errorf("publish to organisations: %w", err)
	}
	p.countAcks(acks)
	if verr != nil {
		return nil, fmt.Errorf("publish the vendor's rounds: %w", verr)
	}
	for i, a := range vacks {
		if a.Err != nil {
			return nil, fmt.Errorf("publish the vendor's round %s: %w", toVendor[i].Header.Get(jetstream.MsgIDHeader), a.Err)
		}
	}
	res := make([]Result, len(out))
	for i, a := range acks {
		if a.Err != nil {
			return nil, fmt.Errorf("publish %s: %w", out[i].MsgID, a.Err)
		}
		res[i] = Result{SentAt: out[i].Msg.SentAt, Seq: a.Sequence, Repeat: a.Duplicate}
	}
	for i := range res {
		if !res[i].Repeat {
			continue
		}
		// The first copy is what the organisation saw: keep its time.
		m, err := p.notice.GetMsg(ctx, res[i].Seq)
		if err != nil {
			return nil, fmt.Errorf("read earlier copy of %s: %w", out[i].MsgID, err)
		}
		var first message.Message
		if err := json.Unmarshal(m.Data, &first); err != nil {
			return nil, fmt.Errorf("decode earlier copy of %s: %w", out[i].MsgID, err)
		}
		res[i].SentAt = first.SentAt
	}
	return res, nil
}

func (p *Publisher) countAcks(acks []store.Ack) {
	var ok, failed int
	for _, a := range acks {
		switch {
		case a.Err != nil:
			failed++
		case !a.Duplicate:
			ok++
		}
	}
	if ok > 0 {
		p.count.Deliveries(string(breach.ChannelNATS), "delivered", ok)
	}
	if failed > 0 {
		p.count.Deliveries(string(breach.ChannelNATS), "failed", failed)
	}
}

// Rounds groups the messages of out flagged Vendor by breach, event and
// threshold or attempt, in order of first appearance, each listing its
// organisations sorted.
func Rounds(out []Outgoing) []message.Round {
	type key struct {
		b          breach.BreachID
		event      string
		remaining  string
		obligation string
		redelivery int
		revision   int
	}
	var rounds []message.Round
	index := map[key]int{}
	for _, o := range out {
		if !o.Vendor {
			continue
		}
		m := o.Msg
		k := key{b: m.BreachID, event: m.Event, remaining: m.Remaining, obligation: m.Obligation}
		if m.Redelivery > 0 {
			k.event, k.redelivery, k.revision = message.RoundRedelivery, m.Redelivery, m.Revision
		}
		i, ok := index[k]
		if !ok {
			i = len(rounds)
			index[k] = i
			rounds = append(rounds, message.Round{Event: k.event, BreachID: k.b, Title: m.Title, Remaining: k.remaining, Obligation: k.obligation,
				Redelivery: k.redelivery, Revision: k.revision, SentAt: m.SentAt})
		}
		r := &rounds[i]
		r.Orgs = append(r.Orgs, m.OrgID)
		if m.Late {
			r.Late = append(r.Late, m.OrgID)
		}
		if m.SentAt.Before(r.SentAt) {
			r.SentAt = m.SentAt
		}
	}
	for i := range rounds {
		slices.Sort(rounds[i].Orgs)
		slices.Sort(rounds[i].Late)
	}
	return rounds
}

// roundMsgs are the vendor's messages for rounds, at most MaxRoundOrgs
// organisations each. A message's id is derived from its breach, event,
// threshold or attempt and organisations, so a firing handled again after
// a crash stores it once (if the same notices were due again).
func roundMsgs(rounds []message.Round) ([]*nats.Msg, error) {
	var msgs []*nats.Msg
	for _, r := range rounds {
		orgs, late := r.Orgs, r.Late
		for from := 0; from < len(orgs); from += MaxRoundOrgs {
			part := r
			part.Orgs = orgs[from:min(from+MaxRoundOrgs, len(orgs))]
			part.Late = nil
			for _, o := range late {
				if _, ok := slices.BinarySearch(part.Orgs, o); ok {
					part.Late = append(part.Late, o)
				}
			}
			body, err := json.Marshal(part)
			if err != nil {
				return nil, err
			}
			h := sha256.New()
			for _, o := range part.Orgs {
				h.Write([]byte(o))
				h.Write([]byte{0})
			}
			id := fmt.Sprintf("%s/_%s/%s/%d/%d/%x", r.BreachID, r.Event, r.Remaining, r.Revision, r.Redelivery, h.Sum(nil)[:12])
			if r.Obligation != "" {
				id = fmt.Sprintf("%s/_%s/%s/%s/%x", r.BreachID, r.Event, r.Obligation, r.Remaining, h.Sum(nil)[:12])
			}
			m := &nats.Msg{Subject: RoundSubject(r.BreachID, r.Event), Data: body, Header: nats.Header{}}
			m.Header.Set(message.HeaderEvent, r.Event)
			m.Header.Set(message.HeaderBreachID, string(r.BreachID))
			m.Header.Set("Content-Type", "application/json")
			m.Header.Set(jetstream.MsgIDHeader, id)
			msgs = append(msgs, m)
		}
	}
	return msgs, nil
}

// SendToken publishes a token message to its organisation, signed, and
// returns once it is stored in CASCADE_NOTICES (the dispatcher then
// delivers it by webhook and e-mail). The same message again (the same
// token and event) is stored once.
func (p *Publisher) SendToken(ctx context.Context, t message.Token) (Result, error) {
	if !message.IsTokenEvent(t.Event) || !t.OrgID.Valid() || t.TokenID == "" {
		return Result{}, fmt.Errorf("token message: event %q, organisation %q, token %q", t.Event, t.OrgID, t.TokenID)
	}
	body, err := json.Marshal(t)
	if err != nil {
		return Result{}, err
	}
	m := &nats.Msg{Subject: Subject(t.OrgID), Data: body, Header: nats.Header{}}
	m.Header.Set(message.HeaderEvent, t.Event)
	m.Header.Set(message.HeaderNoticeID, message.TokenNoticeID(t.OrgID))
	m.Header.Set(message.HeaderTokenID, t.TokenID)
	m.Header.Set("Content-Type", "application/json")
	signing.SignMsg(p.keys.Active(), m)
	m.Header.Set(jetstream.MsgIDHeader, message.TokenNoticeID(t.OrgID)+"/"+t.TokenID+"/"+t.Event)
	acks, err := p.st.PublishBatched(ctx, store.StreamNotices, []*nats.Msg{m})
	if err != nil {
		return Result{}, fmt.Errorf("tell %s of token %s: %w", t.OrgID, t.TokenID, err)
	}
	if a := acks[0]; a.Err != nil {
		return Result{}, fmt.Errorf("tell %s of token %s: %w", t.OrgID, t.TokenID, a.Err)
	}
	return Result{SentAt: t.SentAt, Seq: acks[0].Sequence, Repeat: acks[0].Duplicate}, nil
}
