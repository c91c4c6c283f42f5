package dashboard_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/natstest"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// TestSignInLogsNoWarning: signing in and opening the first page (its
// session and live views, as app.js does for each scope) logs no warning
// or error for any role: nothing on the way is denied.
func TestSignInLogsNoWarning(t *testing.T) {
	logs := &natstest.Buffer{}
	e := start(t, false, func(o *daemon.Options) {
		o.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	e.publish("SIGN-1", stockholm)
	all := []string{"/api/events/breaches?summaries=1", "/api/events/questions?unanswered_only=1"}
	own := []string{"/api/events/notices", "/api/events/breaches"}
	for _, tc := range []struct {
		name, token string
		streams     []string
	}{
		{"vendor", e.vendor, all},
		{"viewer of every organisation", e.issue("", cascadev1.Role_ROLE_VIEWER), all},
		{"controller", e.issue(stockholm, cascadev1.Role_ROLE_CONTROLLER), own},
		{"organisation viewer", e.issue(stockholm, cascadev1.Role_ROLE_VIEWER), own},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(logs.String())
			if resp := e.call("GET", "/api/session", tc.token, "", ""); resp.StatusCode != 200 {
				t.Fatalf("session: %d", resp.StatusCode)
			}
			for _, p := range tc.streams {
				resp := e.call("GET", p, tc.token, "", "")
				if resp.StatusCode != 200 {
					t.Fatalf("GET %s: %d", p, resp.StatusCode)
				}
				ev := next(t, events(t, resp), 10*time.Second, func(sse) bool { return true })
				if ev.event == "error" {
					t.Errorf("GET %s: %v", p, ev.data)
				}
				resp.Body.Close()
			}
			if got := logs.String()[before:]; strings.Contains(got, "level=WARN") || strings.Contains(got, "level=ERROR") {
				t.Errorf("signing in logged:\n%s", got)
			}
		})
	}
}
