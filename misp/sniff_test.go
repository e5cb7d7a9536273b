package misp

import (
	"os"
	"testing"

	"github.com/seams-dev/seams/ftm"
	"github.com/seams-dev/seams/stix"
)

// TestSniff: each format's sniffer knows its own files and none of the
// others', on the hand-made files of all three packages.
func TestSniff(t *testing.T) {
	files := map[string]string{
		"../stix/testdata/partner.json":                       "stix",
		"../stix/testdata/small.bundle.json":                  "stix",
		"testdata/partner-event.json":                         "misp",
		"testdata/small.misp.json":                            "misp",
		"testdata/warninglist.json":                           "warninglist",
		"testdata/warninglist-string.json":                    "warninglist",
		"../ftm/testdata/entities.ftm.json":                   "ftm",
		"../testdata/small/reports.jsonl":                     "",
		"../testdata/small/indicators.csv":                    "",
		"../internal/signalfeed/testdata/small.signals.jsonl": "",
	}
	for path, want := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		head := b[:min(len(b), 4096)]
		got := map[string]bool{"stix": stix.Sniff(head), "misp": SniffEvents(head), "warninglist": SniffWarninglist(head), "ftm": ftm.Sniff(head)}
		for f, ok := range got {
			if ok != (f == want) {
				t.Errorf("%s: %s sniffer says %v", path, f, ok)
			}
		}
	}
}
