// Package chromium prints and photographs HTML documents with a headless
// Chromium, driven through the DevTools protocol (chromedp): Debian's
// Chromium, as .ci/chromium installs it, started with a fresh profile and
// without its own network traffic (no background networking, component
// updates or sync), so that printing a document fetches nothing.
package chromium

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// ErrNotFound: no Chromium on this machine.
var ErrNotFound = errors.New("chromium not found (install Debian's: apt-get install chromium, or .ci/chromium; or set SEAMS_CHROMIUM)")

// Find returns the path of Chromium: $SEAMS_CHROMIUM, /usr/bin/chromium,
// or chromium or chromium-browser on the PATH.
func Find() (string, error) {
	for _, p := range []string{os.Getenv("SEAMS_CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path, nil
		}
	}
	return "", ErrNotFound
}

// Browser is a running headless Chromium.
type Browser struct {
	ctx     context.Context
	cancel  func()
	profile string
}

// Start starts Chromium at path with a fresh profile.
func Start(ctx context.Context, path string) (*Browser, error) {
	profile, err := os.MkdirTemp("", "seams-chromium-*")
	if err != nil {
		return nil, err
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1200, 900),
	)
	bctx, cancel := chromedp.NewContext(actx)
	// The first action allocates the browser, which lives as long as ctx.
	if err := chromedp.Do(bctx); err != nil {
		cancel()
		cancelAlloc()
		os.RemoveAll(profile)
		return nil, fmt.Errorf("start chromium: %w", err)
	}
	return &Browser{ctx: bctx, cancel: func() { cancel(); cancelAlloc() }, profile: profile}, nil
}

// Close stops Chromium and removes its profile.
func (b *Browser) Close() {
	b.cancel()
	os.RemoveAll(b.profile)
}

// Context is the browser's context, for tests that drive the page.
func (b *Browser) Context() context.Context { return b.ctx }

// URL returns the file:// URL of a local file.
func URL(file string) (string, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", err
	}
	return "file://" + filepath.ToSlash(abs), nil
}

// PrintPDF opens the HTML file and prints it to PDF, on A4 with its
// backgrounds, as the document's print styles lay it out.
func (b *Browser) PrintPDF(file string) ([]byte, error) {
	u, err := URL(file)
	if err != nil {
		return nil, err
	}
	if err := chromedp.Do(b.ctx, chromedp.Navigate(u)); err != nil {
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	yes := true
	pdf, err := chromedp.Run(b.ctx, func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		res, err := cdp.Call(ctx, t, page.PrintToPDF, page.PrintToPDFParams{
			PrintBackground: &yes, PreferCSSPageSize: &yes, PaperWidth: 8.27, PaperHeight: 11.69,
		})
		return res.Data, err
	})
	if err != nil {
		return nil, fmt.Errorf("print %s to PDF: %w", file, err)
	}
	return pdf, nil
}

// Screenshot opens the HTML file in a window width pixels wide and returns
// a PNG of its top height pixels (the whole page when height is 0).
func (b *Browser) Screenshot(file string, width, height int64) ([]byte, error) {
	u, err := URL(file)
	if err != nil {
		return nil, err
	}
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(width, max(height, 600)), chromedp.Navigate(u)); err != nil {
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	shot := chromedp.FullScreenshot(100) // quality 100: PNG
	if height > 0 {
		shot = chromedp.CaptureScreenshot()
	}
	png, err := chromedp.Run(b.ctx, shot)
	if err != nil {
		return nil, fmt.Errorf("screenshot %s: %w", file, err)
	}
	return png, nil
}
