package dashboard_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// TestProcessorsInBrowser: a deployment shared by two processors. A
// DPO's inbox shows the notices of both, with one token, and a processor
// select keeps one processor's; a processor's vendor signed in to the
// dashboard sees its own breach only.
func TestProcessorsInBrowser(t *testing.T) {
	exe := chromium(t)
	dir := artefacts(t)
	const org = "se-kommun-0180"
	procs := filepath.Join(t.TempDir(), "processors.csv")
	if err := os.WriteFile(procs, []byte("id,name,customers\nalfa-lon,Alfa Lön AB,"+org+"\nbeta-skola,Beta Skolsystem AB,"+org+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := start(t, false, func(o *daemon.Options) { o.ProcessorsFile = procs })
	tokens := cascadev1.NewTokenServiceClient(e.cc)
	for _, p := range []struct{ id, name string }{{"alfa-lon", "Alfa Lön AB"}, {"beta-skola", "Beta Skolsystem AB"}} {
		body := fmt.Sprintf(`{"id":"INC-1","processor":%q,"title":"Breach at %s","nature":"copied database",
"discovered_at":"2026-12-01T06:00:00Z","affected":[{"org_id":%q}],"contact":{"email":"sec@example.org"}}`, p.name, p.name, org)
		if _, err := e.js.Publish(ctx(t), "cascade.processor."+p.id+".breach.report", []byte(body)); err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, 20*time.Second, func() error {
			r, err := cascadev1.NewBreachServiceClient(e.cc).GetBreachSummary(as(t, e.vendor), &cascadev1.GetBreachSummaryRequest{BreachId: p.id + "__INC-1"})
			if err != nil {
				return err
			}
			if r.GetSummary().GetDelivered() != 1 {
				return fmt.Errorf("not delivered yet")
			}
			return nil
		})
	}
	controller := e.issue(org, cascadev1.Role_ROLE_CONTROLLER)
	vr, err := tokens.IssueToken(as(t, e.vendor), &cascadev1.IssueTokenRequest{Role: cascadev1.Role_ROLE_VENDOR, ProcessorId: "beta-skola"})
	if err != nil {
		t.Fatal(err)
	}

	alloc := allocator(t, exe)
	dpo := newBrowser(t, alloc, "dpo", dir)
	dpo.signIn(e.base, controller)
	dpo.waitFor("both processors' notices", `document.querySelectorAll('#notice-cards > li').length === 2`)
	dpo.waitFor("the processor select", `!document.querySelector('#processor-filter').hidden &&
		[...document.querySelectorAll('#processor-filter option')].some((o) => o.innerText === 'Beta Skolsystem AB')`)
	dpo.eval(`(() => { const s = document.querySelector('#processor-filter'); s.value = 'beta-skola';
		s.dispatchEvent(new Event('change')); return s.value })()`)
	dpo.waitFor("Beta's notice alone", `document.querySelectorAll('#notice-cards > li').length === 1 &&
		document.querySelector('#notice-cards > li').dataset.noticeId === 'beta-skola__INC-1/`+org+`'`)
	dpo.screenshot("inbox-two-processors")
	dpo.noConsoleErrors()

	beta := newBrowser(t, dpo.ctx, "beta", dir, chromedp.WithNewBrowserContext())
	beta.signIn(e.base, vr.GetToken())
	beta.do("its breach", chromedp.Navigate(e.base+"/#/breach/beta-skola__INC-1"))
	beta.waitFor("Beta's breach", `document.body.innerText.includes('Breach at Beta Skolsystem AB')`)
	beta.do("Alfa's breach", chromedp.Navigate(e.base+"/#/breach/alfa-lon__INC-1"))
	beta.waitFor("not found", `document.body.innerText.toLowerCase().includes('not found')`)
	if strings.Contains(beta.eval(`document.body.innerText`), "Breach at Alfa") {
		t.Fatal("Beta's vendor sees Alfa Lön's breach in the dashboard")
	}
}
