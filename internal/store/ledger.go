package store

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
)

// Change is one entry of a notice's ledger (see breach.Change).
type Change = breach.Change

// changeRecord is the stored form of a Change; V guards future formats.
type changeRecord struct {
	V int `json:"v"`
	Change
}

const recordVersion = 1

// EncodeChange is the stored bytes of c.
func EncodeChange(c Change) ([]byte, error) {
	return json.Marshal(changeRecord{V: recordVersion, Change: c})
}

// DecodeChange parses a ledger message.
func DecodeChange(data []byte) (Change, error) {
	var r changeRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return Change{}, fmt.Errorf("decode notice record: %w", err)
	}
	if r.V != recordVersion {
		return Change{}, fmt.Errorf("notice record version %d not supported", r.V)
	}
	return r.Change, nil
}

// HeaderSummary on a ledger record: "same" when the change moves no
// summary count (breach.MovesSummary), so the summary folder skips it
// without decoding it. Records without it are decoded.
const HeaderSummary = "Cascade-Summary"

// changeMsg is the ledger message storing c if its notice's ledger is at
// expect (0: the notice must not exist yet).
func changeMsg(c Change, expect uint64) (*nats.Msg, error) {
	data, err := EncodeChange(c)
	if err != nil {
		return nil, err
	}
	m := &nats.Msg{Subject: noticeSubject(c.Notice.ID), Data: data, Header: nats.Header{}}
	m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(expect, 10))
	if !breach.MovesSummary(c) {
		m.Header.Set(HeaderSummary, "same")
	}
	return m, nil
}

// SummaryChange decodes, of a ledger message, what summaries count: the
// event, the previous state and acknowledged revision, and the notice's id,
// state, acknowledged revision and deadline. ok is false when the record
// says it moves no count (nothing decoded).
func SummaryChange(h nats.Header, data []byte) (c Change, ok bool, err error) {
	if h.Get(HeaderSummary) == "same" {
		return Change{}, false, nil
	}
	var r struct {
		V                 int           `json:"v"`
		Event             breach.Event  `json:"event"`
		Prev              breach.State  `json:"prev_state"`
		PrevRevisionAcked int           `json:"prev_revision_acked"`
		PrevMarks         *breach.Marks `json:"prev_marks"`
		Notice            struct {
			ID            breach.NoticeID `json:"id"`
			State         breach.State    `json:"state"`
			Deadline      time.Time       `json:"deadline"`
			RevisionAcked int             `json:"revision_acknowledged"`
			Outcome       *struct{}       `json:"outcome"`
			Obligations   []struct {
				Kind     breach.ObligationKind `json:"kind"`
				Deadline time.Time             `json:"deadline"`
				Outcome  *struct{}             `json:"outcome"`
			} `json:"obligations"`
		} `json:"notice"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return Change{}, false, fmt.Errorf("decode notice record: %w", err)
	}
	if r.V != recordVersion {
		return Change{}, false, fmt.Errorf("notice record version %d not supported", r.V)
	}
	c = Change{Event: r.Event, Prev: r.Prev, PrevRevisionAcked: r.PrevRevisionAcked, PrevMarks: r.PrevMarks, Notice: breach.Notice{
		ID: r.Notice.ID, State: r.Notice.State, Deadline: r.Notice.Deadline, RevisionAcked: r.Notice.RevisionAcked}}
	if r.Notice.Outcome != nil {
		c.Notice.Outcome = &breach.Outcome{}
	}
	for _, o := range r.Notice.Obligations {
		ob := breach.Obligation{Kind: o.Kind, Deadline: o.Deadline}
		if o.Outcome != nil {
			ob.Outcome = &breach.Outcome{}
		}
		c.Notice.Obligations = append(c.Notice.Obligations, ob)
	}
	return c, true, nil
}

func noticeSubject(id breach.NoticeID) string {
	return ledgerNotice + "." + string(id.Breach) + "." + string(id.Org)
}

// NoticeIDFromSubject parses a ledger notice subject.
func NoticeIDFromSubject(subj string) (breach.NoticeID, bool) {
	rest, ok := strings.CutPrefix(subj, ledgerNotice+".")
	if !ok {
		return breach.NoticeID{}, false
	}
	b, o, ok := strings.Cut(rest, ".")
	if !ok || !breach.BreachID(b).Valid() || !breach.OrgID(o).Valid() {
		return breach.NoticeID{}, false
	}
	return breach.NewNoticeID(breach.BreachID(b), breach.OrgID(o)), true
}

// Version is a notice with the ledger sequence of its current state, the
// expected sequence for the next change.
type Version struct {
	Notice *breach.Notice
	Seq    uint64
}

// GetNotice returns the current state of a notice, or breach.ErrNotFound:
// its last record with the reminders recorded for its chunk.
func (s *Store) GetNotice(ctx context.Context, id breach.NoticeID) (Version, error) {
	v, err := s.getNotice(ctx, id)
	if err != nil {
		return Version{}, err
	}
	if err := s.withReminders(ctx, []*breach.Notice{v.Notice}); err != nil {
		return Version{}, err
	}
	return v, nil
}

// getNotice reads a notice's own last record.
func (s *Store) getNotice(ctx context.Context, id breach.NoticeID) (Version, error) {
	m, err := s.ledger.GetLastMsgForSubject(ctx, noticeSubject(id))
	if err != nil {
		if isNotFound(err) {
			return Version{}, fmt.Errorf("notice %s: %w", id, breach.ErrNotFound)
		}
		return Version{}, fmt.Errorf("read notice %s: %w", id, err)
	}
	c, err := DecodeChange(m.Data)
	if err != nil {
		return Version{}, fmt.Errorf("notice %s: %w", id, err)
	}
	return Version{Notice: &c.Notice, Seq: m.Sequence}, nil
}

// GetNotices reads many notices. The result is aligned with ids; a notice
// that does not exist has a nil Notice. On a single server they are read
// with one direct-get request per 1,000 notices (multi_last); on a
// replicated ledger one by one, concurrently, through the stream leader.
func (s *Store) GetNotices(ctx context.Context, ids []breach.NoticeID) ([]Version, error) {
	vs, err := s.getNotices(ctx, ids)
	if err != nil {
		return nil, err
	}
	ns := make([]*breach.Notice, len(vs))
	for i := range vs {
		ns[i] = vs[i].Notice
	}
	if err := s.withReminders(ctx, ns); err != nil {
		return nil, err
	}
	return vs, nil
}

// getNotices reads the notices' own records (see GetNotices).
func (s *Store) getNotices(ctx context.Context, ids []breach.NoticeID) ([]Version, error) {
	if s.replicas <= 1 {
		out := make([]Version, 0, len(ids))
		for from := 0; from < len(ids); from += multiGetMax {
			part := ids[from:min(from+multiGetMax, len(ids))]
			vs, err := s.multiGetNotices(ctx, part)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				s.log.Debug("batched notice read failed; reading one by one", "err", err)
				if vs, err = s.getNoticesEach(ctx, part); err != nil {
					return nil, err
				}
			}
			out = append(out, vs...)
		}
		return out, nil
	}
	return s.getNoticesEach(ctx, ids)
}

// multiGetMax is the most notices one multi_last direct get asks for (the
// server answers at most 1,024 messages).
const multiGetMax = 1000

// multiGetNotices reads the last ledger message of each notice with one
// JetStream direct-get request (multi_last), whose answers stream to an
// inbox and end with a 204 status.
func (s *Store) multiGetNotices(ctx context.Context, ids []breach.NoticeID) ([]Version, error) {
	out := make([]Version, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	at := make(map[string]int, len(ids))
	subjects := make([]string, len(ids))
	for i, id := range ids {
		subjects[i] = noticeSubject(id)
		at[subjects[i]] = i
	}
	_, _, err := s.directGet(ctx, struct {
		MultiLast []string `json:"multi_last"`
		Batch     int      `json:"batch"`
	}{subjects, len(subjects)}, func(subject string, seq uint64, data []byte) error {
		i, ok := at[subject]
		if !ok {
			return fmt.Errorf("unexpected subject %q", subject)
		}
		c, err := DecodeChange(data)
		if err != nil {
			return fmt.Errorf("notice %s: %w", ids[i], err)
		}
		out[i] = Version{Notice: &c.Notice, Seq: seq}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read notices: %w", err)
	}
	return out, nil
}

// directGet sends one JetStream direct-get request (req: its JSON body)
// for the ledger and passes each message of the answer to fn; the answer
// streams to an inbox and ends with a 204 status that says how many
// messages matching the request remain after the last one sent (pending,
// last). None found (404) is no error.
func (s *Store) directGet(ctx context.Context, req any, fn func(subject string, seq uint64, data []byte) error) (pending, last uint64, err error) {
	body, err := json.Marshal(req)
	if err != nil {
		return 0, 0, err
	}
	inbox := s.nc.NewInbox()
	sub, err := s.nc.SubscribeSync(inbox)
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := s.nc.PublishRequest("$JS.API.DIRECT.GET."+StreamLedger, inbox, body); err != nil {
		return 0, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return 0, 0, err
		}
		switch st := m.Header.Get("Status"); st {
		case "":
		case "204": // end of batch
			pending, _ = strconv.ParseUint(m.Header.Get("Nats-Num-Pending"), 10, 64)
			last, _ = strconv.ParseUint(m.Header.Get(jetstream.LastSequenceHeader), 10, 64)
			return pending, last, nil
		case "404": // nothing matches
			return 0, 0, nil
		default:
			return 0, 0, fmt.Errorf("status %s %s", st, m.Header.Get("Description"))
		}
		seq, err := strconv.ParseUint(m.Header.Get(jetstream.SequenceHeader), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("sequence of %s: %w", m.Header.Get(jetstream.SubjectHeader), err)
		}
		if err := fn(m.Header.Get(jetstream.SubjectHeader), seq, m.Data); err != nil {
			return 0, 0, err
		}
	}
}

// readSubject passes every ledger message on subject (no wildcard) to fn,
// oldest first, with direct gets of up to batch messages, no consumer.
func (s *Store) readSubject(ctx context.Context, subject string, batch int, fn func(seq uint64, data []byte) error) error {
	var from uint64
	for {
		pending, last, err := s.directGet(ctx, struct {
			Seq     uint64 `json:"seq,omitempty"`
			NextFor string `json:"next_by_subj"`
			Batch   int    `json:"batch"`
		}{from, subject, batch}, func(_ string, seq uint64, data []byte) error { return fn(seq, data) })
		if err != nil || pending == 0 || last == 0 {
			return err
		}
		from = last + 1
	}
}

// getNoticesEach reads notices one by one, 32 at a time.
func (s *Store) getNoticesEach(ctx context.Context, ids []breach.NoticeID) ([]Version, error) {
	out := make([]Version, len(ids))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	sem := make(chan struct{}, 32)
	for i, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			v, err := s.getNotice(ctx, id)
			if err != nil && !isDomainNotFound(err) {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				return
			}
			out[i] = v
		}()
	}
	wg.Wait()
	return out, firstErr
}

// AppendResult is the outcome of one change in AppendChanges.
type AppendResult struct {
	Seq      uint64 // ledger sequence of the stored change
	Conflict bool   // the notice was not at the expected sequence; nothing stored
}

// AppendChanges stores changes[i] if its notice's ledger is at expect[i]
// (0: the notice must not exist yet). The writes go in atomic batches (see
// PublishBatched); the call returns when every one is acknowledged by
// JetStream, i.e. persisted.
func (s *Store) AppendChanges(ctx context.Context, changes []Change, expect []uint64) ([]AppendResult, error) {
	msgs := make([]*nats.Msg, len(changes))
	for i, c := range changes {
		m, err := changeMsg(c, expect[i])
		if err != nil {
			return nil, err
		}
		msgs[i] = m
	}
	acks, err := s.PublishBatched(ctx, StreamLedger, msgs)
	if err != nil {
		return nil, fmt.Errorf("append notice changes: %w", err)
	}
	res := make([]AppendResult, len(changes))
	for i, a := range acks {
		switch {
		case a.Err == nil:
			res[i].Seq = a.Sequence
		case isConflict(a.Err):
			res[i].Conflict = true
		default:
			return nil, fmt.Errorf("append %s: %w", changes[i].Notice.ID, a.Err)
		}
	}
	return res, nil
}

// UpdateNotice is the one read-modify-write helper for notices. It reads
// the current state, lets fn change it and name the event, and appends the
// change only if nobody else changed the notice meanwhile, retrying on
// conflict. fn returning an empty event means "no change": nothing is
// written and the current notice is returned (this makes retries and
// repeated requests idempotent). fn's error is returned as is.
func (s *Store) UpdateNotice(ctx context.Context, id breach.NoticeID, actor string, now time.Time,
	fn func(n *breach.Notice) (breach.Event, error)) (*breach.Notice, error) {
	return s.UpdateNoticeDetail(ctx, id, actor, now, "", fn)
}

// UpdateNoticeDetail is UpdateNotice with a human-readable detail for the
// history entry.
func (s *Store) UpdateNoticeDetail(ctx context.Context, id breach.NoticeID, actor string, now time.Time, detail string,
	fn func(n *breach.Notice) (breach.Event, error)) (*breach.Notice, error) {
	return s.UpdateNoticeBy(ctx, id, actor, nil, now, detail, fn)
}

// UpdateNoticeBy is UpdateNoticeDetail for a change made through the API:
// the history entry records the authenticated principal beside the actor's
// name (nil: none, as for what Cascade does itself).
func (s *Store) UpdateNoticeBy(ctx context.Context, id breach.NoticeID, actor string, principal *breach.Principal, now time.Time, detail string,
	fn func(n *breach.Notice) (breach.Event, error)) (*breach.Notice, error) {
	var reminders func(*breach.Notice) error // read once, whatever the attempts
	for attempt := 0; ; attempt++ {
		// The notice's own record: the reminder rounds of its chunk are
		// applied by every read, so the change need not carry them (and
		// fn decides nothing by them); the caller gets them.
		v, err := s.getNotice(ctx, id)
		if err != nil {
			return nil, err
		}
		prev, prevAcked, prevMarks := v.Notice.State, v.Notice.RevisionAcked, breach.MarksOf(v.Notice)
		ev, err := fn(v.Notice)
		if err != nil {
			return nil, err
		}
		if ev == "" {
			return v.Notice, s.withReminders(ctx, []*breach.Notice{v.Notice})
		}
		c := Change{Event: ev, At: now, Actor: actor, Principal: principal, Prev: prev, PrevRevisionAcked: prevAcked, Detail: detail, Notice: *v.Notice,
			PrevMarks: breach.PrevMarksFor(prevMarks, v.Notice)}
		m, err := changeMsg(c, v.Seq)
		if err != nil {
			return nil, err
		}
		// The chunk's reminder rounds, which the caller gets, are read
		// while the change is stored: a read waits for the commit in
		// progress, so reading after it would wait for another.
		if reminders == nil {
			reminders = s.remindersOf(ctx, v.Notice)
		}
		a, err := s.ledgerCommit.publish(ctx, m)
		if err == nil {
			err = a.Err
		}
		if err == nil {
			return v.Notice, reminders(v.Notice)
		}
		if !isConflict(err) || attempt >= 50 {
			return nil, fmt.Errorf("update notice %s: %w", id, err)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// Entry is one change of a notice with its position in the ledger.
type Entry struct {
	Seq    uint64
	Change Change
}

// History returns every change of a notice, oldest first. On a single
// server it is read with direct gets (readSubject), without a consumer; on
// a replicated ledger, or if that fails, with a consumer (scan) through
// the stream leader.
func (s *Store) History(ctx context.Context, id breach.NoticeID) ([]Entry, error) {
	var out []Entry
	add := func(seq uint64, data []byte) error {
		c, err := DecodeChange(data)
		if err != nil {
			return err
		}
		for _, c := range c.Split() {
			out = append(out, Entry{Seq: seq, Change: c})
		}
		return nil
	}
	direct := s.replicas <= 1
	if direct {
		if err := s.readSubject(ctx, noticeSubject(id), 1000, add); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			s.log.Debug("direct history read failed; reading with a consumer", "notice_id", id, "err", err)
			direct, out = false, nil
		}
	}
	if !direct {
		err := s.scan(ctx, noticeSubject(id), jetstream.DeliverAllPolicy, func(m jetstream.Msg) error {
			md, err := m.Metadata()
			if err != nil {
				return err
			}
			return add(md.Sequence.Stream, m.Data())
		})
		if err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("notice %s: %w", id, breach.ErrNotFound)
	}
	rs, _, err := s.ChunkReminders(ctx, id.Breach, out[0].Change.Notice.Chunk)
	if err != nil {
		return nil, err
	}
	return mergeHistory(out, rs), nil
}

// Histories returns the history of every notice of one breach (b set) or
// of one organisation (org set), read with a single consumer.
func (s *Store) Histories(ctx context.Context, b breach.BreachID, org breach.OrgID) (map[breach.NoticeID][]Entry, error) {
	filter := ledgerNotice + ".*." + string(org)
	if b != "" {
		filter = BreachNoticeFilter(b)
	}
	out := map[breach.NoticeID][]Entry{}
	err := s.scan(ctx, filter, jetstream.DeliverAllPolicy, func(m jetstream.Msg) error {
		c, err := DecodeChange(m.Data())
		if err != nil {
			return err
		}
		md, err := m.Metadata()
		if err != nil {
			return err
		}
		for _, c := range c.Split() {
			out[c.Notice.ID] = append(out[c.Notice.ID], Entry{Seq: md.Sequence.Stream, Change: c})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rounds := chunkRounds{}
	for id, h := range out {
		rs, err := rounds.of(ctx, s, chunkKey{id.Breach, h[0].Change.Notice.Chunk})
		if err != nil {
			return nil, err
		}
		out[id] = mergeHistory(h, rs)
	}
	return out, nil
}

// OrgNotices returns the current state of every notice of one organisation.
func (s *Store) OrgNotices(ctx context.Context, org breach.OrgID) ([]*breach.Notice, error) {
	latest := map[breach.NoticeID]*breach.Notice{}
	err := s.scan(ctx, ledgerNotice+".*."+string(org), jetstream.DeliverLastPerSubjectPolicy, func(m jetstream.Msg) error {
		c, err := DecodeChange(m.Data())
		if err != nil {
			return err
		}
		// After a reconnect an ordered consumer resumes by sequence and may
		// deliver older states too: the last one seen is the newest.
		latest[c.Notice.ID] = &c.Notice
		return nil
	})
	if err != nil {
		return nil, err
	}
	ns := slices.Collect(maps.Values(latest))
	if err := s.withReminders(ctx, ns); err != nil {
		return nil, err
	}
	return ns, nil
}

// scan delivers every ledger message matching filter (under policy) to fn
// and returns when it has seen them all.
func (s *Store) scan(ctx context.Context, filter string, policy jetstream.DeliverPolicy, fn func(jetstream.Msg) error) error {
	cons, err := s.ledger.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{filter},
		DeliverPolicy:     policy,
		InactiveThreshold: 5 * time.Second, // the server forgets it soon after the scan
	})
	if err != nil {
		return fmt.Errorf("scan %s: %w", filter, err)
	}
	info := cons.CachedInfo()
	// Delete the consumer when done rather than leave it to expire: a
	// stream admits a limited number of consumers.
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = s.ledger.DeleteConsumer(dctx, info.Name)
	}()
	if info.NumPending == 0 {
		return nil
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("scan %s: %w", filter, err)
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("scan %s: %w", filter, err)
		}
		if err := fn(m); err != nil {
			return err
		}
		md, err := m.Metadata()
		if err != nil {
			return err
		}
		if md.NumPending == 0 {
			return nil
		}
	}
}
