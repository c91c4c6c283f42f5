package advisory

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
)

// breachesFunc adapts a function to Breaches.
type breachesFunc func(ctx context.Context, id breach.BreachID) (*breach.Breach, error)

func (f breachesFunc) GetBreach(ctx context.Context, id breach.BreachID) (*breach.Breach, error) {
	return f(ctx, id)
}

var tPublished = time.Date(2025, 8, 25, 9, 0, 0, 0, time.UTC)

func published(t *testing.T) *breach.Breach {
	t.Helper()
	b := &breach.Breach{ID: "EX-1", ReceivedAt: tPublished.Add(-time.Hour), Report: breach.Report{
		ID: "EX-1", Processor: "Exempel Systemdrift AB", Title: "Intrång hos Hemligby kommun",
		Affected: []breach.Affected{{Org: "hemligby", ApproxSubjects: 4711}},
		Contact:  breach.Contact{Name: "Incidentlinjen", Email: "incident@exempel.se", Phone: "+46 8 123 456 78"},
		SubjectNotice: &breach.SubjectNotice{
			Sv: &breach.SubjectNoticeText{WhatHappened: "Någon kom åt lönesystemet.\nVi har stängt ute angriparen.", WhichData: "Namn och lön.",
				WhatToDo: "Var vaksam.", RecognisePhishing: "Vi ringer aldrig om lösenord."},
		},
	}}
	if _, err := b.PublishAdvisory(tPublished, breach.Principal{Kind: breach.PrincipalToken, ID: "v"}); err != nil {
		t.Fatal(err)
	}
	return b
}

func serve(t *testing.T, b *breach.Breach, target string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	h := New(breachesFunc(func(_ context.Context, id breach.BreachID) (*breach.Breach, error) {
		if b == nil || id != b.ID {
			return nil, breach.ErrNotFound
		}
		return b, nil
	}), slog.New(slog.DiscardHandler))
	mux := http.NewServeMux()
	mux.Handle(Pattern, h)
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Result(), string(body)
}

func TestPage(t *testing.T) {
	b := published(t)
	resp, body := serve(t, b, "/advisories/EX-1", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, want := range []string{`<html lang="sv">`, "Personuppgiftsincident hos: Exempel Systemdrift AB", "Någon kom åt lönesystemet.<br>Vi har stängt ute angriparen.",
		"Namn och lön.", "Var vaksam.", "Vi ringer aldrig om lösenord.", "Cascade signerar varje meddelande", "avtal",
		`href="mailto:incident@exempel.se"`, `href="tel:&#43;4681234567`, "Publicerad 2025-08-25", `name="viewport"`, `href="?lang=en"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	for _, bad := range []string{"hemligby", "Hemligby", "4711", "4 711", "<script", "EX-1\""} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("headers %v", resp.Header)
	}
}

func TestPageLanguage(t *testing.T) {
	b := published(t)
	b.Report.SubjectNotice.En = &breach.SubjectNoticeText{WhatHappened: "Someone reached the payroll system."}
	_, en := serve(t, b, "/advisories/EX-1?lang=en", map[string]string{"Accept-Language": "sv"})
	_, acc := serve(t, b, "/advisories/EX-1", map[string]string{"Accept-Language": "de, en-GB;q=0.9, sv;q=0.5"})
	for _, body := range []string{en, acc} {
		if !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Someone reached the payroll system.") ||
			!strings.Contains(body, "How to check that a message is genuine") {
			t.Errorf("not the English page:\n%s", body)
		}
	}
	// English asked for, Swedish text only: the Swedish text, marked as such.
	b.Report.SubjectNotice.En = nil
	_, only := serve(t, b, "/advisories/EX-1?lang=en", nil)
	if !strings.Contains(only, "available in Swedish only") || !strings.Contains(only, `<p lang="sv">Någon kom åt`) {
		t.Errorf("other-language text not marked:\n%s", only)
	}
}

func TestLanguage(t *testing.T) {
	for _, tc := range []struct{ query, accept, want string }{
		{"", "", "sv"}, {"en", "sv", "en"}, {"EN", "", "en"}, {"de", "en", "en"}, {"", "en-US,en;q=0.9", "en"},
		{"", "sv-SE, en;q=0.8", "sv"}, {"", "en;q=0.2, sv;q=0.7", "sv"}, {"", "fr", "sv"}, {"", "en;q=bad", "sv"},
	} {
		if got := Language(tc.query, tc.accept); got != tc.want {
			t.Errorf("Language(%q, %q) = %s, want %s", tc.query, tc.accept, got, tc.want)
		}
	}
}

// An unpublished, withdrawn, unknown or malformed breach gets the very
// same answer.
func TestNotFoundIsOne(t *testing.T) {
	b := published(t)
	_, _ = serve(t, b, "/advisories/EX-1", nil)
	unpublished := published(t)
	unpublished.UnpublishAdvisory(tPublished.Add(time.Hour), breach.Principal{Kind: breach.PrincipalToken, ID: "v"})
	never := published(t)
	never.Advisory = nil
	ref, refBody := serve(t, nil, "/advisories/NOPE-1", nil)
	if ref.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown: %d", ref.StatusCode)
	}
	for name, c := range map[string]struct {
		b      *breach.Breach
		target string
	}{
		"never published": {never, "/advisories/EX-1"},
		"withdrawn":       {unpublished, "/advisories/EX-1"},
		"malformed":       {nil, "/advisories/a%20b"},
	} {
		resp, body := serve(t, c.b, c.target, nil)
		if resp.StatusCode != ref.StatusCode || body != refBody {
			t.Errorf("%s: %d %q, unknown: %d %q", name, resp.StatusCode, body, ref.StatusCode, refBody)
		}
		for k := range ref.Header {
			if resp.Header.Get(k) != ref.Header.Get(k) {
				t.Errorf("%s: header %s %q, unknown: %q", name, k, resp.Header.Get(k), ref.Header.Get(k))
			}
		}
	}
}

// The processor's text is text: HTML in it is escaped.
func TestPageEscapes(t *testing.T) {
	b := published(t)
	b.Report.Processor = `<script>alert(1)</script>`
	b.Report.SubjectNotice.Sv.WhatHappened = `<img src=x onerror=alert(1)> [x](javascript:alert(1))`
	b.Report.Contact.Email = `"><script>x</script>`
	b.Report.Contact.Phone = `javascript:alert(1)`
	_, body := serve(t, b, "/advisories/EX-1", nil)
	for _, bad := range []string{"<script", "<img", `href="javascript`} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q:\n%s", bad, body)
		}
	}
}
