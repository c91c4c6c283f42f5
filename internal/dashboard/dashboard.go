// Package dashboard serves Cascade's web dashboard: static pages (HTML,
// CSS and plain JavaScript, embedded) for the vendor and for each
// organisation, and a small JSON and server-sent-events backend for them.
//
// The backend is a gRPC client of the daemon's own API: it forwards the
// browser's "Authorization: Bearer <token>" as gRPC metadata, so who may
// see and do what, redaction and errors are exactly those of the gRPC API
// (internal/auth). It holds no credentials of its own and never logs a
// token.
package dashboard

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

//go:embed static
var static embed.FS

// DefaultPollInterval is how often a live view that has no gRPC watch
// (the breach list, a controller's notices, one notice's history) asks
// again.
const DefaultPollInterval = 2 * time.Second

// Config is what the dashboard needs.
type Config struct {
	// Conn is a connection to the daemon's own gRPC API.
	Conn grpc.ClientConnInterface
	// NoAuth: the API runs without authentication (--insecure-no-auth).
	// The dashboard then answers loopback clients only, with the full
	// view.
	NoAuth bool
	// Gate, if set, admits requests before the dashboard does any work
	// for them (implemented by auth.Guard).
	Gate Gate
	// Keys are the public signing keys the check page verifies with; nil
	// turns the check off.
	Keys Keys
	// PollInterval of the live views without a gRPC watch; 0 means
	// DefaultPollInterval.
	PollInterval time.Duration
	Log          *slog.Logger
	Now          func() time.Time // clock; nil means time.Now
}

// Gate checks credentials and counts live views for the dashboard. Its
// errors are gRPC statuses, answered like the API's.
type Gate interface {
	// Authenticate checks an Authorization header: the dashboard calls it
	// before it reads a request body.
	Authenticate(ctx context.Context, authorization string) error
	// OpenStream admits one live view (Unauthenticated, ResourceExhausted
	// otherwise). Its context ends when the credentials are revoked, with
	// the status to tell the page as its cause; release frees the place.
	OpenStream(ctx context.Context, authorization string) (_ context.Context, release func(), _ error)
}

// Dashboard is the dashboard's HTTP handler.
type Dashboard struct {
	breaches cascadev1.BreachServiceClient
	notices  cascadev1.NoticeServiceClient
	conn     grpc.ClientConnInterface // for the session's WhoAmI
	noAuth   bool
	gate     Gate
	keys     Keys
	poll     time.Duration
	log      *slog.Logger
	now      func() time.Time
	mux      *http.ServeMux
	handler  http.Handler    // mux behind cross-origin protection
	done     context.Context // ends the live streams on Close
	close    context.CancelFunc
}

// New returns the dashboard. Close ends its live streams.
func New(cfg Config) *Dashboard {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	d := &Dashboard{
		breaches: cascadev1.NewBreachServiceClient(cfg.Conn),
		notices:  cascadev1.NewNoticeServiceClient(cfg.Conn),
		conn:     cfg.Conn,
		noAuth:   cfg.NoAuth,
		gate:     cfg.Gate,
		keys:     cfg.Keys,
		poll:     cfg.PollInterval,
		log:      cfg.Log,
		now:      cfg.Now,
		mux:      http.NewServeMux(),
	}
	d.done, d.close = context.WithCancel(context.Background())
	files, _ := fs.Sub(static, "static")
	d.mux.Handle("GET /{$}", serveFile(files, "index.html"))
	d.mux.Handle("GET /static/{file}", http.StripPrefix("/static/", http.FileServerFS(files)))
	d.mux.HandleFunc("GET /api/session", d.session)
	d.mux.HandleFunc("GET /api/breaches/{breach}", d.getBreach)
	d.routeWorkspace()
	d.mux.HandleFunc("POST "+verifyPath, d.verifyMessage)
	d.mux.HandleFunc("GET /api/events/breaches", d.breachListEvents)
	d.mux.HandleFunc("GET /api/events/breaches/{breach}", d.breachEvents)
	d.mux.HandleFunc("GET /api/events/notices", d.noticeListEvents)
	d.mux.HandleFunc("GET /api/events/notices/{breach}/{org}", d.noticeEvents)
	// Another site's page may not make the browser post here (the token is
	// not a cookie, but without authentication nothing else would stop it).
	d.handler = http.NewCrossOriginProtection().Handler(d.mux)
	return d
}

// Close ends every live stream, so that the HTTP and gRPC servers can
// shut down without waiting for browsers.
func (d *Dashboard) Close() { d.close() }

// contentSecurityPolicy allows only the dashboard's own files and API.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// ServeHTTP sets the security headers and, without authentication,
// answers loopback clients only.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	if strings.HasPrefix(r.URL.Path, "/api/") {
		h.Set("Cache-Control", "no-store")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if d.noAuth && !(loopbackHost(r.Host) && loopbackAddr(r.RemoteAddr)) {
		// Without authentication anyone who reaches the page could act as
		// any organisation; a non-loopback Host also means DNS rebinding.
		writeJSONError(w, http.StatusForbidden, "PERMISSION_DENIED",
			"authentication is off (--insecure-no-auth): the dashboard answers only on localhost")
		return
	}
	// The check page's POST is the one exemption: it works without
	// credentials (verify.go), with its own, larger cap.
	verifying := r.Method == http.MethodPost && r.URL.Path == verifyPath
	if d.gate != nil && r.Method != http.MethodGet && r.Method != http.MethodHead && !verifying {
		// Credentials first: an unauthenticated client gets its 401
		// without the server reading what it sends, and the connection
		// closes (the unread body must not be read as a next request).
		ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
		err := d.gate.Authenticate(ctx, r.Header.Get("Authorization"))
		cancel()
		if err != nil {
			w.Header().Set("Connection", "close")
			d.writeError(w, r, err)
			return
		}
	}
	// No handler reads more, and the server discards no more of a body
	// left unread, than this.
	limit := int64(maxBodyBytes)
	if verifying {
		limit = maxVerifyBytes
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	d.handler.ServeHTTP(w, r)
}

func serveFile(files fs.FS, name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, files, name)
	})
}

// loopbackHost reports whether a Host header names this machine.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
