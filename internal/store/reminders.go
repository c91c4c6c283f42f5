package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
)

// Reminders are recorded per fan-out chunk, not per notice. A reminder
// moves no summary count and falls due for a whole chunk at once (the
// chunk's notices were delivered together), so the timers record what one
// firing sent for one threshold as a round: one ledger message for up to
// MembersChunk notices instead of one each. The chunk's reminder record is
// the last message on cascade.ledger.reminders.<breach>.<chunk>; it lists
// every round of the chunk so far (each write carries the rounds before
// it and expects the subject's last sequence, so two writers merge instead
// of overwriting). A notice's current state is its own last record with
// the rounds that name its organisation applied; its history has one
// `reminded` entry per such round, at the round's ledger sequence.

const ledgerReminders = "cascade.ledger.reminders" // + ".<breach>.<chunk>"

// Bounds of one chunk's reminder record. A chunk of 1,000 organisations
// with the longest ids takes about 64 KB per threshold. Each write stores
// the whole record again (earlier versions stay in the ledger), so the
// number of rounds is bounded too: a record that would pass either bound
// (a very long --remind list; many small rounds) is refused with
// ErrRemindersTooLarge, and the timers record per notice instead. Small
// rounds are not worth a record at all (MinRound).
const (
	maxRemindersRecord = 768 << 10
	maxRounds          = 32
	// MinRound is the fewest reminders the timers record as a round; fewer
	// (organisations whose clock started on their own, a few stragglers)
	// are recorded per notice.
	MinRound = 16
)

// ErrRemindersTooLarge: the chunk's reminder record would pass its bounds;
// nothing was written.
var ErrRemindersTooLarge = errors.New("chunk reminder record full")

// ReminderRound is what one timer firing sent for one threshold: a
// reminder to each of Orgs, all at SentAt.
type ReminderRound struct {
	Remaining time.Duration
	SentAt    time.Time
	Actor     string
	Orgs      []breach.OrgID // sorted
	Late      []breach.OrgID // sorted; sent well after they were due
	Seq       uint64         // ledger sequence of the record that added the round
}

// Names reports whether the round reminded org.
func (r *ReminderRound) Names(org breach.OrgID) bool {
	_, ok := slices.BinarySearch(r.Orgs, org)
	return ok
}

func (r *ReminderRound) late(org breach.OrgID) bool {
	_, ok := slices.BinarySearch(r.Late, org)
	return ok
}

// reminder is r as recorded on notice n.
func (r *ReminderRound) reminder(n *breach.Notice) breach.Reminder {
	return breach.Reminder{Remaining: r.Remaining, DueAt: n.Deadline.Add(-r.Remaining), SentAt: r.SentAt, Late: r.late(n.ID.Org)}
}

// change is the history entry of r on a notice that was prev before it.
func (r *ReminderRound) change(prev *breach.Notice) Change {
	n := *prev
	rm := r.reminder(&n)
	n.AddReminder(rm)
	return Change{Event: breach.EventReminded, At: r.SentAt, Actor: r.Actor, Prev: prev.State, PrevRevisionAcked: prev.RevisionAcked,
		Detail: breach.ReminderDetail(r.Remaining, rm.DueAt, rm.Late), Notice: n}
}

// The stored form: organisation ids joined by commas (an id has none),
// which keeps a 1,000-notice round small and quick to decode.
type remindersRecord struct {
	V      int             `json:"v"`
	Breach breach.BreachID `json:"breach_id"`
	Chunk  int             `json:"chunk"`
	Rounds []roundRecord   `json:"rounds"`
}

type roundRecord struct {
	Remaining time.Duration `json:"remaining"`
	SentAt    time.Time     `json:"sent_at"`
	Actor     string        `json:"actor"`
	Orgs      string        `json:"orgs"`
	Late      string        `json:"late,omitempty"`
	Seq       uint64        `json:"seq,omitempty"` // absent on the rounds this record added: the message's own sequence
}

func remindersSubject(b breach.BreachID, chunk int) string {
	return ledgerReminders + "." + string(b) + "." + strconv.Itoa(chunk)
}

func joinOrgs(os []breach.OrgID) string {
	var sb strings.Builder
	for i, o := range os {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(string(o))
	}
	return sb.String()
}

// splitOrgs parses a joined list of the ids the timers wrote (checked
// for shape, not against the id pattern: this is read on every notice read).
func splitOrgs(s string) ([]breach.OrgID, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]breach.OrgID, len(parts))
	for i, p := range parts {
		if p == "" || len(p) > 63 {
			return nil, fmt.Errorf("reminder record: invalid organisation id %q", p)
		}
		out[i] = breach.OrgID(p)
	}
	if !slices.IsSorted(out) {
		slices.Sort(out)
	}
	return out, nil
}

func decodeReminders(data []byte, seq uint64) ([]ReminderRound, error) {
	var rec remindersRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("decode reminder record: %w", err)
	}
	if rec.V != recordVersion {
		return nil, fmt.Errorf("reminder record version %d not supported", rec.V)
	}
	out := make([]ReminderRound, len(rec.Rounds))
	for i, r := range rec.Rounds {
		orgs, err := splitOrgs(r.Orgs)
		if err != nil {
			return nil, err
		}
		late, err := splitOrgs(r.Late)
		if err != nil {
			return nil, err
		}
		if r.Seq == 0 { // added by this record
			r.Seq = seq
		}
		out[i] = ReminderRound{Remaining: r.Remaining, SentAt: r.SentAt, Actor: r.Actor, Orgs: orgs, Late: late, Seq: r.Seq}
	}
	return out, nil
}

func encodeReminders(b breach.BreachID, chunk int, rounds []ReminderRound) ([]byte, error) {
	rec := remindersRecord{V: recordVersion, Breach: b, Chunk: chunk, Rounds: make([]roundRecord, len(rounds))}
	for i, r := range rounds {
		rec.Rounds[i] = roundRecord{Remaining: r.Remaining, SentAt: r.SentAt.UTC(), Actor: r.Actor, Orgs: joinOrgs(r.Orgs), Late: joinOrgs(r.Late), Seq: r.Seq}
	}
	return json.Marshal(rec)
}

// ChunkReminders returns every reminder round recorded for one chunk,
// oldest first, and the sequence of the record (0: none yet). The rounds
// are shared: callers must not change them.
func (s *Store) ChunkReminders(ctx context.Context, b breach.BreachID, chunk int) ([]ReminderRound, uint64, error) {
	subj := remindersSubject(b, chunk)
	m, err := s.ledger.GetLastMsgForSubject(ctx, subj)
	if err != nil {
		if isNotFound(err) {
			return nil, 0, nil
		}
		return nil, 0, fmt.Errorf("read reminders of %s chunk %d: %w", b, chunk, err)
	}
	if rs, ok := s.rounds.get(subj, m.Sequence); ok {
		return rs, m.Sequence, nil
	}
	rs, err := decodeReminders(m.Data, m.Sequence)
	if err != nil {
		return nil, 0, fmt.Errorf("reminders of %s chunk %d: %w", b, chunk, err)
	}
	s.rounds.put(subj, m.Sequence, rs)
	return rs, m.Sequence, nil
}

// roundsCache keeps the decoded reminder records read last: a record is
// immutable at its sequence, and an acknowledgement reads its chunk's
// record again (a read costs one direct get, not a decode).
type roundsCache struct {
	mu sync.Mutex
	m  map[string]cachedRounds
}

type cachedRounds struct {
	seq    uint64
	rounds []ReminderRound
}

const roundsCached = 256

func (c *roundsCache) get(subj string, seq uint64) ([]ReminderRound, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[subj]
	return e.rounds, ok && e.seq == seq
}

func (c *roundsCache) put(subj string, seq uint64, rs []ReminderRound) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= roundsCached {
		c.m = make(map[string]cachedRounds, roundsCached)
	}
	c.m[subj] = cachedRounds{seq, rs}
}

// RecordReminders adds rounds (Seq unset, Orgs and Late in any order) to
// the chunk's reminder record and returns, once it is persisted, every
// round the record now holds: what is on record, which is what a notice
// shows (ApplyReminders). An organisation already recorded for a round's
// threshold is left out (a firing repeated after a crash, or handled by
// two daemons, records nothing twice); nothing is written when nothing is
// left. Concurrent writers are merged by retrying on the subject's last
// sequence. ErrRemindersTooLarge: the record would pass its bounds,
// nothing was written.
func (s *Store) RecordReminders(ctx context.Context, b breach.BreachID, chunk int, rounds []ReminderRound) ([]ReminderRound, error) {
	for attempt := 0; ; attempt++ {
		cur, seq, err := s.ChunkReminders(ctx, b, chunk)
		if err != nil {
			return nil, err
		}
		next := slices.Clone(cur)
		for _, r := range rounds {
			done := map[breach.OrgID]bool{}
			for _, c := range cur {
				if c.Remaining == r.Remaining {
					for _, o := range c.Orgs {
						done[o] = true
					}
				}
			}
			r.Orgs = slices.DeleteFunc(slices.Clone(r.Orgs), func(o breach.OrgID) bool { return done[o] })
			if len(r.Orgs) == 0 {
				continue
			}
			slices.Sort(r.Orgs)
			r.Orgs = slices.Compact(r.Orgs)
			r.Late = slices.DeleteFunc(slices.Clone(r.Late), func(o breach.OrgID) bool { return !r.Names(o) })
			slices.Sort(r.Late)
			r.Late, r.Seq = slices.Compact(r.Late), 0
			next = append(next, r)
		}
		if len(next) == len(cur) {
			return cur, nil
		}
		if len(next) > maxRounds {
			return nil, fmt.Errorf("reminders of %s chunk %d: %w (%d rounds)", b, chunk, ErrRemindersTooLarge, len(next))
		}
		data, err := encodeReminders(b, chunk, next)
		if err != nil {
			return nil, err
		}
		if len(data) > maxRemindersRecord {
			return nil, fmt.Errorf("reminders of %s chunk %d: %w (%d bytes)", b, chunk, ErrRemindersTooLarge, len(data))
		}
		m := &nats.Msg{Subject: remindersSubject(b, chunk), Data: data, Header: nats.Header{}}
		m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(seq, 10))
		a, err := s.ledgerCommit.publish(ctx, m)
		if err == nil {
			err = a.Err
		}
		if err == nil {
			for i := len(cur); i < len(next); i++ {
				next[i].Seq = a.Sequence
			}
			return next, nil
		}
		if !isConflict(err) || attempt >= 50 {
			return nil, fmt.Errorf("record reminders of %s chunk %d: %w", b, chunk, err)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// chunkKey names one fan-out chunk.
type chunkKey struct {
	b     breach.BreachID
	chunk int
}

// chunkRounds reads each chunk's reminder rounds once for one call.
type chunkRounds map[chunkKey][]ReminderRound

func (c chunkRounds) of(ctx context.Context, s *Store, k chunkKey) ([]ReminderRound, error) {
	if rs, ok := c[k]; ok {
		return rs, nil
	}
	rs, _, err := s.ChunkReminders(ctx, k.b, k.chunk)
	if err != nil {
		return nil, err
	}
	c[k] = rs
	return rs, nil
}

// withReminders applies to each notice the reminder rounds of its chunk
// that name it (each chunk's record is read once).
func (s *Store) withReminders(ctx context.Context, ns []*breach.Notice) error {
	rounds := chunkRounds{}
	for _, n := range ns {
		if n == nil || n.State < breach.StateDelivered {
			continue // never reminded
		}
		rs, err := rounds.of(ctx, s, chunkKey{n.ID.Breach, n.Chunk})
		if err != nil {
			return err
		}
		ApplyReminders(n, rs)
	}
	return nil
}

// remindersOf starts reading the reminder rounds of n's chunk and returns
// a function that waits for them and applies them to a version of n (the
// same notice, so the same chunk).
func (s *Store) remindersOf(ctx context.Context, n *breach.Notice) func(*breach.Notice) error {
	if n.State < breach.StateDelivered {
		return func(*breach.Notice) error { return nil } // never reminded
	}
	type result struct {
		rs  []ReminderRound
		err error
	}
	done := make(chan result, 1) // the reader finishes even if nobody waits
	b, chunk := n.ID.Breach, n.Chunk
	go func() {
		rs, _, err := s.ChunkReminders(ctx, b, chunk)
		done <- result{rs, err}
	}()
	var r *result
	return func(n *breach.Notice) error {
		if r == nil {
			got := <-done
			r = &got
		}
		if r.err == nil {
			ApplyReminders(n, r.rs)
		}
		return r.err
	}
}

// ApplyReminders records on n every round of rs that names it (a
// reminder already on n for the same threshold stays as it is), except
// rounds sent before n's current delivery: those reminded an earlier clock
// of a notice withdrawn and named affected again (breach.Notice.Renotify).
func ApplyReminders(n *breach.Notice, rs []ReminderRound) {
	for i := range rs {
		if rs[i].Names(n.ID.Org) && !rs[i].SentAt.Before(n.DeliveredAt) {
			n.AddReminder(rs[i].reminder(n))
		}
	}
}

// mergeHistory returns one notice's ledger entries (oldest first) with
// the rounds of its chunk that name it: each such round is a `reminded`
// entry at the round's sequence, and every later entry's notice carries
// it (a change stored concurrently with the round may not have).
func mergeHistory(h []Entry, rs []ReminderRound) []Entry {
	if len(h) == 0 {
		return h
	}
	org := h[0].Change.Notice.ID.Org
	var mine []*ReminderRound
	for i := range rs {
		if rs[i].Names(org) {
			mine = append(mine, &rs[i])
		}
	}
	if len(mine) == 0 {
		return h
	}
	slices.SortStableFunc(mine, func(a, b *ReminderRound) int { return cmp.Compare(a.Seq, b.Seq) })
	out := make([]Entry, 0, len(h)+len(mine))
	var cur *breach.Notice
	applied := 0
	for _, e := range h {
		for applied < len(mine) && mine[applied].Seq < e.Seq {
			r := mine[applied]
			applied++
			if cur == nil || cur.Reminded(r.Remaining) {
				continue
			}
			c := r.change(cur)
			out = append(out, Entry{Seq: r.Seq, Change: c})
			cur = &out[len(out)-1].Change.Notice
		}
		for _, r := range mine[:applied] {
			e.Change.Notice.AddReminder(r.reminder(&e.Change.Notice))
		}
		out = append(out, e)
		cur = &out[len(out)-1].Change.Notice
	}
	for _, r := range mine[applied:] {
		if cur.Reminded(r.Remaining) {
			continue
		}
		out = append(out, Entry{Seq: r.Seq, Change: r.change(cur)})
		cur = &out[len(out)-1].Change.Notice
	}
	return out
}

// parseRemindersSubject parses a chunk reminder record's subject.
func parseRemindersSubject(subj string) (chunkKey, bool) {
	rest, ok := strings.CutPrefix(subj, ledgerReminders+".")
	if !ok {
		return chunkKey{}, false
	}
	b, c, ok := strings.Cut(rest, ".")
	chunk, err := strconv.Atoi(c)
	if !ok || err != nil || chunk < 0 || !breach.BreachID(b).Valid() {
		return chunkKey{}, false
	}
	return chunkKey{breach.BreachID(b), chunk}, true
}
