package dashboard_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/daemon"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

const (
	stockholm = "se-kommun-0180"
	uppsala   = "se-kommun-0380"
	malmo     = "se-kommun-1280"
)

// TestAPIAuthAndStatus: the dashboard's answers are the gRPC API's
// decisions, for each kind of caller, with gRPC codes mapped to HTTP
// statuses.
func TestAPIAuthAndStatus(t *testing.T) {
	e := start(t, false)
	e.publish("DASH-1", stockholm, uppsala)
	controller := e.issue(stockholm, cascadev1.Role_ROLE_CONTROLLER)
	outsider := e.issue(malmo, cascadev1.Role_ROLE_CONTROLLER)
	orgViewer := e.issue(stockholm, cascadev1.Role_ROLE_VIEWER)
	const ack = `{"acknowledged_by":"dpo@stockholm.example.org","note":"received"}`

	for _, tc := range []struct {
		name, method, path, token, ctype, body string
		status                                 int
		code                                   string         // error code, for errors
		want                                   map[string]any // fields of a successful answer
		check                                  func(m map[string]any) bool
	}{
		{name: "not signed in", method: "GET", path: "/api/session", status: 200, want: map[string]any{"scope": "", "auth": true}},
		{name: "no token", method: "GET", path: "/api/breaches/DASH-1", status: 401, code: "UNAUTHENTICATED"},
		{name: "wrong token", method: "GET", path: "/api/session", token: "cas_not-a-token", status: 401, code: "UNAUTHENTICATED"},
		{name: "vendor session", method: "GET", path: "/api/session", token: e.vendor, status: 200,
			want: map[string]any{"scope": "all", "acknowledge": false, "auth": true}},
		{name: "controller session", method: "GET", path: "/api/session", token: controller, status: 200,
			want: map[string]any{"scope": "organisation", "acknowledge": true, "auth": true}},
		{name: "organisation viewer session", method: "GET", path: "/api/session", token: orgViewer, status: 200,
			want: map[string]any{"scope": "organisation", "acknowledge": false}},
		{name: "unknown breach", method: "GET", path: "/api/breaches/NOPE", token: e.vendor, status: 404, code: "NOT_FOUND"},
		{name: "malformed breach id", method: "GET", path: "/api/breaches/bad.id", token: e.vendor, status: 400, code: "INVALID_ARGUMENT",
			check: func(m map[string]any) bool { return len(m["violations"].([]any)) == 1 }},
		{name: "breach without a notice of the caller's", method: "GET", path: "/api/breaches/DASH-1", token: outsider, status: 404, code: "NOT_FOUND"},
		{name: "breach redacted for its controller", method: "GET", path: "/api/breaches/DASH-1", token: controller, status: 200,
			check: func(m map[string]any) bool {
				aff := m["breach"].(map[string]any)["report"].(map[string]any)["affected"].([]any)
				return len(aff) == 1 && aff[0].(map[string]any)["org_id"] == stockholm
			}},
		{name: "controller may not watch the whole breach", method: "GET", path: "/api/events/breaches/DASH-1", token: controller,
			status: 403, code: "PERMISSION_DENIED"},
		{name: "vendor may not acknowledge", method: "POST", path: "/api/notices/DASH-1/" + stockholm + "/acknowledge", token: e.vendor,
			ctype: "application/json", body: ack, status: 403, code: "PERMISSION_DENIED"},
		{name: "another organisation's notice", method: "POST", path: "/api/notices/DASH-1/" + uppsala + "/acknowledge", token: controller,
			ctype: "application/json", body: ack, status: 404, code: "NOT_FOUND"},
		{name: "not JSON", method: "POST", path: "/api/notices/DASH-1/" + stockholm + "/acknowledge", token: controller,
			ctype: "text/plain", body: ack, status: 415, code: "INVALID_ARGUMENT"},
		{name: "unknown field", method: "POST", path: "/api/notices/DASH-1/" + stockholm + "/acknowledge", token: controller,
			ctype: "application/json", body: `{"notice_id_x":1}`, status: 400, code: "INVALID_ARGUMENT"},
		{name: "missing acknowledged_by", method: "POST", path: "/api/notices/DASH-1/" + stockholm + "/acknowledge", token: controller,
			ctype: "application/json", body: `{}`, status: 400, code: "INVALID_ARGUMENT"},
		{name: "undelivered revision", method: "POST", path: "/api/notices/DASH-1/" + stockholm + "/acknowledge", token: controller,
			ctype: "application/json", body: `{"acknowledged_by":"x","revision":7}`, status: 409, code: "FAILED_PRECONDITION"},
		{name: "controller acknowledges its notice", method: "POST", path: "/api/notices/DASH-1/" + stockholm + "/acknowledge", token: controller,
			ctype: "application/json", body: ack, status: 200,
			check: func(m map[string]any) bool {
				n := m["notice"].(map[string]any)
				return n["state"] == "NOTICE_STATE_ACKNOWLEDGED" && n["acknowledged_by"] == "dpo@stockholm.example.org"
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.call(tc.method, tc.path, tc.token, tc.ctype, tc.body)
			m := decode(t, resp)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tc.status, m)
			}
			if tc.code != "" && m["code"] != tc.code {
				t.Errorf("code %v, want %s: %v", m["code"], tc.code, m)
			}
			if tc.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: Bearer")
			}
			for k, v := range tc.want {
				if m[k] != v {
					t.Errorf("%s = %v, want %v (%v)", k, m[k], v, m)
				}
			}
			if tc.check != nil && !tc.check(m) {
				t.Errorf("unexpected answer %v", m)
			}
		})
	}
}

// TestPageAndSecurityHeaders: the page and its files are served with a
// strict Content-Security-Policy; /healthz and /metrics stay.
func TestPageAndSecurityHeaders(t *testing.T) {
	e := start(t, false)
	for _, tc := range []struct {
		path, ctype string
		status      int
	}{
		{"/", "text/html", 200},
		{"/static/app.js", "text/javascript", 200},
		{"/static/app.css", "text/css", 200},
		{"/static/", "", 404},
		{"/static/missing.js", "", 404},
		{"/healthz", "text/plain", 200},
		{"/metrics", "text/plain", 200},
	} {
		resp := e.call("GET", tc.path, "", "", "")
		if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) {
			t.Errorf("GET %s: %d %s, want %d %s", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.status, tc.ctype)
		}
	}
	resp := e.call("GET", "/", "", "", "")
	for h, want := range map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
	} {
		if got := resp.Header.Get(h); !strings.HasPrefix(got, want) {
			t.Errorf("%s: %q, want %q…", h, got, want)
		}
	}
	if got := e.call("GET", "/api/session", e.vendor, "", "").Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("API Cache-Control %q", got)
	}
}

// TestLiveEvents: the breach list and a breach's watch arrive as
// server-sent events, and change live.
func TestLiveEvents(t *testing.T) {
	e := start(t, false)
	controller := e.issue(stockholm, cascadev1.Role_ROLE_CONTROLLER)

	list := e.call("GET", "/api/events/breaches?summaries=1", e.vendor, "", "")
	if list.StatusCode != 200 || list.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
		t.Fatalf("breach list: %d %s", list.StatusCode, list.Header.Get("Content-Type"))
	}
	listEvents := events(t, list)
	first := next(t, listEvents, 5*time.Second, func(ev sse) bool { return ev.event == "breaches" })
	if n := len(first.data["breaches"].([]any)); n != 0 {
		t.Fatalf("%d breaches before any was published", n)
	}
	e.publish("LIVE-1", stockholm, uppsala, malmo)
	next(t, listEvents, 10*time.Second, func(ev sse) bool {
		bs, sums := ev.data["breaches"].([]any), ev.data["summaries"].([]any)
		return ev.event == "breaches" && len(bs) == 1 && bs[0].(map[string]any)["id"] == "LIVE-1" &&
			sums[0].(map[string]any)["total"] == "3"
	})

	watch := events(t, e.call("GET", "/api/events/breaches/LIVE-1", e.vendor, "", ""))
	var order []string
	for ev := range watch {
		if ev.event == "clock" {
			continue
		}
		order = append(order, ev.event)
		if ev.event == "caught_up" {
			break
		}
	}
	if got := strings.Join(order, ","); got != "breach,summary,notice,notice,notice,caught_up" &&
		got != "breach,notice,notice,notice,summary,caught_up" {
		t.Errorf("snapshot events: %s", got)
	}

	mine := events(t, e.call("GET", "/api/events/notices", controller, "", ""))
	n := next(t, mine, 5*time.Second, func(ev sse) bool { return ev.event == "notices" })
	if ns := n.data["notices"].([]any); len(ns) != 1 || ns[0].(map[string]any)["org_id"] != stockholm {
		t.Fatalf("controller's notices: %v", ns)
	}
	// The vendor's list of every notice has no watch to push it: polled.
	all := events(t, e.call("GET", "/api/events/notices", e.vendor, "", ""))
	if ns := next(t, all, 5*time.Second, func(ev sse) bool { return ev.event == "notices" }).data["notices"].([]any); len(ns) != 3 {
		t.Fatalf("the vendor's notices: %v", ns)
	}
	history := events(t, e.call("GET", "/api/events/notices/LIVE-1/"+stockholm, controller, "", ""))
	page := next(t, history, 5*time.Second, func(ev sse) bool { return ev.event == "notice" })
	if n := page.data["notice"].(map[string]any); n["state"] != "NOTICE_STATE_DELIVERED" || n["id"] != "LIVE-1/"+stockholm {
		t.Fatalf("the notice page's first event: %v", n)
	}
	// Another organisation's notice page is refused as it was: the watch
	// behind it sees the controller's own organisation only.
	if resp := e.call("GET", "/api/events/notices/LIVE-1/"+uppsala, controller, "", ""); resp.StatusCode != 404 {
		t.Fatalf("another organisation's notice page: %d %v", resp.StatusCode, decode(t, resp))
	}

	acked := time.Now()
	resp := e.call("POST", "/api/notices/LIVE-1/"+stockholm+"/acknowledge", controller, "application/json", `{"acknowledged_by":"dpo"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("acknowledge: %d %v", resp.StatusCode, decode(t, resp))
	}
	next(t, watch, 10*time.Second, func(ev sse) bool {
		return ev.event == "notice" && ev.data["org_id"] == stockholm && ev.data["state"] == "NOTICE_STATE_ACKNOWLEDGED"
	})
	next(t, watch, 10*time.Second, func(ev sse) bool { return ev.event == "summary" && ev.data["acknowledged"] == "1" })
	// The controller's list and notice page are pushed (WatchNotices), not
	// polled: the change arrives long before their 30 s poll, as the
	// notice itself ("notice_changed"), without a read of the list.
	changed := next(t, mine, 10*time.Second, func(ev sse) bool { return ev.event != "clock" })
	if n, _ := changed.data["notice"].(map[string]any); changed.event != "notice_changed" ||
		n["id"] != "LIVE-1/"+stockholm || n["state"] != "NOTICE_STATE_ACKNOWLEDGED" || n["acknowledged_by"] != "dpo" {
		t.Fatalf("the controller's list after the acknowledgement: %s %v", changed.event, changed.data)
	}
	pushedAt := time.Since(acked)
	// The page: the notice at once, then the page read again with it (its
	// history now ending with the acknowledgement), never an older state.
	var seen []string
	var ack sse
	for ack.event == "" {
		ev := next(t, history, 10*time.Second, func(ev sse) bool { return ev.event != "clock" })
		n, _ := ev.data["notice"].(map[string]any)
		seen = append(seen, ev.event+":"+fmt.Sprint(n["state"]))
		evs, _ := ev.data["events"].([]any)
		if ev.event == "notice" && len(evs) > 0 && evs[len(evs)-1].(map[string]any)["event"] == "acknowledged" {
			ack = ev
		}
	}
	if seen[0] != "notice_changed:NOTICE_STATE_ACKNOWLEDGED" || slices.ContainsFunc(seen, func(s string) bool { return !strings.HasSuffix(s, ":NOTICE_STATE_ACKNOWLEDGED") }) {
		t.Errorf("the notice page's events after the acknowledgement: %v", seen)
	}
	if n := ack.data["notice"].(map[string]any); n["acknowledged_by"] != "dpo" {
		t.Errorf("the page read again: %v", n)
	}
	t.Logf("acknowledgement to the pushed notice list: %v, to the page read again: %v (from the POST)",
		pushedAt.Round(time.Millisecond), time.Since(acked).Round(time.Millisecond))

	// A new notice of the organisation joins the list the same way; the
	// other organisations' notices of the breach are never sent to it.
	e.publish("LIVE-2", uppsala, stockholm)
	for {
		ev := next(t, mine, 10*time.Second, func(ev sse) bool { return ev.event != "clock" })
		n, _ := ev.data["notice"].(map[string]any)
		if ev.event != "notice_changed" || n["org_id"] != stockholm {
			t.Fatalf("the controller's list after another breach: %s %v", ev.event, ev.data)
		}
		if n["id"] == "LIVE-2/"+stockholm && n["state"] == "NOTICE_STATE_DELIVERED" {
			break
		}
	}
	// A view opened now has both in its first event, in ListNotices order.
	again := next(t, events(t, e.call("GET", "/api/events/notices", controller, "", "")), 5*time.Second, func(ev sse) bool { return ev.event == "notices" })
	var ids []string
	for _, n := range again.data["notices"].([]any) {
		ids = append(ids, n.(map[string]any)["id"].(string)+":"+n.(map[string]any)["state"].(string))
	}
	if got := strings.Join(ids, ","); got != "LIVE-1/"+stockholm+":NOTICE_STATE_ACKNOWLEDGED,LIVE-2/"+stockholm+":NOTICE_STATE_DELIVERED" {
		t.Errorf("the controller's list opened again: %s", got)
	}
	// The dashboard forwards the caller's token: the history records who
	// the daemon authenticated, beside the name typed.
	evs := ack.data["events"].([]any)
	p, _ := evs[len(evs)-1].(map[string]any)["principal"].(map[string]any)
	id, _ := p["id"].(string)
	display, _ := p["display"].(string)
	if p["kind"] != "token" || p["role"] != "controller" || p["org_id"] != stockholm || p["label"] != "dashboard test" ||
		len(id) != 16 || !strings.Contains(display, "controller@"+stockholm) {
		t.Errorf("acknowledgement's principal through the dashboard: %v", p)
	}
}

// TestStopWithOpenStreams: an open live view does not hold up shutdown.
func TestStopWithOpenStreams(t *testing.T) {
	e := start(t, false)
	e.publish("STOP-1", stockholm)
	watch := events(t, e.call("GET", "/api/events/breaches/STOP-1", e.vendor, "", ""))
	next(t, watch, 5*time.Second, func(ev sse) bool { return ev.event == "caught_up" })
	events(t, e.call("GET", "/api/events/breaches", e.vendor, "", ""))
	began := time.Now()
	e.d.Stop()
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("Stop took %s with open streams", took)
	}
}

// TestWithoutAuthentication: --insecure-no-auth shows everything, and
// only to this machine.
func TestWithoutAuthentication(t *testing.T) {
	e := start(t, true)
	m := decode(t, e.call("GET", "/api/session", "", "", ""))
	if m["scope"] != "all" || m["acknowledge"] != true || m["auth"] != false {
		t.Errorf("session %v", m)
	}
	req, err := http.NewRequestWithContext(ctx(t), "GET", e.base+"/api/session", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "attacker.example.com" // as after DNS rebinding
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign Host: %d, want 403", resp.StatusCode)
	}
}

// TestOverTLS: with gRPC over TLS the dashboard's in-process connection
// accepts the daemon's own certificate (whatever name it carries).
func TestOverTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cascade.example.org"},
		DNSNames: []string{"cascade.example.org"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for path, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "EC PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e := start(t, false, func(o *daemon.Options) { o.TLSCert, o.TLSKey = certFile, keyFile })
	m := decode(t, e.call("GET", "/api/session", e.vendor, "", ""))
	if m["scope"] != "all" {
		t.Fatalf("session over TLS: %v", m)
	}
}
