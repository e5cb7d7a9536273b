package cybertip

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/seams-dev/seams/internal/golden"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/unicode"

	"github.com/seams-dev/seams"
)

func TestMain(m *testing.M) { golden.Main(m, "testdata/*.golden") }

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// TestMapping reads the hand-made full report and checks every field of
// the mapping.
func TestMapping(t *testing.T) {
	f, err := os.Open("testdata/reports.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, recs := readAll(t, f, "reports.xml", NewOptions())
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	g := recs[0]
	if g.Whole != nil || len(g.Parts) > 0 {
		t.Fatalf("rejections: %+v %+v", g.Whole, g.Parts)
	}
	want := seams.Report{
		ID:       "ct-1001",
		Received: ts("2024-05-01T22:14:03Z"), // incidentDateTime, -07:00 normalized
		Incident: "Online Enticement of Children for Sexual Acts; sextortion",
		IPs: []seams.IPEvent{
			{Addr: netip.MustParseAddr("203.0.113.7"), At: ts("2024-05-01T22:14:03Z"), Event: "login", Port: 51234},
			{Addr: netip.MustParseAddr("2001:db8::1"), At: ts("2024-05-02T01:00:00Z"), Event: "upload"},
			{Addr: netip.MustParseAddr("198.51.100.20"), At: ts("2024-05-03T08:00:00Z"), Event: "login", Associated: true},
		},
		Devices: []seams.Device{
			{ID: seams.DeviceID{Type: "imei", Value: "358240051111110"}, At: ts("2024-04-30T10:00:00Z")},
			{ID: seams.DeviceID{Type: "idfa", Value: "AAAA-BBBB"}, Associated: true},
		},
	}
	if fmt.Sprint(g.report) != fmt.Sprint(want) {
		t.Errorf("report:\ngot  %+v\nwant %+v", g.report, want)
	}
	wantSources := []Source{
		{Path: "personOrUserReported[1]/ipCaptureEvent[1]", Event: "login"},
		{Path: "personOrUserReported[1]/ipCaptureEvent[2]", Event: "upload"},
		{Path: "personOrUserReported[1]/associatedAccount[1]/ipCaptureEvent[1]", Associated: true, Event: "login"},
		{Path: "personOrUserReported[1]/deviceId[1]", Event: "registration"},
		{Path: "personOrUserReported[1]/associatedAccount[1]/deviceId[1]", Associated: true},
	}
	if fmt.Sprint(g.Sources) != fmt.Sprint(wantSources) {
		t.Errorf("sources:\ngot  %+v\nwant %+v", g.Sources, wantSources)
	}
	if g.Line != 4 || g.Raw != "<report><reportId>ct-1001</reportId>" {
		t.Errorf("line %d raw %q, want 4 and the report's start", g.Line, g.Raw)
	}
}

// TestChildSideNeverRead puts the suspect's very address and device under
// victim and intendedRecipient: they must not be in the report, and are
// counted.
func TestChildSideNeverRead(t *testing.T) {
	ev := `<ipCaptureEvent><ipAddress>203.0.113.7</ipAddress><dateTime>2024-05-01T22:14:03Z</dateTime></ipCaptureEvent>`
	dv := `<deviceId><idType>imei</idType><idValue>358240051111110</idValue></deviceId>`
	doc := `<report><reportId>r</reportId>` +
		`<intendedRecipient>` + ev + ev + dv + `</intendedRecipient>` +
		`<victim>` + ev + dv + `<associatedAccount>` + ev + dv + `</associatedAccount></victim>` +
		`<victim>` + dv + `</victim></report>`
	rd := NewReader(strings.NewReader(doc), "x.xml")
	rec, err := rd.Next()
	if err != nil || rec.Whole != nil {
		t.Fatalf("Next: %v %+v", err, rec)
	}
	if len(rec.Report.IPs)+len(rec.Report.Devices)+len(rec.Parts) != 0 {
		t.Errorf("the child's side was read: %+v", rec)
	}
	c := rd.Counts()
	if c.VictimIPs != 2 || c.VictimDevices != 3 || c.RecipientIPs != 2 || c.RecipientDevices != 1 {
		t.Errorf("counts %+v, want victim 2 ips 3 devices, recipient 2 ips 1 device", c)
	}
}

// TestRecords is a table of small inputs and the records they give: "R id
// ips devices [items of rejected parts]" for a report, "W line: reason" (a
// part of the reason) for a record rejected whole.
func TestRecords(t *testing.T) {
	ev := func(ip, at string) string {
		return "<ipCaptureEvent><ipAddress>" + ip + "</ipAddress><dateTime>" + at + "</dateTime></ipCaptureEvent>"
	}
	good := ev("203.0.113.7", "2024-05-01T22:14:03Z")
	rep := func(id, body string) string {
		return "<report><reportId>" + id + "</reportId><personOrUserReported>" + body + "</personOrUserReported></report>"
	}
	cases := []struct {
		name string
		in   string
		want []string
	}{
		{"one bare report", rep("a", good), []string{"R a 1 0 []"}},
		{"wrapper of any name", "<batch>" + rep("a", good) + rep("b", good) + "</batch>", []string{"R a 1 0 []", "R b 1 0 []"}},
		{"concatenated documents with declarations",
			`<?xml version="1.0" encoding="UTF-8"?>` + rep("a", good) + "\n" + `<?xml version="1.0"?>` + rep("b", good),
			[]string{"R a 1 0 []", "R b 1 0 []"}},
		{"no reportId: named by file and ordinal", "<r>" + rep("a", good) + "<report/><report></report></r>",
			[]string{"R a 1 0 []", "R x.xml#2 0 0 []", "R x.xml#3 0 0 []"}},
		{"empty reportId", "<report><reportId> </reportId></report>", []string{"W 1: reportId is empty"}},
		{"reportId not first", "<report><incidentSummary/><reportId>a</reportId></report>",
			[]string{"W 1: reportId: <reportId> after <incidentSummary>"}},
		{"out of order in the report rejects it whole",
			"<report><reportId>a</reportId><personOrUserReported>" + good + "</personOrUserReported><incidentSummary/></report>",
			[]string{"W 1: incidentSummary: <incidentSummary> after <personOrUserReported>"}},
		{"repeated singleton", "<report><reportId>a</reportId><incidentSummary/><incidentSummary/></report>",
			[]string{"W 1: <incidentSummary> repeated"}},
		{"out of order in the person rejects the report",
			rep("a", "<estimatedLocation/>"+good), []string{"W 1: personOrUserReported[1]/ipCaptureEvent[1]: <ipCaptureEvent> after <estimatedLocation>"}},
		{"out of order in an event rejects the event",
			rep("a", "<ipCaptureEvent><dateTime>2024-05-01T22:14:03Z</dateTime><ipAddress>203.0.113.7</ipAddress></ipCaptureEvent>"+good),
			[]string{"R a 1 0 [personOrUserReported[1]/ipCaptureEvent[1]/ipAddress]"}},
		{"unknown element is skipped, not a rejection", rep("a", "<shoeSize>9</shoeSize>"+good),
			[]string{"R a 1 0 []"}},
		{"invalid address", rep("a", ev("N/A", "2024-05-01T22:14:03Z")+good),
			[]string{"R a 1 0 [personOrUserReported[1]/ipCaptureEvent[1]/ipAddress]"}},
		{"mapped address is IPv4", rep("a", ev("::ffff:192.0.2.10", "2024-05-01T22:14:03Z")), []string{"R a 1 0 []"}},
		{"time without offset", rep("a", ev("203.0.113.7", "2024-05-01T22:14:03")),
			[]string{"R a 0 0 [personOrUserReported[1]/ipCaptureEvent[1]/dateTime]"}},
		{"missing dateTime: an undated event", rep("a", "<ipCaptureEvent><ipAddress>203.0.113.7</ipAddress></ipCaptureEvent>"),
			[]string{"R a 1 0 [] undated"}},
		{"value with an element inside", rep("a", "<ipCaptureEvent><ipAddress>203.0.113.7<b/></ipAddress><dateTime>2024-05-01T22:14:03Z</dateTime></ipCaptureEvent>"),
			[]string{"R a 0 0 [personOrUserReported[1]/ipCaptureEvent[1]/ipAddress]"}},
		{"device type with a colon is kept (it can never match)", rep("a", "<deviceId><idType>imei:x</idType><idValue>1</idValue></deviceId>"),
			[]string{"R a 0 1 []"}},
		{"device type empty", rep("a", "<deviceId><idType/><idValue>1</idValue></deviceId>"),
			[]string{"R a 0 0 [personOrUserReported[1]/deviceId[1]]"}},
		{"device", rep("a", "<deviceId><idType>IMEI</idType><idValue> 1 </idValue><eventName>Login</eventName></deviceId>"),
			[]string{"R a 0 1 []"}},
		{"bad annotation is a part, the report stands",
			"<report><reportId>a</reportId><incidentSummary><reportAnnotations><sextortion>yes</sextortion></reportAnnotations></incidentSummary></report>",
			[]string{"R a 0 0 [incidentSummary/reportAnnotations/sextortion]"}},
		{"bad incidentDateTime is a part",
			"<report><reportId>a</reportId><incidentSummary><incidentDateTime>2024-01-05</incidentDateTime></incidentSummary></report>",
			[]string{"R a 0 0 [incidentSummary/incidentDateTime]"}},
		{"mismatched end tag, then resync", "<r>" + rep("a", "<ipCaptureEvent><ipAddress>1</ipAdress></ipCaptureEvent>") + rep("b", good) + "</r>",
			[]string{"W 1: element <ipAddress> closed by </ipAdress>", "R b 1 0 []"}},
		{"unclosed report", "<r><report><reportId>a</reportId>\n" + rep("b", good) + "</r>",
			[]string{"W 1: a <report> on line 2 starts inside this report", "R b 1 0 []"}},
		{"undefined entity", "<r>" + rep("a&nbsp;", good) + rep("b", good) + "</r>",
			[]string{"W 1: invalid character entity &nbsp;", "R b 1 0 []"}},
		{"DTD refused", `<!DOCTYPE report [<!ENTITY x SYSTEM "file:///etc/passwd">]>` + rep("a", good),
			[]string{"W 1: <!DOCTYPE> refused", "R a 1 0 []"}},
		{"entity declared in a DTD is not expanded", `<!DOCTYPE report [<!ENTITY x "203.0.113.7">]>` + rep("a", ev("&x;", "2024-05-01T22:14:03Z")),
			[]string{"W 1: <!DOCTYPE> refused", "W 1: invalid character entity &x;"}},
		{"not a report in the wrapper", "<r><fileDetails><reportId>1</reportId></fileDetails>" + rep("a", good) + "</r>",
			[]string{"W 1: <fileDetails> in <r> is not a <report>; skipped", "R a 1 0 []"}},
		{"cut short inside a report", "<r>" + rep("a", good) + "<report><reportId>b</reportId><personOrUserReported>",
			[]string{"R a 1 0 []", "W 1: the file ends inside this report"}},
		{"cut short after reports", "<r>" + rep("a", good), []string{"R a 1 0 []", "W 1: the file ends before </r>, opened on line 1"}},
		{"non-UTF-8 encoding declared", `<?xml version="1.0" encoding="ISO-8859-1"?>` + rep("a", good),
			[]string{"R a 1 0 []"}},
		{"an encoding seams cannot read", `<?xml version="1.0" encoding="EBCDIC-US"?>` + rep("a", good),
			[]string{`W 1: encoding "EBCDIC-US" is not one seams can read`, "R a 1 0 []"}},
		{"namespace prefix is another element", "<x:report><reportId>a</reportId></x:report>",
			[]string{"W 1: <reportId> in <x:report> is not a <report>"}},
		{"A2 marks the person's events as proxies", rep("a", good+"<estimatedLocation><countryCode>a2</countryCode></estimatedLocation>"),
			[]string{"R a 1 0 [] proxy"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, recs := readAll(t, strings.NewReader(c.in), "x.xml", NewOptions())
			var got []string
			for _, g := range recs {
				got = append(got, brief(g))
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %d records %q, want %d %q", len(got), got, len(c.want), c.want)
			}
			for i := range got {
				if !matches(got[i], c.want[i]) {
					t.Errorf("record %d: got %q, want %q", i, got[i], c.want[i])
				}
			}
		})
	}
}

// brief renders a record for TestRecords.
func brief(g got) string {
	if g.Whole != nil {
		return fmt.Sprintf("W %d: %s", g.Line, g.Whole.Reason)
	}
	var items []string
	for _, p := range g.Parts {
		items = append(items, p.Item)
	}
	s := fmt.Sprintf("R %s %d %d [%s]", g.ID, len(g.IPs), len(g.Devices), strings.Join(items, " "))
	if slices.ContainsFunc(g.report.IPs, func(e seams.IPEvent) bool { return e.Proxy }) {
		s += " proxy"
	}
	if slices.ContainsFunc(g.report.IPs, func(e seams.IPEvent) bool { return e.At.IsZero() }) {
		s += " undated"
	}
	return s
}

// matches compares a record with its wanted form: a report exactly, a
// rejection by its line and a part of its reason.
func matches(got, want string) bool {
	if strings.HasPrefix(want, "W ") {
		head, reason, _ := strings.Cut(want, ": ")
		return strings.HasPrefix(got, head+": ") && strings.Contains(got, reason)
	}
	return got == want
}

// TestGolden renders every record of the hand-made files under testdata and
// compares with the .golden file beside each; run with -update to rewrite
// them after a deliberate change, and read the diff.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.xml")
	if len(files) == 0 {
		t.Fatal("no test files")
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := readAll(t, bytes.NewReader(b), filepath.Base(name), NewOptions())
			golden.Check(t, strings.TrimSuffix(name, ".xml")+".golden", []byte(got))
		})
	}
}

// TestLines checks the lines of records and parts, also after a resync.
func TestLines(t *testing.T) {
	in := "<r>\n<report>\n<reportId>a</reportId>\n<bad></oops>\n</report>\n\n" +
		"<report><reportId>b</reportId>\n<personOrUserReported>\n" +
		"<ipCaptureEvent>\n<ipAddress>N/A</ipAddress><dateTime>2024-05-01T22:14:03Z</dateTime></ipCaptureEvent>\n" +
		"</personOrUserReported></report>\n</r>\n"
	_, recs := readAll(t, strings.NewReader(in), "x.xml", NewOptions())
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	if recs[0].Whole == nil || recs[0].Line != 2 || !strings.Contains(recs[0].Whole.Reason, "on line 4") {
		t.Errorf("first: %+v, want a rejection on line 2 naming line 4", recs[0].Whole)
	}
	if recs[1].Line != 7 || len(recs[1].Parts) != 1 || recs[1].Parts[0].Line != 9 {
		t.Errorf("second: line %d parts %+v, want line 7 and a part on line 9", recs[1].Line, recs[1].Parts)
	}
}

// TestLimits checks each limit: the report that breaks it is rejected, and
// the next one is read.
func TestLimits(t *testing.T) {
	next := "<report><reportId>next</reportId></report>"
	cases := []struct {
		name   string
		o      Options
		report string
		reason string
	}{
		{"depth", Options{MaxDepth: 6}, "<report><reportId>a</reportId><x><y><z><w><v>deep</v></w></z></y></x></report>", "nested deeper than 6"},
		{"token", Options{MaxToken: 100}, "<report><reportId>a</reportId><additionalInfo>" + strings.Repeat("x", 500) + "</additionalInfo></report>", "token (a text, tag or comment) longer than 100 bytes"},
		{"token in a tag", Options{MaxToken: 100}, "<report><reportId>a</reportId><additionalInfo a='" + strings.Repeat("x", 500) + "'/></report>", "longer than 100 bytes"},
		{"report", Options{MaxReport: 300}, "<report><reportId>a</reportId>" + strings.Repeat("<additionalInfo>x</additionalInfo>", 20) + "</report>", "report longer than 300 bytes"},
		{"value", Options{MaxValue: 10}, "<report><reportId>" + strings.Repeat("a", 11) + "</reportId></report>", "reportId: value longer than 10 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, recs := readAll(t, strings.NewReader("<r>"+c.report+next+"</r>"), "x.xml", c.o)
			if len(recs) != 2 || recs[0].Whole == nil || !strings.Contains(recs[0].Whole.Reason, c.reason) {
				t.Fatalf("got %+v, want a rejection %q", recs, c.reason)
			}
			if recs[1].ID != "next" {
				t.Errorf("the next report was not read: %+v", recs[1])
			}
		})
	}
}

// TestStreaming reads the same input whole, one byte at a time and in
// uneven pieces: a stream reader gives the same records however its input
// arrives.
func TestStreaming(t *testing.T) {
	names, _ := filepath.Glob("testdata/*.xml")
	if len(names) < 10 {
		t.Fatalf("%d test files", len(names))
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := readAll(t, bytes.NewReader(b), "x.xml", NewOptions())
		for _, r := range []io.Reader{iotest.OneByteReader(bytes.NewReader(b)), iotest.HalfReader(bytes.NewReader(b)), iotest.DataErrReader(bytes.NewReader(b))} {
			if got, _ := readAll(t, r, "x.xml", NewOptions()); got != want {
				t.Errorf("%s read in pieces differs:\n%s\nwant:\n%s", name, got, want)
			}
		}
	}
}

// TestReadError checks that an error of the underlying reader ends the
// read with that error, not a rejection.
func TestReadError(t *testing.T) {
	rd := NewReader(&errReader{data: []byte("<r><report><reportId>a</reportId></report><report><reportId>b"), err: errBroken}, "x.xml")
	rec, err := rd.Next()
	if err != nil || rec.Report.ID != "a" {
		t.Fatalf("first: %+v %v", rec, err)
	}
	if _, err := rd.Next(); !errors.Is(err, errBroken) || !strings.HasPrefix(err.Error(), "x.xml: ") {
		t.Errorf("got %v, want the read error, naming the file", err)
	}
}

// reportStream generates n reports of about 1 KB each, never in memory at
// once.
type reportStream struct {
	n, i int
	buf  []byte
	head bool
}

func (s *reportStream) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		switch {
		case !s.head:
			s.head = true
			s.buf = []byte("<reports>\n")
		case s.i < s.n:
			s.buf = fmt.Appendf(s.buf[:0], "<report><reportId>r-%d</reportId><incidentSummary><incidentType>Child Sex Trafficking</incidentType></incidentSummary>"+
				"<internetDetails><chatImIncident><content>%s</content></chatImIncident></internetDetails><personOrUserReported>"+
				"<ipCaptureEvent><ipAddress>203.0.113.%d</ipAddress><eventName>Login</eventName><dateTime>2024-05-01T22:14:03Z</dateTime><port>443</port></ipCaptureEvent>"+
				"<ipCaptureEvent><ipAddress>2001:db8::%x</ipAddress><dateTime>2024-05-01T22:14:03-05:00</dateTime></ipCaptureEvent>"+
				"<deviceId><idType>imei</idType><idValue>3582400511%05d</idValue></deviceId></personOrUserReported>"+
				"<victim><ipCaptureEvent><ipAddress>192.0.2.1</ipAddress></ipCaptureEvent></victim></report>\n",
				s.i, strings.Repeat("synthetic ", 60), s.i%256, s.i, s.i%100000)
			s.i++
		case s.i == s.n:
			s.i++
			s.buf = []byte("</reports>\n")
		default:
			return 0, io.EOF
		}
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

// TestBoundedMemory streams about 20 MB of reports and checks that the heap
// stays small: the reader holds one report at a time, never the document.
func TestBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 20 MB")
	}
	const n = 20_000
	rd := NewReader(&reportStream{n: n}, "stream.xml")
	var ms runtime.MemStats
	peak := uint64(0)
	reports := 0
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Whole != nil || len(rec.Report.IPs) != 2 {
			t.Fatalf("unexpected record %+v", rec)
		}
		reports++
		if reports%5000 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	if reports != n {
		t.Fatalf("%d reports, want %d", reports, n)
	}
	if peak > 32<<20 {
		t.Errorf("heap reached %d MB reading a 20 MB stream", peak>>20)
	}
	t.Logf("peak heap %.1f MB", float64(peak)/(1<<20))
}

// BenchmarkReader measures the reader on generated reports of about 1 KB.
func BenchmarkReader(b *testing.B) {
	var buf bytes.Buffer
	io.Copy(&buf, &reportStream{n: 2000})
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	cpu := cpuSeconds()
	for range b.N {
		rd := NewReader(bytes.NewReader(data), "bench.xml")
		for {
			if _, err := rd.Next(); err != nil {
				break
			}
		}
	}
	b.ReportMetric(float64(2000*b.N)/b.Elapsed().Seconds(), "reports/s")
	if cpu := cpuSeconds() - cpu; cpu > 0 {
		b.ReportMetric(float64(len(data)*b.N)/cpu/1e6, "MB/cpu-s")
	}
}

// BenchmarkReaderEncodings measures the reader on the same reports in the
// encodings it decodes itself: a single-byte one, UTF-16 and a multi-byte
// one.
func BenchmarkReaderEncodings(b *testing.B) {
	var buf bytes.Buffer
	io.Copy(&buf, &reportStream{n: 2000})
	for _, c := range []struct {
		name string
		enc  encoding.Encoding
		bom  []byte
	}{
		{"windows-1252", charmap.Windows1252, nil},
		{"utf-16le", unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), []byte{0xFF, 0xFE}},
		{"shift_jis", japanese.ShiftJIS, nil},
	} {
		b.Run(c.name, func(b *testing.B) {
			doc := "<?xml version=\"1.0\" encoding=\"" + c.name + "\"?>\n" + buf.String()
			enc, err := c.enc.NewEncoder().Bytes([]byte(doc))
			if err != nil {
				b.Fatal(err)
			}
			data := append(c.bom, enc...)
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			for range b.N {
				rd := NewReader(bytes.NewReader(data), "bench.xml")
				n := 0
				for {
					rec, err := rd.Next()
					if err != nil {
						break
					}
					if rec.Whole == nil {
						n++
					}
				}
				if n != 2000 {
					b.Fatalf("%d reports read, want 2000", n)
				}
			}
			b.ReportMetric(float64(2000*b.N)/b.Elapsed().Seconds(), "reports/s")
		})
	}
}
