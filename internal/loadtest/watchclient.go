package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// The client process's side of the watch scenario: live views read as the
// dashboard's page reads them (server-sent events over a fetch-like GET
// with "Authorization: Bearer <token>", reconnecting after a transient
// failure) and gRPC WatchBreach streams. Each records, per notice, every
// change of state it was shown and when, so that the lag from the stored
// change (the notice's delivered_at / acknowledged_at) and anything
// missed or shown twice can be counted.

// Notice states as the dashboard's JSON (protojson) names them.
const (
	stateDelivered    = "NOTICE_STATE_DELIVERED"
	stateAcknowledged = "NOTICE_STATE_ACKNOWLEDGED"
)

// phaseState is the state a phase's watchers wait for.
func phaseState(phase string) string {
	if phase == "acknowledged" {
		return stateAcknowledged
	}
	return stateDelivered
}

// watchResult is what the watchers saw in one phase (watch_wait) or in
// the whole run (watch_close).
type watchResult struct {
	ViewLag     []int64  `json:"view_lag_ns,omitempty"`          // views: stored change → shown
	NoticeLag   []int64  `json:"stream_notice_lag_ns,omitempty"` // WatchBreach notices (include_notices)
	SummaryAt   []int64  `json:"summary_at_unix_ns,omitempty"`   // per stream: when its summary first showed the final count live (unix ns)
	InSnapshot  int      `json:"in_snapshot,omitempty"`          // watchers that had the final state in their first event (no lag)
	Missed      int      `json:"missed"`                         // final states that did not reach their watcher
	MissedWhat  []string `json:"missed_what,omitempty"`
	Duplicates  int      `json:"duplicates"` // changes shown more than once
	DupWhat     []string `json:"dup_what,omitempty"`
	Events      int64    `json:"events"`
	Reconnects  int      `json:"reconnects"`
	ReconnWhat  []string `json:"reconnect_what,omitempty"`
	Errors      []string `json:"errors,omitempty"`
	Views       int      `json:"views"`
	Streams     int      `json:"streams"`
	Acks        *ackWire `json:"acks,omitempty"`
	WaitedNanos int64    `json:"waited_ns"`
}

// watcher holds the client process's open views and streams.
type watcher struct {
	http    *http.Client
	views   []*liveView
	streams []*breachStream
	closed  []*liveView // views closed earlier in the run (their duplicates still count)
	conns   []*grpc.ClientConn
}

func newWatcher() *watcher {
	tr := &http.Transport{MaxIdleConns: 0, MaxIdleConnsPerHost: 4096, MaxConnsPerHost: 0, DisableCompression: true,
		ResponseHeaderTimeout: 60 * time.Second, IdleConnTimeout: 90 * time.Second}
	return &watcher{http: &http.Client{Transport: tr}}
}

// noticeState is what one watcher knows of one notice.
type noticeState struct {
	last        string
	transitions map[string]int // changes into each state
}

func (n *noticeState) see(state string) (changed bool) {
	if state == n.last || state == "" {
		return false
	}
	if n.transitions == nil {
		n.transitions = map[string]int{}
	}
	n.last = state
	n.transitions[state]++
	return true
}

// noticeJSON is the part of a notice the watchers read.
type noticeJSON struct {
	ID             string     `json:"id"`
	BreachID       string     `json:"breach_id"`
	State          string     `json:"state"`
	DeliveredAt    *time.Time `json:"delivered_at"`
	AcknowledgedAt *time.Time `json:"acknowledged_at"`
}

// changedAt is when the store recorded the notice's current state.
func (n noticeJSON) changedAt() (time.Time, bool) {
	switch n.State {
	case stateDelivered:
		if n.DeliveredAt != nil {
			return *n.DeliveredAt, true
		}
	case stateAcknowledged:
		if n.AcknowledgedAt != nil {
			return *n.AcknowledgedAt, true
		}
	}
	return time.Time{}, false
}

// liveView is one dashboard live view of one organisation's controller.
type liveView struct {
	kind, org, token, notice, breach string
	cancel                           context.CancelFunc
	done                             chan struct{}
	first                            chan struct{} // closed at the first data event or a final error

	mu         sync.Mutex
	firstOnce  sync.Once
	st         noticeState
	lag        map[string]time.Duration // state → lag of its first live change
	snapshot   map[string]bool          // state already shown by the first event
	lastData   []byte
	identical  int
	events     int64
	reconnects int
	why        []string  // the first reconnections' reasons
	lastError  string    // the last transient "error" event on this connection
	opened     time.Time // when run began
	err        error
}

func (v *liveView) markFirst() { v.firstOnce.Do(func() { close(v.first) }) }

func (v *liveView) path() string {
	if v.kind == "page" {
		return "/api/events/notices/" + url.PathEscape(v.breach) + "/" + url.PathEscape(v.org)
	}
	return "/api/events/notices"
}

// run reads the view's events until ctx ends, reconnecting as the page
// does after a transient failure (1 s, doubling up to 15 s).
func (v *liveView) run(ctx context.Context, hc *http.Client, base string) {
	defer close(v.done)
	defer v.markFirst()
	v.mu.Lock()
	v.opened = time.Now()
	v.mu.Unlock()
	delay := time.Second
	for ctx.Err() == nil {
		err := v.read(ctx, hc, base)
		if ctx.Err() != nil {
			return
		}
		var fatal *fatalErr
		if errors.As(err, &fatal) {
			v.mu.Lock()
			v.err = err
			v.mu.Unlock()
			return
		}
		v.mu.Lock()
		v.reconnects++
		if len(v.why) < 2 {
			why := fmt.Sprintf("%s view of %s after %.1fs: %v", v.kind, v.org, time.Since(v.opened).Seconds(), err)
			if v.lastError != "" {
				why += " (after the error event " + v.lastError + ")"
			}
			v.why = append(v.why, why)
		}
		v.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 15*time.Second)
	}
}

type fatalErr struct{ msg string }

func (e *fatalErr) Error() string { return e.msg }

func (v *liveView) read(ctx context.Context, hc *http.Client, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+v.path(), nil)
	if err != nil {
		return &fatalErr{err.Error()}
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-store")
	req.Header.Set("Authorization", "Bearer "+v.token)
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	v.mu.Lock()
	v.lastData = nil // a new connection starts with a snapshot
	v.lastError = ""
	v.mu.Unlock()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		if res.StatusCode == http.StatusServiceUnavailable || res.StatusCode == http.StatusGatewayTimeout {
			return fmt.Errorf("%s: %s", res.Status, bytes.TrimSpace(b))
		}
		return &fatalErr{fmt.Sprintf("GET %s: %s: %s", v.path(), res.Status, bytes.TrimSpace(b))}
	}
	br := bufio.NewReaderSize(res.Body, 64<<10)
	var event string
	var data bytes.Buffer
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 { // end of one event
			if data.Len() > 0 {
				if err := v.handle(event, data.Bytes(), time.Now()); err != nil {
					return err
				}
			}
			event = ""
			data.Reset()
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			event = string(value)
		case "data":
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.Write(value)
		}
	}
}

// handle takes one event; the page's own handling is a JSON.parse and a
// render, this one a decode and a comparison.
func (v *liveView) handle(event string, data []byte, at time.Time) error {
	switch event {
	case "clock":
		return nil
	case "error":
		var e struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(data, &e)
		if e.Code == "UNAVAILABLE" || e.Code == "DEADLINE_EXCEEDED" {
			v.mu.Lock()
			v.lastError = string(data)
			v.mu.Unlock()
			return nil
		}
		return &fatalErr{fmt.Sprintf("%s view of %s: error event: %s", v.kind, v.org, data)}
	}
	var ns []noticeJSON
	switch event {
	case "notices":
		var body struct {
			Notices []noticeJSON `json:"notices"`
		}
		if err := json.Unmarshal(data, &body); err != nil {
			return &fatalErr{fmt.Sprintf("decode %s event: %v", event, err)}
		}
		ns = body.Notices
	case "notice", "notice_changed": // the page whole, or one notice as it changed (page and list)
		var body struct {
			Notice noticeJSON `json:"notice"`
		}
		if err := json.Unmarshal(data, &body); err != nil {
			return &fatalErr{fmt.Sprintf("decode %s event: %v", event, err)}
		}
		ns = []noticeJSON{body.Notice}
	default:
		return nil // events a future page may add
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.events++
	first := v.events == 1
	if bytes.Equal(data, v.lastData) {
		v.identical++
	}
	v.lastData = append(v.lastData[:0], data...)
	for _, n := range ns {
		if n.ID != v.notice {
			continue
		}
		if !v.st.see(n.State) {
			continue
		}
		if first {
			v.snapshot[n.State] = true
			continue
		}
		if t, ok := n.changedAt(); ok {
			if _, seen := v.lag[n.State]; !seen {
				v.lag[n.State] = at.Sub(t)
			}
		}
	}
	if first {
		v.markFirst()
	}
	return nil
}

// breachStream is one gRPC WatchBreach stream.
type breachStream struct {
	token    string
	include  bool
	watched  map[string]bool // notice ids whose every change is tracked (include_notices)
	cancel   context.CancelFunc
	done     chan struct{}
	caughtUp chan struct{}

	mu        sync.Mutex
	cuOnce    sync.Once
	live      bool // past caught_up
	summaries []summarySeen
	notices   map[string]*noticeState
	lag       []time.Duration
	events    int64
	err       error
}

type summarySeen struct {
	at                      time.Time
	total, delivered, acked int64
	snapshot                bool
}

func (s *breachStream) run(ctx context.Context, cc *grpc.ClientConn, breachID string, openBy time.Time) {
	defer close(s.done)
	defer s.cuOnce.Do(func() { close(s.caughtUp) })
	c := cascadev1.NewBreachServiceClient(cc)
	var st cascadev1.BreachService_WatchBreachClient
	for {
		var err error
		st, err = c.WatchBreach(withToken(ctx, s.token), &cascadev1.WatchBreachRequest{BreachId: breachID, IncludeNotices: s.include})
		var m *cascadev1.WatchBreachResponse
		if err == nil {
			m, err = st.Recv()
		}
		if err == nil {
			s.handle(m, time.Now())
			break
		}
		// The breach is recorded moments after it is reported: wait for it.
		if status.Code(err) == codes.NotFound && time.Now().Before(openBy) && ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Millisecond):
			}
			continue
		}
		s.fail(err, ctx)
		return
	}
	for {
		m, err := st.Recv()
		if err != nil {
			s.fail(err, ctx)
			return
		}
		s.handle(m, time.Now())
	}
}

func (s *breachStream) fail(err error, ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

func (s *breachStream) handle(m *cascadev1.WatchBreachResponse, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events++
	switch ev := m.GetEvent().(type) {
	case *cascadev1.WatchBreachResponse_CaughtUp:
		s.live = true
		s.cuOnce.Do(func() { close(s.caughtUp) })
	case *cascadev1.WatchBreachResponse_Summary:
		sm := ev.Summary
		s.summaries = append(s.summaries, summarySeen{at: at, total: sm.GetTotal(), delivered: sm.GetDelivered(), acked: sm.GetAcknowledged(), snapshot: !s.live})
	case *cascadev1.WatchBreachResponse_Notice:
		n := ev.Notice
		if !s.watched[n.GetId()] {
			return
		}
		ns := s.notices[n.GetId()]
		if ns == nil {
			ns = &noticeState{}
			s.notices[n.GetId()] = ns
		}
		state := n.GetState().String()
		if !ns.see(state) || !s.live {
			return
		}
		var t time.Time
		switch n.GetState() {
		case cascadev1.NoticeState_NOTICE_STATE_DELIVERED:
			t = n.GetDeliveredAt().AsTime()
		case cascadev1.NoticeState_NOTICE_STATE_ACKNOWLEDGED:
			t = n.GetAcknowledgedAt().AsTime()
		default:
			return
		}
		s.lag = append(s.lag, at.Sub(t))
	}
}

// reached: when the stream's summary first showed want (for the phase),
// and whether that was in its snapshot.
func (s *breachStream) reached(phase string, want int64) (at time.Time, snapshot, ok bool) {
	for _, sm := range s.summaries {
		v := sm.delivered
		if phase == "acknowledged" {
			v = sm.acked
		}
		if v >= want {
			return sm.at, sm.snapshot, true
		}
	}
	return time.Time{}, false, false
}

func (w *watcher) run(ctx context.Context, j job) answer {
	switch j.Kind {
	case "watch_views":
		return w.openViews(ctx, j)
	case "watch_streams":
		return w.openStreams(ctx, j)
	case "watch_acks":
		ids := make([]string, len(j.Orgs))
		for i, o := range j.Orgs {
			ids[i] = j.Breach + "/" + o
		}
		res, err := runAcks(ctx, j.GRPCAddr, ids, j.Tokens, j.Concurrency, j.Timeout)
		if err != nil {
			return answer{Err: err.Error()}
		}
		return answer{Watch: &watchResult{Acks: &ackWire{Lat: toNanos(res.lats), Elapsed: int64(res.elapsed), Errors: res.errors, FirstErr: errText(res.firstErr), Exhausted: res.exhausted}}}
	case "watch_wait":
		return answer{Watch: w.wait(ctx, j)}
	case "watch_close":
		res := w.totals()
		w.close()
		return answer{Watch: res}
	}
	return answer{Err: "unknown watch job " + j.Kind}
}

// openViews closes the open views and opens one of kind j.View per
// organisation, each with its token, and waits until each has shown its
// first event (the snapshot). View "" only closes.
func (w *watcher) openViews(ctx context.Context, j job) answer {
	for _, v := range w.views {
		v.cancel()
		<-v.done
	}
	w.closed = append(w.closed, w.views...)
	w.views = nil
	if j.View == "" {
		return answer{}
	}
	if len(j.Orgs) != len(j.Tokens) {
		return answer{Err: "watch_views: one token per organisation"}
	}
	base := "http://" + j.HTTPAddr
	for i, org := range j.Orgs {
		vctx, cancel := context.WithCancel(context.Background())
		v := &liveView{kind: j.View, org: org, token: j.Tokens[i], notice: j.Breach + "/" + org, breach: j.Breach, cancel: cancel,
			done: make(chan struct{}), first: make(chan struct{}), lag: map[string]time.Duration{}, snapshot: map[string]bool{}}
		w.views = append(w.views, v)
		go v.run(vctx, w.http, base)
	}
	deadline := time.After(j.Timeout)
	for _, v := range w.views {
		select {
		case <-v.first:
		case <-deadline:
			return answer{Err: fmt.Sprintf("%d %s views: not all open after %s", len(w.views), j.View, j.Timeout)}
		case <-ctx.Done():
			return answer{Err: ctx.Err().Error()}
		}
		v.mu.Lock()
		err := v.err
		v.mu.Unlock()
		if err != nil {
			return answer{Err: fmt.Sprintf("%s view of %s: %v", j.View, v.org, err)}
		}
	}
	return answer{}
}

// openStreams opens one WatchBreach per token (the breach may not be
// recorded yet: each retries NotFound until j.Timeout) and waits until
// each has caught up.
func (w *watcher) openStreams(ctx context.Context, j job) answer {
	watched := map[string]bool{}
	for _, o := range j.Orgs {
		watched[j.Breach+"/"+o] = true
	}
	openBy := time.Now().Add(j.Timeout)
	for i, tok := range j.Tokens {
		if i%8 == 0 { // eight streams share a connection, as one browser's tabs might
			cc, err := dialGRPC(j.GRPCAddr)
			if err != nil {
				return answer{Err: err.Error()}
			}
			w.conns = append(w.conns, cc)
		}
		sctx, cancel := context.WithCancel(context.Background())
		s := &breachStream{token: tok, include: j.IncludeNotices, watched: watched, cancel: cancel, done: make(chan struct{}),
			caughtUp: make(chan struct{}), notices: map[string]*noticeState{}}
		w.streams = append(w.streams, s)
		go s.run(sctx, w.conns[len(w.conns)-1], j.Breach, openBy)
	}
	deadline := time.After(j.Timeout + 30*time.Second)
	for _, s := range w.streams {
		select {
		case <-s.caughtUp:
		case <-deadline:
			return answer{Err: fmt.Sprintf("%d WatchBreach streams: not all caught up", len(w.streams))}
		case <-ctx.Done():
			return answer{Err: ctx.Err().Error()}
		}
		s.mu.Lock()
		err := s.err
		s.mu.Unlock()
		if err != nil {
			return answer{Err: fmt.Sprintf("WatchBreach: %v", err)}
		}
	}
	return answer{}
}

// wait waits (at most j.Timeout) until every view and stream has shown
// the phase's final state, then says what each showed and when.
func (w *watcher) wait(ctx context.Context, j job) *watchResult {
	state := phaseState(j.Phase)
	start := time.Now()
	deadline := start.Add(j.Timeout)
	for {
		if w.missing(j, state) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	res := &watchResult{Views: len(w.views), Streams: len(w.streams), WaitedNanos: int64(time.Since(start))}
	miss := func(format string, args ...any) {
		res.Missed++
		if len(res.MissedWhat) < 10 {
			res.MissedWhat = append(res.MissedWhat, fmt.Sprintf(format, args...))
		}
	}
	for _, v := range w.views {
		v.mu.Lock()
		switch {
		case v.err != nil:
			miss("%s view of %s: %v", v.kind, v.org, v.err)
		case v.snapshot[state]:
			res.InSnapshot++
		default:
			if d, ok := v.lag[state]; ok {
				res.ViewLag = append(res.ViewLag, int64(d))
			} else {
				miss("%s view of %s: never showed %s (last %q)", v.kind, v.org, state, v.st.last)
			}
		}
		v.mu.Unlock()
	}
	for i, s := range w.streams {
		s.mu.Lock()
		at, snap, ok := s.reached(j.Phase, j.Want)
		switch {
		case !ok:
			miss("WatchBreach %d: summary never showed %s = %d (error: %v)", i, j.Phase, j.Want, s.err)
		case snap:
			res.InSnapshot++
		default:
			res.SummaryAt = append(res.SummaryAt, at.UnixNano())
		}
		if s.include {
			for id := range s.watched {
				if ns := s.notices[id]; ns == nil || ns.transitions[state] == 0 {
					miss("WatchBreach %d: notice %s never showed %s", i, id, state)
				}
			}
			res.NoticeLag = append(res.NoticeLag, toNanos(s.lag)...)
			s.lag = nil
		}
		s.mu.Unlock()
	}
	return res
}

// missing counts the views and streams that have not yet shown state.
func (w *watcher) missing(j job, state string) int {
	n := 0
	for _, v := range w.views {
		v.mu.Lock()
		if v.err == nil && v.st.transitions[state] == 0 {
			n++
		}
		v.mu.Unlock()
	}
	for _, s := range w.streams {
		s.mu.Lock()
		if _, _, ok := s.reached(j.Phase, j.Want); !ok && s.err == nil {
			n++
		}
		if s.include {
			for id := range s.watched {
				if ns := s.notices[id]; ns == nil || ns.transitions[state] == 0 {
					n++
				}
			}
		}
		s.mu.Unlock()
	}
	return n
}

// totals: events, reconnects, errors and duplicates over the whole run.
func (w *watcher) totals() *watchResult {
	res := &watchResult{Views: len(w.views), Streams: len(w.streams)}
	dup := func(format string, args ...any) {
		res.Duplicates++
		if len(res.DupWhat) < 10 {
			res.DupWhat = append(res.DupWhat, fmt.Sprintf(format, args...))
		}
	}
	for _, v := range slices.Concat(w.closed, w.views) {
		v.mu.Lock()
		res.Events += v.events
		res.Reconnects += v.reconnects
		for _, why := range v.why {
			if len(res.ReconnWhat) < 10 {
				res.ReconnWhat = append(res.ReconnWhat, why)
			}
		}
		if v.err != nil {
			res.Errors = append(res.Errors, v.err.Error())
		}
		for st, c := range v.st.transitions {
			if c > 1 {
				for range c - 1 {
					dup("%s view of %s: %s shown %d times", v.kind, v.org, st, c)
				}
			}
		}
		for range v.identical {
			dup("%s view of %s: the same event sent again", v.kind, v.org)
		}
		v.mu.Unlock()
	}
	for i, s := range w.streams {
		s.mu.Lock()
		res.Events += s.events
		if s.err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("WatchBreach %d: %v", i, s.err))
		}
		for id, ns := range s.notices {
			for st, c := range ns.transitions {
				for range c - 1 {
					dup("WatchBreach %d: notice %s: %s shown %d times", i, id, st, c)
				}
			}
		}
		s.mu.Unlock()
	}
	if len(res.Errors) > 10 {
		res.Errors = append(res.Errors[:10], fmt.Sprintf("... and %d more", len(res.Errors)-10))
	}
	slices.Sort(res.DupWhat)
	return res
}

func (w *watcher) close() {
	for _, v := range w.views {
		v.cancel()
		<-v.done
	}
	w.closed = append(w.closed, w.views...)
	w.views = nil
	for _, s := range w.streams {
		s.cancel()
		<-s.done
	}
	w.streams = nil
	for _, cc := range w.conns {
		cc.Close()
	}
	w.conns = nil
	w.http.CloseIdleConnections()
}
