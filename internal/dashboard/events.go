package dashboard

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// Limits of what one live view carries.
const (
	maxBreaches  = 1000 // breaches in the list
	maxSummaries = 50   // newest breaches whose progress the list shows
	maxNotices   = 5000 // notices in a polled notice list
	keepAlive    = 15 * time.Second
	writeTimeout = 30 * time.Second
)

// eventStream writes server-sent events. The page reads it with fetch()
// (EventSource cannot send an Authorization header).
type eventStream struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	now func() time.Time
}

// startEvents begins a stream with a "clock" event, which the page uses
// to correct its own clock for the countdowns.
func startEvents(w http.ResponseWriter, now func() time.Time) *eventStream {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("X-Accel-Buffering", "no") // proxies: do not buffer
	w.WriteHeader(http.StatusOK)
	s := &eventStream{w: w, rc: http.NewResponseController(w), now: now}
	_ = s.ping()
	return s
}

// write frames one event; data lines are split so that a newline in data
// can never end the event early.
func (s *eventStream) write(event string, data []byte) error {
	_ = s.rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	var b bytes.Buffer
	b.WriteString("event: " + event + "\n")
	for _, line := range bytes.Split(data, []byte("\n")) {
		b.WriteString("data: ")
		b.Write(bytes.TrimSuffix(line, []byte("\r")))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	_, err := s.w.Write(b.Bytes())
	return err
}

func (s *eventStream) send(event string, data []byte) error {
	if err := s.write(event, data); err != nil {
		return err
	}
	return s.flush()
}

// ping sends the server's time; it also keeps proxies from closing an
// idle stream.
func (s *eventStream) ping() error {
	return s.send("clock", mustJSON(map[string]time.Time{"server_time": s.now().UTC()}))
}

func (s *eventStream) flush() error { return s.rc.Flush() }

// streamContext is the context of one live stream: it ends with the
// request, when the dashboard closes or, for a view the dashboard counts
// itself (counted: one without a gRPC stream, which the API counts), when
// the gate ends it; it carries the credentials. An error (refused by the
// gate) has been answered.
func (d *Dashboard) streamContext(w http.ResponseWriter, r *http.Request, counted bool) (context.Context, context.CancelFunc, bool) {
	// A live view outlasts the server's WriteTimeout: each write has its
	// own deadline (eventStream.write). ReadTimeout does not end it (the
	// server lifts the read deadline once a bodiless request is read).
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(d.done, cancel)
	release := func() {}
	if counted && d.gate != nil {
		gctx, rel, err := d.gate.OpenStream(ctx, r.Header.Get("Authorization"))
		if err != nil {
			stop()
			cancel()
			d.writeError(w, r, err)
			return nil, nil, false
		}
		ctx, release = gctx, rel
	}
	return outgoing(ctx, r), func() { release(); stop(); cancel() }, true
}

// ended tells the page why the gate ended its stream (a revoked token),
// if it did.
func (d *Dashboard) ended(ctx context.Context, s *eventStream, r *http.Request) {
	if st, ok := status.FromError(context.Cause(ctx)); ok {
		_, body := d.errorOf(r, st.Err())
		_ = s.send("error", mustJSON(body))
	}
}

// fetcher reads what a polled view shows.
type fetcher func(ctx context.Context) (json.RawMessage, error)

// pollEvents answers with a stream of events named name, each the result
// of fetch, sent first at once and then whenever it changes, fetched again
// every d.poll. The first failure is an ordinary error answer; a later one
// is an "error" event, after which the stream ends unless the error is
// transient.
func (d *Dashboard) pollEvents(w http.ResponseWriter, r *http.Request, name string, fetch fetcher) {
	ctx, cancel, ok := d.streamContext(w, r, true)
	if !ok {
		return
	}
	defer cancel()
	d.liveEvents(ctx, w, r, name, fetch, d.poll, nil, nil)
}

// slowPoll is how often a pushed view fetches again without a change: for
// what has no push (a breach's facts, the overdue flag as time passes).
const slowPoll = 30 * time.Second

// watchedEvents answers as pollEvents does, but fetches again when the
// WatchNotices stream of req reports a change of the view's notices (at
// most one fetch at a time; changes arriving meanwhile make one more), and
// otherwise only every slowPoll. A caller who cannot watch what the view
// shows (a global caller's list of every notice) is polled.
func (d *Dashboard) watchedEvents(w http.ResponseWriter, r *http.Request, name string, req *cascadev1.WatchNoticesRequest, fetch fetcher) {
	ctx, cancel, ok := d.streamContext(w, r, false) // WatchNotices is counted by the API
	if !ok {
		return
	}
	defer cancel()
	req.ChangesOnly = true // the view fetches the current state itself
	watch, err := d.notices.WatchNotices(ctx, req)
	if err == nil {
		_, err = watch.Recv() // caught_up; authorisation happens on the first message
	}
	if status.Code(err) == codes.InvalidArgument {
		cancel()
		d.pollEvents(w, r, name, fetch)
		return
	}
	if err != nil {
		d.writeError(w, r, err)
		return
	}
	changes := make(chan struct{}, 1) // one pending fetch: a burst of changes is one
	ended := make(chan error, 1)
	go func() {
		for {
			m, err := watch.Recv()
			if err != nil {
				ended <- err
				return
			}
			if m.GetNotice() != nil {
				select {
				case changes <- struct{}{}:
				default:
				}
			}
		}
	}()
	d.liveEvents(ctx, w, r, name, fetch, max(d.poll, slowPoll), changes, ended)
}

// liveEvents runs a live view: fetch at once (its failure is an ordinary
// error answer), then again every `every` and whenever changes has a
// value, sending the result when it differs from the last. A later
// failure is an "error" event, after which the stream ends unless the
// error is transient; an error on ended (the watch behind changes) ends it.
func (d *Dashboard) liveEvents(ctx context.Context, w http.ResponseWriter, r *http.Request, name string, fetch fetcher,
	every time.Duration, changes <-chan struct{}, ended <-chan error) {
	call := func() (json.RawMessage, error) {
		c, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		return fetch(c)
	}
	last, err := call()
	if err != nil {
		d.writeError(w, r, err)
		return
	}
	s := startEvents(w, d.now)
	if s.send(name, last) != nil {
		return
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	ping := time.NewTicker(keepAlive)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			d.ended(ctx, s, r)
			return
		case <-ping.C:
			if s.ping() != nil {
				return
			}
			continue
		case err := <-ended:
			if ctx.Err() != nil {
				d.ended(ctx, s, r)
				return
			}
			_, body := d.errorOf(r, err)
			_ = s.send("error", mustJSON(body))
			return
		case <-tick.C:
		case <-changes:
		}
		b, err := call()
		if ctx.Err() != nil {
			d.ended(ctx, s, r)
			return
		}
		if err != nil {
			code, body := d.errorOf(r, err)
			if s.send("error", mustJSON(body)) != nil || !transient(code) {
				return
			}
			continue
		}
		if !bytes.Equal(b, last) {
			if s.send(name, b) != nil {
				return
			}
			last = b
		}
	}
}

// transient errors are worth polling through.
func transient(httpCode int) bool {
	return httpCode == http.StatusServiceUnavailable || httpCode == http.StatusGatewayTimeout
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// breachListEvents streams the caller's breaches, newest first; with
// summaries=1 also the progress of the newest ones (the vendor's list).
func (d *Dashboard) breachListEvents(w http.ResponseWriter, r *http.Request) {
	withSummaries := r.URL.Query().Get("summaries") == "1"
	d.pollEvents(w, r, "breaches", func(ctx context.Context) (json.RawMessage, error) {
		var all []*cascadev1.Breach
		req := &cascadev1.ListBreachesRequest{PageSize: 1000}
		truncated := false
		for {
			resp, err := d.breaches.ListBreaches(ctx, req)
			if err != nil {
				return nil, err
			}
			all = append(all, resp.GetBreaches()...)
			if resp.GetNextPageToken() == "" {
				break
			}
			if len(all) >= maxBreaches {
				truncated = true
				break
			}
			req.PageToken = resp.GetNextPageToken()
		}
		slices.SortStableFunc(all, func(a, b *cascadev1.Breach) int {
			return cmp.Or(b.GetReceivedAt().AsTime().Compare(a.GetReceivedAt().AsTime()), cmp.Compare(a.GetId(), b.GetId()))
		})
		out := struct {
			Breaches  []json.RawMessage `json:"breaches"`
			Summaries []json.RawMessage `json:"summaries,omitempty"`
			Truncated bool              `json:"truncated,omitempty"`
		}{Breaches: []json.RawMessage{}, Truncated: truncated}
		for i, b := range all {
			out.Breaches = append(out.Breaches, jsonOf(b))
			if withSummaries && i < maxSummaries {
				s, err := d.breaches.GetBreachSummary(ctx, &cascadev1.GetBreachSummaryRequest{BreachId: b.GetId()})
				if err != nil {
					return nil, err
				}
				out.Summaries = append(out.Summaries, jsonOf(s.GetSummary()))
			}
		}
		return json.Marshal(out)
	})
}

// noticeListEvents streams the caller's notices (a controller's: its
// organisation's), optionally of one breach, as ListNotices orders them.
// A caller who may watch them gets the list from WatchNotices: its
// snapshot is the first "notices" event, and each notice it pushes is sent
// at once as a "notice_changed" event, {"notice": ...}, the notice as
// ListNotices returns it, which the page puts in its list (replacing the
// notice's row, or adding it). A list longer than maxNotices is fetched
// again on every change instead; a caller who cannot watch it is polled.
func (d *Dashboard) noticeListEvents(w http.ResponseWriter, r *http.Request) {
	breachID := r.URL.Query().Get("breach_id")
	fetch := func(ctx context.Context) (json.RawMessage, error) {
		out := struct {
			Notices   []json.RawMessage `json:"notices"`
			Truncated bool              `json:"truncated,omitempty"`
		}{Notices: []json.RawMessage{}}
		req := &cascadev1.ListNoticesRequest{BreachId: breachID, PageSize: 1000}
		for {
			resp, err := d.notices.ListNotices(ctx, req)
			if err != nil {
				return nil, err
			}
			for _, n := range resp.GetNotices() {
				out.Notices = append(out.Notices, jsonOf(n))
			}
			if resp.GetNextPageToken() == "" {
				break
			}
			if len(out.Notices) >= maxNotices {
				out.Truncated = true
				break
			}
			req.PageToken = resp.GetNextPageToken()
		}
		return json.Marshal(out)
	}
	ctx, cancel, ok := d.streamContext(w, r, false) // WatchNotices is counted by the API
	if !ok {
		return
	}
	defer cancel()
	nw, err := d.watchNotices(ctx, &cascadev1.WatchNoticesRequest{BreachId: breachID})
	switch {
	case status.Code(err) == codes.InvalidArgument:
		cancel()
		d.pollEvents(w, r, "notices", fetch)
		return
	case errors.Is(err, errLongSnapshot):
		cancel()
		d.watchedEvents(w, r, "notices", &cascadev1.WatchNoticesRequest{BreachId: breachID}, fetch)
		return
	case err != nil:
		d.writeError(w, r, err)
		return
	}
	list := noticeRows{}
	for _, n := range nw.snap {
		list.put(n)
	}
	nw.snap = nil
	s := startEvents(w, d.now)
	if s.send("notices", list.marshal()) != nil {
		return
	}
	ping := time.NewTicker(keepAlive)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			d.ended(ctx, s, r)
			return
		case <-ping.C:
			if s.ping() != nil {
				return
			}
		case err := <-nw.ended:
			d.watchEnded(ctx, s, r, err)
			return
		case n := <-nw.pushed:
			row, changed := list.put(n)
			switch {
			case !changed:
			case row == nil: // the list grew past maxNotices: send it whole
				if s.send("notices", list.marshal()) != nil {
					return
				}
			default:
				if s.send("notice_changed", noticeChanged(row)) != nil {
					return
				}
			}
		}
	}
}

// noticeRows is a watched list of notices as the page shows it: in
// ListNotices order (breach id, then organisation id), each as JSON, the
// first maxNotices only.
type noticeRows struct {
	rows      []noticeRow
	truncated bool
}

type noticeRow struct {
	breach, org string
	json        json.RawMessage
}

// put sets n's row, reporting whether the list changed and the row's JSON
// (nil if n is not in the list, or the list lost its last row to make
// room for it).
func (l *noticeRows) put(n *cascadev1.Notice) (json.RawMessage, bool) {
	i, found := slices.BinarySearchFunc(l.rows, n, func(row noticeRow, n *cascadev1.Notice) int {
		return cmp.Or(cmp.Compare(row.breach, n.GetBreachId()), cmp.Compare(row.org, n.GetOrgId()))
	})
	b := jsonOf(n)
	switch {
	case found && bytes.Equal(l.rows[i].json, b):
		return nil, false
	case found:
		l.rows[i].json = b
		return b, true
	case i >= maxNotices: // after the part of the list shown
		return nil, false
	}
	l.rows = slices.Insert(l.rows, i, noticeRow{breach: n.GetBreachId(), org: n.GetOrgId(), json: b})
	if len(l.rows) > maxNotices {
		l.rows[maxNotices] = noticeRow{}
		l.rows, l.truncated = l.rows[:maxNotices], true
		return nil, true
	}
	return b, true
}

// marshal is the list's "notices" event, as ListNotices would fill it.
func (l *noticeRows) marshal() []byte {
	out := struct {
		Notices   []json.RawMessage `json:"notices"`
		Truncated bool              `json:"truncated,omitempty"`
	}{Notices: make([]json.RawMessage, len(l.rows)), Truncated: l.truncated}
	for i, row := range l.rows {
		out.Notices[i] = row.json
	}
	return mustJSON(out)
}

// noticeChanged is a "notice_changed" event's data.
func noticeChanged(notice json.RawMessage) []byte {
	return mustJSON(struct {
		Notice json.RawMessage `json:"notice"`
	}{notice})
}

// errLongSnapshot: a watch's snapshot holds more notices than a view shows.
var errLongSnapshot = errors.New("more notices than a live view shows")

// noticeWatch is a WatchNotices stream whose snapshot has been read: the
// notices it pushes after that arrive on pushed, in the order the stream
// sent them, and its end (an error) on ended.
type noticeWatch struct {
	snap   []*cascadev1.Notice
	pushed chan *cascadev1.Notice
	ended  chan error
}

// watchNotices opens WatchNotices for req with its snapshot, reads the
// snapshot (errLongSnapshot past maxNotices notices) and relays the rest
// until ctx ends. Each notice it then pushes is newer than what the
// snapshot or an earlier push had of it: a view made from the watch alone
// never goes back in time.
func (d *Dashboard) watchNotices(ctx context.Context, req *cascadev1.WatchNoticesRequest) (*noticeWatch, error) {
	req.ChangesOnly = false
	watch, err := d.notices.WatchNotices(ctx, req)
	if err != nil {
		return nil, err
	}
	nw := &noticeWatch{pushed: make(chan *cascadev1.Notice, 16), ended: make(chan error, 1)}
	for {
		m, err := watch.Recv() // authorisation happens on the first message
		if err != nil {
			return nil, err
		}
		if m.GetCaughtUp() != nil {
			break
		}
		if n := m.GetNotice(); n != nil {
			if len(nw.snap) == maxNotices {
				return nil, errLongSnapshot
			}
			nw.snap = append(nw.snap, n)
		}
	}
	go func() {
		for {
			m, err := watch.Recv()
			if err != nil {
				nw.ended <- err
				return
			}
			if n := m.GetNotice(); n != nil {
				select {
				case nw.pushed <- n:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return nw, nil
}

// watchEnded ends a view whose watch ended with err: the page is told why.
func (d *Dashboard) watchEnded(ctx context.Context, s *eventStream, r *http.Request, err error) {
	if ctx.Err() != nil {
		d.ended(ctx, s, r)
		return
	}
	_, body := d.errorOf(r, err)
	_ = s.send("error", mustJSON(body))
}

// noticePage is what the notice page shows.
type noticePage struct {
	notice    *cascadev1.Notice
	breach    *cascadev1.Breach
	events    []*cascadev1.NoticeEvent
	questions []*cascadev1.Question
}

func (p *noticePage) marshal() []byte {
	out := struct {
		Notice    json.RawMessage   `json:"notice"`
		Breach    json.RawMessage   `json:"breach"`
		Events    []json.RawMessage `json:"events"`
		Questions []json.RawMessage `json:"questions"`
	}{Notice: jsonOf(p.notice), Breach: jsonOf(p.breach), Events: []json.RawMessage{}, Questions: []json.RawMessage{}}
	for _, e := range p.events {
		out.Events = append(out.Events, jsonOf(e))
	}
	for _, x := range p.questions {
		out.Questions = append(out.Questions, jsonOf(x))
	}
	return mustJSON(out)
}

// readNoticePage reads the notice page: the notice, its history, its
// breach (as the caller may see it: redacted for an organisation) and its
// questions, the four at once (a page waits for the slowest, not the
// sum). Their errors are taken in a fixed order, so the answer to a
// refused page does not depend on which read failed first.
func (d *Dashboard) readNoticePage(ctx context.Context, breachID, orgID string) (*noticePage, error) {
	id := breachID + "/" + orgID
	var (
		n                      *cascadev1.GetNoticeResponse
		h                      *cascadev1.GetNoticeHistoryResponse
		b                      *cascadev1.GetBreachResponse
		qs                     []*cascadev1.Question
		nErr, hErr, bErr, qErr error
		wg                     sync.WaitGroup
	)
	wg.Go(func() { n, nErr = d.notices.GetNotice(ctx, &cascadev1.GetNoticeRequest{NoticeId: id}) })
	wg.Go(func() { h, hErr = d.notices.GetNoticeHistory(ctx, &cascadev1.GetNoticeHistoryRequest{NoticeId: id}) })
	wg.Go(func() { b, bErr = d.breaches.GetBreach(ctx, &cascadev1.GetBreachRequest{BreachId: breachID}) })
	wg.Go(func() {
		qs, qErr = d.questions(ctx, &cascadev1.ListQuestionsRequest{BreachId: breachID, OrgId: orgID, PageSize: 500})
	})
	wg.Wait()
	if err := cmp.Or(nErr, hErr, bErr, qErr); err != nil {
		return nil, err
	}
	return &noticePage{notice: n.GetNotice(), breach: b.GetBreach(), events: h.GetEvents(), questions: qs}, nil
}

// noticeEvents streams one notice with its history, its questions and its
// breach as "notice" events, read again when the notice changes (a
// question asked or answered is a change of the notice) and every slowPoll
// for the breach's facts. The notice itself is the one WatchNotices
// pushes: each change is sent at once as a "notice_changed" event,
// {"notice": ...} (with next_update from the last read), before the rest
// is read again, and every "notice" event carries the latest pushed
// notice, so the page never goes back to an older state of it. A caller
// who cannot watch the notice is polled.
func (d *Dashboard) noticeEvents(w http.ResponseWriter, r *http.Request) {
	breachID, orgID := r.PathValue("breach"), r.PathValue("org")
	read := func(ctx context.Context) (*noticePage, error) {
		c, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		return d.readNoticePage(c, breachID, orgID)
	}
	ctx, cancel, ok := d.streamContext(w, r, false) // WatchNotices is counted by the API
	if !ok {
		return
	}
	defer cancel()
	nw, err := d.watchNotices(ctx, &cascadev1.WatchNoticesRequest{NoticeId: breachID + "/" + orgID})
	if status.Code(err) == codes.InvalidArgument {
		cancel()
		d.pollEvents(w, r, "notice", func(ctx context.Context) (json.RawMessage, error) {
			p, err := d.readNoticePage(ctx, breachID, orgID)
			if err != nil {
				return nil, err
			}
			return p.marshal(), nil
		})
		return
	}
	if err != nil {
		d.writeError(w, r, err)
		return
	}
	var pushed *cascadev1.Notice // the latest notice the watch had
	if len(nw.snap) > 0 {
		pushed = nw.snap[len(nw.snap)-1]
	}
	nw.snap = nil
	page, err := read(ctx)
	if err != nil {
		d.writeError(w, r, err)
		return
	}
	// What the page was last sent: the whole page, and the notice alone.
	var lastPage, lastNotice []byte
	nextUpdate := page.notice.GetNextUpdate() // GetNotice's; WatchNotices has none
	// current is the notice to show: the latest pushed, with next_update.
	current := func(read *cascadev1.Notice) *cascadev1.Notice {
		if pushed == nil {
			return read
		}
		n := proto.CloneOf(pushed)
		n.NextUpdate = nextUpdate
		return n
	}
	page.notice = current(page.notice)
	lastPage, lastNotice = page.marshal(), jsonOf(page.notice)
	page = nil
	s := startEvents(w, d.now)
	if s.send("notice", lastPage) != nil {
		return
	}
	type result struct {
		page *noticePage
		err  error
	}
	results := make(chan result, 1)
	reading, again := false, false
	reread := func() {
		if reading {
			again = true
			return
		}
		reading = true
		go func() {
			p, err := read(ctx)
			results <- result{p, err}
		}()
	}
	tick := time.NewTicker(max(d.poll, slowPoll))
	defer tick.Stop()
	ping := time.NewTicker(keepAlive)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			d.ended(ctx, s, r)
			return
		case <-ping.C:
			if s.ping() != nil {
				return
			}
		case err := <-nw.ended:
			d.watchEnded(ctx, s, r, err)
			return
		case <-tick.C:
			reread()
		case n := <-nw.pushed:
			pushed = n
			if b := jsonOf(current(nil)); !bytes.Equal(b, lastNotice) {
				if s.send("notice_changed", noticeChanged(b)) != nil {
					return
				}
				lastNotice = b
			}
			reread()
		case res := <-results:
			reading = false
			if ctx.Err() != nil {
				d.ended(ctx, s, r)
				return
			}
			if res.err != nil {
				code, body := d.errorOf(r, res.err)
				if s.send("error", mustJSON(body)) != nil || !transient(code) {
					return
				}
			} else {
				nextUpdate = res.page.notice.GetNextUpdate()
				res.page.notice = current(res.page.notice)
				if b := res.page.marshal(); !bytes.Equal(b, lastPage) {
					if s.send("notice", b) != nil {
						return
					}
					lastPage = b
				}
				lastNotice = jsonOf(res.page.notice)
			}
			if again {
				again = false
				reread()
			}
		}
	}
}

// breachEvents relays WatchBreach with every notice: first "breach" (the
// breach itself), then "summary" and "notice" events of the snapshot, one
// "caught_up", then every change. Only callers who may watch the breach
// (the vendor and global viewers) get one.
func (d *Dashboard) breachEvents(w http.ResponseWriter, r *http.Request) {
	ctx, cancel, ok := d.streamContext(w, r, false) // WatchBreach is counted by the API
	if !ok {
		return
	}
	defer cancel()
	id := r.PathValue("breach")
	callCtx, cancelCall := context.WithTimeout(ctx, callTimeout)
	b, err := d.breaches.GetBreach(callCtx, &cascadev1.GetBreachRequest{BreachId: id})
	cancelCall()
	if err != nil {
		d.writeError(w, r, err)
		return
	}
	watch, err := d.breaches.WatchBreach(ctx, &cascadev1.WatchBreachRequest{BreachId: id, IncludeNotices: true})
	if err != nil {
		d.writeError(w, r, err)
		return
	}
	first, err := watch.Recv() // authorisation happens on the first message
	if err != nil {
		d.writeError(w, r, err)
		return
	}
	type received struct {
		m   *cascadev1.WatchBreachResponse
		err error
	}
	in := make(chan received, 64)
	go func() {
		for {
			m, err := watch.Recv()
			select {
			case in <- received{m, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	s := startEvents(w, d.now)
	if s.write("breach", jsonOf(b.GetBreach())) != nil || writeWatch(s, first) != nil {
		return
	}
	ping := time.NewTicker(keepAlive)
	defer ping.Stop()
	for {
		// Flush once the relay has caught up with the watch, not per event:
		// a snapshot of thousands of notices goes out in a few writes.
		if len(in) == 0 && s.flush() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-ping.C:
			if s.ping() != nil {
				return
			}
		case rcv := <-in:
			if rcv.err != nil {
				if ctx.Err() == nil {
					_, body := d.errorOf(r, rcv.err)
					_ = s.send("error", mustJSON(body))
				}
				return
			}
			if writeWatch(s, rcv.m) != nil {
				return
			}
		}
	}
}

func writeWatch(s *eventStream, m *cascadev1.WatchBreachResponse) error {
	switch ev := m.GetEvent().(type) {
	case *cascadev1.WatchBreachResponse_Summary:
		return s.write("summary", jsonOf(ev.Summary))
	case *cascadev1.WatchBreachResponse_Notice:
		return s.write("notice", jsonOf(ev.Notice))
	case *cascadev1.WatchBreachResponse_CaughtUp:
		return s.write("caught_up", []byte("{}"))
	}
	return nil
}
