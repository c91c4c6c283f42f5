package dashboard_test

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/evidence"
	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

const (
	alvesta = "se-kommun-0764"
	almhult = "se-kommun-0765"
)

// downloads saves the browser's downloads in a new directory, returned.
func (b *browser) downloads() string {
	b.t.Helper()
	dir := b.t.TempDir()
	id := chromedp.FromContext(b.ctx).BrowserContextID
	if _, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir, BrowserContextID: id}); err != nil {
		b.t.Fatalf("%s: downloads: %v", b.name, err)
	}
	return dir
}

// downloaded waits for a finished download whose name has suffix.
func downloaded(t *testing.T, dir, suffix string) (string, []byte) {
	t.Helper()
	var name string
	var data []byte
	testkit.Eventually(t, 20*time.Second, func() error {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), suffix) {
				name = e.Name()
				data, err = os.ReadFile(filepath.Join(dir, name))
				if err == nil && len(data) > 0 {
					return nil
				}
			}
		}
		return fmt.Errorf("no %s download in %s yet", suffix, dir)
	})
	return name, data
}

// click clicks the element sel and counts the click.
func (b *browser) click(clicks *int, sel string) {
	b.t.Helper()
	*clicks++
	b.do("click "+sel, chromedp.Click(sel))
}

// TestWorkspaceInBrowser drives a data protection officer's whole job in
// headless Chromium: sign in, read the facts and what a revision changed,
// acknowledge, ask the processor a question and see the answer arrive,
// take the authority-report draft, have a late report without reasons
// refused and record it with them, record the Art. 34 decision, download
// the evidence; and the vendor's side: open questions, answering one for
// everyone, filtering, sorting by Swedish collation, the CSV.
func TestWorkspaceInBrowser(t *testing.T) {
	exe := chromium(t)
	dir := artefacts(t)
	var ahead atomic.Int64
	e := start(t, false, func(o *daemon.Options) {
		o.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	})
	e.publish("WS-B", stockholm, malmo, alvesta, almhult)
	// The processor's analysis changes the facts.
	update := `{"breach_id":"WS-B","summary":"Analysis found personal identity numbers in the copy",
"data_categories":["names","personal identity numbers","salaries"],"measures_taken":"Passwords reset; the server is isolated",
"next_update_by":"` + time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339) + `",
"correct_affected":[{"org_id":"` + malmo + `","approx_subjects":4100,"status":"AFFECTED_STATUS_UNDER_INVESTIGATION"}],
"withdraw":[{"org_id":"` + almhult + `","statement":"Älmhult's tenant was never read."}],
"subject_notice":{"sv":{"what_happened":"En obehörig kopierade lönedatabasen hos Exempel HR-system AB.","what_to_do":"Var vaksam mot e-post och sms som hänvisar till incidenten."},
"en":{"what_happened":"Someone copied the payroll database at Exempel HR-system AB.","what_to_do":"Be wary of e-mail and text messages that refer to the incident."}}}`
	if _, err := e.js.Publish(ctx(t), "cascade.breach.update", []byte(update)); err != nil {
		t.Fatal(err)
	}
	controller := e.issue(stockholm, cascadev1.Role_ROLE_CONTROLLER)

	alloc := allocator(t, exe)
	dpo := newBrowser(t, alloc, "dpo", dir)
	dpoFiles := dpo.downloads()
	vendor := newBrowser(t, dpo.ctx, "vendor", dir, chromedp.WithNewBrowserContext())
	vendorFiles := vendor.downloads()

	// Sign in: the inbox, then the notice.
	began := time.Now()
	clicks := 0
	dpo.signIn(e.base, controller)
	clicks++
	card := `[data-notice-id="WS-B/` + stockholm + `"]`
	dpo.do("inbox", chromedp.WaitVisible(card))
	dpo.click(&clicks, card+` h2 a`)
	dpo.waitFor("the facts as of revision 2", `document.querySelector('#facts')?.innerText.includes('personal identity numbers') &&
		document.querySelector('#facts').innerText.includes('Passwords reset')`)
	if got := dpo.eval(`document.querySelector('#changes tr[data-field="data_categories"] .after').innerText`); !strings.Contains(got, "personal identity numbers") {
		t.Errorf("the revision's change: %q", got)
	}
	if got := dpo.eval(`document.querySelector('#changes tr[data-field="measures_taken"] .before').innerText`); got != "—" {
		t.Errorf("measures taken before revision 2: %q, want —", got)
	}
	if got := dpo.eval(`document.querySelector('#own-counts').innerText`); !strings.Contains(got, "1,200") {
		t.Errorf("own counts: %q", got)
	}
	if got := dpo.eval(`document.querySelector('#what .callback').innerText`); !strings.Contains(got, "number you know from your contract") {
		t.Errorf("call-back advice: %q", got)
	}
	if got := dpo.eval(`document.querySelector('#next-update')?.innerText || ''`); !strings.Contains(got, "promised by") || !strings.Contains(got, "left") {
		t.Errorf("the processor's promise: %q", got)
	}
	dpo.waitFor("the data subjects' draft", `document.querySelector('#subjects [data-variant="letter"] pre')?.innerText.includes('Stockholms kommun') &&
		document.querySelector('#subjects [data-variant="sms"] pre')?.innerText.length <= 160`)

	// Acknowledge, with the signed-in identity recorded.
	dpo.do("acknowledge", chromedp.SendKeys(`#notice-action input[name="acknowledged_by"]`, "Anna Dataskydd, DPO"))
	dpo.click(&clicks, `#notice-action button.ack`)
	dpo.waitFor("acknowledged", `document.querySelector('#history li[data-event="acknowledged"] .principal')?.innerText.includes('controller@`+stockholm+`')`)

	// Ask the processor.
	question := "Were the personal identity numbers of people with protected identity included?"
	dpo.do("ask", chromedp.SendKeys(`#ask-text`, question))
	dpo.click(&clicks, `#ask-form button[type=submit]`)
	dpo.waitFor("question listed", `document.querySelector('#question-list li.question:not(.answered) .waiting') !== null`)
	dpo.screenshot("workspace-question")
	dpo.screenshotOf("workspace-facts", "#what")
	dpo.screenshotOf("workspace-changes", "#changes")

	// The vendor sees it with its age, answers it for everyone.
	vendor.signIn(e.base, e.vendor)
	vendor.waitFor("open question on the breach list", `document.querySelector('[data-breach-id="WS-B"] .badge.question')?.innerText.endsWith(': 1')`)
	vendor.eval(`location.hash = '#/breach/WS-B'`)
	vendor.waitFor("open question", `document.querySelector('#open-questions li.question .age') !== null &&
		document.querySelector('#open-questions li.question').innerText.includes('protected identity') &&
		document.querySelector('#org-list li[data-org-id="`+stockholm+`"] .badge.question') !== null`)
	vendor.do("filter: open questions", chromedp.Click(`[data-show="questions"]`))
	vendor.waitFor("only Stockholm", `[...document.querySelectorAll('#org-list li')].map(li => li.dataset.orgId).join() === '`+stockholm+`'`)
	vendor.screenshot("workspace-vendor-question")
	vendor.screenshotOf("workspace-open-questions", "#questions-panel")
	vendor.do("answer",
		chromedp.SendKeys(`#open-questions li.question textarea`, "No: records with protected identity are kept in a separate system that was not affected."),
		chromedp.Click(`#open-questions li.question input[name="share_with_all"]`),
		chromedp.Click(`#open-questions li.question button[type=submit]`))
	vendor.waitFor("answered", `document.querySelector('#open-questions li.question') === null`)

	// The vendor publishes the public advisory page; it needs no token and
	// names no organisation.
	vendor.do("publish the advisory", chromedp.Click(`#advisory-publish`))
	vendor.waitFor("published", `document.querySelector('#advisory-unpublish') !== null`)
	page := e.call("GET", "/advisories/WS-B", "", "", "")
	advisory, err := io.ReadAll(page.Body)
	if err != nil {
		t.Fatal(err)
	}
	if page.StatusCode != 200 || !strings.Contains(string(advisory), "obehörig kopierade") {
		t.Errorf("advisory page: %d %.300s", page.StatusCode, advisory)
	}
	for _, org := range []string{stockholm, malmo, alvesta, almhult, "Stockholms kommun"} {
		if strings.Contains(string(advisory), org) {
			t.Errorf("the public advisory names %s", org)
		}
	}

	// The answer arrives on the DPO's open page, and is shared with all.
	dpo.waitFor("answer arrives live", `document.querySelector('#question-list li.answered .a')?.innerText.includes('separate system')`)
	// Malmö, which did not ask, gets it as an answer for everyone, without who asked.
	malmoDPO := newBrowser(t, dpo.ctx, "malmo", dir, chromedp.WithNewBrowserContext())
	malmoDPO.signIn(e.base, e.issue(malmo, cascadev1.Role_ROLE_CONTROLLER))
	malmoDPO.eval(`location.hash = '#/notice/WS-B/` + malmo + `'`)
	malmoDPO.waitFor("the shared answer", `document.querySelector('#shared-answers li')?.innerText.includes('separate system') &&
		document.querySelector('#question-list li') === null`)
	if got := malmoDPO.eval(`document.querySelector('#questions').innerText`); strings.Contains(got, stockholm) || strings.Contains(got, "Stockholm") {
		t.Errorf("Malmö sees who asked: %q", got)
	}
	if got := malmoDPO.eval(`document.querySelector('#own-counts').innerText + ' | ' + document.querySelector('#notice-details').innerText + ' | ' +
		(document.querySelector('#changes [data-corrected]')?.innerText || '')`); !strings.Contains(got, "4,100") || !strings.Contains(got, "under investigation") ||
		!strings.Contains(got, "Your numbers corrected: 4,100") {
		t.Errorf("Malmö's corrected numbers: %q", got)
	}
	malmoDPO.noConsoleErrors()

	// The draft, in Swedish, field by field.
	dpo.eval(`(() => { const s = document.querySelector('#draft-lang'); s.value = 'sv'; s.dispatchEvent(new Event('change')); return 'ok'; })()`)
	clicks++
	dpo.waitFor("Swedish draft", `document.querySelector('#draft dl.draft')?.lang === 'sv'`)
	if got := dpo.eval(`document.querySelector('#draft dl.draft dt').innerText + ' / ' + document.querySelector('#to-complete').innerText`); !strings.HasPrefix(got, "Personuppgiftsansvarig / Att fylla i: organisationsnummer") {
		t.Errorf("the Swedish draft's labels: %q", got)
	}
	dpo.click(&clicks, `#draft dd[data-field="data_categories"] button.copy`)
	dpo.waitFor("copied", `document.querySelector('#status').innerText.startsWith('Copied')`)
	dpo.click(&clicks, `#draft-md`)
	name, md := downloaded(t, dpoFiles, ".md")
	if !strings.Contains(string(md), "Stolen payroll database WS-B") || !strings.HasSuffix(name, "-sv.md") {
		t.Errorf("downloaded draft %s: %.300s", name, md)
	}
	dpo.screenshot("workspace-draft")
	dpo.screenshotOf("workspace-draft-sv", "#draft")
	dpo.screenshotOf("workspace-answered", "#questions")

	// Three days later the report is made: without the reasons for the
	// delay it is refused, with the API's message at the field.
	ahead.Store(int64(72*time.Hour + 30*time.Minute))
	dpo.do("reload", chromedp.Reload())
	dpo.waitFor("report form after reload", `document.querySelector('#report-form') !== null && document.querySelector('#notice-details .badge.overdue') !== null`)
	dpo.waitFor("the advisory link for a public communication", `document.querySelector('#advisory-link a')?.href.endsWith('/advisories/WS-B')`)
	dpo.waitFor("the reason marked as required", `document.querySelector('#report-form [data-field="delay_reason"]').classList.contains('required')`)
	dpo.do("fill the report", chromedp.SendKeys(`#report-reference`, "IMY-2026-0042"))
	dpo.click(&clicks, `#report-form button[type=submit]`)
	dpo.waitFor("refused without a reason", `document.querySelector('#report-delay_reason-error').innerText.includes('Art. 33(1)') &&
		document.querySelector('#report-delay_reason').getAttribute('aria-invalid') === 'true' &&
		document.querySelector('#report-delay_reason-error').innerText !== ''`)
	dpo.screenshot("workspace-late-refused")
	dpo.screenshotOf("workspace-late-refused-form", "#outcome")
	dpo.do("give the reason", chromedp.SendKeys(`#report-delay_reason`, "The processor's notice arrived on a Saturday; the municipality's duty officer was reached on Monday."))
	dpo.click(&clicks, `#report-form button[type=submit]`)
	dpo.waitFor("report recorded", `document.querySelector('#outcome-recorded')?.dataset.kind === 'OUTCOME_KIND_REPORTED_TO_AUTHORITY'`)
	elapsed := time.Since(began)
	t.Logf("DPO flow: sign-in to recorded outcome in %d clicks, %.1f s (browser automation, typing included)", clicks, elapsed.Seconds())

	// The Art. 34 decision: exempt under (c), with the public communication.
	dpo.eval(`(() => { const s = document.querySelector('#art34-kind'); s.value = 'SUBJECT_COMMUNICATION_KIND_EXEMPT'; s.dispatchEvent(new Event('change'));
		const x = document.querySelector('#art34-exemption'); x.value = 'ART34_EXEMPTION_C_DISPROPORTIONATE'; x.dispatchEvent(new Event('change')); return 'ok'; })()`)
	dpo.do("public communication", chromedp.SendKeys(`#art34-public_communication`, "Notice on stockholm.se/dataintrang from 2026-12-10"))
	dpo.click(&clicks, `#art34-form button[type=submit]`)
	dpo.waitFor("Art. 34 recorded", `document.querySelector('#art34-recorded')?.dataset.kind === 'SUBJECT_COMMUNICATION_KIND_EXEMPT'`)

	// The evidence, as a zip that matches its signed manifest.
	dpo.click(&clicks, `#evidence-download`)
	_, zipped := downloaded(t, dpoFiles, ".zip")
	files := unzip(t, zipped)
	m, err := evidence.ParseManifest(files[evidence.ManifestFile])
	if err != nil {
		t.Fatal(err)
	}
	var listed []evidence.File
	for _, f := range m.Files {
		listed = append(listed, evidence.File{Name: f.Name, Data: files[f.Name]})
	}
	if err := m.Check(listed); err != nil {
		t.Errorf("downloaded evidence: %v", err)
	}
	for _, want := range []string{"IMY-2026-0042", "protected identity", "separate system"} {
		if !strings.Contains(string(files["evidence.json"]), want) {
			t.Errorf("the evidence lacks %q", want)
		}
	}
	dpo.screenshot("workspace-notice")
	dpo.screenshotOf("workspace-subjects", "#subjects")

	// On a phone, in Swedish.
	dpo.do("phone, Swedish", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)), chromedp.Click("#lang"))
	dpo.waitFor("Swedish notice page", `document.documentElement.lang === 'sv' && document.querySelector('#what-head').innerText === 'Vad som hänt'`)
	if w := dpo.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("the phone layout is %s px wide, wider than the 390 px screen", w)
	}
	dpo.screenshot("workspace-phone-sv")

	// The vendor: overdue filter, Swedish collation, the CSV.
	vendor.do("reload", chromedp.Reload())
	vendor.waitFor("organisations", `document.querySelectorAll('#org-list li').length === 4`)
	vendor.do("filter: overdue", chromedp.Click(`[data-show="overdue"]`))
	vendor.waitFor("overdue only", `[...document.querySelectorAll('#org-list li')].every(li => li.classList.contains('late')) &&
		document.querySelectorAll('#org-list li').length === 2`)
	vendor.do("filter: all", chromedp.Click(`[data-show="all"]`))
	// Älmhult, found not affected: no clock, last, and counted apart.
	vendor.waitFor("the withdrawn organisation", `document.querySelector('#org-list li[data-org-id="`+almhult+`"]')?.dataset.state === 'NOTICE_STATE_WITHDRAWN' &&
		document.querySelector('#org-list li:last-child').dataset.orgId === '`+almhult+`' &&
		document.querySelector('[data-meter="withdrawn"] .meter-value')?.textContent === '1 / 4'`)
	vendor.eval(`(() => { const s = document.querySelector('#org-sort'); s.value = 'name'; s.dispatchEvent(new Event('change')); return 'ok'; })()`)
	vendor.waitFor("by name", `document.querySelectorAll('#org-list li').length === 4`)
	if got := vendor.eval(`[...document.querySelectorAll('#org-list li')].map(li => li.dataset.orgId).join(' ')`); got != strings.Join([]string{alvesta, malmo, stockholm, almhult}, " ") {
		t.Errorf("by name (Swedish collation): %s", got)
	}
	vendor.do("CSV", chromedp.Click(`#org-csv`))
	_, raw := downloaded(t, vendorFiles, ".csv")
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(raw), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || rows[0][0] != "org_id" || rows[1][0] != alvesta || rows[4][1] != "Älmhults kommun" {
		t.Errorf("CSV: %v", rows)
	}
	vendor.screenshot("workspace-vendor")
	// The refused late report is the one failed request the page made.
	dpo.noConsoleErrors("the server responded with a status of 400")
	vendor.noConsoleErrors()
}
