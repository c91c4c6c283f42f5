package daemon

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/cascadehq/cascade/internal/advisory"
	"github.com/cascadehq/cascade/internal/dashboard"
)

// maxHeaderBytes bounds a request's headers (a bearer token is under 100 bytes).
const maxHeaderBytes = 64 << 10

// newHTTPServer serves /healthz, /metrics, the public advisory pages
// (/advisories/<breach_id>) and, at /, the web dashboard.
// The dashboard is a client of the daemon's own gRPC server over an
// in-process connection, so every browser request is authenticated and
// authorised by the same interceptors as any gRPC call.
func (d *Daemon) newHTTPServer() (*http.Server, error) {
	cc, err := d.dialSelf()
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	d.cleanups = append(d.cleanups, func() { cc.Close() })
	dash := dashboard.New(dashboard.Config{Conn: cc, NoAuth: d.opts.InsecureNoAuth, Gate: d.guard, Keys: d.publicKeys, Now: d.opts.Now,
		Log: d.log.With("component", "dashboard")})
	if !d.opts.InsecureNoAuth && !loopback(d.opts.HTTPAddr) {
		d.log.Warn("the dashboard is served over plain HTTP on a non-loopback address: bearer tokens travel in clear text; put it behind a TLS proxy")
	}
	t, def := d.opts.HTTPTimeouts, DefaultHTTPTimeouts
	// The live views lift ReadTimeout and set a deadline per write
	// (internal/dashboard), so WriteTimeout bounds the other answers only.
	srv := &http.Server{Handler: d.httpHandler(dash), MaxHeaderBytes: maxHeaderBytes,
		ReadHeaderTimeout: cmp.Or(t.ReadHeader, def.ReadHeader), ReadTimeout: cmp.Or(t.Read, def.Read),
		WriteTimeout: cmp.Or(t.Write, def.Write), IdleTimeout: cmp.Or(t.Idle, def.Idle)}
	srv.RegisterOnShutdown(dash.Close) // live streams end, so gRPC can drain
	return srv, nil
}

// dialSelf connects to the daemon's own gRPC server through an in-memory
// listener: no port, whatever --grpc-addr is. With TLS on, the client
// accepts exactly the daemon's own certificate.
func (d *Daemon) dialSelf() (*grpc.ClientConn, error) {
	ln := bufconn.Listen(1 << 20)
	d.goRun("grpc-in-process", func() error { return d.grpc.Serve(ln) })
	creds := insecure.NewCredentials()
	if d.opts.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(d.opts.TLSCert, d.opts.TLSKey)
		if err != nil {
			return nil, err
		}
		own := cert.Certificate[0]
		creds = credentials.NewTLS(&tls.Config{
			MinVersion: tls.VersionTLS12,
			// The name is not checked: the peer is this process, pinned below.
			InsecureSkipVerify: true, //nolint:gosec // certificate pinned in VerifyPeerCertificate
			VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
				if len(raw) == 0 || !bytes.Equal(raw[0], own) {
					return errors.New("in-process gRPC peer is not this daemon")
				}
				return nil
			},
		})
	}
	return grpc.NewClient("passthrough:///cascaded-in-process",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
}

func (d *Daemon) httpHandler(dash http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", dash)
	// The public advisory pages need no token: served from the store, not
	// through the dashboard's authenticated gRPC connection.
	mux.Handle(advisory.Pattern, advisory.New(d.st, d.log.With("component", "advisory")))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if _, err := d.st.JetStream().AccountInfo(ctx); err != nil {
			http.Error(w, "jetstream unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	// Prometheus metrics (internal/metrics): counters kept as the daemon
	// works, and gauges read from the store at scrape time.
	mux.Handle("GET /metrics", d.metrics.Handler())
	return mux
}
