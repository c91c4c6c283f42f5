// Package secret is Cascade's deployment secret: 32 random bytes kept
// outside NATS, in a file, from which the keys that protect what Cascade
// stores in NATS are derived (the sealing key of the private signing keys,
// the MAC key of the token records, ...). Nothing stored in NATS grants
// power by itself: whoever reads or writes the buckets without the secret
// can neither sign nor mint a token.
//
// The file holds the 32 bytes raw, or their standard base64 (what
// `openssl rand -base64 32` prints), and must be readable by its owner
// only (mode 0600 or 0400). The daemon creates <data-dir>/secret.key on
// first start; a mounted file (a Kubernetes Secret) is never created.
// Every daemon on one NATS store must use the same secret: [Key.Fingerprint]
// is a non-secret id of it that the daemon records in NATS to refuse a
// daemon with another one.
package secret

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
)

// Size is the length of the secret in bytes.
const Size = 32

// maxFileSize bounds what Load reads: the base64 form with a line break
// is 45 bytes.
const maxFileSize = 1024

// fingerprintPurpose derives the fingerprint; it is public, so it is
// derived like any other key and reveals nothing of the others.
const fingerprintPurpose = "cascade secret fingerprint v1"

// Key is a loaded deployment secret. Its String and LogValue show only
// its fingerprint.
type Key struct {
	b  [Size]byte
	fp string
}

// Load reads the secret in the file at path. With create, a missing file
// is created with 32 new random bytes (mode 0600, written atomically and
// fsynced; a missing directory is created with mode 0700); without,
// a missing file is an error. A file readable or writable by group or
// others, or that is not a regular file, is refused.
func Load(path string, create bool) (*Key, error) {
	if path == "" {
		return nil, errors.New("secret file: no path")
	}
	k, err := load(path)
	if errors.Is(err, os.ErrNotExist) {
		if !create {
			return nil, fmt.Errorf("secret file %s does not exist: create it with 32 random bytes (e.g. `openssl rand -base64 32 > %s && chmod 600 %s`) and give every daemon on this NATS store the same file", path, path, path)
		}
		if err := createFile(path); err != nil {
			return nil, err
		}
		return load(path)
	}
	return k, err
}

// load reads and checks an existing file.
func load(path string) (*Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("secret file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secret file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("secret file %s is not a regular file (%s)", path, fi.Mode().Type())
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("secret file %s has mode %04o: group or others may read or change it; run `chmod 600 %s` (for a Kubernetes Secret volume set defaultMode: 0400)", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("secret file %s: %w", path, err)
	}
	b, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("secret file %s: %w", path, err)
	}
	return newKey(b), nil
}

// parse accepts the 32 bytes raw or as standard base64 (line breaks and
// spaces around it ignored).
func parse(data []byte) ([Size]byte, error) {
	var b [Size]byte
	switch {
	case len(data) > maxFileSize:
		return b, fmt.Errorf("more than %d bytes; want %d random bytes, raw or in base64", maxFileSize, Size)
	case len(data) == Size:
		copy(b[:], data)
	default:
		text := bytes.TrimSpace(data)
		raw := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
		n, err := base64.StdEncoding.Decode(raw, text)
		if err != nil || n != Size {
			return b, fmt.Errorf("%d bytes that are neither %d raw bytes nor their base64 (e.g. `openssl rand -base64 32`)", len(data), Size)
		}
		copy(b[:], raw[:n])
	}
	if b == [Size]byte{} {
		return b, errors.New("the secret is all zero bytes; use 32 random bytes")
	}
	return b, nil
}

// createFile writes 32 random bytes to path, never over an existing file:
// a temporary file in the same directory, fsynced, is linked to path and
// the directory fsynced.
func createFile(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("secret file directory: %w", err)
	}
	di, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("secret file directory: %w", err)
	}
	if perm := di.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("secret file directory %s has mode %04o: others may replace files in it; run `chmod 750 %s` (or 700)", dir, perm, dir)
	}
	var b [Size]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Errorf("secret: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".secret-*.tmp") // mode 0600
	if err != nil {
		return fmt.Errorf("create secret file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b[:]); err != nil {
		tmp.Close()
		return fmt.Errorf("write secret file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write secret file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write secret file: %w", err)
	}
	// Link, unlike rename, fails on an existing file: of two daemons
	// creating it at once, both end up with the first one's secret.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create secret file: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync secret file directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync secret file directory: %w", err)
	}
	return nil
}

func newKey(b [Size]byte) *Key {
	k := &Key{b: b}
	k.fp = hex.EncodeToString(k.Derive(fingerprintPurpose)[:16])
	return k
}

// Derive is the 32-byte key for purpose (HKDF-SHA256 of the secret, with
// purpose as the info string), e.g. "cascade signing-key sealing v1".
// Different purposes give independent keys.
func (k *Key) Derive(purpose string) []byte {
	out, err := hkdf.Key(sha256.New, k.b[:], nil, purpose, Size)
	if err != nil { // only for lengths over 255 hashes: not reached
		panic("secret: " + err.Error())
	}
	return out
}

// Fingerprint is a non-secret id of the secret (32 hex characters, derived
// like a key): equal fingerprints mean the same secret.
func (k *Key) Fingerprint() string { return k.fp }

// String shows the fingerprint only (also for %v and %#v).
func (k Key) String() string { return "secret(fingerprint " + k.fp + ")" }

// GoString shows the fingerprint only.
func (k Key) GoString() string { return k.String() }

// LogValue logs the fingerprint only.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.fp) }
