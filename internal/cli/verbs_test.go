package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func TestPrepareUpdate(t *testing.T) {
	for _, tc := range []struct {
		name, in         string
		wantErr          string
		wantID, wantSumm string
		wantParsed       bool
	}{
		{name: "snake case", in: `{"breach_id": "B-1", "summary": "more"}`, wantID: "B-1", wantSumm: "more", wantParsed: true},
		{name: "lower camel", in: `{"breachId": "B-1", "summary": "more", "addAffected": [{"orgId": "o"}]}`, wantID: "B-1", wantSumm: "more", wantParsed: true},
		{name: "unknown field", in: `{"breach_id": "B-1", "bogus": 1}`, wantID: "B-1", wantParsed: false},
		{name: "no breach id", in: `{"summary": "more"}`, wantErr: `no "breach_id"`},
		{name: "breach id not a string", in: `{"breach_id": 5}`, wantErr: `no "breach_id"`},
		{name: "array", in: `[{"breach_id": "B-1"}]`, wantErr: "not a JSON object"},
		{name: "truncated", in: `{"breach_id": "B-1"`, wantErr: "not valid JSON"},
		{name: "empty", in: "\n", wantErr: "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pu, err := prepareUpdate([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if pu.breachID != tc.wantID || pu.summary != tc.wantSumm || (pu.parsed != nil) != tc.wantParsed {
				t.Errorf("got %+v", pu)
			}
		})
	}
}

func TestPendingUpdateMatches(t *testing.T) {
	published := &cascadev1.BreachUpdate{BreachId: "B-1", Summary: "Scope extended", Nature: "n",
		AddAffected: []*cascadev1.AffectedOrganisation{{OrgId: "o-1", ApproxSubjects: 5}}}
	pu := &pendingUpdate{breachID: "B-1", summary: "Scope extended", parsed: published, before: 3}
	for _, tc := range []struct {
		name string
		rev  *cascadev1.BreachRevision
		want bool
	}{
		{"same content, recorded before", &cascadev1.BreachRevision{Number: 2, Update: published}, true},
		{"same content, empty contact", &cascadev1.BreachRevision{Number: 2, Update: func() *cascadev1.BreachUpdate {
			u := proto.CloneOf(published)
			u.Contact = &cascadev1.Contact{}
			return u
		}()}, true},
		{"same summary, newer", &cascadev1.BreachRevision{Number: 4, Update: &cascadev1.BreachUpdate{BreachId: "B-1", Summary: "Scope extended"}}, true},
		{"same summary, older", &cascadev1.BreachRevision{Number: 3, Update: &cascadev1.BreachUpdate{BreachId: "B-1", Summary: "Scope extended"}}, false},
		{"other update, newer", &cascadev1.BreachRevision{Number: 4, Update: &cascadev1.BreachUpdate{BreachId: "B-1", Summary: "Other"}}, false},
	} {
		if got := pu.matches(tc.rev); got != tc.want {
			t.Errorf("%s: matches %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestLatestRevision(t *testing.T) {
	for _, tc := range []struct {
		b    *cascadev1.Breach
		want int32
	}{
		{&cascadev1.Breach{Revision: 1}, 1},
		{&cascadev1.Breach{Revision: 1, LatestRevision: 3}, 3},
		{&cascadev1.Breach{Revision: 1, Revisions: []*cascadev1.BreachRevision{{Number: 2}}}, 2},
	} {
		if got := latestRevision(tc.b); got != tc.want {
			t.Errorf("latestRevision(%v) = %d, want %d", tc.b, got, tc.want)
		}
	}
}

func TestParseExemption(t *testing.T) {
	for in, want := range map[string]cascadev1.Art34Exemption{
		"a": cascadev1.Art34Exemption_ART34_EXEMPTION_A_UNINTELLIGIBLE, "B": cascadev1.Art34Exemption_ART34_EXEMPTION_B_RISK_REMOVED,
		"(c)": cascadev1.Art34Exemption_ART34_EXEMPTION_C_DISPROPORTIONATE, " c ": cascadev1.Art34Exemption_ART34_EXEMPTION_C_DISPROPORTIONATE,
	} {
		if got, ok := parseExemption(in); !ok || got != want {
			t.Errorf("parseExemption(%q) = %v, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "d", "ab", "34(3)(c)"} {
		if _, ok := parseExemption(in); ok {
			t.Errorf("parseExemption(%q) accepted", in)
		}
	}
}

func sha(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// TestEvidenceExportDigestMismatch: an export whose bytes do not match
// the digests sent with it is not written.
func TestEvidenceExportDigestMismatch(t *testing.T) {
	js, csv := []byte(`{"x":1}`), []byte("a,b\n")
	var stdout bytes.Buffer
	a := &app{stdout: &stdout, stderr: &stdout, g: staticGlobals()}
	dir := filepath.Join(t.TempDir(), "ev")
	err := a.writeEvidence(&cascadev1.ExportEvidenceResponse{Json: js, Csv: csv, JsonSha256: sha(js), CsvSha256: sha([]byte("other")),
		GeneratedAt: timestamppb.Now()}, "B-1", "", dir)
	if err == nil || !strings.Contains(err.Error(), "nothing written") || !strings.Contains(err.Error(), "CSV") {
		t.Fatalf("err %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s was created: %v", dir, err)
	}
	// A cascaded older than signed manifests sends none: the files are
	// written, with a warning, and verify only with --unsigned.
	var stderr bytes.Buffer
	a.stderr = &stderr
	if err := a.writeEvidence(&cascadev1.ExportEvidenceResponse{Json: js, Csv: csv, JsonSha256: sha(js), CsvSha256: sha(csv)}, "B-1", "", dir); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "WARNING: cascaded sent no signed manifest") || !strings.Contains(stdout.String(), "evidence verify --unsigned "+dir) {
		t.Errorf("unsigned export:\nstdout %s\nstderr %s", &stdout, &stderr)
	}
	r := runCLI(t.Context(), "evidence", "verify", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "the export is not signed: it has neither manifest.json nor manifest.sig") ||
		!strings.Contains(r.stderr, "with --unsigned") {
		t.Errorf("verify without --unsigned: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t.Context(), "evidence", "verify", dir, "--unsigned")
	if r.code != 0 || r.stdout != filepath.Join(dir, "evidence.json")+": OK\n"+filepath.Join(dir, "evidence.csv")+": OK\n" ||
		!strings.Contains(r.stderr, "WARNING: "+dir+" is not signed: checked against SHA256SUMS only") {
		t.Errorf("verify --unsigned: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
}

func TestEvidenceVerifyBroken(t *testing.T) {
	write := func(t *testing.T, files map[string]string) string {
		dir := t.TempDir()
		for name, data := range files {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	for _, tc := range []struct {
		name   string
		files  map[string]string
		stdout string   // "" : none
		stderr []string // each must appear
	}{
		{"no sums file", map[string]string{"evidence.json": "{}"}, "", []string{"SHA256SUMS", "no such file"}},
		{"malformed sums file", map[string]string{"SHA256SUMS": "not a digest line\n"}, "", []string{"line 1"}},
		{"missing file", map[string]string{"SHA256SUMS": sha([]byte("{}")) + "  evidence.json\n" + sha([]byte("a")) + "  evidence.csv\n", "evidence.json": "{}"},
			"evidence.json: OK\n", []string{"evidence.csv: no such file", "1 of 2 files"}},
		{"sums file a directory", map[string]string{"SHA256SUMS/x": ""}, "", []string{"SHA256SUMS"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := write(t, tc.files)
			r := runCLI(t.Context(), "evidence", "verify", dir, "--unsigned")
			if r.code != 1 {
				t.Errorf("exit %d", r.code)
			}
			if tc.stdout != "" && !strings.Contains(r.stdout, tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, r.stdout)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
		})
	}
}
