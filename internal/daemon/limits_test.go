package daemon_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// liveView is a dashboard live view read in the background.
type liveView struct {
	code   int
	mu     sync.Mutex
	events []string // "event data"
	done   bool     // the server ended the stream
}

func (v *liveView) snapshot() ([]string, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.events...), v.done
}

// has reports whether an event of this name containing text arrived.
func (v *liveView) has(event, text string) bool {
	evs, _ := v.snapshot()
	for _, e := range evs {
		if (event == "" || strings.HasPrefix(e, event+" ")) && strings.Contains(e, text) {
			return true
		}
	}
	return false
}

// openLive GETs a dashboard live endpoint with token. A non-200 answer
// is returned at once (code and body as the one event).
func openLive(t *testing.T, addr, path, token string) *liveView {
	t.Helper()
	c, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(c, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	v := &liveView{code: resp.StatusCode}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		v.events, v.done = []string{string(b)}, true
		return v
	}
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var event string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				v.mu.Lock()
				v.events = append(v.events, event+" "+strings.TrimPrefix(line, "data: "))
				v.mu.Unlock()
			}
		}
		v.mu.Lock()
		v.done = true
		v.mu.Unlock()
	}()
	return v
}

// watch opens WatchBreach with token and reads up to caught_up.
func (a *authEnv) watch(token, id string) (cascadev1.BreachService_WatchBreachClient, context.CancelFunc, error) {
	c, cancel := context.WithTimeout(withToken(context.Background(), token), time.Minute)
	st, err := a.breachC.WatchBreach(c, &cascadev1.WatchBreachRequest{BreachId: id, IncludeNotices: true})
	for err == nil {
		var m *cascadev1.WatchBreachResponse
		if m, err = st.Recv(); m.GetCaughtUp() != nil {
			return st, cancel, nil
		}
	}
	cancel()
	return nil, nil, err
}

// TestRevokedTokenEndsStreams: a token revoked while it watches over
// gRPC and in the dashboard's live views loses every stream within
// seconds, told Unauthenticated "token revoked".
func TestRevokedTokenEndsStreams(t *testing.T) {
	opts := options(t)
	opts.HTTPAddr = "127.0.0.1:0"
	e := startAuth(t, opts)
	e.publish(report("REVOKE-1", "se-kommun-0180"))
	e.useToken(e.vendor)
	e.waitSummary("REVOKE-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 1 })
	e.plain()
	viewer, viewerID := e.issue("", cascadev1.Role_ROLE_VIEWER)
	keep, _ := e.issue("", cascadev1.Role_ROLE_VIEWER) // another token's stream goes on

	st, cancel, err := e.watch(viewer, "REVOKE-1")
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	other, cancelOther, err := e.watch(keep, "REVOKE-1")
	if err != nil {
		t.Fatal(err)
	}
	defer cancelOther()
	relay := openLive(t, e.d.HTTPAddr(), "/api/events/breaches/REVOKE-1", viewer)
	polled := openLive(t, e.d.HTTPAddr(), "/api/events/breaches", viewer)
	pushed := openLive(t, e.d.HTTPAddr(), "/api/events/notices?breach_id=REVOKE-1", viewer) // on WatchNotices
	testkit.Eventually(t, 10*time.Second, func() error {
		if !relay.has("caught_up", "{}") || !polled.has("breaches", "REVOKE-1") || !pushed.has("notices", "REVOKE-1") {
			return errors.New("live views not caught up")
		}
		return nil
	})

	revokedAt := time.Now()
	e.revoke(viewerID)
	grpcEnd := make(chan error, 1)
	go func() {
		for {
			if _, err := st.Recv(); err != nil {
				grpcEnd <- err
				return
			}
		}
	}()
	select {
	case err := <-grpcEnd:
		if status.Code(err) != codes.Unauthenticated || status.Convert(err).Message() != "token revoked" {
			t.Fatalf("the revoked token's watch ended with %v; want Unauthenticated \"token revoked\"", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the revoked token's gRPC watch is still open after 10 s")
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		for name, v := range map[string]*liveView{"relayed watch": relay, "polled list": polled, "pushed notice list": pushed} {
			if _, done := v.snapshot(); !done {
				return fmt.Errorf("the %s is still open", name)
			}
			if !v.has("error", "UNAUTHENTICATED") {
				evs, _ := v.snapshot()
				return fmt.Errorf("the %s ended without an UNAUTHENTICATED error event: %q", name, evs)
			}
		}
		return nil
	})
	if d := time.Since(revokedAt); d > 8*time.Second {
		t.Fatalf("streams ended %s after the revocation", d)
	}
	// The other token's watch is unaffected: it still gets changes.
	ctrl, _ := e.issue("se-kommun-0180", cascadev1.Role_ROLE_CONTROLLER)
	if _, err := e.noticeC.AcknowledgeNotice(withToken(ctx(t), ctrl), &cascadev1.AcknowledgeNoticeRequest{NoticeId: "REVOKE-1/se-kommun-0180", AcknowledgedBy: "dpo"}); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := other.Recv()
		if err != nil {
			t.Fatalf("the other token's watch: %v", err)
		}
		if m.GetNotice().GetState() == cascadev1.NoticeState_NOTICE_STATE_ACKNOWLEDGED {
			break
		}
	}
}

// TestStreamLimits: one token's streams beyond its limit, and anyone's
// beyond the server's, are refused (ResourceExhausted over gRPC, 429 in
// the dashboard) while the open ones go on; a closed stream frees its place.
func TestStreamLimits(t *testing.T) {
	opts := options(t)
	opts.HTTPAddr = "127.0.0.1:0"
	opts.MaxStreamsPerToken, opts.MaxStreams = 2, 3
	e := startAuth(t, opts)
	e.publish(report("LIMIT-1", "se-kommun-0180"))
	e.useToken(e.vendor)
	e.waitSummary("LIMIT-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 1 })
	e.plain()
	v1, _ := e.issue("", cascadev1.Role_ROLE_VIEWER)
	v2, _ := e.issue("", cascadev1.Role_ROLE_VIEWER)

	w1, cancel1, err := e.watch(v1, "LIMIT-1")
	if err != nil {
		t.Fatal(err)
	}
	defer cancel1()
	w2, cancel2, err := e.watch(v1, "LIMIT-1")
	if err != nil {
		t.Fatal(err)
	}
	defer cancel2()
	_, _, err = e.watch(v1, "LIMIT-1")
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(status.Convert(err).Message(), "limit per caller") {
		t.Fatalf("third watch of one token: %v; want ResourceExhausted (limit per caller)", err)
	}
	nctx, ncancel := context.WithCancel(withToken(ctx(t), v1))
	defer ncancel()
	if nw, err := e.noticeC.WatchNotices(nctx, &cascadev1.WatchNoticesRequest{BreachId: "LIMIT-1"}); err == nil {
		_, err = nw.Recv()
		if status.Code(err) != codes.ResourceExhausted || !strings.Contains(status.Convert(err).Message(), "limit per caller") {
			t.Fatalf("a notice watch beyond the token's limit: %v; want ResourceExhausted (limit per caller)", err)
		}
	}
	if v := openLive(t, e.d.HTTPAddr(), "/api/events/breaches", v1); v.code != http.StatusTooManyRequests || !v.has("", "RESOURCE_EXHAUSTED") {
		t.Fatalf("a live view beyond the token's limit: %d %q; want 429 RESOURCE_EXHAUSTED", v.code, v.events)
	}
	if v := openLive(t, e.d.HTTPAddr(), "/api/events/breaches/LIMIT-1", v1); v.code != http.StatusTooManyRequests {
		t.Fatalf("a relayed watch beyond the token's limit: %d %q; want 429", v.code, v.events)
	}
	// The server's limit (3): v2's first view fits, its second does not.
	live := openLive(t, e.d.HTTPAddr(), "/api/events/breaches", v2)
	if live.code != http.StatusOK {
		t.Fatalf("v2's first live view: %d %q", live.code, live.events)
	}
	_, _, err = e.watch(v2, "LIMIT-1")
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(status.Convert(err).Message(), "server") {
		t.Fatalf("a stream beyond the server's limit: %v; want ResourceExhausted", err)
	}
	// The open streams go on.
	ctrl, _ := e.issue("se-kommun-0180", cascadev1.Role_ROLE_CONTROLLER)
	if _, err := e.noticeC.AcknowledgeNotice(withToken(ctx(t), ctrl), &cascadev1.AcknowledgeNoticeRequest{NoticeId: "LIMIT-1/se-kommun-0180", AcknowledgedBy: "dpo"}); err != nil {
		t.Fatal(err)
	}
	for _, w := range []cascadev1.BreachService_WatchBreachClient{w1, w2} {
		for {
			m, err := w.Recv()
			if err != nil {
				t.Fatalf("an admitted watch ended: %v", err)
			}
			if m.GetNotice().GetState() == cascadev1.NoticeState_NOTICE_STATE_ACKNOWLEDGED {
				break
			}
		}
	}
	if _, done := live.snapshot(); done {
		t.Fatal("the admitted live view ended")
	}
	// A closed watch frees its place.
	cancel1()
	testkit.Eventually(t, 10*time.Second, func() error {
		_, c, err := e.watch(v1, "LIMIT-1")
		if err == nil {
			c()
		}
		return err
	})
}

// rawHTTP opens a TCP connection to the daemon's HTTP listener.
func rawHTTP(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestHTTPSlowHeaders: a client that sends its headers a byte at a time
// is cut off after the header timeout.
func TestHTTPSlowHeaders(t *testing.T) {
	opts := options(t)
	opts.HTTPAddr = "127.0.0.1:0"
	opts.HTTPTimeouts.ReadHeader = 500 * time.Millisecond
	e := start(t, opts)
	conn := rawHTTP(t, e.d.HTTPAddr())
	closed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, conn) // returns when the server closes the connection
		close(closed)
	}()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	drip := time.NewTicker(100 * time.Millisecond) // the client under test is slow on purpose
	defer drip.Stop()
	for {
		select {
		case <-closed:
			if d := time.Since(start); d < 400*time.Millisecond {
				t.Fatalf("the connection closed after %s, before the header timeout", d)
			}
			return
		case <-drip.C:
			if time.Since(start) > 5*time.Second {
				t.Fatal("a client sending headers a byte every 100 ms is still connected after 5 s")
			}
			if _, err := io.WriteString(conn, "X"); err != nil {
				return // closed by the server
			}
		}
	}
}

// TestHTTPBodyNotReadBeforeAuth: a POST without credentials is answered
// 401 at once, though its (large) body never arrives; with credentials,
// a body over the limit is refused with 413.
func TestHTTPBodyNotReadBeforeAuth(t *testing.T) {
	opts := options(t)
	opts.HTTPAddr = "127.0.0.1:0"
	e := startAuth(t, opts)
	post := func(auth string, send int) string {
		t.Helper()
		conn := rawHTTP(t, e.d.HTTPAddr())
		hdr := "POST /api/notices/X-1/se-kommun-0180/acknowledge HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
			"Content-Length: 104857600\r\n" + auth + "\r\n"
		if _, err := io.WriteString(conn, hdr+strings.Repeat("x", send)); err != nil {
			t.Fatal(err)
		}
		// Well within the server's ReadTimeout (30 s): a server that waited
		// for the body would not answer in time.
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil {
			t.Fatalf("POST (%q, %d bytes of the body): no answer: %v", auth, send, err)
		}
		return strings.TrimSpace(line)
	}
	if got := post("", 1024); got != "HTTP/1.1 401 Unauthorized" {
		t.Fatalf("unauthenticated POST: %q; want 401", got)
	}
	if got := post("Authorization: Bearer cas_not-a-token\r\n", 1024); got != "HTTP/1.1 401 Unauthorized" {
		t.Fatalf("POST with a bad token: %q; want 401", got)
	}
	if got := post("Authorization: Bearer "+e.vendor+"\r\n", 80<<10); got != "HTTP/1.1 413 Request Entity Too Large" {
		t.Fatalf("authenticated POST of 100 MB: %q; want 413", got)
	}
}

// TestLiveViewOutlastsHTTPTimeouts: the server's read and write timeouts
// do not cut a live view.
func TestLiveViewOutlastsHTTPTimeouts(t *testing.T) {
	opts := options(t)
	opts.HTTPAddr = "127.0.0.1:0"
	opts.HTTPTimeouts = daemon.HTTPTimeouts{Read: 300 * time.Millisecond, Write: 300 * time.Millisecond}
	e := startAuth(t, opts)
	e.publish(report("LONG-1", "se-kommun-0180"))
	e.useToken(e.vendor)
	e.waitSummary("LONG-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 1 })
	e.plain()
	relay := openLive(t, e.d.HTTPAddr(), "/api/events/breaches/LONG-1", e.vendor)
	polled := openLive(t, e.d.HTTPAddr(), "/api/events/breaches", e.vendor)
	testkit.Eventually(t, 10*time.Second, func() error {
		if !relay.has("caught_up", "{}") || !polled.has("breaches", "LONG-1") {
			return errors.New("live views not caught up")
		}
		return nil
	})
	// Nothing to poll for: the point is that the timeouts pass.
	<-time.After(1 * time.Second)
	e.publish(report("LONG-2", "se-kommun-0180"))
	ctrl, _ := e.issue("se-kommun-0180", cascadev1.Role_ROLE_CONTROLLER)
	if _, err := e.noticeC.AcknowledgeNotice(withToken(ctx(t), ctrl), &cascadev1.AcknowledgeNoticeRequest{NoticeId: "LONG-1/se-kommun-0180", AcknowledgedBy: "dpo"}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 15*time.Second, func() error {
		if !relay.has("notice", "NOTICE_STATE_ACKNOWLEDGED") {
			_, done := relay.snapshot()
			return fmt.Errorf("the relayed watch has no acknowledgement (ended: %v)", done)
		}
		if !polled.has("breaches", "LONG-2") {
			_, done := polled.snapshot()
			return fmt.Errorf("the polled list has no LONG-2 (ended: %v)", done)
		}
		return nil
	})
}
