package evidence

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cascadehq/cascade/internal/signing"
)

// Signed exports. Digests alone cannot show that evidence is unchanged:
// whoever changes a file can change its digest too. So Cascade signs a
// manifest of the export, and the files are checked against it:
//
//	evidence.json   the record (Render)
//	evidence.csv    the same, one row per history entry
//	SHA256SUMS      their digests, for sha256sum -c
//	manifest.json   the manifest: format, scope, exported_at, and each of
//	                the three files above with its name, size and SHA-256
//	manifest.sig    "v1;kid=<key id>;sig=<signature>\n": Cascade's Ed25519
//	                signature over "cascade-evidence-v1\n" + manifest.json
//
// (see signing.SignEvidence). The signature covers manifest.json's exact
// bytes, so a verifier needs no canonical form: it checks the signature
// over the file as it is, then reads it. [VerifyDir] checks a directory:
// the signature, then every listed file (size and SHA-256), and that the
// directory holds no other file.

// Names in an export's directory.
const (
	// BaseName is the base name of the exported JSON and CSV files.
	BaseName = "evidence"
	// ManifestFile is the signed manifest.
	ManifestFile = "manifest.json"
	// SignatureFile holds the manifest's signature.
	SignatureFile = "manifest.sig"
)

// ManifestFormat names the manifest's format; it changes only when a
// field changes meaning or is removed.
const ManifestFormat = "cascade-evidence-manifest/v1"

// Bounds on what VerifyDir reads before the signature is checked.
const (
	maxManifestBytes  = 1 << 20
	maxSignatureBytes = 1 << 10
	maxManifestFiles  = 100
)

// Errors of VerifyDir and Manifest.Check, each wrapped with the path and
// more detail (a changed file's digest mismatch is ErrDigestMismatch).
var (
	// ErrNotSigned: the directory has no manifest.sig (an export made
	// before signed manifests, or its signature was removed).
	ErrNotSigned = errors.New("the export is not signed")
	// ErrSizeMismatch: a file's size is not the one the manifest lists.
	ErrSizeMismatch = errors.New("size mismatch")
	// ErrMissingFile: a file the manifest lists is not there.
	ErrMissingFile = errors.New("missing")
	// ErrExtraFile: the directory holds a file the manifest does not list.
	ErrExtraFile = errors.New("not in the signed manifest")
)

// FileEntry is one file in a manifest.
type FileEntry struct {
	Name   string `json:"name"`   // in the export's directory
	Size   int64  `json:"size"`   // bytes
	SHA256 string `json:"sha256"` // lower-case hex
}

// Manifest lists the files of an export. Its JSON form (Marshal) is what
// Cascade signs.
type Manifest struct {
	Format     string      `json:"format"` // always ManifestFormat
	Scope      Scope       `json:"scope"`  // what was exported
	ExportedAt time.Time   `json:"exported_at"`
	Files      []FileEntry `json:"files"`
}

// NewManifest is the manifest of files, exported at at.
func NewManifest(scope Scope, at time.Time, files []File) Manifest {
	m := Manifest{Format: ManifestFormat, Scope: scope, ExportedAt: at.UTC(), Files: make([]FileEntry, len(files))}
	for i, f := range files {
		m.Files[i] = FileEntry{Name: f.Name, Size: int64(len(f.Data)), SHA256: Digest(f.Data)}
	}
	return m
}

// Marshal is the manifest's JSON form: indented, with a final newline;
// the same manifest always gives the same bytes.
func (m Manifest) Marshal() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("evidence: encoding the manifest: %w", err)
	}
	return b.Bytes(), nil
}

// ParseManifest reads a manifest and checks it: the format, the scope,
// the time, and for every file a plain name (no directory, not the
// manifest's own files, each once), a size and a SHA-256 digest. Unknown
// fields are rejected.
func ParseManifest(data []byte) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("manifest: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Manifest{}, errors.New("manifest: data after the JSON object")
	}
	switch {
	case m.Format != ManifestFormat:
		return Manifest{}, fmt.Errorf("manifest: format %q, this version reads %q", truncate(m.Format), ManifestFormat)
	case m.Scope.Kind != ScopeBreach && m.Scope.Kind != ScopeOrganisation:
		return Manifest{}, fmt.Errorf("manifest: scope kind %q, want %q or %q", truncate(string(m.Scope.Kind)), ScopeBreach, ScopeOrganisation)
	case m.Scope.ID == "":
		return Manifest{}, errors.New("manifest: no scope id")
	case m.ExportedAt.IsZero():
		return Manifest{}, errors.New("manifest: no exported_at")
	case len(m.Files) == 0:
		return Manifest{}, errors.New("manifest: lists no files")
	case len(m.Files) > maxManifestFiles:
		return Manifest{}, fmt.Errorf("manifest: lists %d files, at most %d", len(m.Files), maxManifestFiles)
	}
	seen := make(map[string]bool, len(m.Files))
	for i, f := range m.Files {
		switch {
		case !basePattern.MatchString(f.Name) || f.Name == ManifestFile || f.Name == SignatureFile:
			return Manifest{}, fmt.Errorf("manifest: file %d: name %q is not a plain file name of an export", i+1, truncate(f.Name))
		case seen[f.Name]:
			return Manifest{}, fmt.Errorf("manifest: file %s is listed twice", f.Name)
		case f.Size < 0:
			return Manifest{}, fmt.Errorf("manifest: file %s: negative size %d", f.Name, f.Size)
		case !hexDigest.MatchString(f.SHA256):
			return Manifest{}, fmt.Errorf("manifest: file %s: %q is not a SHA-256 digest (64 lower-case hex digits)", f.Name, truncate(f.SHA256))
		}
		seen[f.Name] = true
	}
	return m, nil
}

// Check compares files with the manifest: the same names, each with the
// listed size and digest. Every difference is reported.
func (m Manifest) Check(files []File) error {
	byName := make(map[string][]byte, len(files))
	for _, f := range files {
		byName[f.Name] = f.Data
	}
	var errs []error
	for _, e := range m.Files {
		data, ok := byName[e.Name]
		if !ok {
			errs = append(errs, fmt.Errorf("evidence: %s: %w", e.Name, ErrMissingFile))
			continue
		}
		delete(byName, e.Name)
		errs = append(errs, e.check(e.Name, int64(len(data)), func() (string, error) { return Digest(data), nil }))
	}
	for _, f := range files {
		if _, extra := byName[f.Name]; extra {
			errs = append(errs, fmt.Errorf("evidence: %s: %w", f.Name, ErrExtraFile))
		}
	}
	return errors.Join(errs...)
}

// check compares a file at path of size bytes, whose digest is got, with e.
func (e FileEntry) check(path string, size int64, digest func() (string, error)) error {
	if size != e.Size {
		return fmt.Errorf("evidence: %s: %w: the signed manifest says %d bytes, the file has %d", path, ErrSizeMismatch, e.Size, size)
	}
	got, err := digest()
	if err != nil {
		return fmt.Errorf("evidence: %s: %w", path, err)
	}
	if got != e.SHA256 {
		return fmt.Errorf("evidence: %s: %w", path, mismatch(e.SHA256, got))
	}
	return nil
}

// Signed is an export as Cascade sends it: its files, the manifest's bytes
// and the manifest's signature.
type Signed struct {
	Files     []File
	Manifest  []byte
	Signature string // "v1;kid=<key id>;sig=<signature>"
	KeyID     string
}

// Sign makes the signed export of e, rendered as r, with key (which must
// hold its private key): the files are r.Files(BaseName), the manifest
// lists them with e's scope and time.
func Sign(e Export, r Rendered, key *signing.Key) (Signed, error) {
	if key == nil || key.Private == nil {
		return Signed{}, errors.New("evidence: no signing key to sign the export with")
	}
	files, err := r.Files(BaseName)
	if err != nil {
		return Signed{}, err
	}
	data, err := NewManifest(e.Scope, e.GeneratedAt, files).Marshal()
	if err != nil {
		return Signed{}, err
	}
	return Signed{Files: files, Manifest: data, Signature: signing.SignEvidence(key, data), KeyID: key.ID}, nil
}

// WriteSigned writes s into dir: its files, ManifestFile and
// SignatureFile, and returns their paths in that order. The files must
// match the manifest (names, sizes, digests), or nothing is written; the
// signature is not checked here (VerifyDir does). As with WriteFiles, dir
// is created if needed and nothing is overwritten.
func WriteSigned(dir string, s Signed) ([]string, error) {
	files, _, err := s.directory()
	if err != nil {
		return nil, err
	}
	return writeAll(dir, files)
}

// WriteZip writes s as a zip archive whose one directory, dir, holds what
// WriteSigned would write: unpacked, it is checked with
// 'cascadectl evidence verify dir'.
func WriteZip(w io.Writer, dir string, s Signed) error {
	files, m, err := s.directory()
	if err != nil {
		return err
	}
	zw := zip.NewWriter(w)
	for _, f := range files {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: path.Join(dir, f.Name), Method: zip.Deflate, Modified: m.ExportedAt})
		if err != nil {
			return fmt.Errorf("evidence: zip: %w", err)
		}
		if _, err := fw.Write(f.Data); err != nil {
			return fmt.Errorf("evidence: zip: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("evidence: zip: %w", err)
	}
	return nil
}

// directory is every file of the signed export: its files, ManifestFile
// and SignatureFile, once the files are checked against the manifest,
// which it returns too.
func (s Signed) directory() ([]File, Manifest, error) {
	m, err := ParseManifest(s.Manifest)
	if err != nil {
		return nil, Manifest{}, fmt.Errorf("evidence: %w", err)
	}
	if err := m.Check(s.Files); err != nil {
		return nil, Manifest{}, fmt.Errorf("evidence: nothing written: the files do not match their manifest: %w", err)
	}
	if s.Signature == "" || strings.ContainsAny(s.Signature, "\r\n") {
		return nil, Manifest{}, errors.New("evidence: the manifest's signature is empty or spans lines")
	}
	return append(slices.Clone(s.Files), File{ManifestFile, s.Manifest}, File{SignatureFile, []byte(s.Signature + "\n")}), m, nil
}

// FileResult is the outcome of checking one file of an export.
type FileResult struct {
	Name string
	Err  error // nil: the file is the one the manifest lists
}

// Verified is what VerifyDir found in a directory whose signature holds.
type Verified struct {
	Manifest Manifest
	KeyID    string       // the key that signed the manifest
	Files    []FileResult // the manifest's files in its order, then any file it does not list, by name
}

// Err joins the errors of Files; nil when every file matches.
func (v *Verified) Err() error {
	var errs []error
	for _, f := range v.Files {
		errs = append(errs, f.Err)
	}
	return errors.Join(errs...)
}

// VerifyDir checks the signed export in dir against keys at time now:
// first the signature of ManifestFile (in SignatureFile), then every file
// the manifest lists (size and SHA-256), and that dir holds no other file.
//
// The error is about the export as a whole, and then nothing in the
// manifest can be trusted: ErrNotSigned (no SignatureFile), a file that
// cannot be read, a signature that does not hold (an error of
// signing.VerifyEvidence: ErrBadSignature when the manifest was changed,
// say with a file's digest, or ErrUnknownKey, ErrKeyExpired,
// ErrMalformed) or a signed manifest that cannot be read. Otherwise the
// result says, file by file, what does not match: ErrSizeMismatch,
// ErrDigestMismatch, ErrMissingFile, ErrExtraFile, or a file that cannot
// be read or is not a regular file.
func VerifyDir(dir string, keys signing.KeySet, now time.Time) (*Verified, error) {
	manifestPath, sigPath := filepath.Join(dir, ManifestFile), filepath.Join(dir, SignatureFile)
	sig, sigErr := readSmall(sigPath, maxSignatureBytes)
	data, err := readSmall(manifestPath, maxManifestBytes)
	switch {
	case errors.Is(sigErr, fs.ErrNotExist) && errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("evidence: %s: %w: it has neither %s nor %s (exported before signed manifests, or they were removed)",
			dir, ErrNotSigned, ManifestFile, SignatureFile)
	case errors.Is(sigErr, fs.ErrNotExist):
		return nil, fmt.Errorf("evidence: %s: %w: %s has no %s beside it (the signature was removed)", dir, ErrNotSigned, ManifestFile, SignatureFile)
	case sigErr != nil:
		return nil, sigErr
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("evidence: %s: %w: the signed manifest was removed", manifestPath, ErrMissingFile)
	case err != nil:
		return nil, err
	}
	kid, err := signing.VerifyEvidence(keys, strings.TrimSuffix(strings.TrimSuffix(string(sig), "\n"), "\r"), data, now)
	if err != nil {
		return nil, fmt.Errorf("evidence: %s: %w", manifestPath, err)
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("evidence: %s (signed by key %s): %w", manifestPath, kid, err)
	}
	v := &Verified{Manifest: m, KeyID: kid}
	listed := map[string]bool{ManifestFile: true, SignatureFile: true}
	for _, e := range m.Files {
		listed[e.Name] = true
		v.Files = append(v.Files, FileResult{Name: e.Name, Err: checkFile(filepath.Join(dir, e.Name), e)})
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	for _, de := range entries { // sorted by name
		if !listed[de.Name()] {
			v.Files = append(v.Files, FileResult{Name: de.Name(),
				Err: fmt.Errorf("evidence: %s: %w: a file was added to the export", filepath.Join(dir, de.Name()), ErrExtraFile)})
		}
	}
	return v, nil
}

// checkFile compares the file at path with e, hashing it only when the
// size matches.
func checkFile(path string, e FileEntry) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("evidence: %s: %w: the signed manifest lists it (%d bytes)", path, ErrMissingFile, e.Size)
	case err != nil:
		return fmt.Errorf("evidence: %w", err)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("evidence: %s: not a regular file (%s)", path, fi.Mode().Type())
	}
	return e.check(path, fi.Size(), func() (string, error) {
		d, err := fileDigest(path)
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is named once
		}
		return d, err
	})
}

// readSmall reads the regular file at path, of at most max bytes. A
// symbolic link, a directory or a named pipe (which would block) is an
// error.
func readSmall(path string, max int64) ([]byte, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err // keeps fs.ErrNotExist
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("evidence: %s: not a regular file (%s)", path, fi.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("evidence: reading %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("evidence: %s: more than %d bytes: not a file of a Cascade export", path, max)
	}
	return data, nil
}
