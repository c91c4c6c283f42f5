package dashboard_test

import (
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/natstest"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// TestSessionFromWhoAmI: /api/session says who the caller is, from the
// API's WhoAmI, and what it may see and do, per role; loading the page
// as any of them logs no warning (no call is denied on the way).
func TestSessionFromWhoAmI(t *testing.T) {
	logs := &natstest.Buffer{}
	e := start(t, false, func(o *daemon.Options) {
		w := io.Writer(logs)
		if testing.Verbose() {
			w = io.MultiWriter(logs, os.Stderr)
		}
		o.Log = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	tokenID := func(tok string) string {
		r, err := cascadev1.NewTokenServiceClient(e.cc).WhoAmI(as(t, tok), &cascadev1.WhoAmIRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetTokenId()
	}
	controller := e.issue(stockholm, cascadev1.Role_ROLE_CONTROLLER)
	orgViewer := e.issue(stockholm, cascadev1.Role_ROLE_VIEWER)
	viewer := e.issue("", cascadev1.Role_ROLE_VIEWER)
	for _, tc := range []struct {
		name, token string
		want        map[string]any
	}{
		{"controller", controller, map[string]any{"scope": "organisation", "acknowledge": true, "auth": true, "role": "controller",
			"org_id": stockholm, "org_name": "Stockholms kommun", "label": "dashboard test", "token_id": tokenID(controller)}},
		{"organisation viewer", orgViewer, map[string]any{"scope": "organisation", "acknowledge": false, "role": "viewer",
			"org_id": stockholm, "org_name": "Stockholms kommun", "token_id": tokenID(orgViewer)}},
		{"viewer of every organisation", viewer, map[string]any{"scope": "all", "acknowledge": false, "role": "viewer",
			"org_id": "", "org_name": "", "token_id": tokenID(viewer)}},
		{"vendor", e.vendor, map[string]any{"scope": "all", "acknowledge": false, "role": "vendor", "org_id": "",
			"token_id": tokenID(e.vendor)}},
		{"not signed in", "", map[string]any{"scope": "", "acknowledge": false, "auth": true, "role": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(logs.String())
			// The page load: the page, its files, the session.
			for _, p := range []string{"/", "/static/app.js", "/static/app.css"} {
				if resp := e.call("GET", p, "", "", ""); resp.StatusCode != 200 {
					t.Fatalf("GET %s: %d", p, resp.StatusCode)
				}
			}
			resp := e.call("GET", "/api/session", tc.token, "", "")
			m := decode(t, resp)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %v", resp.StatusCode, m)
			}
			for k, v := range tc.want {
				if m[k] != v {
					t.Errorf("%s = %#v, want %#v (%v)", k, m[k], v, m)
				}
			}
			if _, ok := m["server_time"].(string); !ok {
				t.Errorf("no server_time: %v", m)
			}
			if tc.token != "" && len(m["token_id"].(string)) != 16 {
				t.Errorf("token_id %v", m["token_id"])
			}
			if got := logs.String()[before:]; strings.Contains(got, "level=WARN") || strings.Contains(got, "level=ERROR") {
				t.Errorf("the page load logged:\n%s", got)
			}
		})
	}
	if strings.Contains(logs.String(), controller) {
		t.Error("a token appears in the log")
	}
}
