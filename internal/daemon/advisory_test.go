package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// subjectNoticeJSON is a subject_notice in both languages.
const subjectNoticeJSON = `{"sv":{"what_happened":"Någon kom åt lönesystemet.","which_data":"Namn och lön.",
"what_to_do":"Var vaksam på sms om lön.","recognise_phishing":"Vi ber aldrig om lösenord."},
"en":{"what_happened":"Someone reached the payroll system.","what_to_do":"Be careful with texts about salary."}}`

// advisoryReport is a report naming n organisations of writeRegistry with
// distinctive numbers, and words for the data subjects.
func advisoryReport(id string, n int) []byte {
	var aff []string
	for i := range n {
		aff = append(aff, fmt.Sprintf(`{"org_id":"org-%05d","approx_subjects":%d,"approx_records":%d}`, i, 73100+i, 91700+i))
	}
	return []byte(fmt.Sprintf(`{"id":%q,"processor":"Exempel HR-system AB","title":"Test breach","nature":"copied database",
"discovered_at":"2025-08-23T14:00:00Z","affected":[%s],"contact":{"name":"Incidentlinjen","email":"sec@exempel.example.org","phone":"+46 8 000 00 00"},
"subject_notice":%s}`, id, strings.Join(aff, ","), subjectNoticeJSON))
}

// httpGet returns the status, body and headers of a GET without a token.
func httpGet(t *testing.T, url string, hdr ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	resp.Header.Del("Date")
	return resp.StatusCode, string(body), resp.Header
}

// TestAdvisoryPage: the page of a breach affecting 50 organisations is 404
// until the vendor publishes it, the same 404 as for a breach that does
// not exist; once published it is served without a token and names no
// organisation and none of their numbers; it survives a restart; an
// update's words replace the page's; after UnpublishAdvisory it is the
// same 404 again.
func TestAdvisoryPage(t *testing.T) {
	const id, orgs = "ADVISORY-1", 50
	opts := options(t)
	opts.OrgsFile = writeRegistry(t, orgs)
	opts.HTTPAddr = "127.0.0.1:0"
	e := start(t, opts)
	e.publish(advisoryReport(id, orgs))
	e.waitSummary(id, 30*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == orgs })
	base := "http://" + e.d.HTTPAddr()

	unknownCode, unknownBody, unknownHdr := httpGet(t, base+"/advisories/NO-SUCH-BREACH")
	if unknownCode != http.StatusNotFound {
		t.Fatalf("unknown breach: HTTP %d", unknownCode)
	}
	sameAsUnknown := func(when string) {
		t.Helper()
		code, body, hdr := httpGet(t, base+"/advisories/"+id)
		if code != unknownCode || body != unknownBody {
			t.Errorf("%s: HTTP %d %q; unknown breach: HTTP %d %q", when, code, body, unknownCode, unknownBody)
		}
		for k := range unknownHdr {
			if hdr.Get(k) != unknownHdr.Get(k) {
				t.Errorf("%s: header %s = %q; unknown breach: %q", when, k, hdr.Get(k), unknownHdr.Get(k))
			}
		}
	}
	sameAsUnknown("before publishing")

	pub, err := e.breachC.PublishAdvisory(ctx(t), &cascadev1.PublishAdvisoryRequest{BreachId: id})
	if err != nil {
		t.Fatal(err)
	}
	if pub.GetAlreadyPublished() || pub.GetBreach().GetAdvisoryPublishedAt() == nil || pub.GetBreach().GetAdvisoryPath() != "/advisories/"+id {
		t.Fatalf("publish = %v", pub)
	}
	if again, err := e.breachC.PublishAdvisory(ctx(t), &cascadev1.PublishAdvisoryRequest{BreachId: id}); err != nil || !again.GetAlreadyPublished() ||
		!again.GetBreach().GetAdvisoryPublishedAt().AsTime().Equal(pub.GetBreach().GetAdvisoryPublishedAt().AsTime()) {
		t.Fatalf("publishing again = %v, %v", again, err)
	}
	page := func(want ...string) string {
		t.Helper()
		code, body, hdr := httpGet(t, base+"/advisories/"+id, "Accept-Language", "sv-SE,sv;q=0.9")
		if code != http.StatusOK {
			t.Fatalf("published page: HTTP %d %s", code, body)
		}
		if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
			t.Errorf("CSP %q", csp)
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("page lacks %q", w)
			}
		}
		for i := range orgs {
			for _, bad := range []string{fmt.Sprintf("org-%05d", i), fmt.Sprintf("Organisation %d<", i), fmt.Sprint(73100 + i), fmt.Sprint(91700 + i)} {
				if strings.Contains(body, bad) {
					t.Fatalf("the public page contains %q:\n%s", bad, body)
				}
			}
		}
		return body
	}
	page("Någon kom åt lönesystemet.", "Var vaksam på sms om lön.", "Exempel HR-system AB", "sec@exempel.example.org", "Cascade signerar")
	if _, en, _ := httpGet(t, base+"/advisories/"+id+"?lang=en"); !strings.Contains(en, "Someone reached the payroll system.") {
		t.Errorf("English page:\n%s", en)
	}

	// The published state is in JetStream: a restart keeps it.
	e.d.Stop()
	opts.OrgsFile = ""
	e = start(t, opts)
	base = "http://" + e.d.HTTPAddr()
	page("Någon kom åt lönesystemet.")

	// An update's words replace the page's.
	_, err = e.breachC.UpdateBreach(ctx(t), &cascadev1.UpdateBreachRequest{Update: &cascadev1.BreachUpdate{BreachId: id, Summary: "Nya ord",
		SubjectNotice: &cascadev1.SubjectNotice{Sv: &cascadev1.SubjectNoticeText{WhatHappened: "Angriparen är utestängd sedan i går."}}}})
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if _, body, _ := httpGet(t, base+"/advisories/"+id); !strings.Contains(body, "Angriparen är utestängd") {
			return fmt.Errorf("page not updated")
		}
		return nil
	})
	body := page("Angriparen är utestängd sedan i går.")
	if strings.Contains(body, "Någon kom åt lönesystemet.") {
		t.Error("the page still shows the replaced words")
	}

	un, err := e.breachC.UnpublishAdvisory(ctx(t), &cascadev1.UnpublishAdvisoryRequest{BreachId: id})
	if err != nil || un.GetAlreadyUnpublished() || un.GetBreach().GetAdvisoryPublishedAt() != nil {
		t.Fatalf("unpublish = %v, %v", un, err)
	}
	sameAsUnknown("after unpublishing")
	if again, err := e.breachC.UnpublishAdvisory(ctx(t), &cascadev1.UnpublishAdvisoryRequest{BreachId: id}); err != nil || !again.GetAlreadyUnpublished() {
		t.Fatalf("unpublishing again = %v, %v", again, err)
	}
}

// TestDraftSubjectCommunication drafts the communication to the data
// subjects through the API, in both languages.
func TestDraftSubjectCommunication(t *testing.T) {
	const id = "SUBJ-1"
	opts := options(t)
	opts.OrgsFile = writeRegistry(t, 3)
	e := start(t, opts)
	e.publish(advisoryReport(id, 3))
	e.waitSummary(id, 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 3 })
	for _, c := range []struct{ lang, want string }{{"sv", "Någon kom åt lönesystemet."}, {"en", "Someone reached the payroll system."}} {
		r, err := e.noticeC.DraftSubjectCommunication(ctx(t), &cascadev1.DraftSubjectCommunicationRequest{NoticeId: id + "/org-00001", Language: c.lang})
		if err != nil {
			t.Fatal(err)
		}
		for _, out := range []string{r.GetMarkdown(), r.GetPlainText()} {
			if !strings.Contains(out, c.want) || !strings.Contains(out, "Organisation 1") || strings.Contains(out, "org-00002") {
				t.Errorf("%s draft:\n%s", c.lang, out)
			}
		}
		if r.GetLanguage() != c.lang || r.GetSms() == "" || len([]rune(r.GetSms())) > 160 || strings.Contains(r.GetSms(), "http") {
			t.Errorf("%s: language %q, SMS %q", c.lang, r.GetLanguage(), r.GetSms())
		}
	}
	_, err := e.noticeC.DraftSubjectCommunication(ctx(t), &cascadev1.DraftSubjectCommunicationRequest{NoticeId: id + "/org-00001", Language: "de"})
	wantCode(t, err, "InvalidArgument")
	_, err = e.noticeC.DraftSubjectCommunication(ctx(t), &cascadev1.DraftSubjectCommunicationRequest{NoticeId: id + "/org-00099"})
	wantCode(t, err, "NotFound")
}
