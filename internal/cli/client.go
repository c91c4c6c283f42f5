package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cascadehq/cascade/internal/natsauth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// clients are the gRPC API clients of one invocation.
type clients struct {
	conn    *grpc.ClientConn
	breach  cascadev1.BreachServiceClient
	notices cascadev1.NoticeServiceClient
	tokens  cascadev1.TokenServiceClient
	keys    cascadev1.KeyServiceClient
}

// dial prepares a connection to the gRPC API, with the token and TLS of
// the global flags, and extra options. It connects lazily: an unreachable
// daemon shows as Unavailable on the first call.
func (a *app) dial(extra ...grpc.DialOption) (*clients, error) {
	token, err := a.g.credential()
	if err != nil {
		return nil, err
	}
	transport := insecure.NewCredentials()
	if a.g.tlsOn() {
		if transport, err = a.g.clientTLS(); err != nil {
			return nil, err
		}
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(transport)}
	if token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer(token)))
		if !a.g.tlsOn() && !loopbackTarget(a.g.grpcAddr) && !a.warnedPlaintext {
			a.warnedPlaintext = true
			fmt.Fprintf(a.stderr, "cascadectl: WARNING: sending the token to %s without TLS: anyone on the way can read it (set --tls-ca)\n", a.g.grpcAddr)
		}
	}
	conn, err := grpc.NewClient(a.g.grpcAddr, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("gRPC address %q: %w", a.g.grpcAddr, err)
	}
	return &clients{
		conn:    conn,
		breach:  cascadev1.NewBreachServiceClient(conn),
		notices: cascadev1.NewNoticeServiceClient(conn),
		tokens:  cascadev1.NewTokenServiceClient(conn),
		keys:    cascadev1.NewKeyServiceClient(conn),
	}, nil
}

func (c *clients) Close() { _ = c.conn.Close() }

// bearer sends a token as "authorization: Bearer <token>" on every call.
// It does not require TLS, so a daemon on loopback can be reached in
// plaintext; dial warns when the token would cross a network in clear.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }

// String keeps the token out of any %v of the credentials.
func (bearer) String() string { return "bearer(redacted)" }

// maxTokenFileBytes bounds --token-file: a token is a line of text.
const maxTokenFileBytes = 4096

// credential is the bearer token of the flags or the environment ("" for
// none): --token or --token-file, else CASCADE_TOKEN or
// CASCADE_TOKEN_FILE. A file's content is trimmed of surrounding space.
// No error message contains the token.
func (g *globals) credential() (string, error) {
	token, file, fileSource := g.token, g.tokenFile, "--token-file"
	if token == "" && file == "" {
		token, file, fileSource = g.envToken, g.envTokenFile, EnvTokenFile
	}
	source := "--token"
	if g.token == "" {
		source = EnvToken
	}
	if file != "" {
		data, err := readLimited(file, maxTokenFileBytes)
		if err != nil {
			return "", fmt.Errorf("%s: %w", fileSource, err)
		}
		token, source = strings.TrimSpace(string(data)), fileSource+" "+file
		if token == "" {
			return "", fmt.Errorf("%s: the file is empty", source)
		}
	}
	token = strings.TrimSpace(token)
	for _, r := range token {
		if r <= ' ' || r > '~' {
			return "", fmt.Errorf("%s: the token has a space, line break or other character no token has (is it one token, on one line?)", source)
		}
	}
	return token, nil
}

// tokenSource names where the bearer token comes from, as credential
// chooses it, e.g. "--token-file vendor.token"; "" when none is given.
func (g *globals) tokenSource() string {
	switch {
	case g.token != "":
		return "--token"
	case g.tokenFile != "":
		return "--token-file " + g.tokenFile
	case g.envToken != "":
		return EnvToken
	case g.envTokenFile != "":
		return EnvTokenFile + " " + g.envTokenFile
	}
	return ""
}

// readLimited reads file, refusing one longer than limit bytes.
func readLimited(file string, limit int64) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: longer than %d bytes: not a token file", file, limit)
	}
	return data, nil
}

// tlsOn reports whether the gRPC connection uses TLS: any TLS flag turns
// it on.
func (g *globals) tlsOn() bool {
	return g.tlsCA != "" || g.tlsCert != "" || g.tlsKey != "" || g.tlsServerName != ""
}

// clientTLS is the TLS configuration of the flags: the server verified
// against --tls-ca (else the system's roots), a client certificate for
// mutual TLS if given.
func (g *globals) clientTLS() (credentials.TransportCredentials, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: g.tlsServerName}
	if g.tlsCA != "" {
		pem, err := os.ReadFile(g.tlsCA)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s: no PEM certificate found", g.tlsCA)
		}
		cfg.RootCAs = pool
	}
	if g.tlsCert != "" || g.tlsKey != "" {
		cert, err := tls.LoadX509KeyPair(g.tlsCert, g.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		// Always present it: Go would otherwise send none when cascaded
		// names other CAs as acceptable, and the call would fail as
		// "missing credentials" instead of a rejected certificate.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	}
	return credentials.NewTLS(cfg), nil
}

// loopbackTarget reports whether a gRPC target ("host:port",
// "dns:///host:port", "unix:///path", ...) stays on this machine.
func loopbackTarget(target string) bool {
	endpoint := target
	if scheme, rest, ok := strings.Cut(target, ":"); ok && !strings.ContainsAny(scheme, "[].") {
		switch scheme {
		case "unix", "unix-abstract":
			return true
		case "dns", "passthrough", "ipv4", "ipv6":
			endpoint = rest
			if u, err := url.Parse(target); err == nil && strings.HasPrefix(rest, "//") {
				endpoint = strings.TrimPrefix(u.Path, "/")
			}
		}
	}
	host, _, err := net.SplitHostPort(endpoint)
	if err != nil {
		host = endpoint
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// connHint explains an Unavailable error that comes from a TLS mismatch
// between cascadectl and the daemon, which gRPC reports in TLS's words,
// and a client certificate the daemon did not ask for; "" for other errors.
func (a *app) connHint(st *status.Status) string {
	msg := st.Message()
	if st.Code() == codes.Unauthenticated && a.g.tlsCert != "" && strings.HasPrefix(msg, "missing credentials") {
		return "(cascaded did not ask for the client certificate of --tls-cert: it takes certificates only when started with --tls-client-ca)"
	}
	if st.Code() != codes.Unavailable {
		return ""
	}
	switch {
	case a.g.tlsOn() && strings.Contains(msg, "first record does not look like a TLS handshake"):
		return "(cascaded does not serve TLS at " + a.g.grpcAddr + ": drop the --tls-* flags and CASCADE_TLS_* variables, or check --grpc-addr)"
	case strings.Contains(msg, "x509: certificate signed by unknown authority"):
		return "(cascaded's certificate is not signed by a CA cascadectl trusts: set --tls-ca to the CA certificate, or " + EnvTLSCA + ")"
	case strings.Contains(msg, "x509: certificate is valid for") || strings.Contains(msg, "x509: certificate is not valid for") ||
		strings.Contains(msg, "x509: cannot validate certificate") || strings.Contains(msg, "legacy Common Name"):
		return "(cascaded's certificate names another host: connect by a name it has, or set --tls-server-name)"
	case strings.Contains(msg, "remote error: tls: "):
		return "(cascaded refused the client certificate of --tls-cert: it must be issued by the CA of cascaded's --tls-client-ca, be valid now and allow client authentication)"
	case !a.g.tlsOn() && (strings.Contains(msg, "error reading server preface") || strings.Contains(msg, "connection reset by peer")):
		return "(cascaded closed the connection: if it serves TLS at " + a.g.grpcAddr + ", set --tls-ca, or " + EnvTLSCA + ")"
	}
	return ""
}

// connectNATS connects to --nats-url, within ctx's deadline.
func (a *app) connectNATS(ctx context.Context) (*nats.Conn, error) {
	timeout := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	opts := []nats.Option{nats.Name("cascadectl"), nats.Timeout(timeout)}
	if a.g.natsNkey != "" {
		o, err := natsauth.UserOptionFromFile(a.g.natsNkey)
		if err != nil {
			return nil, fmt.Errorf("--nats-nkey: %w", err)
		}
		opts = append(opts, o)
	}
	nc, err := nats.Connect(a.g.natsURL, opts...)
	if err != nil && strings.Contains(err.Error(), "Authorization Violation") {
		return nil, &hintError{
			err: fmt.Errorf("connect to NATS at %s: %w", a.g.natsURL, err),
			hint: "(the NATS server admits only its users: pass your NKey seed file with --nats-nkey FILE or " + EnvNATSNkey +
				"; cascaded's embedded server keeps the vendor's in <data-dir>/nats-auth/vendor.nk, e.g. cascade-data/nats-auth/vendor.nk)",
		}
	}
	if err != nil {
		return nil, &hintError{
			err:  fmt.Errorf("connect to NATS at %s: %w", a.g.natsURL, err),
			hint: "(is the NATS server of cascaded reachable? Set the URL with --nats-url or " + EnvNATSURL + ".)",
		}
	}
	return nc, nil
}
