package evidence_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/evidence"
	"github.com/cascadehq/cascade/internal/testkit"
)

var (
	t0      = time.Date(2025, 8, 23, 9, 0, 0, 0, time.UTC)
	breach1 = breach.BreachID("B-2025-08-23")
)

// step is one change to apply to a notice in a test history.
type step struct {
	at     time.Time
	actor  string
	detail string
	apply  func(n *breach.Notice, at time.Time) (breach.Event, error)
}

// history builds a notice's changes by applying steps to it, as the store
// would record them.
func history(t *testing.T, org breach.OrgID, name string, steps ...step) []breach.Change {
	t.Helper()
	n := breach.Notice{ID: breach.NewNoticeID(breach1, org), OrgName: name, DiscoveredAt: t0.Add(-6 * time.Hour)}
	var out []breach.Change
	for _, s := range steps {
		prev, prevAcked := n.State, n.RevisionAcked
		ev, err := s.apply(&n, s.at)
		if err != nil || ev == "" {
			t.Fatalf("step at %s: event %q, %v", s.at, ev, err)
		}
		out = append(out, breach.Change{Event: ev, At: s.at, Actor: s.actor, Principal: principalOf(org, s.actor), Prev: prev,
			Detail: s.detail, PrevRevisionAcked: prevAcked, Notice: n})
	}
	return out
}

// principalOf is who the API authenticated for a change by actor: none
// for Cascade's own, a certificate for region-b, else a token.
func principalOf(org breach.OrgID, actor string) *breach.Principal {
	switch {
	case actor == "cascade":
		return nil
	case org == "region-b":
		return &breach.Principal{Kind: breach.PrincipalCertificate, ID: "cert:1f", Role: "controller", Org: org,
			Subject: "CN=region-b,OU=controller,O=Region B"}
	}
	return &breach.Principal{Kind: breach.PrincipalToken, ID: "0123456789abcdef", Label: "DPO, \"laptop\"", Role: "controller", Org: org}
}

func create(n *breach.Notice, at time.Time) (breach.Event, error) {
	n.State, n.CreatedAt = breach.StatePending, at
	return breach.EventCreated, nil
}

func deliver(rev int) func(*breach.Notice, time.Time) (breach.Event, error) {
	return func(n *breach.Notice, at time.Time) (breach.Event, error) {
		return n.Deliver(at, 72*time.Hour, rev), nil
	}
}

// fixture is a breach export with two notices: one resolved after a
// revision, one acknowledged with a note full of CSV metacharacters.
func fixture(t *testing.T) evidence.Export {
	t.Helper()
	note := "Received, thanks. Our \"incident\" ref is INC-7,\nsecond line follows"
	a := history(t, "kommun-a", "Kommun A, Förvaltning & Drift",
		step{t0, "cascade", "", create},
		step{t0.Add(2 * time.Minute), "cascade", "nats cascade.notice.kommun-a", deliver(1)},
		step{t0.Add(26 * time.Hour), "cascade", "revision 2: exfiltration confirmed", deliver(2)},
		step{t0.Add(27*time.Hour + 500*time.Millisecond), "dpo@kommun-a.se", "", func(n *breach.Notice, at time.Time) (breach.Event, error) {
			return n.Acknowledge(at, "dpo@kommun-a.se", "", 2)
		}},
		step{t0.Add(50 * time.Hour), "dpo@kommun-a.se", "reported to IMY", func(n *breach.Notice, at time.Time) (breach.Event, error) {
			return n.RecordAuthorityReport(at, "dpo@kommun-a.se", "IMY", "IMY-2025-1234", at.Add(-time.Hour), "")
		}},
	)
	b := history(t, "region-b", "Region B",
		step{t0, "cascade", "", create},
		step{t0.Add(3 * time.Minute), "cascade", "webhook https://region-b.example/hook", deliver(1)},
		step{t0.Add(5 * time.Hour), "security@region-b.se", note, func(n *breach.Notice, at time.Time) (breach.Event, error) {
			return n.Acknowledge(at, "security@region-b.se", note, 0)
		}},
	)
	var records []evidence.NoticeRecord
	for _, h := range [][]breach.Change{b, a} { // out of order: Build sorts
		r, err := evidence.NewNoticeRecord(h)
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, r)
	}
	br := breach.Breach{
		ID: breach1, Revision: 1, ReceivedAt: t0.Add(-time.Minute), Digest: strings.Repeat("ab", 32),
		NoticeCount: 2, Chunks: 1, FanoutComplete: true,
		Report: breach.Report{
			ID: breach1, Processor: "Supplier AB", Title: "Intrusion in the HR system", Nature: "Unauthorised access, data exfiltrated",
			DiscoveredAt: t0.Add(-6 * time.Hour), Affected: []breach.Affected{{Org: "kommun-a", ApproxSubjects: 1200}, {Org: "region-b"}},
			Contact: breach.Contact{Name: "Security desk", Email: "security@supplier.example"},
		},
		Revisions: []breach.Revision{{Number: 2, At: t0.Add(26 * time.Hour), Digest: strings.Repeat("cd", 32), FanoutComplete: true,
			Update: breach.Update{Breach: breach1, Summary: "Exfiltration confirmed", Nature: "Data exfiltrated and published"}}},
	}
	return evidence.Build(evidence.BreachScope(breach1), t0.Add(72*time.Hour).In(time.FixedZone("CEST", 2*3600)), []breach.Breach{br}, records)
}

func render(t *testing.T, e evidence.Export) evidence.Rendered {
	t.Helper()
	r, err := evidence.Render(e)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRenderGolden(t *testing.T) {
	e := fixture(t)
	r := render(t, e)
	testkit.Golden(t, "export.json.golden", r.JSON)
	testkit.Golden(t, "export.csv.golden", r.CSV)
	if r.JSONSHA256 != evidence.Digest(r.JSON) || r.CSVSHA256 != evidence.Digest(r.CSV) {
		t.Errorf("digests %s, %s do not match the rendered bytes", r.JSONSHA256, r.CSVSHA256)
	}
	if got := e.Notices[0].Notice.ID.Org; got != "kommun-a" {
		t.Errorf("first notice is %s, want kommun-a (sorted by id)", got)
	}

	// The JSON is the complete record: decoding and rendering it again
	// gives the same bytes.
	var back evidence.Export
	if err := json.Unmarshal(r.JSON, &back); err != nil {
		t.Fatal(err)
	}
	again := render(t, back)
	if !bytes.Equal(again.JSON, r.JSON) || !bytes.Equal(again.CSV, r.CSV) {
		t.Errorf("decoding the JSON and rendering it again changed the export")
	}
}

func TestRenderDeterministic(t *testing.T) {
	e := fixture(t)
	r1, r2 := render(t, e), render(t, e)
	if !bytes.Equal(r1.JSON, r2.JSON) || !bytes.Equal(r1.CSV, r2.CSV) || r1.JSONSHA256 != r2.JSONSHA256 || r1.CSVSHA256 != r2.CSVSHA256 {
		t.Fatal("rendering the same export twice gave different bytes")
	}
	// The order the caller read notices in does not matter.
	rev := []evidence.NoticeRecord{e.Notices[1], e.Notices[0]}
	r3 := render(t, evidence.Build(e.Scope, e.GeneratedAt, e.Breaches, rev))
	if !bytes.Equal(r1.JSON, r3.JSON) || !bytes.Equal(r1.CSV, r3.CSV) {
		t.Fatal("the export depends on the order of the input notices")
	}
	if rev[0].Notice.ID.Org != "region-b" {
		t.Error("Build reordered the caller's slice")
	}
}

func TestRenderRejectsIncompleteRecords(t *testing.T) {
	e := fixture(t)
	tests := []struct {
		name    string
		notices []evidence.NoticeRecord
		want    string
	}{
		{"no history", []evidence.NoticeRecord{{Notice: e.Notices[0].Notice}}, "has no history"},
		{"listed twice", []evidence.NoticeRecord{e.Notices[0], e.Notices[0]}, "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e
			e.Notices = tt.notices
			if _, err := evidence.Render(e); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Render: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestNewNoticeRecord(t *testing.T) {
	if _, err := evidence.NewNoticeRecord(nil); err == nil {
		t.Error("an empty history was accepted")
	}
	a := history(t, "kommun-a", "A", step{t0, "cascade", "", create})
	b := history(t, "region-b", "B", step{t0, "cascade", "", create})
	if _, err := evidence.NewNoticeRecord(append(a, b...)); err == nil || !strings.Contains(err.Error(), "region-b") {
		t.Errorf("mixed notices: %v, want an error naming the other notice", err)
	}
	e := fixture(t)
	for _, n := range e.Notices {
		for i, h := range n.History {
			if h.Seq != uint64(i+1) {
				t.Errorf("%s entry %d has seq %d", n.Notice.ID, i, h.Seq)
			}
		}
		if last := n.History[len(n.History)-1]; last.State != n.Notice.State {
			t.Errorf("%s: last entry state %s, notice state %s", n.Notice.ID, last.State, n.Notice.State)
		}
	}
}

func TestVerify(t *testing.T) {
	r := render(t, fixture(t))
	if err := evidence.Verify(r.JSON, r.JSONSHA256); err != nil {
		t.Fatalf("Verify of the rendered JSON: %v", err)
	}
	if err := evidence.Verify(r.CSV, strings.ToUpper(r.CSVSHA256)); err != nil {
		t.Errorf("Verify with an upper-case digest: %v", err)
	}

	changed := bytes.Clone(r.JSON)
	changed[len(changed)/2] ^= 0x01
	err := evidence.Verify(changed, r.JSONSHA256)
	if !errors.Is(err, evidence.ErrDigestMismatch) {
		t.Fatalf("Verify of a changed copy: %v, want ErrDigestMismatch", err)
	}
	actual := evidence.Digest(changed)
	if msg := err.Error(); !strings.Contains(msg, "expected "+r.JSONSHA256) || !strings.Contains(msg, "actual "+actual) {
		t.Errorf("error %q does not name the expected and actual digests", msg)
	}

	for _, bad := range []string{"", "abc", strings.Repeat("g", 64)} {
		if err := evidence.Verify(r.JSON, bad); err == nil || errors.Is(err, evidence.ErrDigestMismatch) {
			t.Errorf("Verify with digest %q: %v, want a malformed-digest error", bad, err)
		}
	}
}

func TestWriteFilesCheckFiles(t *testing.T) {
	r := render(t, fixture(t))
	dir := filepath.Join(t.TempDir(), "evidence", "B-2025-08-23")
	paths, err := evidence.WriteFiles(dir, r, "B-2025-08-23")
	if err != nil {
		t.Fatal(err)
	}
	jsonPath, csvPath, sumsPath := filepath.Join(dir, "B-2025-08-23.json"), filepath.Join(dir, "B-2025-08-23.csv"), filepath.Join(dir, "SHA256SUMS")
	if want := []string{jsonPath, csvPath, sumsPath}; strings.Join(paths, "\n") != strings.Join(want, "\n") {
		t.Errorf("paths %q, want %q", paths, want)
	}
	for _, p := range paths {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v, mode %v, want 0644", p, err, fi.Mode())
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("%s: %v, mode %v, want 0755", dir, err, fi.Mode())
	}
	sums, err := os.ReadFile(sumsPath)
	if err != nil {
		t.Fatal(err)
	}
	wantSums := r.JSONSHA256 + "  B-2025-08-23.json\n" + r.CSVSHA256 + "  B-2025-08-23.csv\n"
	if string(sums) != wantSums {
		t.Errorf("SHA256SUMS is\n%s\nwant\n%s", sums, wantSums)
	}
	if err := evidence.CheckFiles(dir); err != nil {
		t.Fatalf("CheckFiles of a fresh export: %v", err)
	}
	sha256sum(t, dir, true)

	// One flipped byte in the CSV is found, and only the CSV is named.
	data, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/3] ^= 0x20
	if err := os.WriteFile(csvPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	err = evidence.CheckFiles(dir)
	if !errors.Is(err, evidence.ErrDigestMismatch) || !strings.Contains(err.Error(), csvPath) {
		t.Fatalf("CheckFiles after changing the CSV: %v, want a digest mismatch naming %s", err, csvPath)
	}
	if strings.Contains(err.Error(), jsonPath) {
		t.Errorf("CheckFiles names the unchanged JSON: %v", err)
	}
	sha256sum(t, dir, false)

	// A missing file is named too.
	if err := os.Remove(jsonPath); err != nil {
		t.Fatal(err)
	}
	if err := evidence.CheckFiles(dir); err == nil || !strings.Contains(err.Error(), jsonPath) {
		t.Errorf("CheckFiles with the JSON missing: %v, want an error naming %s", err, jsonPath)
	}
}

// sha256sum checks that `sha256sum -c` reads SHA256SUMS in dir as
// CheckFiles does.
func sha256sum(t *testing.T, dir string, wantOK bool) {
	t.Helper()
	bin, err := exec.LookPath("sha256sum")
	if err != nil {
		t.Log("sha256sum not installed; skipping the cross-check")
		return
	}
	cmd := exec.Command(bin, "-c", evidence.SumsFile)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if ok := err == nil; ok != wantOK {
		t.Errorf("sha256sum -c: %v, want success %v\n%s", err, wantOK, out)
	}
	if wantOK && strings.Contains(string(out), "improperly formatted") {
		t.Errorf("sha256sum -c warns about the format:\n%s", out)
	}
}

func TestWriteFilesRefusesOverwrite(t *testing.T) {
	r := render(t, fixture(t))
	t.Run("second export", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := evidence.WriteFiles(dir, r, "export"); err != nil {
			t.Fatal(err)
		}
		before, _ := os.ReadFile(filepath.Join(dir, "export.json"))
		other := r
		other.JSON = []byte("{}\n")
		other.JSONSHA256 = evidence.Digest(other.JSON)
		_, err := evidence.WriteFiles(dir, other, "export")
		if err == nil || !strings.Contains(err.Error(), "already exists") || !strings.Contains(err.Error(), "export.json") {
			t.Fatalf("second WriteFiles: %v, want an error naming export.json", err)
		}
		if after, _ := os.ReadFile(filepath.Join(dir, "export.json")); !bytes.Equal(before, after) {
			t.Error("the existing JSON was overwritten")
		}
		if err := evidence.CheckFiles(dir); err != nil {
			t.Errorf("CheckFiles after the refused write: %v", err)
		}
	})
	t.Run("only SHA256SUMS exists", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, evidence.SumsFile), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := evidence.WriteFiles(dir, r, "export")
		if err == nil || !strings.Contains(err.Error(), evidence.SumsFile) {
			t.Fatalf("WriteFiles: %v, want an error naming SHA256SUMS", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "export.json")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("export.json was written although the export could not be completed: %v", err)
		}
	})
}

func TestWriteFilesRejects(t *testing.T) {
	r := render(t, fixture(t))
	for _, base := range []string{"", "../up", "a/b", ".hidden", "with space"} {
		if _, err := evidence.WriteFiles(t.TempDir(), r, base); err == nil {
			t.Errorf("WriteFiles with base %q succeeded", base)
		}
	}
	bad := r
	bad.CSVSHA256 = r.JSONSHA256
	if _, err := evidence.WriteFiles(t.TempDir(), bad, "export"); !errors.Is(err, evidence.ErrDigestMismatch) {
		t.Errorf("WriteFiles with a wrong CSV digest: %v, want ErrDigestMismatch", err)
	}
}

func TestCheckFilesBadSums(t *testing.T) {
	digest := evidence.Digest([]byte("data\n"))
	tests := []struct {
		name string
		sums *string // nil: no SHA256SUMS
		want string
	}{
		{"missing", nil, "SHA256SUMS"},
		{"empty", ptr(""), "lists no files"},
		{"malformed", ptr("not a digest line\n"), "line 1"},
		{"one space", ptr(digest + " data.txt\n"), "line 1"},
		{"outside dir", ptr(digest + "  ../data.txt\n"), "not inside"},
		{"absolute", ptr(digest + "  /etc/passwd\n"), "not inside"},
		{"listed file missing", ptr(digest + "  data.txt\n" + digest + "  gone.txt\n"), "gone.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "data.txt"), []byte("data\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if tt.sums != nil {
				if err := os.WriteFile(filepath.Join(dir, evidence.SumsFile), []byte(*tt.sums), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := evidence.CheckFiles(dir); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CheckFiles: %v, want an error containing %q", err, tt.want)
			}
		})
	}
	t.Run("binary mode marker", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "data.txt"), []byte("data\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, evidence.SumsFile), []byte(strings.ToUpper(digest)+" *data.txt\r\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := evidence.CheckFiles(dir); err != nil {
			t.Errorf("CheckFiles: %v", err)
		}
	})
}

func ptr(s string) *string { return &s }
