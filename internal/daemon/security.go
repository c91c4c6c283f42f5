package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/grpc/credentials"

	"github.com/cascadehq/cascade/internal/auth"
)

// serverTLS loads the gRPC server's certificate and, for mutual TLS, the
// CA that issues client certificates. nil means plaintext.
func serverTLS(o Options) (credentials.TransportCredentials, error) {
	if o.TLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if o.TLSClientCA != "" {
		pem, err := os.ReadFile(o.TLSClientCA)
		if err != nil {
			return nil, fmt.Errorf("--tls-client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-client-ca %s: no PEM certificate found", o.TLSClientCA)
		}
		cfg.ClientCAs = pool
		// Token clients need no certificate; a certificate, if sent, must verify.
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return credentials.NewTLS(cfg), nil
}

// bootstrapToken issues the first vendor token when none exists and
// writes it, owner-readable only, to the bootstrap token file. The token
// never appears in the log.
func (d *Daemon) bootstrapToken(ctx context.Context, tokens *auth.Tokens) error {
	any, err := tokens.Any(ctx)
	if err != nil || any {
		return err
	}
	path := d.opts.BootstrapTokenFile
	if path == "" {
		path = filepath.Join(d.opts.DataDir, "vendor.token")
	}
	// It creates what it writes: a fresh --data-dir with --nats-url has
	// no directory yet.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("bootstrap token file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("bootstrap token file %s exists but the token store is empty: remove the file (its token is not valid here) and start again", path)
	}
	if err != nil {
		return fmt.Errorf("bootstrap token file: %w", err)
	}
	secret, tok, err := tokens.Issue(ctx, "", auth.RoleVendor, "bootstrap")
	if err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if _, err := fmt.Fprintln(f, secret); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	d.log.Warn("issued the first vendor token; use it to issue the others (cascadectl tokens issue), then keep it safe or revoke it",
		"file", path, "token_id", tok.ID)
	return nil
}
