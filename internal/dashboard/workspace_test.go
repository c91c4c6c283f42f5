package dashboard_test

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/evidence"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// TestWorkspace drives the controller's workspace over HTTP as the page
// does: the draft, a late report refused without a reason and recorded
// with one, the Art. 34 decision with the API's rules, and the evidence
// export as a zip; each as the API allows it, for each caller.
func TestWorkspace(t *testing.T) {
	var ahead atomic.Int64
	e := start(t, false, func(o *daemon.Options) {
		o.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	})
	e.publish("WS-1", stockholm, uppsala)
	controller := e.issue(stockholm, cascadev1.Role_ROLE_CONTROLLER)
	viewer := e.issue(stockholm, cascadev1.Role_ROLE_VIEWER)
	outsider := e.issue(uppsala, cascadev1.Role_ROLE_CONTROLLER)
	base := "/api/notices/WS-1/" + stockholm
	const js = "application/json"

	// The draft, in Swedish, for the controller; not for another organisation.
	resp := e.call("GET", base+"/draft?language=sv", controller, "", "")
	m := decode(t, resp)
	if resp.StatusCode != 200 || m["language"] != "sv" || !strings.Contains(m["markdown"].(string), "Stolen payroll database WS-1") {
		t.Fatalf("draft: %d %v", resp.StatusCode, m)
	}
	if f := m["fields"].(map[string]any); f["notice_id"] != "WS-1/"+stockholm || f["approx_subjects"] != float64(1200) {
		t.Errorf("draft fields %v", f)
	}
	if resp := e.call("GET", base+"/draft", outsider, "", ""); resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusNotFound {
		t.Errorf("another organisation's draft: %d", resp.StatusCode)
	}
	if resp := e.call("GET", base+"/draft?language=fi", controller, "", ""); resp.StatusCode != 400 {
		t.Errorf("unsupported language: %d", resp.StatusCode)
	}

	// Three days later: a report without the reasons for the delay is
	// refused, naming the field; the viewer may not record at all.
	ahead.Store(int64(73 * time.Hour))
	late := time.Now().Add(73 * time.Hour).UTC().Format(time.RFC3339)
	report := `{"authority":"IMY","reference":"IMY-2025-1234","reported_at":"` + late + `","recorded_by":"dpo@stockholm.example.org"}`
	resp = e.call("POST", base+"/authority-report", controller, js, report)
	m = decode(t, resp)
	if resp.StatusCode != 400 || m["code"] != "INVALID_ARGUMENT" || !strings.Contains(m["message"].(string), "Art. 33(1)") {
		t.Fatalf("late report without a reason: %d %v", resp.StatusCode, m)
	}
	if vs, _ := m["violations"].([]any); len(vs) != 1 || vs[0].(map[string]any)["field"] != "delay_reason" {
		t.Errorf("violations %v, want delay_reason", m["violations"])
	}
	if resp := e.call("POST", base+"/authority-report", viewer, js, report); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer records a report: %d", resp.StatusCode)
	}
	if resp := e.call("POST", base+"/authority-report", controller, "text/plain", report); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("form post: %d", resp.StatusCode)
	}
	if resp := e.call("POST", base+"/authority-report", controller, js, `{"authority":`); resp.StatusCode != 400 {
		t.Errorf("broken JSON: %d", resp.StatusCode)
	}
	withReason := strings.TrimSuffix(report, "}") + `,"delay_reason":"The processor told us on day three"}`
	resp = e.call("POST", base+"/authority-report", controller, js, withReason)
	m = decode(t, resp)
	n, _ := m["notice"].(map[string]any)
	o, _ := n["outcome"].(map[string]any)
	if resp.StatusCode != 200 || n["state"] != "NOTICE_STATE_RESOLVED" || o["late"] != true || o["reference"] != "IMY-2025-1234" {
		t.Fatalf("late report with a reason: %d %v", resp.StatusCode, m)
	}
	// Resolved: another outcome is an illegal transition.
	resp = e.call("POST", base+"/not-reportable", controller, js, `{"justification":"no risk","recorded_by":"dpo"}`)
	if m := decode(t, resp); resp.StatusCode != http.StatusConflict || m["code"] != "FAILED_PRECONDITION" {
		t.Errorf("second outcome: %d %v", resp.StatusCode, m)
	}

	// Art. 34(3)(c) needs the public communication.
	comm := `{"communication":{"kind":"SUBJECT_COMMUNICATION_KIND_EXEMPT","exemption":"ART34_EXEMPTION_C_DISPROPORTIONATE"},"recorded_by":"dpo"}`
	resp = e.call("POST", base+"/subject-communication", controller, js, comm)
	if m := decode(t, resp); resp.StatusCode != 400 || !strings.Contains(m["message"].(string), "public communication") {
		t.Errorf("34(3)(c) without a public communication: %d %v", resp.StatusCode, m)
	}
	comm = strings.Replace(comm, `"exemption"`, `"public_communication":"Notice on stockholm.se and in Dagens Nyheter","exemption"`, 1)
	resp = e.call("POST", base+"/subject-communication", controller, js, comm)
	if m := decode(t, resp); resp.StatusCode != 200 || m["notice"].(map[string]any)["subject_communication"] == nil {
		t.Errorf("34(3)(c) with a public communication: %d %v", resp.StatusCode, m)
	}

	// The evidence: a zip of one directory, its files matching the signed
	// manifest; only for the organisation's own callers and the vendor.
	resp = e.call("GET", "/api/evidence/"+stockholm, controller, "", "")
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), `filename=evidence-`+stockholm+`-`) {
		t.Fatalf("evidence: %d %v %.200s", resp.StatusCode, resp.Header, body)
	}
	files := unzip(t, body)
	manifest, err := evidence.ParseManifest(files[evidence.ManifestFile])
	if err != nil {
		t.Fatal(err)
	}
	var listed []evidence.File
	for _, f := range manifest.Files {
		listed = append(listed, evidence.File{Name: f.Name, Data: files[f.Name]})
	}
	if err := manifest.Check(listed); err != nil || len(files) != 5 || !strings.HasPrefix(string(files[evidence.SignatureFile]), "v1;kid=") {
		t.Errorf("evidence zip: %v, files %d", err, len(files))
	}
	if !bytes.Contains(files["evidence.json"], []byte("IMY-2025-1234")) || !bytes.Contains(files["evidence.json"], []byte("Dagens Nyheter")) {
		t.Error("the evidence lacks the recorded outcome")
	}
	if bytes.Contains(files["evidence.json"], []byte(uppsala)) || bytes.Contains(files["evidence.csv"], []byte(uppsala)) {
		t.Error("Stockholm's evidence names another affected organisation")
	}
	if resp := e.call("GET", "/api/evidence/"+stockholm, outsider, "", ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("another organisation's evidence: %d", resp.StatusCode)
	}
	if resp := e.call("GET", "/api/evidence/"+stockholm, "", "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous evidence: %d", resp.StatusCode)
	}
}

// unzip reads a zip of one directory: file name (without the directory)
// to contents.
func unzip(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	dir := ""
	for _, f := range zr.File {
		d, name, ok := strings.Cut(f.Name, "/")
		if !ok || (dir != "" && d != dir) || strings.Contains(name, "/") {
			t.Fatalf("zip entry %q outside one directory", f.Name)
		}
		dir = d
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	return out
}
