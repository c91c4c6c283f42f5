package dashboard

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

func TestHTTPStatus(t *testing.T) {
	for c, want := range map[codes.Code]int{
		codes.OK: 200, codes.InvalidArgument: 400, codes.Unauthenticated: 401, codes.PermissionDenied: 403,
		codes.NotFound: 404, codes.AlreadyExists: 409, codes.FailedPrecondition: 409, codes.ResourceExhausted: 429,
		codes.Internal: 500, codes.Unknown: 500, codes.Unimplemented: 501, codes.Unavailable: 503, codes.DeadlineExceeded: 504,
	} {
		if got := httpStatus(c); got != want {
			t.Errorf("%s: %d, want %d", c, got, want)
		}
	}
}

// TestEventFraming: one event per write, every data line prefixed, so a
// newline in the data cannot end or forge an event.
func TestEventFraming(t *testing.T) {
	rec := httptest.NewRecorder()
	s := startEvents(rec, func() time.Time { return time.Date(2025, 8, 23, 14, 0, 0, 0, time.UTC) })
	if err := s.send("notice", []byte("{\"a\":1}")); err != nil {
		t.Fatal(err)
	}
	if err := s.send("x", []byte("line1\nevent: forged\r\nline3")); err != nil {
		t.Fatal(err)
	}
	if err := s.ping(); err != nil {
		t.Fatal(err)
	}
	clock := "event: clock\ndata: {\"server_time\":\"2025-08-23T14:00:00Z\"}\n\n"
	want := clock + "event: notice\ndata: {\"a\":1}\n\nevent: x\ndata: line1\ndata: event: forged\ndata: line3\n\n" + clock
	if got := rec.Body.String(); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/event-stream; charset=utf-8" || !rec.Flushed {
		t.Errorf("status %d, type %q, flushed %v", rec.Code, rec.Header().Get("Content-Type"), rec.Flushed)
	}
}

func TestLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost:7401": true, "127.0.0.1:7401": true, "[::1]:7401": true, "127.0.0.1": true, "LOCALHOST": true,
		"example.com": false, "10.0.0.1:7401": false, "evil.localhost.example:80": false,
	} {
		if got := loopbackHost(host); got != want {
			t.Errorf("loopbackHost(%q) = %v", host, got)
		}
	}
}
