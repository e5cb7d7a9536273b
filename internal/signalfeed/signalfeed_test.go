package signalfeed

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams/internal/golden"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/registry"
)

func TestMain(m *testing.M) { golden.Main(m, "testdata/*.jsonl") }

func sample(t *testing.T) *Export {
	cf, _ := os.Open("../../testdata/small/compounds.csv")
	defer cf.Close()
	cs, err := registry.ReadCompounds(cf, "compounds.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for i, c := range cs {
		ids[c.ID] = i
	}
	inf, _ := os.Open("../../testdata/small/indicators.csv")
	defer inf.Close()
	ins, err := registry.ReadIndicators(inf, "indicators.csv", ids, nil)
	if err != nil {
		t.Fatal(err)
	}
	asn, _ := seams.ParseIndicatorValue(seams.KindASN, "AS64500")
	asn.Compound = "c-kings"
	ins = append(ins, asn)
	return &Export{Org: "Hotline Example", Time: time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC), Compounds: cs, Indicators: ins}
}

func TestWrite(t *testing.T) {
	e := sample(t)
	var buf bytes.Buffer
	n, err := Write(&buf, e)
	if err != nil {
		t.Fatal(err)
	}
	devices := 0
	for _, in := range e.Indicators {
		if in.Kind == seams.KindDevice {
			devices++
		}
	}
	if n.Devices != devices || n.Signals != len(e.Indicators)-devices || devices == 0 {
		t.Errorf("written %+v; the sample has %d indicators, %d devices", n, len(e.Indicators), devices)
	}
	golden.Check(t, "testdata/small.signals.jsonl", bytes.Clone(buf.Bytes()))
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"signal", "signal_type", "abuse_type", "report_date", "source"} {
			if s, ok := m[k].(string); !ok || s == "" {
				t.Errorf("%s: %q missing or not a string", sc.Text(), k)
			}
		}
		switch m["signal_type"] {
		case "ip", "cidr", "asn":
		default:
			t.Errorf("signal type %v", m["signal_type"])
		}
		if _, err := time.Parse(time.DateOnly, m["report_date"].(string)); err != nil {
			t.Errorf("report_date: %v", err)
		}
		if strings.Contains(sc.Text(), "imei") || strings.Contains(sc.Text(), "r-") {
			t.Errorf("a device or a report leaked into the feed: %s", sc.Text())
		}
	}
	if _, err := Write(&buf, &Export{Time: e.Time}); err == nil {
		t.Error("no organisation: no error")
	}
}
