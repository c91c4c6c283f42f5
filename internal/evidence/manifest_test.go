package evidence_test

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cascadehq/cascade/internal/evidence"
	"github.com/cascadehq/cascade/internal/signing"
	"github.com/cascadehq/cascade/internal/testkit"
)

// testKey is a deterministic signing key: seed bytes all b.
func testKey(b byte, at time.Time) *signing.Key {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
	pub := priv.Public().(ed25519.PublicKey)
	return &signing.Key{ID: signing.KeyID(pub), Public: pub, Private: priv, CreatedAt: at, Active: true}
}

func keysOf(keys ...*signing.Key) signing.KeySet {
	var ks signing.KeySet
	for _, k := range keys {
		ks.Keys = append(ks.Keys, k.PublicPart())
	}
	return ks
}

// signedExport is the fixture, signed with key.
func signedExport(t *testing.T, key *signing.Key) evidence.Signed {
	t.Helper()
	e := fixture(t)
	s, err := evidence.Sign(e, render(t, e), key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeSigned writes the fixture, signed with key, to a new directory.
func writeSigned(t *testing.T, key *signing.Key) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "export")
	if _, err := evidence.WriteSigned(dir, signedExport(t, key)); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestManifestGolden(t *testing.T) {
	key := testKey(1, t0)
	s := signedExport(t, key)
	testkit.Golden(t, "manifest.json.golden", s.Manifest)
	testkit.Golden(t, "manifest.sig.golden", []byte(s.Signature+"\n")) // Ed25519 signatures are deterministic
	if s.KeyID != key.ID {
		t.Errorf("key id %s, want %s", s.KeyID, key.ID)
	}
	var names []string
	for _, f := range s.Files {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, " "); got != "evidence.json evidence.csv SHA256SUMS" {
		t.Errorf("files %s", got)
	}
	m, err := evidence.ParseManifest(s.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	if m.Scope != evidence.BreachScope(breach1) || !m.ExportedAt.Equal(t0.Add(72*time.Hour)) || len(m.Files) != 3 {
		t.Errorf("manifest %+v", m)
	}
	if err := m.Check(s.Files); err != nil {
		t.Errorf("the files do not match their own manifest: %v", err)
	}
	if _, err := evidence.Sign(fixture(t), render(t, fixture(t)), nil); err == nil {
		t.Error("Sign without a key succeeded")
	}
	pub := key.PublicPart()
	if _, err := evidence.Sign(fixture(t), render(t, fixture(t)), &signing.Key{ID: pub.ID, Public: pub.Public}); err == nil {
		t.Error("Sign with a public key only succeeded")
	}
}

func TestWriteSignedVerifyDir(t *testing.T) {
	key := testKey(1, t0)
	dir := writeSigned(t, key)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		if fi, err := e.Info(); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v, mode %v", e.Name(), err, fi.Mode())
		}
	}
	if got := strings.Join(names, " "); got != "SHA256SUMS evidence.csv evidence.json manifest.json manifest.sig" {
		t.Errorf("directory holds %s", got)
	}
	v, err := evidence.VerifyDir(dir, keysOf(key), t0)
	if err != nil {
		t.Fatal(err)
	}
	if v.KeyID != key.ID || v.Manifest.Scope.ID != string(breach1) || len(v.Files) != 3 || v.Err() != nil {
		t.Errorf("VerifyDir of a fresh export: %+v, %v", v, v.Err())
	}
	if err := evidence.CheckFiles(dir); err != nil {
		t.Errorf("SHA256SUMS of a signed export: %v", err)
	}
	sha256sum(t, dir, true)

	// Evidence is never overwritten.
	if _, err := evidence.WriteSigned(dir, signedExport(t, key)); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second WriteSigned: %v", err)
	}
}

// copyDir copies the regular files of src to a new directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestVerifyDirTampered changes a signed export in every way an attacker
// or an accident could, and checks what VerifyDir says.
func TestVerifyDirTampered(t *testing.T) {
	key := testKey(1, t0)
	other := testKey(2, t0) // another deployment's key
	orig := writeSigned(t, key)
	retired := *key
	retired.Active, retired.ExpiresAt = false, t0.Add(time.Hour)

	// fileErrs: which file has which error (nil: matches).
	type fileErrs map[string]error
	for _, tc := range []struct {
		name   string
		keys   signing.KeySet
		now    time.Time
		tamper func(t *testing.T, dir string)
		// Either the export fails as a whole ...
		wantErr error
		detail  string
		// ... or file by file.
		files fileErrs
	}{
		{name: "untouched", files: fileErrs{"evidence.json": nil, "evidence.csv": nil, "SHA256SUMS": nil}},
		{name: "file changed, same size", tamper: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "evidence.csv")
			data := readFile(t, p)
			data[len(data)/2] ^= 0x01
			writeFile(t, p, data)
		}, files: fileErrs{"evidence.json": nil, "evidence.csv": evidence.ErrDigestMismatch, "SHA256SUMS": nil}},
		{name: "file grown", tamper: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "evidence.json")
			writeFile(t, p, append(readFile(t, p), '\n'))
		}, files: fileErrs{"evidence.json": evidence.ErrSizeMismatch, "evidence.csv": nil, "SHA256SUMS": nil}},
		{name: "file and its digests changed", tamper: func(t *testing.T, dir string) {
			// The attack SHA256SUMS alone cannot see: the CSV, its line in
			// SHA256SUMS and its entry in the manifest all changed to agree.
			p := filepath.Join(dir, "evidence.csv")
			data := readFile(t, p)
			changed := bytes.Replace(data, []byte("IMY-2025-1234"), []byte("IMY-2025-9999"), 1)
			writeFile(t, p, changed)
			old, sum := evidence.Digest(data), evidence.Digest(changed)
			for _, name := range []string{evidence.SumsFile, evidence.ManifestFile} {
				q := filepath.Join(dir, name)
				writeFile(t, q, bytes.ReplaceAll(readFile(t, q), []byte(old), []byte(sum)))
			}
			if err := evidence.CheckFiles(dir); err != nil {
				t.Fatalf("the tampering is not consistent: %v", err)
			}
		}, wantErr: signing.ErrBadSignature, detail: "manifest.json: signature does not match: the manifest was changed after the export"},
		{name: "manifest re-signed by another key", tamper: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, evidence.SignatureFile),
				[]byte(signing.SignEvidence(other, readFile(t, filepath.Join(dir, evidence.ManifestFile)))+"\n"))
		}, wantErr: signing.ErrUnknownKey, detail: "unknown signing key " + other.ID},
		{name: "signature bytes changed", tamper: func(t *testing.T, dir string) {
			p := filepath.Join(dir, evidence.SignatureFile)
			sig := readFile(t, p)
			i := bytes.Index(sig, []byte("sig=")) + 10
			sig[i] = map[bool]byte{true: 'B', false: 'A'}[sig[i] == 'A']
			writeFile(t, p, sig)
		}, wantErr: signing.ErrBadSignature},
		{name: "message signature as manifest signature", tamper: func(t *testing.T, dir string) {
			// A genuine notice signature over the manifest's bytes as body.
			body := readFile(t, filepath.Join(dir, evidence.ManifestFile))
			h := nats.Header{}
			h.Set(signing.HeaderNoticeID, "B/o")
			h.Set(signing.HeaderEvent, "notice")
			writeFile(t, filepath.Join(dir, evidence.SignatureFile), []byte(signing.Sign(key, "cascade.notice.o", h, body)+"\n"))
		}, wantErr: signing.ErrBadSignature},
		{name: "signature malformed", tamper: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, evidence.SignatureFile), []byte("not a signature\n"))
		}, wantErr: signing.ErrMalformed, detail: "evidence signature"},
		{name: "signature removed", tamper: func(t *testing.T, dir string) {
			must(t, os.Remove(filepath.Join(dir, evidence.SignatureFile)))
		}, wantErr: evidence.ErrNotSigned, detail: "has no manifest.sig beside it"},
		{name: "manifest and signature removed", tamper: func(t *testing.T, dir string) {
			must(t, os.Remove(filepath.Join(dir, evidence.SignatureFile)))
			must(t, os.Remove(filepath.Join(dir, evidence.ManifestFile)))
		}, wantErr: evidence.ErrNotSigned, detail: "neither manifest.json nor manifest.sig"},
		{name: "manifest removed", tamper: func(t *testing.T, dir string) {
			must(t, os.Remove(filepath.Join(dir, evidence.ManifestFile)))
		}, wantErr: evidence.ErrMissingFile, detail: "the signed manifest was removed"},
		{name: "manifest a directory", tamper: func(t *testing.T, dir string) {
			p := filepath.Join(dir, evidence.ManifestFile)
			must(t, os.Remove(p))
			must(t, os.Mkdir(p, 0o755))
		}, wantErr: errors.New(""), detail: "not a regular file"},
		{name: "huge signature file", tamper: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, evidence.SignatureFile), bytes.Repeat([]byte("v"), 1<<20))
		}, wantErr: errors.New(""), detail: "more than 1024 bytes"},
		{name: "key set of another deployment", keys: keysOf(other), wantErr: signing.ErrUnknownKey,
			detail: "unknown signing key " + key.ID},
		{name: "expired key", keys: keysOf(other, &retired), now: t0.Add(time.Hour), wantErr: signing.ErrKeyExpired,
			detail: "stopped verifying evidence at " + t0.Add(time.Hour).Format(time.RFC3339)},
		{name: "replaced key before expiry", keys: keysOf(other, &retired), now: t0.Add(time.Hour - time.Second),
			files: fileErrs{"evidence.json": nil, "evidence.csv": nil, "SHA256SUMS": nil}},
		{name: "file missing", tamper: func(t *testing.T, dir string) {
			must(t, os.Remove(filepath.Join(dir, "evidence.json")))
		}, files: fileErrs{"evidence.json": evidence.ErrMissingFile, "evidence.csv": nil, "SHA256SUMS": nil}},
		{name: "file added", tamper: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "notes.txt"), []byte("x"))
			must(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
		}, files: fileErrs{"evidence.json": nil, "evidence.csv": nil, "SHA256SUMS": nil,
			"notes.txt": evidence.ErrExtraFile, "sub": evidence.ErrExtraFile}},
		{name: "file replaced by a link to a copy", tamper: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "evidence.json")
			cp := filepath.Join(t.TempDir(), "copy.json")
			writeFile(t, cp, readFile(t, p))
			must(t, os.Remove(p))
			if err := os.Symlink(cp, p); err != nil {
				t.Skip("no symbolic links:", err)
			}
		}, files: fileErrs{"evidence.json": errors.New("not a regular file"), "evidence.csv": nil, "SHA256SUMS": nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, orig)
			if tc.tamper != nil {
				tc.tamper(t, dir)
			}
			keys, now := tc.keys, tc.now
			if keys.Keys == nil {
				keys = keysOf(key)
			}
			if now.IsZero() {
				now = t0
			}
			v, err := evidence.VerifyDir(dir, keys, now)
			if tc.wantErr != nil {
				if err == nil || (tc.wantErr.Error() != "" && !errors.Is(err, tc.wantErr)) || !strings.Contains(err.Error(), tc.detail) {
					t.Fatalf("VerifyDir: %v, want %v with %q", err, tc.wantErr, tc.detail)
				}
				if v != nil {
					t.Errorf("VerifyDir returned a result with its error: %+v", v)
				}
				return
			}
			if err != nil {
				t.Fatalf("VerifyDir: %v", err)
			}
			got := fileErrs{}
			for _, f := range v.Files {
				got[f.Name] = f.Err
			}
			if len(got) != len(tc.files) {
				t.Errorf("files %v, want %v", got, tc.files)
			}
			for name, want := range tc.files {
				err, ok := got[name]
				switch {
				case !ok:
					t.Errorf("%s: not checked", name)
				case want == nil && err != nil:
					t.Errorf("%s: %v, want OK", name, err)
				case want != nil && (err == nil || (!errors.Is(err, want) && !strings.Contains(err.Error(), want.Error()))):
					t.Errorf("%s: %v, want %v", name, err, want)
				case err != nil && !strings.Contains(err.Error(), filepath.Join(dir, name)):
					t.Errorf("%s: the error %q does not name the file's path", name, err)
				}
			}
			if (v.Err() == nil) != (len(tc.files) == 3 && tc.files["evidence.json"] == nil && tc.files["evidence.csv"] == nil) {
				t.Errorf("Err() = %v", v.Err())
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestParseManifestRejects(t *testing.T) {
	good := signedExport(t, testKey(1, t0)).Manifest
	var base map[string]any
	if err := json.Unmarshal(good, &base); err != nil {
		t.Fatal(err)
	}
	if _, err := evidence.ParseManifest(good); err != nil {
		t.Fatal(err)
	}
	digest := strings.Repeat("a", 64)
	file := func(name string, size int, sha string) map[string]any {
		return map[string]any{"name": name, "size": size, "sha256": sha}
	}
	for _, tc := range []struct {
		name string
		edit func(m map[string]any)
		raw  string // instead of edit
		want string
	}{
		{name: "not JSON", raw: "SHA256SUMS", want: "manifest:"},
		{name: "two objects", raw: string(good) + "{}", want: "data after the JSON object"},
		{name: "unknown field", edit: func(m map[string]any) { m["signature"] = "x" }, want: `unknown field "signature"`},
		{name: "other format", edit: func(m map[string]any) { m["format"] = "cascade-evidence-manifest/v2" }, want: "this version reads"},
		{name: "bad scope kind", edit: func(m map[string]any) { m["scope"] = map[string]any{"kind": "all", "id": "x"} }, want: "scope kind"},
		{name: "no scope id", edit: func(m map[string]any) { m["scope"] = map[string]any{"kind": "breach", "id": ""} }, want: "no scope id"},
		{name: "no time", edit: func(m map[string]any) { delete(m, "exported_at") }, want: "no exported_at"},
		{name: "no files", edit: func(m map[string]any) { m["files"] = []any{} }, want: "lists no files"},
		{name: "path outside", edit: func(m map[string]any) { m["files"] = []any{file("../etc/passwd", 1, digest)} }, want: "not a plain file name"},
		{name: "absolute path", edit: func(m map[string]any) { m["files"] = []any{file("/etc/passwd", 1, digest)} }, want: "not a plain file name"},
		{name: "hidden file", edit: func(m map[string]any) { m["files"] = []any{file(".x", 1, digest)} }, want: "not a plain file name"},
		{name: "lists itself", edit: func(m map[string]any) { m["files"] = []any{file("manifest.sig", 1, digest)} }, want: "not a plain file name"},
		{name: "twice", edit: func(m map[string]any) { m["files"] = []any{file("a", 1, digest), file("a", 1, digest)} }, want: "listed twice"},
		{name: "negative size", edit: func(m map[string]any) { m["files"] = []any{file("a", -1, digest)} }, want: "negative size"},
		{name: "upper-case digest", edit: func(m map[string]any) { m["files"] = []any{file("a", 1, strings.ToUpper("ab"+digest[2:]))} }, want: "not a SHA-256 digest"},
		{name: "short digest", edit: func(m map[string]any) { m["files"] = []any{file("a", 1, "abc")} }, want: "not a SHA-256 digest"},
		{name: "too many files", edit: func(m map[string]any) {
			var fs []any
			for i := range 101 {
				fs = append(fs, file("f"+strings.Repeat("x", i), 1, digest))
			}
			m["files"] = fs
		}, want: "at most 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.raw)
			if tc.edit != nil {
				m := map[string]any{}
				for k, v := range base {
					m[k] = v
				}
				tc.edit(m)
				var err error
				if data, err = json.Marshal(m); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := evidence.ParseManifest(data); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseManifest: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestWriteSignedRejects: files that do not match their manifest, or a
// signature that is not one line, are never written.
func TestWriteSignedRejects(t *testing.T) {
	key := testKey(1, t0)
	for _, tc := range []struct {
		name string
		edit func(s *evidence.Signed)
		want string
	}{
		{"changed file", func(s *evidence.Signed) { s.Files[1].Data = append([]byte("x"), s.Files[1].Data...) }, "size mismatch"},
		{"file left out", func(s *evidence.Signed) { s.Files = s.Files[:2] }, "SHA256SUMS: missing"},
		{"file added", func(s *evidence.Signed) { s.Files = append(s.Files, evidence.File{Name: "x", Data: nil}) }, "x: not in the signed manifest"},
		{"no manifest", func(s *evidence.Signed) { s.Manifest = nil }, "manifest:"},
		{"no signature", func(s *evidence.Signed) { s.Signature = "" }, "signature is empty"},
		{"two-line signature", func(s *evidence.Signed) { s.Signature += "\nextra" }, "spans lines"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := signedExport(t, key)
			tc.edit(&s)
			dir := filepath.Join(t.TempDir(), "out")
			if _, err := evidence.WriteSigned(dir, s); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("WriteSigned: %v, want an error containing %q", err, tc.want)
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s was created: %v", dir, err)
			}
		})
	}
}

// TestPythonRecipe runs the documented Python recipe (docs/architecture.md) (testdata/verify_evidence.py)
// on a signed export, and on one whose file and digests were changed.
func TestPythonRecipe(t *testing.T) {
	if testing.Short() {
		t.Skip("runs python3 three times")
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	if err := exec.Command(python, "-c", "import cryptography").Run(); err != nil {
		t.Skip("python3 has no cryptography package")
	}
	script, err := filepath.Abs(filepath.Join("testdata", "verify_evidence.py"))
	if err != nil {
		t.Fatal(err)
	}
	key := testKey(1, time.Now().Add(-time.Hour).UTC().Truncate(time.Second))
	dir := writeSigned(t, key)
	keysJSON, err := json.Marshal(keysOf(key))
	if err != nil {
		t.Fatal(err)
	}
	keysFile := filepath.Join(t.TempDir(), "keys.json")
	writeFile(t, keysFile, keysJSON)
	run := func(dir, keysFile string) (string, error) {
		out, err := exec.Command(python, script, dir, keysFile).CombinedOutput()
		return string(out), err
	}
	if out, err := run(dir, keysFile); err != nil || !strings.Contains(out, "OK breach "+string(breach1)) {
		t.Fatalf("the recipe on a genuine export: %v\n%s", err, out)
	}

	// File changed alone, then file and manifest digest changed.
	p := filepath.Join(dir, "evidence.json")
	data := readFile(t, p)
	changed := bytes.Replace(data, []byte("Region B"), []byte("Region C"), 1)
	writeFile(t, p, changed)
	if out, err := run(dir, keysFile); err == nil || !strings.Contains(out, "evidence.json was changed") {
		t.Errorf("the recipe on a changed file: %v\n%s", err, out)
	}
	mp := filepath.Join(dir, evidence.ManifestFile)
	writeFile(t, mp, bytes.Replace(readFile(t, mp), []byte(evidence.Digest(data)), []byte(evidence.Digest(changed)), 1))
	if out, err := run(dir, keysFile); err == nil || !strings.Contains(out, "InvalidSignature") {
		t.Errorf("the recipe on a changed file and manifest: %v\n%s", err, out)
	}
}

// TestWriteZipVerifies: the zip the dashboard serves unpacks into one
// directory that VerifyDir accepts, as WriteSigned's.
func TestWriteZipVerifies(t *testing.T) {
	key := testKey(1, t0)
	var buf bytes.Buffer
	if err := evidence.WriteZip(&buf, "evidence-x", signedExport(t, key)); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(f.Name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, f.Name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(names, " "); got != "evidence-x/evidence.json evidence-x/evidence.csv evidence-x/SHA256SUMS evidence-x/manifest.json evidence-x/manifest.sig" {
		t.Errorf("zip holds %s", got)
	}
	v, err := evidence.VerifyDir(filepath.Join(root, "evidence-x"), keysOf(key), t0)
	if err != nil || v.Err() != nil {
		t.Fatalf("VerifyDir of the unpacked zip: %v, %v", err, v.Err())
	}
	// A changed file is refused before anything is written.
	s := signedExport(t, key)
	s.Files[0].Data = append([]byte(nil), s.Files[0].Data...)
	s.Files[0].Data[0] ^= 1
	if err := evidence.WriteZip(io.Discard, "x", s); err == nil {
		t.Error("WriteZip packed files that do not match their manifest")
	}
}
