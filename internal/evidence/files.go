package evidence

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// SumsFile is the name of the digest file WriteFiles writes beside the
// export, in the format `sha256sum -c` reads.
const SumsFile = "SHA256SUMS"

// ErrDigestMismatch is returned, wrapped, when data does not have the
// expected SHA-256 digest.
var ErrDigestMismatch = errors.New("SHA-256 digest mismatch")

var (
	hexDigest   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	basePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`)
)

// Verify checks that data has the SHA-256 digest want (hex, either case).
// A mismatch is ErrDigestMismatch, with both digests in the message.
func Verify(data []byte, wantSHA256 string) error {
	want, err := parseDigest(wantSHA256)
	if err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	if got := Digest(data); got != want {
		return fmt.Errorf("evidence: %w", mismatch(want, got))
	}
	return nil
}

func parseDigest(s string) (string, error) {
	d := strings.ToLower(s)
	if !hexDigest.MatchString(d) {
		return "", fmt.Errorf("expected digest %q is not a SHA-256 digest (64 hex digits)", truncate(s))
	}
	return d, nil
}

func mismatch(want, got string) error {
	return fmt.Errorf("%w: expected %s, actual %s", ErrDigestMismatch, want, got)
}

// WriteFiles writes r into dir as <base>.json, <base>.csv and SumsFile
// (lines "<hex>  <file>", as `sha256sum -c` expects) and returns their
// paths in that order. dir is created (0755) if needed; the files are
// 0644. base must match [A-Za-z0-9][A-Za-z0-9._-]*, up to 200 characters.
//
// Evidence is never overwritten: if any of the three files exists,
// nothing is written and the error names it, so each directory holds one
// export. If writing fails part way, the files written are removed.
func WriteFiles(dir string, r Rendered, base string) ([]string, error) {
	files, err := r.Files(base)
	if err != nil {
		return nil, err
	}
	return writeAll(dir, files)
}

// File is one file of an export: its name in the export's directory and
// its bytes.
type File struct {
	Name string
	Data []byte
}

// Files are the files of r as WriteFiles writes them: <base>.json,
// <base>.csv and SumsFile, in that order. base is as for WriteFiles. The
// rendered forms must match their digests.
func (r Rendered) Files(base string) ([]File, error) {
	if !basePattern.MatchString(base) {
		return nil, fmt.Errorf("evidence: file base name %q must match %s", truncate(base), basePattern)
	}
	for _, c := range []struct {
		form, digest string
		data         []byte
	}{{"JSON", r.JSONSHA256, r.JSON}, {"CSV", r.CSVSHA256, r.CSV}} {
		if got := Digest(c.data); got != c.digest {
			return nil, fmt.Errorf("evidence: the rendered %s does not match its digest: %w", c.form, mismatch(c.digest, got))
		}
	}
	jsonName, csvName := base+".json", base+".csv"
	sums := fmt.Sprintf("%s  %s\n%s  %s\n", r.JSONSHA256, jsonName, r.CSVSHA256, csvName)
	return []File{{jsonName, r.JSON}, {csvName, r.CSV}, {SumsFile, []byte(sums)}}, nil
}

// writeAll writes files into dir, creating it (0755) if needed, and
// returns their paths in order. If any of them exists, nothing is written
// and the error names it; if writing fails part way, the files written
// are removed.
func writeAll(dir string, files []File) ([]string, error) {
	if err := makeDir(dir); err != nil {
		return nil, err
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(dir, f.Name)
		switch _, err := os.Lstat(paths[i]); {
		case err == nil:
			return nil, exists(paths[i])
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("evidence: %w", err)
		}
	}
	for i, f := range files {
		if err := writeNew(paths[i], f.Data); err != nil {
			for _, p := range paths[:i] {
				_ = os.Remove(p) // best effort: the write error is what matters
			}
			return nil, err
		}
	}
	return paths, nil
}

func exists(path string) error {
	return fmt.Errorf("evidence: %s already exists; evidence files are never overwritten (choose another directory or base name)", path)
}

// makeDir creates dir with mode 0755 unless it exists.
func makeDir(dir string) error {
	switch fi, err := os.Stat(dir); {
	case err == nil && !fi.IsDir():
		return fmt.Errorf("evidence: %s is not a directory", dir)
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("evidence: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		return fmt.Errorf("evidence: %w", err)
	}
	return nil
}

// writeNew creates path (it must not exist) with mode 0644, writes data
// and syncs it to disk.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return exists(path)
	}
	if err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	err = f.Chmod(0o644) // whatever the umask
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path) // best effort: the write error is what matters
		return fmt.Errorf("evidence: writing %s: %w", path, err)
	}
	return nil
}

// CheckFiles reads dir/SHA256SUMS and checks every file it lists. Each
// failure (a digest mismatch, which wraps ErrDigestMismatch, or a file
// that cannot be read) names the file; all failures are reported. A sums
// file that is empty, malformed, or names a file outside dir is an error.
func CheckFiles(dir string) error {
	sumsPath := filepath.Join(dir, SumsFile)
	data, err := os.ReadFile(sumsPath)
	if err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	type entry struct{ digest, name string }
	var entries []entry
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSuffix(sc.Text(), "\r")
		if text == "" {
			continue
		}
		digest, name, ok := strings.Cut(text, " ")
		if ok && (strings.HasPrefix(name, " ") || strings.HasPrefix(name, "*")) {
			name = name[1:] // text or binary mode marker
		} else {
			ok = false
		}
		if !ok || !hexDigest.MatchString(strings.ToLower(digest)) {
			return fmt.Errorf("evidence: %s line %d is not \"<sha256>  <file>\"", sumsPath, line)
		}
		if !filepath.IsLocal(name) {
			return fmt.Errorf("evidence: %s line %d names %q, which is not inside %s", sumsPath, line, truncate(name), dir)
		}
		entries = append(entries, entry{strings.ToLower(digest), name})
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("evidence: reading %s: %w", sumsPath, err)
	}
	if len(entries) == 0 {
		return fmt.Errorf("evidence: %s lists no files", sumsPath)
	}
	var errs []error
	for _, e := range entries {
		path := filepath.Join(dir, e.name)
		got, err := fileDigest(path)
		switch {
		case err != nil:
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the path is named once, below
			}
			errs = append(errs, fmt.Errorf("evidence: %s: %w", path, err))
		case got != e.digest:
			errs = append(errs, fmt.Errorf("evidence: %s: %w", path, mismatch(e.digest, got)))
		}
	}
	return errors.Join(errs...)
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// truncate keeps error messages about odd input short.
func truncate(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
