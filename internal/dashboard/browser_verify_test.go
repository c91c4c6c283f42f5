package dashboard_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/cascadehq/cascade/internal/signing"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// TestVerifyPageInBrowser drives the check page in headless Chromium: on
// a phone, without signing in, a DPO drops the e-mail's attachment
// (genuine), then pastes a webhook request changed by one byte (NOT
// genuine); a signed-in controller, from the header, sees the notice as
// Cascade holds it beside what the message says; in Swedish too.
func TestVerifyPageInBrowser(t *testing.T) {
	exe := chromium(t)
	dir := artefacts(t)
	e := start(t, false)
	controller := e.issue(stockholm, cascadev1.Role_ROLE_CONTROLLER) // before the notice, which is then the last message
	e.publish("CHK-1", stockholm, uppsala)
	m := e.sent(stockholm)
	saved, err := signing.Save(m).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	hook := map[string]string{"Cascade-Subject": m.Subject}
	for k, vs := range m.Header {
		hook[k] = vs[0]
	}
	tampered, _ := json.Marshal(map[string]any{"headers": hook,
		"body": strings.Replace(string(m.Data), "Stolen payroll", "Stolen Payroll", 1)})
	js := func(v string) string { b, _ := json.Marshal(v); return string(b) }

	alloc := allocator(t, exe)

	// On a phone, not signed in: from the sign-in form to the check page.
	dpo := newBrowser(t, alloc, "dpo-phone", dir)
	dpo.do("open the sign-in form on a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(e.base+"/"), chromedp.WaitVisible("#signin-verify"), chromedp.Click("#signin-verify"),
		chromedp.WaitVisible("#verify-drop"))
	// Drop the attachment onto the drop zone.
	dpo.eval(`(() => {
		const dt = new DataTransfer();
		dt.items.add(new File([` + js(string(saved)) + `], 'cascade-message.json', { type: 'application/json' }));
		document.querySelector('#verify-drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
		return 'dropped';
	})()`)
	dpo.waitFor("genuine verdict", `document.querySelector('#verdict')?.dataset.verified === 'true'`)
	if got := dpo.eval(`document.querySelector('#verdict').innerText`); !strings.Contains(got, "Genuine: signed by Cascade") {
		t.Errorf("verdict %q", got)
	}
	if got := dpo.eval(`document.querySelector('#verify-claimed').innerText`); !strings.Contains(got, stockholm) || !strings.Contains(got, "CHK-1/"+stockholm) || !strings.Contains(got, "Stolen payroll database CHK-1") {
		t.Errorf("claims %q", got)
	}
	if got := dpo.eval(`document.querySelector('#verify-facts-note').innerText`); !strings.Contains(got, "Sign in") {
		t.Errorf("anonymous facts note %q", got)
	}
	if got := dpo.eval(`document.querySelector('#main').innerText`); strings.Contains(got, "null") || strings.Contains(got, "undefined") {
		t.Errorf("page shows null or undefined: %q", got)
	}
	if w := dpo.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("page %s px wide on a 390 px phone", w)
	}
	dpo.screenshot("verify-genuine-phone")

	// Paste a webhook request whose body was changed by one byte.
	dpo.do("paste a tampered message", chromedp.SetValue("#verify-paste", string(tampered)), chromedp.Click("#verify-button"))
	dpo.waitFor("NOT genuine verdict", `document.querySelector('#verdict')?.dataset.verified === 'false'`)
	if got := dpo.eval(`document.querySelector('#verdict').innerText`); !strings.Contains(got, "NOT genuine") || !strings.Contains(got, "changed after Cascade signed it") || !strings.Contains(got, "contract") {
		t.Errorf("verdict %q", got)
	}
	dpo.screenshot("verify-tampered-phone")
	dpo.noConsoleErrors()

	// A signed-in controller opens the page from the header.
	ctrl := newBrowser(t, dpo.ctx, "controller", dir, chromedp.WithNewBrowserContext())
	ctrl.signIn(e.base, controller)
	ctrl.do("open the check page from the header", chromedp.Click("#verify-nav"), chromedp.WaitVisible("#verify-paste"),
		chromedp.SetValue("#verify-paste", string(saved)), chromedp.Click("#verify-button"))
	ctrl.waitFor("genuine, with the facts", `document.querySelector('#verdict')?.dataset.verified === 'true' && document.querySelector('#verify-held dl') !== null`)
	if got := ctrl.eval(`document.querySelector('#verify-held').innerText`); !strings.Contains(got, "CHK-1/"+stockholm) || !strings.Contains(got, "Delivered") {
		t.Errorf("facts %q", got)
	}
	ctrl.screenshot("verify-genuine-signed-in")
	ctrl.do("switch to Swedish", chromedp.Click("#lang"))
	ctrl.waitFor("Swedish verdict", `document.querySelector('#verdict')?.innerText.includes('Äkta: signerat av Cascade') && document.querySelector('h1').innerText === 'Kontrollera ett meddelande'`)
	ctrl.screenshot("verify-genuine-signed-in-sv")
	ctrl.noConsoleErrors()
}
