// Package advisory serves the public advisory page of a breach,
// /advisories/<breach_id>: what the processor tells the people whose data
// may be concerned (its subject_notice), what they should do, how to tell
// a genuine message from phishing, and the processor's contact. It needs
// no token, and exists only while the vendor has published it
// (BreachService.PublishAdvisory): before, after UnpublishAdvisory, and
// for a breach that does not exist, it answers the same 404. The page
// never names the affected organisations or their numbers. It is
// server-rendered HTML in Swedish or English (?lang=, else
// Accept-Language), needs no JavaScript and allows none.
package advisory

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Stockholm dates whatever the host has installed

	"github.com/cascadehq/cascade/internal/breach"
)

// Breaches reads a breach (implemented by the store).
type Breaches interface {
	GetBreach(ctx context.Context, id breach.BreachID) (*breach.Breach, error)
}

// Pattern is the route the handler serves.
const Pattern = "GET /advisories/{breach}"

// Handler serves the advisory pages.
type Handler struct {
	breaches Breaches
	log      *slog.Logger
	loc      *time.Location
}

// New returns the handler of Pattern.
func New(breaches Breaches, log *slog.Logger) *Handler {
	loc, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		loc = time.UTC
	}
	return &Handler{breaches: breaches, log: log, loc: loc}
}

// contentSecurityPolicy allows nothing but the page's own inline style
// (by its hash): no script, no image, no form, no frame.
var contentSecurityPolicy = "default-src 'none'; style-src '" + styleHash() + "'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func styleHash() string {
	h := sha256.Sum256([]byte(style))
	return "sha256-" + base64.StdEncoding.EncodeToString(h[:])
}

func setHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	h.Set("Cache-Control", "no-cache") // withdrawn pages disappear at once
	h.Set("Vary", "Accept-Language")
}

// ServeHTTP answers one advisory page, or the one 404.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setHeaders(w.Header())
	lang := Language(r.URL.Query().Get("lang"), r.Header.Get("Accept-Language"))
	id, err := breach.ParseBreachID(r.PathValue("breach"))
	if err != nil {
		notFound(w, lang)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	b, err := h.breaches.GetBreach(ctx, id)
	switch {
	case errors.Is(err, breach.ErrNotFound):
		notFound(w, lang)
		return
	case err != nil:
		h.log.Error("advisory page: read breach", "breach_id", id, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(wordsFor(lang).unavailable + "\n"))
		return
	}
	published := b.AdvisoryPublishedAt()
	if published.IsZero() {
		notFound(w, lang) // exactly as for a breach that does not exist
		return
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, h.view(b, published, lang)); err != nil {
		h.log.Error("advisory page: render", "breach_id", id, "err", err)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	_, _ = w.Write(buf.Bytes())
}

// notFound is the one answer for a breach without a published advisory,
// whatever the reason: unknown, malformed, never published or withdrawn.
func notFound(w http.ResponseWriter, lang string) {
	var buf bytes.Buffer
	_ = notFoundPage.Execute(&buf, struct {
		Lang  string
		Style template.CSS
		W     *words
	}{lang, template.CSS(style), wordsFor(lang)})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write(buf.Bytes())
}

// Language picks "sv" or "en": the query's lang if it names one, else the
// Accept-Language preferred (by q-value, then order), else Swedish.
func Language(query, accept string) string {
	switch q := strings.ToLower(strings.TrimSpace(query)); q {
	case "sv", "en":
		return q
	}
	best, bestQ := "sv", 0.0
	for _, part := range strings.Split(accept, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if base != "sv" && base != "en" {
			continue
		}
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		if q > bestQ {
			best, bestQ = base, q
		}
	}
	return best
}
