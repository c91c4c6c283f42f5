package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/evidence"
	"github.com/cascadehq/cascade/internal/signing"
)

// TestEndToEndEvidenceSigned exports a breach's evidence from a real
// daemon, verifies it offline with the saved key set, then tampers with
// copies of it in every way the signed manifest must catch, each failing
// with its own message.
func TestEndToEndEvidenceSigned(t *testing.T) {
	c := startDaemon(t)
	c.must("breach", "publish", exampleBreach)

	keysFile := filepath.Join(t.TempDir(), "keys.json")
	c.must("keys", "list", "--save", keysFile)
	keysData, err := os.ReadFile(keysFile)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := signing.ParseKeySet(keysData)
	if err != nil || len(keys.Keys) != 1 {
		t.Fatalf("saved keys %v: %v", keys, err)
	}
	kid := keys.Keys[0].ID

	orig := filepath.Join(t.TempDir(), "ev")
	r := c.must("evidence", "export", "--breach", exampleID, "--dir", orig)
	for _, want := range []string{filepath.Join(orig, "manifest.json"), filepath.Join(orig, "manifest.sig"), "key " + kid,
		"cascadectl evidence verify " + orig + " --keys keys.json"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("export stdout lacks %q:\n%s", want, r.stdout)
		}
	}

	// verify runs cascadectl evidence verify DIR --keys FILE offline: no
	// daemon, no token.
	verify := func(dir, keysFile string, extra ...string) result {
		return runCLI(t.Context(), append([]string{"evidence", "verify", dir, "--keys", keysFile}, extra...)...)
	}
	p := func(dir, name string) string { return filepath.Join(dir, name) }

	t.Run("genuine", func(t *testing.T) {
		r := verify(orig, keysFile)
		want := p(orig, "manifest.json") + ": signature OK (Cascade key " + kid + "; breach " + exampleID + ", exported "
		if r.code != 0 || !strings.HasPrefix(r.stdout, want) ||
			!strings.HasSuffix(r.stdout, ")\n"+p(orig, "evidence.json")+": OK\n"+p(orig, "evidence.csv")+": OK\n"+p(orig, "SHA256SUMS")+": OK\n") ||
			r.stderr != "" {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		r = verify(orig, keysFile, "-o", "json")
		var v verifyJSON
		if err := json.Unmarshal([]byte(r.stdout), &v); r.code != 0 || err != nil || !v.OK || !v.Signed || v.KeyID != kid ||
			v.Scope == nil || v.Scope.ID != exampleID || v.ExportedAt == nil || len(v.Files) != 3 {
			t.Errorf("-o json: exit %d, %v:\n%s", r.code, err, r.stdout)
		}
		// Without --keys, the keys come from cascaded.
		if r := c.run("evidence", "verify", orig); r.code != 0 || !strings.Contains(r.stdout, "signature OK (Cascade key "+kid) {
			t.Errorf("with cascaded's keys: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})

	// Each case tampers with a fresh copy of the export.
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, dir string) // nil: none
		keys   func(t *testing.T) string      // the key file; nil: keysFile
		stdout []string
		stderr []string
	}{
		{name: "file changed", tamper: func(t *testing.T, dir string) {
			data := read(t, p(dir, "evidence.csv"))
			data[len(data)/2] ^= 0x01
			write(t, p(dir, "evidence.csv"), data)
		}, stdout: []string{"signature OK", "evidence.json: OK", "evidence.csv: FAILED", "SHA256SUMS: OK"},
			stderr: []string{"evidence.csv: SHA-256 digest mismatch: expected ", "does NOT match its signed manifest (1 of 3 files changed or missing, 0 not in it)"}},

		{name: "file and its digests changed", tamper: func(t *testing.T, dir string) {
			// The CSV, its line in SHA256SUMS and its entry in the manifest
			// changed together: sha256sum -c is satisfied, the signature not.
			data := read(t, p(dir, "evidence.csv"))
			changed := bytes.Replace(data, []byte("se-kommun-0180"), []byte("se-kommun-0181"), 1)
			write(t, p(dir, "evidence.csv"), changed)
			for _, name := range []string{"SHA256SUMS", "manifest.json"} {
				write(t, p(dir, name), bytes.ReplaceAll(read(t, p(dir, name)), []byte(evidence.Digest(data)), []byte(evidence.Digest(changed))))
			}
			if err := evidence.CheckFiles(dir); err != nil {
				t.Fatalf("SHA256SUMS does not agree with the changed file: %v", err)
			}
		}, stdout: []string{"manifest.json: FAILED"},
			stderr: []string{"manifest.json: signature does not match: the manifest was changed after the export or was not signed by Cascade",
				"no file in"}},

		{name: "signature changed", tamper: func(t *testing.T, dir string) {
			sig := read(t, p(dir, "manifest.sig"))
			i := bytes.Index(sig, []byte("sig=")) + 20
			sig[i] = map[bool]byte{true: 'B', false: 'A'}[sig[i] == 'A']
			write(t, p(dir, "manifest.sig"), sig)
		}, stdout: []string{"manifest.json: FAILED"}, stderr: []string{"manifest.json: signature does not match"}},

		{name: "signature removed", tamper: func(t *testing.T, dir string) {
			must(t, os.Remove(p(dir, "manifest.sig")))
		}, stdout: []string{"manifest.json: FAILED"},
			stderr: []string{"the export is not signed: manifest.json has no manifest.sig beside it", "with --unsigned"}},

		{name: "file missing", tamper: func(t *testing.T, dir string) {
			must(t, os.Remove(p(dir, "evidence.json")))
		}, stdout: []string{"evidence.json: FAILED", "evidence.csv: OK"},
			stderr: []string{"evidence.json: missing: the signed manifest lists it", "(1 of 3 files changed or missing, 0 not in it)"}},

		{name: "file added", tamper: func(t *testing.T, dir string) {
			write(t, p(dir, "evidence-corrected.csv"), []byte("notice_id\n"))
		}, stdout: []string{"evidence.json: OK", "evidence-corrected.csv: FAILED"},
			stderr: []string{"evidence-corrected.csv: not in the signed manifest: a file was added to the export", "(0 of 3 files changed or missing, 1 not in it)"}},

		{name: "key set of another deployment", keys: func(t *testing.T) string {
			other := startDaemon(t)
			f := filepath.Join(t.TempDir(), "other-keys.json")
			other.must("keys", "list", "--save", f)
			return f
		}, stdout: []string{"manifest.json: FAILED"},
			stderr: []string{"unknown signing key " + kid + ": not one of Cascade's published keys", "this Cascade deployment's"}},

		{name: "key expired", keys: func(t *testing.T) string {
			var ks signing.KeySet
			must(t, json.Unmarshal(keysData, &ks))
			ks.Keys[0].Active, ks.Keys[0].ExpiresAt = false, time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
			data, err := json.Marshal(ks)
			must(t, err)
			f := filepath.Join(t.TempDir(), "expired-keys.json")
			write(t, f, data)
			return f
		}, stdout: []string{"manifest.json: FAILED"},
			stderr: []string{"signing key expired: key " + kid + " stopped verifying evidence at ", "overlap has passed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ev")
			must(t, os.CopyFS(dir, os.DirFS(orig)))
			if tc.tamper != nil {
				tc.tamper(t, dir)
			}
			kf := keysFile
			if tc.keys != nil {
				kf = tc.keys(t)
			}
			r := verify(dir, kf)
			if r.code != 1 {
				t.Errorf("exit %d, want 1", r.code)
			}
			for _, want := range tc.stdout {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q", want)
				}
			}
			for _, want := range tc.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q", want)
				}
			}
			if t.Failed() {
				t.Logf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			}
			var v verifyJSON
			r = verify(dir, kf, "-o", "json")
			if err := json.Unmarshal([]byte(r.stdout), &v); r.code != 1 || err != nil || v.OK {
				t.Errorf("-o json: exit %d, %v:\n%s", r.code, err, r.stdout)
			}
		})
	}

	t.Run("signature removed, --unsigned", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "ev")
		must(t, os.CopyFS(dir, os.DirFS(orig)))
		must(t, os.Remove(p(dir, "manifest.sig")))
		r := runCLI(t.Context(), "evidence", "verify", dir, "--unsigned")
		if r.code != 0 || !strings.Contains(r.stderr, "WARNING: "+dir+" is not signed: checked against SHA256SUMS only") {
			t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("after a key rotation", func(t *testing.T) {
		// The replaced key keeps verifying evidence it signed; a new
		// export is signed by the new key.
		c.must("keys", "rotate")
		rotated := filepath.Join(t.TempDir(), "keys.json")
		c.must("keys", "list", "--save", rotated)
		if r := verify(orig, rotated); r.code != 0 || !strings.Contains(r.stdout, "signature OK (Cascade key "+kid) {
			t.Errorf("old export, rotated keys: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		dir := filepath.Join(t.TempDir(), "ev2")
		c.must("evidence", "export", "--org", "se-kommun-0180", "--dir", dir)
		if r := verify(dir, rotated); r.code != 0 || strings.Contains(r.stdout, kid) || !strings.Contains(r.stdout, "organisation se-kommun-0180") {
			t.Errorf("new export, rotated keys: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		// The key set saved before the rotation does not know the new key.
		if r := verify(dir, keysFile); r.code != 1 || !strings.Contains(r.stderr, "unknown signing key") {
			t.Errorf("new export, keys saved before the rotation: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
