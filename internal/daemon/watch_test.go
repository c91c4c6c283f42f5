package daemon_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"

	"github.com/cascadehq/cascade/internal/testkit"
)

func TestWatchBreach(t *testing.T) {
	e := start(t, options(t))
	e.publish(report("WATCH-1", "se-kommun-0180", "se-kommun-1480", "se-kommun-1280"))
	e.waitSummary("WATCH-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 3 })

	wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := e.breachC.WatchBreach(wctx, &cascadev1.WatchBreachRequest{BreachId: "WATCH-1", IncludeNotices: true})
	if err != nil {
		t.Fatal(err)
	}
	// Snapshot: the summary and the three notices, then caught_up.
	var snapNotices int
	var snapSummary *cascadev1.BreachSummary
	for {
		ev, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetCaughtUp() != nil {
			break
		}
		if n := ev.GetNotice(); n != nil {
			snapNotices++
		}
		if s := ev.GetSummary(); s != nil {
			snapSummary = s
		}
	}
	if snapNotices != 3 || snapSummary.GetDelivered() != 3 {
		t.Fatalf("snapshot: %d notices, summary %v", snapNotices, snapSummary)
	}
	// Live: an acknowledgement arrives as a notice change and a summary change.
	if _, err := e.noticeC.AcknowledgeNotice(ctx(t), &cascadev1.AcknowledgeNoticeRequest{NoticeId: "WATCH-1/se-kommun-1480", AcknowledgedBy: "dpo"}); err != nil {
		t.Fatal(err)
	}
	var sawNotice, sawSummary bool
	for !sawNotice || !sawSummary {
		ev, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if n := ev.GetNotice(); n != nil && n.GetId() == "WATCH-1/se-kommun-1480" && n.GetState() == cascadev1.NoticeState_NOTICE_STATE_ACKNOWLEDGED {
			sawNotice = true
		}
		if s := ev.GetSummary(); s != nil && s.GetAcknowledged() == 1 {
			sawSummary = true
		}
	}
	// Unknown breach: NotFound.
	bad, err := e.breachC.WatchBreach(wctx, &cascadev1.WatchBreachRequest{BreachId: "NOPE"})
	if err == nil {
		_, err = bad.Recv()
	}
	wantCode(t, err, "NotFound")
}

func TestWatchFromBeforeFanout(t *testing.T) {
	opts := options(t)
	opts.OrgsFile = writeRegistry(t, 1500)
	e := start(t, opts)
	e.publish(allReport("WATCH-2"))
	// Watch as soon as the breach exists; the fan-out progresses live.
	testkit.Eventually(t, 20*time.Second, func() error {
		_, err := e.breachC.GetBreach(ctx(t), &cascadev1.GetBreachRequest{BreachId: "WATCH-2"})
		return err
	})
	stream, err := e.breachC.WatchBreach(ctx(t), &cascadev1.WatchBreachRequest{BreachId: "WATCH-2"})
	if err != nil {
		t.Fatal(err)
	}
	var last int64 = -1
	for last != 1500 {
		ev, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if s := ev.GetSummary(); s != nil {
			if s.GetDelivered() < last {
				t.Fatalf("delivered went backwards: %d after %d", s.GetDelivered(), last)
			}
			last = s.GetDelivered()
		}
		if ev.GetNotice() != nil {
			t.Fatal("notice event without include_notices")
		}
	}
}

func TestHTTPEndpoints(t *testing.T) {
	opts := options(t)
	opts.HTTPAddr = "127.0.0.1:0"
	e := start(t, opts)
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + e.d.HTTPAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	code, body := get("/metrics")
	if code != 200 || !strings.Contains(body, `cascade_stream_messages{stream="CASCADE_INTAKE"}`) || !strings.Contains(body, "cascade_nats_connected 1") {
		t.Fatalf("/metrics = %d\n%s", code, body)
	}
}
