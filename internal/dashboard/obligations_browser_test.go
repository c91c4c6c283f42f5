package dashboard_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// ostersund is under NIS2 in the example registry (regimes nis2).
const ostersund = "se-kommun-2380"

// TestObligationsInBrowser: a DPO of an organisation under NIS2 sees, in
// the inbox, the nearest open deadline (the NIS2 early warning's, 24 h
// after delivery, before GDPR's 72 h); on the notice page each NIS2 report
// with its own clock and forms; drafts the early warning; records it as
// reported to CERT-SE; and the notice stays open for the other reports.
func TestObligationsInBrowser(t *testing.T) {
	exe := chromium(t)
	dir := artefacts(t)
	e := start(t, false)
	e.publish("WS-NIS2", ostersund)
	controller := e.issue(ostersund, cascadev1.Role_ROLE_CONTROLLER)

	alloc := allocator(t, exe)
	dpo := newBrowser(t, alloc, "dpo", dir)
	dpo.signIn(e.base, controller)
	card := `[data-notice-id="WS-NIS2/` + ostersund + `"]`
	dpo.do("inbox", chromedp.WaitVisible(card))
	if got := dpo.eval(`document.querySelector('` + card + ` .deadline').dataset.obligation`); got != "OBLIGATION_KIND_NIS2_EARLY_WARNING" {
		t.Errorf("inbox card's nearest deadline is %q, want the early warning's", got)
	}
	if got := dpo.eval(`document.querySelector('` + card + ` .countdown').innerText`); !strings.HasPrefix(got, "23:59") {
		t.Errorf("inbox countdown %q, want about 24 h left", got)
	}
	dpo.do("open the notice", chromedp.Click(card+` h2 a`))
	dpo.waitFor("the NIS2 reports", `document.querySelectorAll('#obligations > li.obligation').length === 3`)
	dpo.screenshotOf("workspace-nis2", "#obligations")
	// The early warning's draft, to CERT-SE.
	dpo.do("draft the early warning", chromedp.Click(`#early-warning-draft-button`))
	dpo.waitFor("the early-warning draft", `document.querySelector('#early-warning-draft')?.innerText.includes('CERT-SE')`)
	// Record the early warning as reported.
	dpo.do("fill the early warning", chromedp.SendKeys(`#ob-nis2_early_warning-reference`, "CERT-SE-2026-0042"),
		chromedp.SendKeys(`#ob-nis2_early_warning-recorded_by`, "Erik Säkerhet, CISO"))
	dpo.do("record the early warning", chromedp.Click(`#ob-nis2_early_warning-report button[type=submit]`))
	dpo.waitFor("early warning recorded", `document.querySelector('li[data-obligation="OBLIGATION_KIND_NIS2_EARLY_WARNING"] .acked')?.dataset.kind === 'OUTCOME_KIND_REPORTED_TO_AUTHORITY'`)
	if got := dpo.eval(`document.querySelector('li[data-obligation="OBLIGATION_KIND_NIS2_EARLY_WARNING"] .acked').innerText`); !strings.Contains(got, "CERT-SE-2026-0042") {
		t.Errorf("early warning outcome %q", got)
	}
	// Still open: the GDPR report and two NIS2 reports remain.
	if got := dpo.eval(`document.querySelector('#notice-details .badge.state').innerText`); strings.Contains(got, "Resolved") {
		t.Errorf("state %q after one of four obligations", got)
	}
	if got := dpo.eval(`String(document.querySelectorAll('#obligations form[id$="-report"]').length)`); got != "2" {
		t.Errorf("%s report forms left, want 2", got)
	}
	dpo.screenshot("workspace-nis2-recorded")
	dpo.noConsoleErrors()

	// The vendor's breach view counts each obligation.
	vendor := newBrowser(t, dpo.ctx, "vendor", dir, chromedp.WithNewBrowserContext())
	vendor.signIn(e.base, e.vendor)
	vendor.do("the breach", chromedp.Navigate(e.base+"/#/breach/WS-NIS2"))
	vendor.waitFor("counts per obligation", `document.querySelectorAll('#obligation-progress li').length === 4 &&
		document.querySelector('#obligation-progress li[data-obligation="OBLIGATION_KIND_NIS2_EARLY_WARNING"]').innerText.includes('1 resolved')`)
	if got := vendor.eval(`document.querySelector('#obligation-progress li[data-obligation="OBLIGATION_KIND_GDPR_ART33"]').innerText`); !strings.Contains(got, "0 resolved, 1 open") {
		t.Errorf("GDPR progress %q", got)
	}
	vendor.noConsoleErrors()
}
