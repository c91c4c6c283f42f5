package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/cascadehq/cascade/internal/evidence"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// The controller's workspace: everything a data protection officer does
// on a notice after reading it, each a thin relay of one gRPC call, so the
// rules and errors are the API's (a late report without a delay reason is
// refused by RecordAuthorityReport, not here).

// noticeID is the notice named by the request's path.
func noticeID(r *http.Request) string {
	return r.PathValue("breach") + "/" + r.PathValue("org")
}

// readJSON decodes the request body, a gRPC request message as protojson,
// into req. It answers the error itself and reports whether to go on.
func readJSON(w http.ResponseWriter, r *http.Request, req proto.Message) bool {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		// Also keeps plain cross-site form posts out.
		writeJSONError(w, http.StatusUnsupportedMediaType, "INVALID_ARGUMENT", "send application/json")
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		writeJSONError(w, http.StatusRequestEntityTooLarge, "INVALID_ARGUMENT",
			fmt.Sprintf("request body too large (at most %d KiB)", maxBodyBytes>>10))
		return false
	}
	if err := protojson.Unmarshal(body, req); err != nil {
		writeJSONError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "request body: "+err.Error())
		return false
	}
	return true
}

// relay handles a POST whose JSON body is the gRPC request: set fills in
// what the path names (the notice id), call is the gRPC method.
func relay[Req any, PReq interface {
	*Req
	proto.Message
}, Resp proto.Message](d *Dashboard, set func(*http.Request, PReq), call func(context.Context, PReq, ...grpc.CallOption) (Resp, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req := PReq(new(Req))
		if !readJSON(w, r, req) {
			return
		}
		set(r, req)
		ctx, cancel := unary(r)
		defer cancel()
		resp, err := call(ctx, req)
		if err != nil {
			d.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, jsonOf(resp))
	}
}

// routeWorkspace registers the controller's workspace.
func (d *Dashboard) routeWorkspace() {
	d.mux.HandleFunc("POST /api/notices/{breach}/{org}/acknowledge", relay(d,
		func(r *http.Request, req *cascadev1.AcknowledgeNoticeRequest) { req.NoticeId = noticeID(r) }, d.notices.AcknowledgeNotice))
	d.mux.HandleFunc("POST /api/notices/{breach}/{org}/authority-report", relay(d,
		func(r *http.Request, req *cascadev1.RecordAuthorityReportRequest) { req.NoticeId = noticeID(r) }, d.notices.RecordAuthorityReport))
	d.mux.HandleFunc("POST /api/notices/{breach}/{org}/not-reportable", relay(d,
		func(r *http.Request, req *cascadev1.RecordNotReportableRequest) { req.NoticeId = noticeID(r) }, d.notices.RecordNotReportable))
	d.mux.HandleFunc("POST /api/notices/{breach}/{org}/subject-communication", relay(d,
		func(r *http.Request, req *cascadev1.RecordSubjectCommunicationRequest) { req.NoticeId = noticeID(r) },
		d.notices.RecordSubjectCommunication))
	d.mux.HandleFunc("POST /api/notices/{breach}/{org}/questions", relay(d,
		func(r *http.Request, req *cascadev1.AskQuestionRequest) { req.NoticeId = noticeID(r) }, d.notices.AskQuestion))
	d.mux.HandleFunc("POST /api/questions/{breach}/{org}/{n}/answer", relay(d,
		func(r *http.Request, req *cascadev1.AnswerQuestionRequest) {
			req.QuestionId = noticeID(r) + "/" + r.PathValue("n")
		},
		d.notices.AnswerQuestion))
	d.mux.HandleFunc("GET /api/events/questions", d.questionEvents)
	d.mux.HandleFunc("GET /api/notices/{breach}/{org}/draft", d.draft)
	d.mux.HandleFunc("GET /api/notices/{breach}/{org}/subject-draft", d.subjectDraft)
	d.mux.HandleFunc("POST /api/breaches/{breach}/advisory/publish", relay(d,
		func(r *http.Request, req *cascadev1.PublishAdvisoryRequest) { req.BreachId = r.PathValue("breach") }, d.breaches.PublishAdvisory))
	d.mux.HandleFunc("POST /api/breaches/{breach}/advisory/unpublish", relay(d,
		func(r *http.Request, req *cascadev1.UnpublishAdvisoryRequest) { req.BreachId = r.PathValue("breach") }, d.breaches.UnpublishAdvisory))
	d.mux.HandleFunc("GET /api/evidence/{org}", d.evidence)
}

// draftAnswer is the authority-report draft for the page: the Markdown to
// download, and the JSON form parsed, shown field by field.
type draftAnswer struct {
	Language string          `json:"language"`
	Markdown string          `json:"markdown"`
	Fields   json.RawMessage `json:"fields"`
}

// draft answers DraftAuthorityReport (?language=sv|en; empty: the
// organisation's locale; ?obligation=nis2_early_warning: the NIS2 early
// warning instead of the GDPR report).
func (d *Dashboard) draft(w http.ResponseWriter, r *http.Request) {
	var ob cascadev1.ObligationKind
	if q := r.URL.Query().Get("obligation"); q != "" {
		v, ok := cascadev1.ObligationKind_value["OBLIGATION_KIND_"+strings.ToUpper(q)]
		if !ok {
			d.writeError(w, r, status.Errorf(codes.InvalidArgument, "unknown obligation %q", shortQuery(q)))
			return
		}
		ob = cascadev1.ObligationKind(v)
	}
	ctx, cancel := unary(r)
	defer cancel()
	resp, err := d.notices.DraftAuthorityReport(ctx, &cascadev1.DraftAuthorityReportRequest{
		NoticeId: noticeID(r), Language: r.URL.Query().Get("language"), Obligation: ob})
	if err != nil {
		d.writeError(w, r, err)
		return
	}
	fields := json.RawMessage(resp.GetJson())
	if !json.Valid(fields) {
		fields = json.RawMessage("null")
	}
	writeJSON(w, http.StatusOK, draftAnswer{Language: resp.GetLanguage(), Markdown: resp.GetMarkdown(), Fields: fields})
}

// shortQuery is a query value fit to quote in an error.
func shortQuery(q string) string {
	if r := []rune(q); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return q
}

// subjectDraft answers DraftSubjectCommunication (?language=sv|en): the
// controller's draft to its own data subjects (Art. 34).
func (d *Dashboard) subjectDraft(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := unary(r)
	defer cancel()
	resp, err := d.notices.DraftSubjectCommunication(ctx, &cascadev1.DraftSubjectCommunicationRequest{
		NoticeId: noticeID(r), Language: r.URL.Query().Get("language")})
	if err != nil {
		d.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, jsonOf(resp))
}

// evidence answers ExportEvidence for one organisation as a zip archive
// holding the directory 'cascadectl evidence export' writes, so that
// 'cascadectl evidence verify' checks it once unpacked.
func (d *Dashboard) evidence(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := unary(r)
	defer cancel()
	org := r.PathValue("org")
	resp, err := d.notices.ExportEvidence(ctx, &cascadev1.ExportEvidenceRequest{OrgId: org})
	if err != nil {
		d.writeError(w, r, err)
		return
	}
	rendered := evidence.Rendered{JSON: resp.GetJson(), CSV: resp.GetCsv(), JSONSHA256: resp.GetJsonSha256(), CSVSHA256: resp.GetCsvSha256()}
	files, err := rendered.Files(evidence.BaseName)
	if err == nil && len(resp.GetManifest()) == 0 {
		err = fmt.Errorf("the export carries no signed manifest")
	}
	generated := d.now().UTC()
	if t := resp.GetGeneratedAt(); t != nil {
		generated = t.AsTime().UTC()
	}
	name := fmt.Sprintf("evidence-%s-%s", org, generated.Format("20060102T150405Z"))
	var buf bytes.Buffer
	if err == nil {
		err = evidence.WriteZip(&buf, name, evidence.Signed{Files: files, Manifest: resp.GetManifest(),
			Signature: resp.GetManifestSignature(), KeyID: resp.GetKeyId()})
	}
	if err != nil {
		d.log.Error("evidence export for the dashboard", "org_id", org, "err", err)
		writeJSONError(w, http.StatusInternalServerError, "INTERNAL", "the evidence export could not be packed; retry, or use cascadectl evidence export")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name + ".zip"}))
	h.Set("Last-Modified", generated.Format(http.TimeFormat))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// maxQuestions bounds the questions one live view holds.
const maxQuestions = 1000

// questions lists the questions req selects, every page up to
// maxQuestions.
func (d *Dashboard) questions(ctx context.Context, req *cascadev1.ListQuestionsRequest) ([]*cascadev1.Question, error) {
	var out []*cascadev1.Question
	for {
		resp, err := d.notices.ListQuestions(ctx, req)
		if err != nil {
			return nil, err
		}
		out = append(out, resp.GetQuestions()...)
		if resp.GetNextPageToken() == "" || len(out) >= maxQuestions {
			return out, nil
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

// questionEvents streams the questions ListQuestions selects
// (?breach_id=&org_id=&unanswered_only=1) as "questions" events:
// {"questions":[...],"truncated":bool}, again whenever they change.
func (d *Dashboard) questionEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d.pollEvents(w, r, "questions", func(ctx context.Context) (json.RawMessage, error) {
		qs, err := d.questions(ctx, &cascadev1.ListQuestionsRequest{BreachId: q.Get("breach_id"), OrgId: q.Get("org_id"),
			UnansweredOnly: q.Get("unanswered_only") == "1" || q.Get("unanswered_only") == "true", PageSize: 500})
		if err != nil {
			return nil, err
		}
		out := struct {
			Questions []json.RawMessage `json:"questions"`
			Truncated bool              `json:"truncated"`
		}{Questions: []json.RawMessage{}, Truncated: len(qs) >= maxQuestions}
		for _, x := range qs {
			out.Questions = append(out.Questions, jsonOf(x))
		}
		return json.Marshal(out)
	})
}
