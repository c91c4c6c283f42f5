package secret_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cascadehq/cascade/internal/secret"
)

func TestLoadCreatesThenReloadsTheSameSecret(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // missing: created 0700
	path := filepath.Join(dir, "secret.key")
	k1, err := secret.Load(path, true)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Size() != secret.Size {
		t.Fatalf("created %s: mode %04o, %d bytes; want 0600, %d", path, fi.Mode().Perm(), fi.Size(), secret.Size)
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Errorf("created directory mode %04o, want 0700", di.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	if bytes.Equal(raw, make([]byte, secret.Size)) {
		t.Fatal("created secret is all zero")
	}
	k2, err := secret.Load(path, false)
	if err != nil {
		t.Fatal(err)
	}
	if k1.Fingerprint() != k2.Fingerprint() || !bytes.Equal(k1.Derive("p"), k2.Derive("p")) {
		t.Fatal("reloaded secret differs from the created one")
	}
	if k3, err := secret.Load(path, true); err != nil || k3.Fingerprint() != k1.Fingerprint() {
		t.Fatalf("Load with create of an existing file: %v, %v; want the same secret", k3, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only secret.key (no temporary file left)", len(entries))
	}
}

func TestLoadConcurrentCreatesAgree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.key")
	fps := make([]string, 8)
	var wg sync.WaitGroup
	for i := range fps {
		wg.Go(func() {
			k, err := secret.Load(path, true)
			if err != nil {
				t.Error(err)
				return
			}
			fps[i] = k.Fingerprint()
		})
	}
	wg.Wait()
	for _, fp := range fps {
		if fp != fps[0] {
			t.Fatalf("concurrent creators got different secrets: %v", fps)
		}
	}
}

func TestLoadRefusesOpenModes(t *testing.T) {
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o620, 0o602} {
		t.Run(fmt.Sprintf("%04o", mode), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "secret.key")
			if err := os.WriteFile(path, bytes.Repeat([]byte{7}, secret.Size), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			for _, create := range []bool{false, true} {
				_, err := secret.Load(path, create)
				if err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) {
					t.Fatalf("Load of a %04o file (create %v): %v; want an error saying chmod 600", mode, create, err)
				}
			}
		})
	}
	// 0400 is fine.
	path := filepath.Join(t.TempDir(), "secret.key")
	if err := os.WriteFile(path, bytes.Repeat([]byte{7}, secret.Size), 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := secret.Load(path, false); err != nil {
		t.Fatalf("mode 0400: %v", err)
	}
}

func TestLoadMissingWithoutCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mounted", "secret.key")
	_, err := secret.Load(path, false)
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("Load of a missing file without create: %v; want a does-not-exist error", err)
	}
	if _, statErr := os.Stat(path); !os.IsNotExist(statErr) {
		t.Fatal("Load without create created the file")
	}
	if _, err := secret.Load("", true); err == nil {
		t.Fatal("Load of an empty path: no error")
	}
}

func TestLoadRefusesGroupWritableDirectoryOnCreate(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := secret.Load(filepath.Join(dir, "secret.key"), true)
	if err == nil || !strings.Contains(err.Error(), "chmod 750") {
		t.Fatalf("create in a 0777 directory: %v; want refused", err)
	}
}

func TestLoadFormats(t *testing.T) {
	raw := bytes.Repeat([]byte{0xA5}, secret.Size)
	want := write(t, raw).Fingerprint()
	b64 := base64.StdEncoding.EncodeToString(raw)
	for name, data := range map[string]string{"base64": b64, "base64 with newline": b64 + "\n", "base64 in spaces": "  " + b64 + " \r\n"} {
		if got := write(t, []byte(data)).Fingerprint(); got != want {
			t.Errorf("%s: fingerprint %s, want that of the raw bytes %s", name, got, want)
		}
	}
	for name, data := range map[string][]byte{
		"empty":         {},
		"31 bytes":      bytes.Repeat([]byte{1}, 31),
		"33 bytes":      bytes.Repeat([]byte{1}, 33),
		"zero":          make([]byte, secret.Size),
		"base64 of 16":  []byte(base64.StdEncoding.EncodeToString(raw[:16])),
		"not base64":    []byte(strings.Repeat("!", 44)),
		"large":         bytes.Repeat([]byte{'A'}, 1<<20),
		"zero base64":   []byte(base64.StdEncoding.EncodeToString(make([]byte, secret.Size))),
		"hex of 32":     []byte(strings.Repeat("ab", 32)),
		"base64url -_ ": []byte(strings.Repeat("-_", 22)),
	} {
		path := filepath.Join(t.TempDir(), "secret.key")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if k, err := secret.Load(path, false); err == nil {
			t.Errorf("%s: loaded %v, want an error", name, k)
		}
	}
}

func write(t *testing.T, data []byte) *secret.Key {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret.key")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := secret.Load(path, false)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestDerive(t *testing.T) {
	k := write(t, bytes.Repeat([]byte{1}, secret.Size))
	other := write(t, bytes.Repeat([]byte{2}, secret.Size))
	purposes := []string{"cascade signing-key sealing v1", "cascade token mac v1", "cascade page token v1", ""}
	seen := map[string]string{}
	for _, p := range purposes {
		d := k.Derive(p)
		if len(d) != 32 {
			t.Fatalf("Derive(%q): %d bytes, want 32", p, len(d))
		}
		if !bytes.Equal(d, k.Derive(p)) {
			t.Fatalf("Derive(%q) is not deterministic", p)
		}
		if bytes.Equal(d, other.Derive(p)) {
			t.Fatalf("Derive(%q) is the same under two secrets", p)
		}
		if q, dup := seen[string(d)]; dup {
			t.Fatalf("Derive(%q) == Derive(%q)", p, q)
		}
		seen[string(d)] = p
		if bytes.Equal(d, bytes.Repeat([]byte{1}, secret.Size)) {
			t.Fatalf("Derive(%q) is the secret", p)
		}
	}
	if k.Fingerprint() == other.Fingerprint() || len(k.Fingerprint()) != 32 {
		t.Fatalf("fingerprints %q and %q: want 32 hex characters, different", k.Fingerprint(), other.Fingerprint())
	}
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", *k, *k, *k, k)} {
		if strings.Contains(s, "1 1 1") || strings.Contains(s, "0x1") || strings.Contains(s, "[1") || !strings.Contains(s, k.Fingerprint()) {
			t.Fatalf("formatted key %q: want only its fingerprint", s)
		}
	}
}
