package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
)

// NoticeFeed is one shared tail of the notice ledger for every watcher of
// this process: ONE ordered consumer (new messages only) on the ledger,
// for its notice changes and reminder rounds, started when the first watcher attaches and stopped
// when the last one leaves. Each change is dispatched in process to the
// watchers whose filter selects its notice; a record is decoded once, and
// only when someone watches its notice.
//
// A watcher never blocks the tail or the others: it has its own queue, in
// which a notice appears at most once (a later state of a notice still
// queued replaces it, keeping its place), so a slow watcher ends with every
// notice's latest state and is never sent the same stored change twice. A
// queue that passes MaxPending notices ends its watch with ErrWatchBehind
// (the watcher watches again, from a fresh snapshot).
type NoticeFeed struct {
	st         *Store
	log        *slog.Logger
	maxPending int

	mu       sync.RWMutex // guards the watcher sets and tail
	byOrg    map[breach.OrgID]map[*NoticeWatch]struct{}
	byBreach map[breach.BreachID]map[*NoticeWatch]struct{}
	watchers int
	tail     *feedTail // nil: not running

	pos atomic.Uint64 // ledger sequence of the last message dispatched
}

// DefaultMaxPending is how many notices one watcher may have queued.
const DefaultMaxPending = 1 << 17

// ErrWatchBehind ends a watch whose watcher fell too far behind.
var ErrWatchBehind = errors.New("the watcher fell too far behind; watch again")

// ErrFeedEnded ends the watches when the shared tail of the ledger fails.
var ErrFeedEnded = errors.New("the notice feed ended; watch again")

// NewNoticeFeed returns a feed of st's notice changes; maxPending <= 0
// means DefaultMaxPending.
func NewNoticeFeed(st *Store, maxPending int, log *slog.Logger) *NoticeFeed {
	if maxPending <= 0 {
		maxPending = DefaultMaxPending
	}
	return &NoticeFeed{st: st, log: log, maxPending: maxPending,
		byOrg: map[breach.OrgID]map[*NoticeWatch]struct{}{}, byBreach: map[breach.BreachID]map[*NoticeWatch]struct{}{}}
}

// NoticeFilter selects the notices of a watch: of one organisation, of one
// breach, or both (one notice). At least one is set.
type NoticeFilter struct {
	Breach breach.BreachID
	Org    breach.OrgID
	// Keep, if not nil, narrows it further by breach (e.g. one
	// processor's breaches).
	Keep func(breach.BreachID) bool
}

func (f NoticeFilter) match(id breach.NoticeID) bool {
	return (f.Breach == "" || f.Breach == id.Breach) && (f.Org == "" || f.Org == id.Org) && (f.Keep == nil || f.Keep(id.Breach))
}

// feedItem is a notice's state with what it reflects: its record at
// ledger sequence rec and, if round is set, the reminder round stored at
// round (a state sent for a round).
type feedItem struct {
	n          *breach.Notice // shared between watchers: read only
	rec, round uint64
}

// snapSeq is, of a notice in a watch's snapshot, the sequence of its record
// and of the last reminder round applied to it.
type snapSeq struct{ record, round uint64 }

// NoticeWatch is one watcher of the feed. Ready signals that Next has
// something; Close ends it.
type NoticeWatch struct {
	f      *NoticeFeed
	filter NoticeFilter
	ready  chan struct{}

	mu      sync.Mutex
	queue   []feedItem
	at      map[breach.NoticeID]int // position in queue
	err     error
	closed  bool
	dedup   map[breach.NoticeID]snapSeq // the snapshot, until the tail has passed it
	snapMax uint64
}

// Watch attaches a watcher of the notices f selects. With snapshot set it
// then reads their current states (returned, in no order): every change
// Next returns afterwards is newer than the snapshot's state of its
// notice. Without it, Next returns every change stored after Watch was
// called (and possibly a few just before). Close the watch when done.
func (f *NoticeFeed) Watch(ctx context.Context, filter NoticeFilter, snapshot bool) (*NoticeWatch, []*breach.Notice, error) {
	if filter.Breach == "" && filter.Org == "" {
		return nil, nil, errors.New("notice feed: a watch needs an organisation or a breach")
	}
	w := &NoticeWatch{f: f, filter: filter, ready: make(chan struct{}, 1), at: map[breach.NoticeID]int{}}
	if err := f.add(ctx, w); err != nil {
		return nil, nil, err
	}
	if !snapshot {
		return w, nil, nil
	}
	snap, err := f.st.noticesAt(ctx, filter)
	if err != nil {
		w.Close()
		return nil, nil, err
	}
	dedup := make(map[breach.NoticeID]snapSeq, len(snap))
	var snapMax uint64
	out := make([]*breach.Notice, len(snap))
	for i, s := range snap {
		dedup[s.n.ID] = snapSeq{s.record, s.round}
		snapMax = max(snapMax, s.record, s.round)
		out[i] = s.n
	}
	w.mu.Lock()
	w.dedup, w.snapMax = dedup, snapMax
	w.mu.Unlock()
	return w, out, nil
}

// Ready has a value when Next has changes or an error for the watcher.
func (w *NoticeWatch) Ready() <-chan struct{} { return w.ready }

// Next returns the changes queued since the last call, each notice once
// (its latest state), in the order their notices first changed; or the
// error that ended the watch.
func (w *NoticeWatch) Next() ([]*breach.Notice, error) {
	pos := w.f.pos.Load() // before taking the queue: what is dispatched later is newer
	w.mu.Lock()
	q, err, dedup := w.queue, w.err, w.dedup
	w.queue = nil
	clear(w.at)
	if dedup != nil && pos >= w.snapMax {
		w.dedup = nil // everything the snapshot holds has been dispatched: all later changes are newer
	}
	w.mu.Unlock()
	if err != nil {
		return nil, err
	}
	out := make([]*breach.Notice, 0, len(q))
	for _, it := range q {
		if s, ok := dedup[it.n.ID]; ok && it.rec <= s.record && it.round <= s.round {
			continue // the snapshot had it
		}
		out = append(out, it.n)
	}
	return out, nil
}

// Close detaches the watcher; the last one stops the tail.
func (w *NoticeWatch) Close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	w.queue, w.at, w.dedup = nil, nil, nil
	w.mu.Unlock()
	w.f.remove(w)
}

// put queues it, replacing a queued state of the same notice.
func (w *NoticeWatch) put(it feedItem) {
	w.mu.Lock()
	if w.closed || w.err != nil {
		w.mu.Unlock()
		return
	}
	if i, ok := w.at[it.n.ID]; ok {
		old := w.queue[i]
		w.queue[i] = feedItem{n: it.n, rec: max(old.rec, it.rec), round: max(old.round, it.round)}
	} else if len(w.queue) >= w.f.maxPending {
		w.err, w.queue = ErrWatchBehind, nil
		clear(w.at)
	} else {
		w.at[it.n.ID] = len(w.queue)
		w.queue = append(w.queue, it)
	}
	w.mu.Unlock()
	w.signal()
}

func (w *NoticeWatch) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
	w.signal()
}

func (w *NoticeWatch) signal() {
	select {
	case w.ready <- struct{}{}:
	default:
	}
}

// add registers w, starting the tail first if it is not running.
func (f *NoticeFeed) add(ctx context.Context, w *NoticeWatch) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tail == nil {
		t, err := f.startTail(ctx)
		if err != nil {
			return err
		}
		f.tail = t
	}
	if o := w.filter.Org; o != "" {
		if f.byOrg[o] == nil {
			f.byOrg[o] = map[*NoticeWatch]struct{}{}
		}
		f.byOrg[o][w] = struct{}{}
	} else {
		b := w.filter.Breach
		if f.byBreach[b] == nil {
			f.byBreach[b] = map[*NoticeWatch]struct{}{}
		}
		f.byBreach[b][w] = struct{}{}
	}
	f.watchers++
	return nil
}

func (f *NoticeFeed) remove(w *NoticeWatch) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o := w.filter.Org; o != "" {
		if _, ok := f.byOrg[o][w]; !ok {
			return
		}
		delete(f.byOrg[o], w)
		if len(f.byOrg[o]) == 0 {
			delete(f.byOrg, o)
		}
	} else {
		b := w.filter.Breach
		if _, ok := f.byBreach[b][w]; !ok {
			return
		}
		delete(f.byBreach[b], w)
		if len(f.byBreach[b]) == 0 {
			delete(f.byBreach, b)
		}
	}
	f.watchers--
	if f.watchers == 0 && f.tail != nil {
		f.tail.stop()
		f.tail = nil
	}
}

// Watchers is how many watchers are attached.
func (f *NoticeFeed) Watchers() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.watchers
}

// Running reports whether the tail runs.
func (f *NoticeFeed) Running() bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.tail != nil
}

// feedTail is one run of the tail.
type feedTail struct {
	it      jetstream.MessagesContext
	stopped atomic.Bool
	// rounds are the reminder rounds of the chunks met last, with the
	// sequence of the record they were read from. Only the tail's
	// goroutine uses it.
	rounds map[chunkKey]tailRounds
}

type tailRounds struct {
	seq    uint64
	rounds []ReminderRound
}

func (t *feedTail) stop() {
	t.stopped.Store(true)
	t.it.Stop()
}

// tailPull is how many messages the tail asks the server for at a time.
// With the default (500) and the two subjects it reads as a filter, the
// tail fell seconds behind a 20,000-notice fan-out on 2 cores; unfiltered
// with larger pulls it kept within 500 ms.
const tailPull = 4096

// startTail creates the consumer (so every change stored from now on is
// dispatched) and starts dispatching. It reads the whole ledger and skips
// what is neither a notice change nor a reminder round (fan-out
// membership, questions, promises: a few records): a filter costs the
// server more per message than skipping them costs here.
func (f *NoticeFeed) startTail(ctx context.Context) (*feedTail, error) {
	cons, err := f.st.ledger.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy:     jetstream.DeliverNewPolicy,
		InactiveThreshold: 5 * time.Second, // the server forgets it soon after it stops
	})
	if err != nil {
		return nil, fmt.Errorf("notice feed: %w", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(tailPull))
	if err != nil {
		return nil, fmt.Errorf("notice feed: %w", err)
	}
	t := &feedTail{it: it, rounds: map[chunkKey]tailRounds{}}
	f.log.Debug("notice feed started")
	go f.run(t)
	return t, nil
}

func (f *NoticeFeed) run(t *feedTail) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for {
		m, err := t.it.Next()
		if err != nil {
			if t.stopped.Load() {
				f.log.Debug("notice feed stopped")
				return
			}
			if errors.Is(err, nats.ErrConnectionClosed) || f.st.nc.IsClosed() || f.st.nc.IsDraining() {
				// The daemon is stopping: its watches end with it.
				f.log.Debug("notice feed ended with the NATS connection", "err", err)
				f.endAll(t, ErrFeedEnded)
				return
			}
			f.log.Warn("notice feed ended: its watches end", "err", err)
			f.endAll(t, ErrFeedEnded)
			return
		}
		f.dispatch(ctx, t, m)
	}
}

// endAll ends every watch of tail t (and forgets t, so the next watcher
// starts a new tail).
func (f *NoticeFeed) endAll(t *feedTail, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tail == t {
		f.tail = nil
	}
	for _, ws := range f.byOrg {
		for w := range ws {
			w.fail(err)
		}
	}
	for _, ws := range f.byBreach {
		for w := range ws {
			w.fail(err)
		}
	}
}

// wants reports whether a watcher selects notice id.
func (f *NoticeFeed) wants(id breach.NoticeID) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for w := range f.byOrg[id.Org] {
		if w.filter.match(id) {
			return true
		}
	}
	return len(f.byBreach[id.Breach]) > 0
}

// send queues it on every watcher that selects its notice, unless tail t
// was stopped meanwhile (a newer tail dispatches for the watchers now).
func (f *NoticeFeed) send(t *feedTail, it feedItem) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.tail != t {
		return
	}
	id := it.n.ID
	for w := range f.byOrg[id.Org] {
		if w.filter.match(id) {
			w.put(it)
		}
	}
	for w := range f.byBreach[id.Breach] {
		w.put(it)
	}
}

// advance records that tail t has dispatched the ledger up to seq (a
// stopped tail's last message is not the feed's position).
func (f *NoticeFeed) advance(t *feedTail, seq uint64) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.tail != t {
		return
	}
	for {
		cur := f.pos.Load()
		if seq <= cur || f.pos.CompareAndSwap(cur, seq) {
			return
		}
	}
}

func (f *NoticeFeed) dispatch(ctx context.Context, t *feedTail, m jetstream.Msg) {
	md, err := m.Metadata()
	if err != nil {
		f.log.Warn("notice feed: skipping a message without metadata", "subject", m.Subject(), "err", err)
		return
	}
	seq := md.Sequence.Stream
	defer f.advance(t, seq)
	if id, ok := NoticeIDFromSubject(m.Subject()); ok {
		if !f.wants(id) {
			return // nobody watches it: not decoded
		}
		c, err := DecodeChange(m.Data())
		if err != nil {
			f.log.Warn("notice feed: skipping a notice record", "subject", m.Subject(), "err", err)
			return
		}
		n := &c.Notice
		if n.State >= breach.StateDelivered {
			k := chunkKey{n.ID.Breach, n.Chunk}
			tr, ok := t.rounds[k]
			if !ok {
				rs, rseq, err := f.st.ChunkReminders(ctx, k.b, k.chunk)
				if err != nil {
					f.log.Warn("notice feed: reminders not read; the notice is sent without them", "notice_id", n.ID.String(), "err", err)
				} else {
					tr = tailRounds{rseq, rs}
					keep(t.rounds, k, tr)
				}
			}
			ApplyReminders(n, tr.rounds)
		}
		f.send(t, feedItem{n: n, rec: seq})
		return
	}
	k, ok := parseRemindersSubject(m.Subject())
	if !ok {
		return
	}
	f.mu.RLock()
	anyone := len(f.byOrg) > 0 || len(f.byBreach[k.b]) > 0
	f.mu.RUnlock()
	_, cached := t.rounds[k]
	if !anyone && !cached {
		return
	}
	rs, err := decodeReminders(m.Data(), seq)
	if err != nil {
		f.log.Warn("notice feed: skipping a reminder record", "subject", m.Subject(), "err", err)
		return
	}
	if tr, ok := t.rounds[k]; !ok || tr.seq < seq {
		keep(t.rounds, k, tailRounds{seq, rs})
	}
	var ids []breach.NoticeID
	for _, r := range rs {
		if r.Seq != seq {
			continue // an earlier round, sent with its own record
		}
		for _, o := range r.Orgs {
			if id := breach.NewNoticeID(k.b, o); f.wants(id) {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return
	}
	slices.SortFunc(ids, func(a, b breach.NoticeID) int { return cmp.Compare(a.Org, b.Org) })
	vs, err := f.st.GetNotices(ctx, slices.Compact(ids))
	if err != nil {
		f.log.Warn("notice feed: the notices of a reminder round not read; they are not sent", "subject", m.Subject(), "err", err)
		return
	}
	for _, v := range vs {
		// A notice changed after this round is sent when the tail reaches
		// that change (with this round).
		if v.Notice != nil && v.Seq < seq {
			f.send(t, feedItem{n: v.Notice, rec: v.Seq, round: seq})
		}
	}
}

// noticeAt is a notice's current state with the sequences of its record
// and of the last reminder round applied to it.
type noticeAt struct {
	n             *breach.Notice
	record, round uint64
}

// noticesAt reads the current state of every notice f selects.
func (s *Store) noticesAt(ctx context.Context, f NoticeFilter) ([]noticeAt, error) {
	var out []noticeAt
	if f.Breach != "" && f.Org != "" {
		v, err := s.getNotice(ctx, breach.NewNoticeID(f.Breach, f.Org))
		if errors.Is(err, breach.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, noticeAt{n: v.Notice, record: v.Seq})
	} else {
		filter := BreachNoticeFilter(f.Breach)
		if f.Org != "" {
			filter = ledgerNotice + ".*." + string(f.Org)
		}
		latest := map[breach.NoticeID]int{}
		err := s.scan(ctx, filter, jetstream.DeliverLastPerSubjectPolicy, func(m jetstream.Msg) error {
			md, err := m.Metadata()
			if err != nil {
				return err
			}
			c, err := DecodeChange(m.Data())
			if err != nil {
				return err
			}
			// An ordered consumer that resumes may deliver an older state
			// again: the last one seen is the newest.
			at := noticeAt{n: &c.Notice, record: md.Sequence.Stream}
			if i, ok := latest[c.Notice.ID]; ok {
				out[i] = at
			} else {
				latest[c.Notice.ID] = len(out)
				out = append(out, at)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if f.Keep != nil {
		out = slices.DeleteFunc(out, func(a noticeAt) bool { return !f.Keep(a.n.ID.Breach) })
	}
	rounds := map[chunkKey][]ReminderRound{}
	for i := range out {
		n := out[i].n
		if n.State < breach.StateDelivered {
			continue
		}
		k := chunkKey{n.ID.Breach, n.Chunk}
		rs, ok := rounds[k]
		if !ok {
			var err error
			if rs, _, err = s.ChunkReminders(ctx, k.b, k.chunk); err != nil {
				return nil, err
			}
			rounds[k] = rs
		}
		before := len(n.Reminders)
		ApplyReminders(n, rs)
		if len(n.Reminders) == before {
			continue
		}
		for j := range rs {
			if rs[j].Names(n.ID.Org) && !rs[j].SentAt.Before(n.DeliveredAt) {
				out[i].round = max(out[i].round, rs[j].Seq)
			}
		}
	}
	return out, nil
}

// roundsKept bounds the chunks whose reminder rounds the tail keeps.
const roundsKept = 64

// keep sets m[k] = v, first emptying m when it holds roundsKept other
// chunks.
func keep[V any](m map[chunkKey]V, k chunkKey, v V) {
	if _, ok := m[k]; !ok && len(m) >= roundsKept {
		clear(m)
	}
	m[k] = v
}
