package audit

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromium finds the browser: $BASEGUARD_CHROMIUM (hack/chromium.sh
// installs Debian's package and prints its path), else chromium on PATH.
// Without one the test fails: it never skips.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("BASEGUARD_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium: run hack/chromium.sh (installs Debian's chromium) or set BASEGUARD_CHROMIUM")
	return ""
}

// TestHTMLReportInChromium renders the HTML report of two audits (a
// trend) in headless Chromium: no console error, a page that is not
// blank, the charts and the findings table present, filtering and sorting
// working; the screenshot is kept (BASEGUARD_SCREENSHOT_DIR, else the
// test's temporary directory) for people to look at.
func TestHTMLReportInChromium(t *testing.T) {
	requireEnv(t)
	browser := chromium(t)
	dir := t.TempDir()
	history, report := filepath.Join(dir, "history.jsonl"), filepath.Join(dir, "report.html")
	for _, now := range []string{"2026-09-15T00:00:00Z", "2026-10-15T00:00:00Z"} {
		cmd := exec.Command(binary, "audit", "--kubeconfig", kubeconfig, "--policy", world.policyFile, "--now", now, "--history", history, "-o", "json")
		cmd.Run() // exit 2: the unreachable image; the history line is written all the same
	}
	if _, stderr, code := runAudit(t, "--history", history, "--html", report); code != 2 {
		t.Fatalf("exit %d: %s", code, stderr)
	}

	ctx, cancel := browserContext(t, browser, filepath.Join(dir, "profile"))
	defer cancel()
	var mu sync.Mutex
	var problems []string
	err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
				problems = append(problems, "console "+string(e.Type))
			}
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
				problems = append(problems, "log: "+e.Entry.Text)
			}
		}
	})
	if err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("enabling the log domain: %v", err)
	}
	step := func(a chromedp.Action[chromedp.Void]) {
		t.Helper()
		if _, err := chromedp.Run(ctx, a); err != nil {
			t.Fatalf("driving Chromium: %v", err)
		}
	}
	count := func(css string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+"`"+css+"`"+`).length`))
		if err != nil {
			t.Fatalf("counting %s: %v", css, err)
		}
		return n
	}
	text := func(css string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
		if err != nil {
			t.Fatalf("reading %s: %v", css, err)
		}
		return s
	}
	step(chromedp.EmulateViewport(1400, 900))
	step(chromedp.Navigate("file://" + report))
	step(chromedp.WaitVisible(chromedp.CSS("#findings-table")))
	headline := text("#headline")
	nsBars, ageBars, trendLines := count("#namespace-chart rect"), count("#age-chart rect"), count("#trend-chart polyline")
	rows := count("#findings-table tbody tr[data-status]")
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("taking the screenshot: %v", err)
	}
	step(chromedp.SendKeys(chromedp.CSS("#filter"), "legacy"))
	visible := count(`#findings-table tbody tr[data-status]:not([style*="none"])`)
	shown := text("#shown")
	step(chromedp.Click(chromedp.CSS(`#findings-table th[data-k="2"]`)))
	afterSort := text(`#findings-table tbody tr[data-status]:not([style*="none"]) td:nth-child(3)`)
	keep := os.Getenv("BASEGUARD_SCREENSHOT_DIR")
	if keep == "" {
		keep = dir
	}
	if err := os.MkdirAll(keep, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(keep, "audit-report.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(png))
	if len(png) < 20_000 {
		t.Errorf("the screenshot is %d bytes: a blank page?", len(png))
	}
	if !strings.Contains(headline, "80.0%") || !strings.Contains(headline, "12 of 15") {
		t.Errorf("headline %q", headline)
	}
	// Each namespace bar is a track and a bar; six age buckets; two lines.
	if nsBars != 6 || ageBars != 6 || trendLines != 2 {
		t.Errorf("charts: %d namespace rects, %d age rects, %d trend lines; want 6, 6, 2", nsBars, ageBars, trendLines)
	}
	if rows != 8 {
		t.Errorf("%d findings, want the 8 results that are not passes", rows)
	}
	if visible != 6 || !strings.Contains(shown, "6 of 8") {
		t.Errorf("filtering on legacy shows %d rows (%q), want 6 (the legacy namespace's four, and shop/idle's two, which runs team/legacy:1)", visible, shown)
	}
	if !strings.HasPrefix(afterSort, "DaemonSet/agent") {
		t.Errorf("sorted by workload, the first visible row is %q", afterSort)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("the browser reported problems:\n%s", strings.Join(problems, "\n"))
	}
}

// browserContext starts headless Chromium with a fresh profile and
// nothing that reaches the network on its own.
func browserContext(t *testing.T, browser, profile string) (context.Context, context.CancelFunc) {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(browser),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	return ctx, func() { cancelTimeout(); cancelCtx(); cancelAlloc() }
}
