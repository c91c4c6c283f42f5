package daemon_test

import (
	"context"
	"strings"

	"google.golang.org/grpc/metadata"
)

// withRawAuth sends the token without the "Bearer " scheme.
func withRawAuth(a *adversary, token string) context.Context {
	return metadata.AppendToOutgoingContext(a.as(""), "authorization", token)
}

// Hostile browsers and scripts against the dashboard's API.
func init() {
	get := func(path string, token func(a *adversary) string, hdr ...string) func(a *adversary) error {
		return func(a *adversary) error { return a.httpDo("GET", path, token(a), nil, hdr...) }
	}
	post := func(path string, token func(a *adversary) string, body string) func(a *adversary) error {
		return func(a *adversary) error {
			return a.httpDo("POST", path, token(a), strings.NewReader(body), "Content-Type", "application/json")
		}
	}
	none := func(*adversary) string { return "" }
	ctrlA := func(a *adversary) string { return a.controllerA }
	viewerA := func(a *adversary) string { return a.viewerA }
	vendor := func(a *adversary) string { return a.vendor }
	ackA := "/api/notices/" + advNotA + "/acknowledge"
	ackB := "/api/notices/" + advNotB + "/acknowledge"
	addHostile(
		hostile{name: "breach without a token", surface: "http", want: "HTTP 401", do: get("/api/breaches/"+advBreach, none)},
		hostile{name: "token in the query string", surface: "http", want: "HTTP 401",
			do: func(a *adversary) error {
				return a.httpDo("GET", "/api/breaches/"+advBreach+"?token="+a.vendor, "", nil)
			}},
		hostile{name: "token in a cookie", surface: "http", want: "HTTP 401",
			do: func(a *adversary) error {
				return a.httpDo("GET", "/api/breaches/"+advBreach, "", nil, "Cookie", "token="+a.vendor)
			}},
		hostile{name: "revoked token", surface: "http", want: "HTTP 401", do: get("/api/session", func(a *adversary) string { return a.revoked })},
		hostile{name: "made-up token", surface: "http", want: "HTTP 401", do: get("/api/session", func(*adversary) string { return "cas_x" })},
		hostile{name: "live view without a token", surface: "http", want: "HTTP 401", do: get("/api/events/breaches", none)},
		hostile{name: "controller's live view of a whole breach", surface: "http", want: "HTTP 403", do: get("/api/events/breaches/"+advBreach, ctrlA)},
		hostile{name: "acknowledgement without a token", surface: "http", want: "HTTP 401", do: post(ackA, none, `{"acknowledged_by":"x"}`)},
		hostile{name: "controller acknowledges another's notice", surface: "http", want: "HTTP 404", do: post(ackB, ctrlA, `{"acknowledged_by":"x"}`)},
		hostile{name: "viewer acknowledges", surface: "http", want: "HTTP 403", do: post(ackA, viewerA, `{"acknowledged_by":"x"}`)},
		hostile{name: "vendor acknowledges on a controller's behalf", surface: "http", want: "HTTP 403", do: post(ackA, vendor, `{"acknowledged_by":"x"}`)},
		hostile{name: "acknowledgement that is not JSON", surface: "http", want: "HTTP 400", do: post(ackA, ctrlA, `{"acknowledged_by":`)},
		hostile{name: "acknowledgement without a name", surface: "http", want: "HTTP 400", do: post(ackA, ctrlA, `{}`)},
		hostile{name: "acknowledgement by GET", surface: "http", want: "HTTP 405", do: get(ackA, ctrlA)},
		hostile{name: "notice with a path in its id", surface: "http", want: "HTTP 400",
			do: get("/api/events/notices/..%2F..%2Fetc/passwd", ctrlA)},
		hostile{name: "static file outside the dashboard", surface: "http", want: "HTTP 404", do: get("/static/..%2f..%2fgo.mod", none)},
	)
	// The controller's workspace: each page relays one gRPC call, so each
	// is refused as that call is.
	reportA := "/api/notices/" + advNotA + "/authority-report"
	const report = `{"authority":"IMY","reference":"R-1","reported_at":"2025-08-24T10:00:00Z","recorded_by":"x"}`
	addHostile(
		hostile{name: "authority report without a token", surface: "http", want: "HTTP 401", do: post(reportA, none, report)},
		hostile{name: "controller reports another's notice", surface: "http", want: "HTTP 404",
			do: post("/api/notices/"+advNotB+"/authority-report", ctrlA, report)},
		hostile{name: "viewer records not reportable", surface: "http", want: "HTTP 403",
			do: post("/api/notices/"+advNotA+"/not-reportable", viewerA, `{"justification":"x","recorded_by":"x"}`)},
		hostile{name: "vendor records an Art. 34 decision for a controller", surface: "http", want: "HTTP 403",
			do: post("/api/notices/"+advNotA+"/subject-communication", vendor,
				`{"communication":{"kind":"SUBJECT_COMMUNICATION_KIND_NOT_REQUIRED","justification":"x"},"recorded_by":"x"}`)},
		hostile{name: "authority report as a form post", surface: "http", want: "HTTP 415",
			do: func(a *adversary) error {
				return a.httpDo("POST", reportA, a.controllerA, strings.NewReader("authority=IMY"), "Content-Type", "application/x-www-form-urlencoded")
			}},
		hostile{name: "authority report past the body limit", surface: "http", want: "HTTP 413",
			do: post(reportA, ctrlA, `{"authority":"`+strings.Repeat("A", 70<<10)+`"}`)},
		hostile{name: "another organisation's draft", surface: "http", want: "HTTP 404", do: get("/api/notices/"+advNotB+"/draft", ctrlA)},
		hostile{name: "another organisation's early-warning draft", surface: "http", want: "HTTP 404",
			do: get("/api/notices/"+advNotB+"/draft?obligation=nis2_early_warning", ctrlA)},
		hostile{name: "draft of an unknown obligation", surface: "http", want: "HTTP 400",
			do: get("/api/notices/"+advNotA+"/draft?obligation=dora_major_incident", ctrlA)},
		hostile{name: "early-warning draft of a GDPR-only notice", surface: "http", want: "HTTP 409",
			do: get("/api/notices/"+advNotA+"/draft?obligation=nis2_early_warning", ctrlA)},
		hostile{name: "NIS2 outcome on another's notice", surface: "http", want: "HTTP 404",
			do: post("/api/notices/"+advNotB+"/not-reportable", ctrlA, `{"obligation":"OBLIGATION_KIND_NIS2_EARLY_WARNING","justification":"x","recorded_by":"x"}`)},
		hostile{name: "NIS2 outcome on a GDPR-only notice", surface: "http", want: "HTTP 409",
			do: post("/api/notices/"+advNotA+"/not-reportable", ctrlA, `{"obligation":"OBLIGATION_KIND_NIS2_FINAL_REPORT","justification":"x","recorded_by":"x"}`)},
		hostile{name: "another organisation's evidence", surface: "http", want: "HTTP 403", do: get("/api/evidence/"+advOrgB, ctrlA)},
		hostile{name: "evidence without a token", surface: "http", want: "HTTP 401", do: get("/api/evidence/"+advOrgA, none)},
		hostile{name: "question on another's notice", surface: "http", want: "HTTP 404",
			do: post("/api/notices/"+advNotB+"/questions", ctrlA, `{"text":"x?"}`)},
		hostile{name: "viewer asks a question", surface: "http", want: "HTTP 403",
			do: post("/api/notices/"+advNotA+"/questions", viewerA, `{"text":"x?"}`)},
		hostile{name: "controller answers a question", surface: "http", want: "HTTP 403",
			do: post("/api/questions/"+advNotA+"/1/answer", ctrlA, `{"text":"x"}`)},
		hostile{name: "controller lists another organisation's questions", surface: "http", want: "HTTP 403",
			do: get("/api/events/questions?org_id="+advOrgB, ctrlA)},
		hostile{name: "another organisation's subject draft", surface: "http", want: "HTTP 404", do: get("/api/notices/"+advNotB+"/subject-draft", ctrlA)},
		hostile{name: "subject draft without a token", surface: "http", want: "HTTP 401", do: get("/api/notices/"+advNotA+"/subject-draft", none)},
		hostile{name: "controller publishes the advisory page", surface: "http", want: "HTTP 403",
			do: post("/api/breaches/"+advBreach+"/advisory/publish", ctrlA, `{}`)},
		hostile{name: "viewer withdraws the advisory page", surface: "http", want: "HTTP 403",
			do: post("/api/breaches/"+advBreach+"/advisory/unpublish", viewerA, `{}`)},
		hostile{name: "advisory publish without a token", surface: "http", want: "HTTP 401",
			do: post("/api/breaches/"+advBreach+"/advisory/publish", none, `{}`)},
	)
}
