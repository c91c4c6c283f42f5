package daemon_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// Hostile callers of the words for the data subjects and the public
// advisory page. The suite's breach has no subject_notice and no
// published advisory.
func init() {
	publish := func(token func(a *adversary) string, id string) func(a *adversary) error {
		return func(a *adversary) error {
			_, err := a.breaches().PublishAdvisory(a.as(token(a)), &cascadev1.PublishAdvisoryRequest{BreachId: id})
			return err
		}
	}
	unpublish := func(token func(a *adversary) string, id string) func(a *adversary) error {
		return func(a *adversary) error {
			_, err := a.breaches().UnpublishAdvisory(a.as(token(a)), &cascadev1.UnpublishAdvisoryRequest{BreachId: id})
			return err
		}
	}
	vendor := func(a *adversary) string { return a.vendor }
	ctrlA := func(a *adversary) string { return a.controllerA }
	viewerAll := func(a *adversary) string { return a.viewerAll }
	none := func(*adversary) string { return "" }
	// page fetches a path without a token: nil for 2xx, else "HTTP <code>".
	page := func(a *adversary, path string) (int, []byte, http.Header, error) {
		c, cancel := short()
		defer cancel()
		req, err := http.NewRequestWithContext(c, http.MethodGet, a.http+path, nil)
		if err != nil {
			return 0, nil, nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil, nil, err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Header.Del("Date")
		return resp.StatusCode, body, resp.Header, nil
	}
	// sameAsUnknown fetches path and a breach that does not exist: the
	// answers must not differ in status, body or headers.
	sameAsUnknown := func(path string) func(a *adversary) error {
		return func(a *adversary) error {
			code, body, hdr, err := page(a, path)
			if err != nil {
				return err
			}
			uCode, uBody, uHdr, err := page(a, "/advisories/NO-SUCH-BREACH")
			if err != nil {
				return err
			}
			if code != uCode || !bytes.Equal(body, uBody) {
				return fmt.Errorf("HTTP %d differs from an unknown breach's HTTP %d", code, uCode)
			}
			for k := range uHdr {
				if hdr.Get(k) != uHdr.Get(k) {
					return fmt.Errorf("header %s differs from an unknown breach's", k)
				}
			}
			if code/100 == 2 {
				return nil
			}
			return fmt.Errorf("HTTP %d", code)
		}
	}
	addHostile(
		hostile{name: "controller publishes the advisory", surface: "grpc", want: "PermissionDenied", do: publish(ctrlA, advBreach)},
		hostile{name: "viewer unpublishes the advisory", surface: "grpc", want: "PermissionDenied", do: unpublish(viewerAll, advBreach)},
		hostile{name: "advisory published without a token", surface: "grpc", want: "Unauthenticated", do: publish(none, advBreach)},
		hostile{name: "vendor publishes the advisory of an unknown breach", surface: "grpc", want: "NotFound", do: publish(vendor, "NO-SUCH-BREACH")},
		hostile{name: "vendor publishes an advisory with a path for a breach id", surface: "grpc", want: "InvalidArgument", do: publish(vendor, "../ADV-1")},
		hostile{name: "vendor publishes an advisory without words for the data subjects", surface: "grpc", want: "FailedPrecondition",
			do: publish(vendor, advBreach)},
		hostile{name: "controller drafts another's communication to its data subjects", surface: "grpc", want: "NotFound",
			do: func(a *adversary) error {
				_, err := a.notices().DraftSubjectCommunication(a.as(a.controllerA), &cascadev1.DraftSubjectCommunicationRequest{NoticeId: advNotB})
				return err
			}},
		hostile{name: "communication to data subjects in an unknown language", surface: "grpc", want: "InvalidArgument",
			do: func(a *adversary) error {
				_, err := a.notices().DraftSubjectCommunication(a.as(a.controllerA), &cascadev1.DraftSubjectCommunicationRequest{NoticeId: advNotA, Language: "xx"})
				return err
			}},
		hostile{name: "words for the data subjects with a terminal escape", surface: "grpc", want: "subject_notice.sv.what_to_do",
			do: func(a *adversary) error {
				_, err := a.breaches().UpdateBreach(a.as(a.vendor), &cascadev1.UpdateBreachRequest{Update: &cascadev1.BreachUpdate{
					BreachId: advBreach, Summary: "s",
					SubjectNotice: &cascadev1.SubjectNotice{Sv: &cascadev1.SubjectNoticeText{WhatHappened: "x", WhatToDo: "\x1b]8;;http://evil.example\x07klicka\x1b]8;;\x07"}}}})
				return err
			}},
		hostile{name: "advisory page of an unpublished breach, as of an unknown one", surface: "http", want: "HTTP 404",
			do: sameAsUnknown("/advisories/" + advBreach)},
		hostile{name: "advisory page with a path for a breach id", surface: "http", want: "HTTP 404",
			do: sameAsUnknown("/advisories/..%2F..%2Fgo.mod")},
		hostile{name: "advisory page with a token of another organisation", surface: "http", want: "HTTP 404",
			do: func(a *adversary) error {
				return a.httpDo("GET", "/advisories/"+advBreach, a.controllerA, nil)
			}},
	)
}
