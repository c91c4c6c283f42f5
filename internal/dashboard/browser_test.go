package dashboard_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cascadehq/cascade/internal/daemon"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// chromium finds the browser: skipped when there is none, unless
// CASCADE_REQUIRE_BROWSER=1 (CI installs Debian's chromium).
func chromium(t *testing.T) string {
	required := os.Getenv("CASCADE_REQUIRE_BROWSER") == "1"
	if testing.Short() && !required {
		t.Skip("browser test skipped in -short mode")
	}
	for _, name := range []string{os.Getenv("CASCADE_CHROMIUM"), "chromium", "chromium-browser", "/usr/bin/chromium"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if required {
		t.Fatal("CASCADE_REQUIRE_BROWSER=1 but no chromium found (apt-get install chromium)")
	}
	t.Skip("no chromium (apt-get install chromium); set CASCADE_REQUIRE_BROWSER=1 to make this a failure")
	return ""
}

// artefacts is where screenshots go: $CASCADE_ARTIFACTS, or a temp dir.
func artefacts(t *testing.T) string {
	dir := os.Getenv("CASCADE_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// allocator starts the chromium at exe (headless, English, 1280×900, a
// profile of its own) for the browsers of one test.
func allocator(t *testing.T, exe string) context.Context {
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("lang", "en-GB"), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	)...)
	t.Cleanup(cancel)
	return alloc
}

// browser is one browser context (own storage) driving one tab.
type browser struct {
	t       *testing.T
	name    string
	ctx     context.Context
	dir     string
	mu      sync.Mutex
	console []string // errors and warnings the page logged
}

func newBrowser(t *testing.T, parent context.Context, name, dir string, opts ...chromedp.ContextOption) *browser {
	ctx, cancel := chromedp.NewContext(parent, opts...)
	t.Cleanup(cancel)
	b := &browser{t: t, name: name, ctx: ctx, dir: dir}
	// The first action starts the browser (or tab): no timeout on it.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("%s: start chromium: %v", name, err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				b.mu.Lock()
				b.console = append(b.console, m.String())
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// do runs steps, failing the test (with a screenshot) when they do not
// finish within 20 seconds. Waiting steps poll the page.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.screenshot("failed-" + b.name)
		b.t.Fatalf("%s: %s: %v", b.name, what, err)
	}
}

// waitFor polls a JavaScript condition.
func (b *browser) waitFor(what, js string) {
	b.t.Helper()
	b.do(what, func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](js, chromedp.WithPollingInterval(50*time.Millisecond))(ctx, t)
		return chromedp.Void{}, err
	})
}

func (b *browser) eval(js string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("%s: %s: %v", b.name, js, err)
	}
	return v
}

func (b *browser) screenshot(name string) {
	b.save(name, chromedp.FullScreenshot(100))
}

// screenshotOf saves a picture of the element sel only.
func (b *browser) screenshotOf(name, sel string) {
	b.save(name, chromedp.Screenshot(sel))
}

// save takes the picture shot makes and writes it to name.png.
func (b *browser) save(name string, shot chromedp.Action[[]byte]) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, shot)
	if err != nil {
		b.t.Errorf("%s: screenshot %s: %v", b.name, name, err)
		return
	}
	path := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Error(err)
	}
	b.t.Logf("screenshot %s", path)
}

// signIn pastes token into the sign-in form, as a person does.
func (b *browser) signIn(base, token string) {
	b.t.Helper()
	b.do("sign in",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible("#signin"),
		chromedp.SendKeys("#token", token),
		chromedp.Click("#signin button[type=submit]"),
		chromedp.WaitNotPresent("#signin"))
}

// noConsoleErrors fails the test for each error or warning the page
// logged, except the ones containing one of expected (at most once each).
func (b *browser) noConsoleErrors(expected ...string) {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	seen := map[string]bool{}
	for _, m := range b.console {
		i := slices.IndexFunc(expected, func(x string) bool { return strings.Contains(m, x) })
		if i >= 0 && !seen[expected[i]] {
			seen[expected[i]] = true
			continue
		}
		b.t.Errorf("%s: console: %s", b.name, m)
	}
}

// TestDashboardInBrowser drives the dashboard in headless Chromium: the
// vendor sees a breach appear live after it is published on NATS, a
// controller acknowledges its notice in its own view, and the vendor's
// view shows the acknowledgement without a reload. Notices delivered
// three days before the follow-up are overdue: first, and red.
func TestDashboardInBrowser(t *testing.T) {
	exe := chromium(t)
	dir := artefacts(t)
	var ahead atomic.Int64 // the daemon's clock runs this far ahead of the real one
	e := start(t, false, func(o *daemon.Options) {
		o.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	})
	controller := e.issue(stockholm, cascadev1.Role_ROLE_CONTROLLER)

	alloc, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("lang", "en-GB"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)...)
	t.Cleanup(cancel)
	vendor := newBrowser(t, alloc, "vendor", dir)

	// The vendor signs in and waits for breaches.
	vendor.signIn(e.base, e.vendor)
	vendor.waitFor("empty live breach list", `document.querySelector('.live[data-live="true"]') !== null &&
		document.body.innerText.includes('No breaches yet')`)
	vendor.eval(`window.sameDocument = 'yes'`) // gone after any reload

	// A breach is published on NATS and appears without a reload.
	e.publish("E2E-1", "se-kommun-1480", malmo)
	vendor.do("breach appears live", chromedp.WaitVisible(`[data-breach-id="E2E-1"]`))
	vendor.waitFor("its progress", `document.querySelector('[data-breach-id="E2E-1"] .meter-value')?.textContent === '0 / 2'`)
	vendor.screenshot("dashboard-breaches")

	// Three days later the processor finds more organisations affected:
	// the first two are now overdue, the new ones have 72 hours.
	ahead.Store(int64(72*time.Hour + 5*time.Minute))
	e.update("E2E-1", 5, stockholm, uppsala, "se-kommun-1281", "se-kommun-9999") // the last is not in the registry

	vendor.do("open the breach", chromedp.Click(`[data-breach-id="E2E-1"] h2 a`))
	vendor.waitFor("progress and five organisations", `document.querySelectorAll('#org-list li').length === 5 &&
		document.querySelector('[data-meter="delivered"] .meter-value')?.textContent === '5 / 5'`)
	if got := vendor.eval(`[...document.querySelectorAll('#org-list li')].map(li => li.dataset.orgId + (li.classList.contains('late') ? ':late' : '')).join(' ')`); !strings.HasPrefix(got, "se-kommun-1280:late se-kommun-1480:late ") && !strings.HasPrefix(got, "se-kommun-1480:late se-kommun-1280:late ") {
		t.Errorf("overdue organisations not first and red: %s", got)
	}
	if got := vendor.eval(`document.querySelector('#unknown-orgs').textContent`); !strings.HasSuffix(got, ": se-kommun-9999") {
		t.Errorf("unknown organisation not shown: %q", got)
	}
	if got := vendor.eval(`document.querySelector('[data-meter="overdue"] .meter-value').textContent`); got != "2 / 5" {
		t.Errorf("overdue bar %q, want 2 / 5", got)
	}
	if got := vendor.eval(`getComputedStyle(document.querySelector('#org-list li.late .badge.overdue')).backgroundColor`); got != "rgb(185, 28, 28)" {
		t.Errorf("overdue badge colour %s", got)
	}
	countdown := vendor.eval(`document.querySelector('#org-list li[data-org-id="` + stockholm + `"] .countdown').textContent`)
	vendor.waitFor("countdown ticks", `document.querySelector('#org-list li[data-org-id="`+stockholm+`"] .countdown').textContent !== `+fmt.Sprintf("%q", countdown))

	// The controller, in a browser context of its own, acknowledges.
	ctrl := newBrowser(t, vendor.ctx, "controller", dir, chromedp.WithNewBrowserContext())
	ctrl.signIn(e.base, controller)
	card := `[data-notice-id="E2E-1/` + stockholm + `"]`
	ctrl.do("acknowledge",
		chromedp.WaitVisible(card+` form.ack-form`),
		chromedp.SendKeys(card+` input[name="acknowledged_by"]`, "dpo@stockholm.example.org"),
		chromedp.SendKeys(card+` input[name="note"]`, "Received, assessing with IT"),
		chromedp.Click(card+` button.ack`))
	ctrl.waitFor("acknowledged in the controller's view", `document.querySelector('`+card+`')?.dataset.state === 'NOTICE_STATE_ACKNOWLEDGED' &&
		document.querySelector('`+card+` .acked') !== null && document.querySelectorAll('#notice-cards > li').length === 1`)
	ctrl.screenshot("dashboard-controller")
	ctrl.do("open the notice", chromedp.Click(card+` h2 a`))
	ctrl.waitFor("the controller's history", `document.querySelector('#history li[data-event="acknowledged"]') !== null &&
		document.querySelector('#notice-action form') === null`)

	// The vendor's open page shows it, live.
	vendor.waitFor("acknowledgement reaches the vendor", `document.querySelector('#org-list li[data-org-id="`+stockholm+`"]')?.dataset.state === 'NOTICE_STATE_ACKNOWLEDGED' &&
		document.querySelector('[data-meter="acknowledged"] .meter-value').textContent === '1 / 5'`)
	if vendor.eval(`window.sameDocument || 'reloaded'`) != "yes" {
		t.Error("the vendor's page was reloaded")
	}
	vendor.screenshot("dashboard-vendor")

	// The notice's history, from the vendor's view.
	vendor.do("open the history", chromedp.Click(`#org-list li[data-org-id="`+stockholm+`"] a.org-name`))
	vendor.waitFor("history", `document.querySelector('#history li[data-event="acknowledged"]') !== null &&
		document.querySelector('#history li[data-event="delivered"]') !== null`)
	vendor.screenshot("dashboard-history")

	// A notice page open while its notice changes: the vendor watches
	// Uppsala's notice, which Uppsala's controller acknowledges through the
	// API; the page shows the new state and then the history, live.
	vendor.eval(`location.hash = '#/notice/E2E-1/` + uppsala + `'`)
	vendor.waitFor("Uppsala's notice page", `document.querySelector('#notice-details .badge.state.delivered') !== null &&
		document.querySelector('#history li[data-event="delivered"]') !== null && document.querySelector('.live[data-live="true"]') !== null`)
	if resp := e.call("POST", "/api/notices/E2E-1/"+uppsala+"/acknowledge", e.issue(uppsala, cascadev1.Role_ROLE_CONTROLLER),
		"application/json", `{"acknowledged_by":"dpo@uppsala.example.org"}`); resp.StatusCode != 200 {
		t.Fatalf("acknowledge Uppsala's notice: %d %v", resp.StatusCode, decode(t, resp))
	}
	vendor.waitFor("the acknowledgement on the open notice page", `document.querySelector('#notice-details .badge.state.acknowledged') !== null &&
		document.querySelector('#notice-details').innerText.includes('dpo@uppsala.example.org') &&
		document.querySelector('#history li[data-event="acknowledged"]') !== null`)

	// A new notice of the controller's organisation joins its open inbox.
	ctrl.eval(`location.hash = '#/'`)
	ctrl.waitFor("the inbox", `document.querySelectorAll('#notice-cards > li').length === 1 && document.querySelector('.live[data-live="true"]') !== null`)
	e.publish("E2E-2", stockholm)
	ctrl.waitFor("the new notice in the open inbox", `document.querySelector('[data-notice-id="E2E-2/`+stockholm+`"]')?.dataset.state === 'NOTICE_STATE_DELIVERED' &&
		document.querySelectorAll('#notice-cards > li').length === 2`)
	// One processor (this deployment has no processor registry): no processor select.
	if got := ctrl.eval(`String(document.querySelector('#processor-filter').hidden)`); got != "true" {
		t.Errorf("the inbox of a single-processor deployment shows a processor select (hidden %s)", got)
	}

	// On a phone, in Swedish.
	vendor.do("phone, Swedish",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)),
		chromedp.Click("#lang"))
	vendor.eval(`location.hash = '#/breach/E2E-1'`)
	vendor.waitFor("Swedish breach page", `document.documentElement.lang === 'sv' && document.querySelectorAll('#org-list li').length === 5 &&
		document.querySelector('#progress-head').textContent === 'Förlopp' && document.querySelector('.live[data-live="true"]') !== null`)
	if w := vendor.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("the phone layout is %s px wide, wider than the 390 px screen", w)
	}
	vendor.screenshot("dashboard-phone-sv")

	for _, b := range []*browser{vendor, ctrl} {
		if u := b.eval(`location.href`); strings.Contains(u, "cas_") {
			t.Errorf("%s: token in the URL %s", b.name, u)
		}
		b.noConsoleErrors()
	}
}
