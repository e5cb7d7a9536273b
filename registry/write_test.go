package registry

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams"
)

// roundTrip writes inds and reads them back with the ids of compounds.
func roundTrip(t testing.TB, inds []seams.Indicator, compounds map[string]int) ([]seams.Indicator, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteIndicators(&buf, inds); err != nil {
		t.Fatal(err)
	}
	var rejected collector
	back, err := ReadIndicators(bytes.NewReader(buf.Bytes()), "written.csv", compounds, rejected.reject)
	if err != nil {
		t.Fatalf("the written file does not read: %v\n%s", err, buf.Bytes())
	}
	if len(rejected) > 0 {
		t.Fatalf("the written file has rejected rows: %q\n%s", rejected.reasons(), buf.Bytes())
	}
	return back, buf.Bytes()
}

// same compares indicators but for where they were read.
func same(t testing.TB, got, want []seams.Indicator) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d indicators read back, %d written", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		g.File, g.Line, w.File, w.Line = "", 0, "", 0
		// Times compare as instants (a location is not data).
		if g.Window.First.Equal(w.Window.First) && g.Window.Last.Equal(w.Window.Last) {
			g.Window, w.Window = seams.Window{}, seams.Window{}
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("indicator %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

// TestWriteIndicatorsRoundTrip: what the reader makes of the test file,
// written and read again, is the same indicators; the header is the
// contract's columns in order.
func TestWriteIndicatorsRoundTrip(t *testing.T) {
	b, err := os.ReadFile("testdata/indicators.csv")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{"c-alpha": 0, "c-beta": 1, "c-gamma": 2}
	inds, err := ReadIndicators(bytes.NewReader(b), "indicators.csv", ids, nil)
	if err != nil || len(inds) < 5 {
		t.Fatalf("%d indicators, %v", len(inds), err)
	}
	back, written := roundTrip(t, inds, ids)
	same(t, back, inds)
	if !bytes.HasPrefix(written, []byte("compound,kind,value,first_seen,last_seen,confidence,source\n")) {
		t.Errorf("header: %q", written[:min(len(written), 80)])
	}
}

// TestWriteIndicatorsAwkward: values that need quoting, sub-second and
// non-UTC window edges, confidences at the ends and between.
func TestWriteIndicatorsAwkward(t *testing.T) {
	ids := map[string]int{"c-1": 0}
	mk := func(kind seams.Kind, v string) seams.Indicator {
		in, err := seams.ParseIndicatorValue(kind, v)
		if err != nil {
			t.Fatal(err)
		}
		in.Compound = "c-1"
		return in
	}
	bangkok := time.FixedZone("ICT", 7*3600)
	a := mk(seams.KindIP, "192.0.2.1")
	a.Source = `partner "a", desk 2`
	a.Window = seams.Window{First: time.Date(2024, 5, 1, 8, 0, 0, 123456789, bangkok), Last: time.Date(2024, 5, 1, 23, 59, 59, 999999999, time.UTC)}
	a.Confidence, a.HasConfidence = 0.1+0.2, true
	b := mk(seams.KindCIDR, "2001:db8::/32")
	b.Source = "line\nbreak"
	b.Confidence, b.HasConfidence = 0, true
	c := mk(seams.KindDevice, "imei:358240051111110")
	c.Window.Last = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Confidence, c.HasConfidence = 1, true
	d := mk(seams.KindIP, "2001:db8::1")
	back, written := roundTrip(t, []seams.Indicator{a, b, c, d}, ids)
	same(t, back, []seams.Indicator{a, b, c, d})
	if !strings.Contains(string(written), "2024-05-01T01:00:00.123456789Z") {
		t.Errorf("the edge in another zone is not written in UTC:\n%s", written)
	}
}

// TestWriteIndicatorsEmpty: no indicators is the header alone, which reads
// as no indicators.
func TestWriteIndicatorsEmpty(t *testing.T) {
	back, written := roundTrip(t, nil, nil)
	if len(back) != 0 || string(written) != "compound,kind,value,first_seen,last_seen,confidence,source\n" {
		t.Errorf("%q, %d read back", written, len(back))
	}
}

// TestWriteIndicatorsDrift: the drift column is written when an indicator
// has a drift bound, and only then, so a registry without bounds is written
// as before; each bound reads back the same, and one missing stays missing.
// A writer without the column refuses an indicator with a bound rather than
// drop it.
func TestWriteIndicatorsDrift(t *testing.T) {
	ids := map[string]int{"c-1": 0}
	mk := func(v string, drift string) seams.Indicator {
		in, err := seams.ParseIndicatorValue(seams.KindIP, v)
		if err != nil {
			t.Fatal(err)
		}
		in.Compound = "c-1"
		if in.Drift, in.HasDrift, err = seams.ParseDrift(drift); err != nil {
			t.Fatal(err)
		}
		return in
	}
	inds := []seams.Indicator{mk("192.0.2.1", "0"), mk("192.0.2.2", ""), mk("192.0.2.3", "7d"), mk("192.0.2.4", "90m")}
	back, written := roundTrip(t, inds, ids)
	same(t, back, inds)
	want := "compound,kind,value,first_seen,last_seen,confidence,source,drift\n" +
		"c-1,ip,192.0.2.1,,,,,0\nc-1,ip,192.0.2.2,,,,,\nc-1,ip,192.0.2.3,,,,,7d\nc-1,ip,192.0.2.4,,,,,1h30m0s\n"
	if string(written) != want {
		t.Errorf("written:\n%s\nwant:\n%s", written, want)
	}

	_, written = roundTrip(t, inds[1:2], ids)
	if string(written) != "compound,kind,value,first_seen,last_seen,confidence,source\nc-1,ip,192.0.2.2,,,,\n" {
		t.Errorf("without a bound, written:\n%s", written)
	}

	var buf bytes.Buffer
	iw := NewIndicatorWriter(&buf)
	if err := iw.Write(&inds[0]); !errors.Is(err, ErrNoDriftColumn) {
		t.Errorf("a bound through a writer without the column: %v, want ErrNoDriftColumn", err)
	}
}

// FuzzIndicatorsRoundTrip: whatever ReadIndicators accepts, written with
// WriteIndicators, reads back as the same indicators, none rejected.
func FuzzIndicatorsRoundTrip(f *testing.F) {
	for _, p := range []string{"testdata/indicators.csv", "../testdata/small/indicators.csv"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("compound,kind,value,source,first_seen\nc-alpha,ip,192.0.2.1,\" a,b \",2024-01-01T00:00:00.5+07:00\n"))
	f.Add([]byte("compound,kind,value,drift\nc-alpha,ip,192.0.2.1,0\nc-alpha,ip,192.0.2.2,\nc-alpha,ip,192.0.2.3,36h\nc-alpha,ip,192.0.2.4,90d\n"))
	ids := map[string]int{"c-alpha": 0, "c-beta": 1, "c-gamma": 2, "c-jinbei": 3, "c-kkpark": 4, "c-kings": 5}
	f.Fuzz(func(t *testing.T, data []byte) {
		inds, err := ReadIndicators(bytes.NewReader(data), "f.csv", ids, nil)
		if err != nil {
			return
		}
		// The reader keeps one of exact duplicates: what it returns
		// reads back whole.
		back, _ := roundTrip(t, inds, ids)
		same(t, back, inds)
	})
}
