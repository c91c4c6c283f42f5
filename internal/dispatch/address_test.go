package dispatch_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/dispatch"
	"github.com/cascadehq/cascade/internal/store"
	"github.com/cascadehq/cascade/internal/testkit"
	"github.com/cascadehq/cascade/internal/webhook"
)

// TestWebhookInternalAddressDeadLettered: without AllowPrivate, webhooks
// whose address is loopback (a real HTTPS receiver, by IP and by the name
// localhost), link-local (cloud metadata) or private are refused when
// connecting: each message is dead-lettered at its first attempt with the
// reason, on the notice and in the dead letter, and the receiver sees
// nothing. Plain http to a loopback receiver is refused the same way.
func TestWebhookInternalAddressDeadLettered(t *testing.T) {
	var hits atomic.Int32
	count := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) })
	tlsRc := httptest.NewTLSServer(count)
	t.Cleanup(tlsRc.Close)
	plainRc := httptest.NewServer(count)
	t.Cleanup(plainRc.Close)
	port := tlsRc.URL[strings.LastIndex(tlsRc.URL, ":")+1:]
	const hint = ": refused (set --webhook-allow-private for development)"
	cases := []struct {
		org  breach.OrgID
		url  string
		want string // the whole last error; "" checks the prefix and hint only
	}{
		{"loopback", tlsRc.URL + "/hook?token=s3cret", "POST " + tlsRc.URL + "/hook: webhook address 127.0.0.1 is loopback" + hint},
		{"localhost", "https://localhost:" + port + "/hook", ""},
		{"metadata", "https://169.254.169.254/latest/meta-data/", "POST https://169.254.169.254/latest/meta-data/: webhook address 169.254.169.254 is link-local (cloud metadata lives here)" + hint},
		{"private", "https://10.0.0.5/hook", "POST https://10.0.0.5/hook: webhook address 10.0.0.5 is private" + hint},
		{"mapped", "https://[::ffff:192.168.1.1]/hook", "POST https://[::ffff:192.168.1.1]/hook: webhook address 192.168.1.1 is private" + hint},
		{"plain", plainRc.URL + "/hook", "webhook URL not allowed: " + plainRc.URL + "/hook: http:// (to a loopback host) is for development only, with --webhook-allow-private; webhooks must be https://"},
	}
	var orgs []breach.Org
	for _, c := range cases {
		orgs = append(orgs, hookOrg(c.org, c.url))
	}
	// A retry would come after an hour: a dead letter within the test is
	// the first attempt's.
	h := newHarness(t, orgs, dispatch.Config{Webhook: webhook.NewClient(webhook.Config{Timeout: 5 * time.Second}),
		Backoff: dispatch.Backoff{Initial: time.Hour, Max: time.Hour, GiveUp: 24 * time.Hour}})
	ids := map[breach.OrgID]breach.NoticeID{}
	for _, c := range cases {
		h.secret(c.org)
		ids[c.org] = h.notify(c.org, false)
	}
	for _, c := range cases {
		var dl store.DeadLetterEntry
		testkit.Eventually(t, 20*time.Second, func() error {
			dls, _, err := h.ch.DeadLetters(ctx(t), "", c.org, 0, 10)
			if err != nil || len(dls) != 1 {
				return fmt.Errorf("dead letters %v, %v", dls, err)
			}
			dl = dls[0]
			return nil
		})
		if dl.Attempts != 1 {
			t.Errorf("%s: dead-lettered after %d attempts, want 1", c.org, dl.Attempts)
		}
		switch {
		case c.want != "" && dl.LastError != c.want:
			t.Errorf("%s: last error\n got %q\nwant %q", c.org, dl.LastError, c.want)
		case c.want == "" && (!strings.HasPrefix(dl.LastError, "POST https://localhost:"+port+"/hook: webhook address ") || !strings.HasSuffix(dl.LastError, " is loopback"+hint)):
			t.Errorf("%s: last error %q", c.org, dl.LastError)
		}
		if strings.Contains(dl.LastError+dl.Destination, "s3cret") {
			t.Errorf("%s: the dead letter shows the URL's query: %+v", c.org, dl)
		}
		testkit.Eventually(t, 10*time.Second, func() error {
			d := channel(h.notice(ids[c.org]), breach.ChannelWebhook)
			if d.DeadLettered != 1 || d.Attempts != 1 || d.LastError != dl.LastError {
				return fmt.Errorf("%s: record %+v", c.org, d)
			}
			return nil
		})
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback receivers got %d requests", n)
	}
}

// TestWebhookAnswerNotEchoed: what a failing receiver writes in its body
// reaches neither the notice's last error, nor its history, nor the dead
// letter: they carry the status only.
func TestWebhookAnswerNotEchoed(t *testing.T) {
	const leak = "db-password=hunter2"
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, "panic: "+leak+"\n"+strings.Repeat("stack frame "+leak+"\n", 1000))
	}))
	t.Cleanup(rc.Close)
	h := newHarness(t, []breach.Org{hookOrg("leaky", rc.URL+"/hook")}, dispatch.Config{})
	h.secret("leaky")
	id := h.notify("leaky", false)
	var dls []store.DeadLetterEntry
	testkit.Eventually(t, 20*time.Second, func() error {
		var err error
		if dls, _, err = h.ch.DeadLetters(ctx(t), "", "leaky", 0, 10); err != nil || len(dls) != 1 {
			return fmt.Errorf("dead letters %v, %v", dls, err)
		}
		return nil
	})
	want := "POST " + rc.URL + "/hook: HTTP 500 Internal Server Error"
	if dls[0].LastError != want {
		t.Fatalf("dead letter's last error %q, want %q", dls[0].LastError, want)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if d := channel(h.notice(id), breach.ChannelWebhook); d.DeadLettered != 1 || d.LastError != want {
			return fmt.Errorf("record %+v", d)
		}
		return nil
	})
	es, err := h.st.History(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, e := range es {
		if strings.Contains(e.Change.Detail, "hunter2") || strings.Contains(e.Change.Detail, "panic") {
			t.Fatalf("history shows the receiver's answer: %q", e.Change.Detail)
		}
		if e.Change.Event == breach.EventChannelFailed && strings.HasSuffix(e.Change.Detail, want) {
			failed++
		}
	}
	if failed == 0 {
		t.Fatalf("no failed attempt with %q in the history", want)
	}
}
