package cybertip

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
)

// The tests of this file hold what providers write as the Reporting API's
// documentation and schema have it, where seams once lost findings (issue
// 14): each case failed before.

// readFile reads a file of testdata with the default options.
func readFile(t *testing.T, name string) (Counts, []got) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	rd := NewReader(bytes.NewReader(b), name)
	var recs []got
	for {
		rec, err := rd.Next()
		if err != nil {
			break
		}
		recs = append(recs, gotOf(rd, rec))
	}
	return rd.Counts(), recs
}

// noRejections fails the test for any rejection among recs.
func noRejections(t *testing.T, recs []got) {
	t.Helper()
	for _, g := range recs {
		if g.Whole != nil {
			t.Errorf("record on line %d rejected: %s", g.Line, g.Whole.Reason)
		}
		for _, p := range g.Parts {
			t.Errorf("report %s: part %s rejected: %s", g.ID, p.Item, p.Reason)
		}
	}
}

func reportOf(t *testing.T, recs []got, id string) got {
	t.Helper()
	for _, g := range recs {
		if g.ID == id {
			return g
		}
	}
	t.Fatalf("no report %q among %d records", id, len(recs))
	return got{}
}

// TestAnnotationFlags: the schema declares each flag fixed="true" and the
// documentation writes them empty (<sextortion />): an empty flag is true;
// true/false/1/0 keep their meaning.
func TestAnnotationFlags(t *testing.T) {
	cases := []struct {
		name, flags string
		incident    string
		part        string // item of a rejected part, if any
	}{
		{"empty element", "<sextortion/>", "T; sextortion", ""},
		{"empty element with a space, as the documentation writes it", "<sextortion />", "T; sextortion", ""},
		{"start and end tag", "<sextortion></sextortion>", "T; sextortion", ""},
		{"white space only (collapsed)", "<sextortion>\n </sextortion>", "T; sextortion", ""},
		{"true", "<sextortion>true</sextortion>", "T; sextortion", ""},
		{"1", "<sextortion>1</sextortion>", "T; sextortion", ""},
		{"false", "<sextortion>false</sextortion>", "T", ""},
		{"0", "<sextortion>0</sextortion>", "T", ""},
		{"every flag of the documentation, empty", "<sextortion /><csamSolicitation /><minorToMinorInteraction /><spam /><sadisticOnlineExploitation />",
			"T; sextortion; csamSolicitation; minorToMinorInteraction; spam; sadisticOnlineExploitation", ""},
		{"a flag the schema gains later, empty", "<newFlag/><spam>false</spam>", "T; newFlag", ""},
		{"not a boolean is still a rejected part", "<sextortion>yes</sextortion><spam/>", "T; spam", "incidentSummary/reportAnnotations/sextortion"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := "<report><reportId>r</reportId><incidentSummary><incidentType>T</incidentType><reportAnnotations>" +
				c.flags + "</reportAnnotations></incidentSummary></report>"
			_, recs := readAll(t, strings.NewReader(doc), "x.xml", NewOptions())
			if len(recs) != 1 || recs[0].Whole != nil {
				t.Fatalf("records %+v", recs)
			}
			if recs[0].Inc != c.incident {
				t.Errorf("incident %q, want %q", recs[0].Inc, c.incident)
			}
			var parts []string
			for _, p := range recs[0].Parts {
				parts = append(parts, p.Item)
			}
			if strings.Join(parts, " ") != c.part {
				t.Errorf("rejected parts %q, want %q", parts, c.part)
			}
		})
	}
	// The documentation's own example report.
	_, recs := readFile(t, "api-example.xml")
	noRejections(t, recs)
	if len(recs) != 1 || !strings.Contains(recs[0].Inc, "; sextortion; csamSolicitation") || len(recs[0].IPs) != 1 {
		t.Errorf("the documentation's example reads as %+v", recs)
	}
}

// TestSeveralPersons: every personOrUserReported of a report is read, each
// one's events the suspect's, each named by its position; an A1 location
// marks only its own person's events.
func TestSeveralPersons(t *testing.T) {
	c, recs := readFile(t, "batched.xml")
	noRejections(t, recs)
	if len(recs) != 2 || c.Accepted != 2 {
		t.Fatalf("%d records, %d accepted, want 2 and 2", len(recs), c.Accepted)
	}
	if b := reportOf(t, recs, "ct-batched"); len(b.IPs)+len(b.Devices) != 0 {
		t.Errorf("the batched report (espIdentifier only) has events: %+v", b)
	}
	g := reportOf(t, recs, "ct-two-persons")
	want := []string{
		"198.51.100.77 2024-05-15T12:00:00Z event=registration",
		"2001:db8:1::5 2024-05-16T01:30:00Z event=login proxy",
		"192.0.2.44 2024-05-16T09:00:00Z proxy", // the second person's associated account
	}
	if fmt.Sprint(g.IPs) != fmt.Sprint(want) {
		t.Errorf("ips %q\nwant %q", g.IPs, want)
	}
	if fmt.Sprint(g.Devices) != fmt.Sprint([]string{"imei:358240051111110", "idfa:AAAA-BBBB 2024-05-02T00:00:00Z"}) {
		t.Errorf("devices %q", g.Devices)
	}
	paths := []string{"personOrUserReported[1]/ipCaptureEvent[1]", "personOrUserReported[2]/ipCaptureEvent[1]",
		"personOrUserReported[2]/associatedAccount[1]/ipCaptureEvent[1]", "personOrUserReported[1]/deviceId[1]", "personOrUserReported[2]/deviceId[1]"}
	for i, s := range g.Sources {
		if s.Path != paths[i] {
			t.Errorf("source %d: %s, want %s", i, s.Path, paths[i])
		}
	}
	if c.VictimIPs != 1 {
		t.Errorf("victim ips counted %d, want 1", c.VictimIPs)
	}
	// A person out of order is still a rejection of the report, naming
	// which person.
	doc := "<report><reportId>r</reportId><personOrUserReported/><personOrUserReported><estimatedLocation/>" +
		"<ipCaptureEvent><ipAddress>203.0.113.7</ipAddress></ipCaptureEvent></personOrUserReported></report>"
	_, recs = readAll(t, strings.NewReader(doc), "x.xml", NewOptions())
	if len(recs) != 1 || recs[0].Whole == nil || !strings.HasPrefix(recs[0].Whole.Reason, "personOrUserReported[2]/ipCaptureEvent[1]: ") {
		t.Errorf("out of order in the second person: %+v", recs)
	}
}

// TestPeer2Peer: the schema annotates peer2peerIncident/ipCaptureEvent as
// "an IP address used by the person or user reported": the suspect's,
// whether the report has a person or not; a person's A1/A2 marks them as
// proxies. The child's side is never read.
func TestPeer2Peer(t *testing.T) {
	c, recs := readFile(t, "peer2peer.xml")
	noRejections(t, recs)
	g := reportOf(t, recs, "ct-p2p")
	want := []string{"203.0.113.7 2024-08-01T00:00:00Z event=upload port=6881", "2001:db8:2::9 2024-08-01T00:05:00Z", "198.51.100.20 2024-08-02T00:00:00Z"}
	if fmt.Sprint(g.IPs) != fmt.Sprint(want) {
		t.Errorf("ips %q\nwant %q", g.IPs, want)
	}
	if g.Sources[0].Path != "internetDetails[1]/peer2peerIncident/ipCaptureEvent[1]" || g.Sources[0].Associated {
		t.Errorf("source %+v", g.Sources[0])
	}
	a := reportOf(t, recs, "ct-p2p-anonymous")
	if fmt.Sprint(a.IPs) != fmt.Sprint([]string{"203.0.113.7 2024-08-03T00:00:00Z proxy"}) {
		t.Errorf("anonymous person's peer-to-peer address: %q, want it marked proxy", a.IPs)
	}
	if c.IncidentIPs != 3 || c.VictimIPs != 1 || c.RecipientIPs != 1 {
		t.Errorf("counts %+v, want 3 incident ips, 1 victim, 1 recipient", c)
	}
	for _, g := range recs {
		for _, ip := range g.IPs {
			if strings.HasPrefix(ip, "203.0.113.8 ") || strings.HasPrefix(ip, "198.51.100.77 ") {
				t.Errorf("the child's side was read: %s in %s", ip, g.ID)
			}
		}
	}
	// Out of the schema's order inside peer2peerIncident rejects the
	// report, as anywhere else; a bad event there is rejected on its own.
	ev := "<ipCaptureEvent><ipAddress>203.0.113.7</ipAddress></ipCaptureEvent>"
	for _, c := range []struct{ name, p2p, want string }{
		{"order", "<fileNames>x</fileNames>" + ev, "W 1: internetDetails[1]/peer2peerIncident/ipCaptureEvent[1]: <ipCaptureEvent> after <fileNames>"},
		{"bad event", "<ipCaptureEvent><ipAddress>N/A</ipAddress></ipCaptureEvent>" + ev, "R r 1 0 [internetDetails[1]/peer2peerIncident/ipCaptureEvent[1]/ipAddress] undated"},
	} {
		doc := "<report><reportId>r</reportId><internetDetails><peer2peerIncident>" + c.p2p + "</peer2peerIncident></internetDetails></report>"
		_, recs := readAll(t, strings.NewReader(doc), "x.xml", NewOptions())
		if len(recs) != 1 || !matches(brief(recs[0]), c.want) {
			t.Errorf("%s: got %q, want %q", c.name, brief(recs[0]), c.want)
		}
	}
}

// TestUndated: an ipCaptureEvent without dateTime (or with an empty one) is
// kept with a zero time, the rest of it read.
func TestUndated(t *testing.T) {
	c, recs := readFile(t, "undated.xml")
	noRejections(t, recs)
	g := reportOf(t, recs, "ct-undated")
	want := []string{"203.0.113.7 undated event=login", "203.0.113.99 undated port=51234 proxy", "198.51.100.5 2024-02-01T12:00:00Z event=other"}
	if fmt.Sprint(g.IPs) != fmt.Sprint(want) {
		t.Errorf("ips %q\nwant %q", g.IPs, want)
	}
	if !g.report.IPs[0].At.IsZero() || !g.report.IPs[1].At.IsZero() || g.report.IPs[2].At.IsZero() {
		t.Errorf("times %+v", g.report.IPs)
	}
	if c.UndatedIPs != 2 {
		t.Errorf("undated ips counted %d, want 2", c.UndatedIPs)
	}
}

// TestXSDValues: what XML Schema accepts for xs:int (port) and xs:dateTime
// is accepted; what it does not is still rejected, naming the element.
func TestXSDValues(t *testing.T) {
	cases := []struct {
		name, port, at string
		want           string // the event as read, or "reject ITEM"
	}{
		{"port with a plus sign", "+443", "2024-05-01T22:14:03Z", "203.0.113.7 2024-05-01T22:14:03Z port=443"},
		{"port with leading zeros", "00443", "2024-05-01T22:14:03Z", "203.0.113.7 2024-05-01T22:14:03Z port=443"},
		{"port -0 is 0, absent", "-0", "2024-05-01T22:14:03Z", "203.0.113.7 2024-05-01T22:14:03Z"},
		{"port with white space", " 443 ", "2024-05-01T22:14:03Z", "203.0.113.7 2024-05-01T22:14:03Z port=443"},
		{"port negative", "-1", "2024-05-01T22:14:03Z", "reject port"},
		{"port with two signs", "+-1", "2024-05-01T22:14:03Z", "reject port"},
		{"port a sign alone", "+", "2024-05-01T22:14:03Z", "reject port"},
		{"port out of range", "65536", "2024-05-01T22:14:03Z", "reject port"},
		{"port beyond xs:int", "99999999999", "2024-05-01T22:14:03Z", "reject port"},
		{"port in exponent form", "4e2", "2024-05-01T22:14:03Z", "reject port"},
		{"24:00:00 is the next day's first instant", "", "2024-05-31T24:00:00Z", "203.0.113.7 2024-06-01T00:00:00Z"},
		{"24:00:00 with an offset", "", "2024-12-31T24:00:00-07:00", "203.0.113.7 2025-01-01T07:00:00Z"},
		{"24:00:00 with a zero fraction", "", "2024-02-29T24:00:00.000Z", "203.0.113.7 2024-03-01T00:00:00Z"},
		{"24:00:01 is not a time", "", "2024-05-31T24:00:01Z", "reject dateTime"},
		{"24:00:00.5 is not a time", "", "2024-05-31T24:00:00.5Z", "reject dateTime"},
		{"24:01:00 is not a time", "", "2024-05-31T24:01:00Z", "reject dateTime"},
		{"24:00:00 without an offset is still ambiguous", "", "2024-05-31T24:00:00", "reject dateTime"},
		{"24:00:00 with a fraction point and no digit", "", "2024-05-31T24:00:00.Z", "reject dateTime"},
		{"24:00:00 on a day that does not exist", "", "2024-02-30T24:00:00Z", "reject dateTime"},
		{"24:00:00 of the last supported day", "", "2262-04-11T24:00:00Z", "reject dateTime"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := "<ipCaptureEvent><ipAddress>203.0.113.7</ipAddress><dateTime>" + c.at + "</dateTime>"
			if c.port != "" {
				ev += "<port>" + c.port + "</port>"
			}
			doc := "<report><reportId>r</reportId><personOrUserReported>" + ev + "</ipCaptureEvent></personOrUserReported></report>"
			_, recs := readAll(t, strings.NewReader(doc), "x.xml", NewOptions())
			if len(recs) != 1 || recs[0].Whole != nil {
				t.Fatalf("records %+v", recs)
			}
			g := recs[0]
			if item, ok := strings.CutPrefix(c.want, "reject "); ok {
				if len(g.Parts) != 1 || g.Parts[0].Item != "personOrUserReported[1]/ipCaptureEvent[1]/"+item || len(g.IPs) != 0 {
					t.Errorf("got %+v %+v, want the event rejected at %s", g.IPs, g.Parts, item)
				}
				return
			}
			if len(g.Parts) != 0 || fmt.Sprint(g.IPs) != fmt.Sprint([]string{c.want}) {
				t.Errorf("got %q %+v, want %q", g.IPs, g.Parts, c.want)
			}
		})
	}
	// incidentDateTime and a device's dateTime take 24:00:00 too.
	_, recs := readFile(t, "xsd-values.xml")
	noRejections(t, recs)
	g := reportOf(t, recs, "ct-xsd")
	if g.Recv != "2024-06-01T00:00:00Z" || fmt.Sprint(g.Devices) != "[imei:358240051111110 2024-04-30T22:00:00Z]" {
		t.Errorf("received %s devices %q", g.Recv, g.Devices)
	}
	if g.Inc != "Online Enticement of Children for Sexual Acts; sextortion; csamSolicitation" {
		t.Errorf("incident %q", g.Inc)
	}
}

// TestEncodings: the same report written in every encoding a partner may
// use reads the same, non-ASCII device value included.
func TestEncodings(t *testing.T) {
	for _, c := range []struct{ file, id, ssid string }{
		{"latin1.xml", "ct-latin1", "Café-Wi-Fi"},
		{"windows1252.xml", "ct-cp1252", "Café €5 Wi-Fi"},
		{"usascii.xml", "ct-ascii", "Plain-WiFi"},
		{"shiftjis.xml", "ct-sjis", "カフェWi-Fi"},
		{"utf16le.xml", "ct-utf16le", "Café-Wi-Fi 中"},
		{"utf16be.xml", "ct-utf16be", "Café-Wi-Fi 中"},
	} {
		t.Run(c.file, func(t *testing.T) {
			cnt, recs := readFile(t, c.file)
			noRejections(t, recs)
			if len(recs) != 1 || cnt.Replaced != 0 {
				t.Fatalf("%d records, %d characters replaced, want 1 and 0", len(recs), cnt.Replaced)
			}
			g := reportOf(t, recs, c.id)
			if fmt.Sprint(g.IPs) != "[203.0.113.7 2024-05-01T22:14:03Z]" || fmt.Sprint(g.Devices) != "[ssid:"+c.ssid+"]" {
				t.Errorf("read as %q %q, want the event and ssid:%s", g.IPs, g.Devices, c.ssid)
			}
			if g.Line != 4 {
				t.Errorf("line %d, want 4", g.Line)
			}
		})
	}
	t.Run("concatenated documents, each its declaration", func(t *testing.T) {
		_, recs := readFile(t, "concatenated.xml")
		noRejections(t, recs)
		var got []string
		for _, g := range recs {
			got = append(got, g.Devices...)
		}
		if fmt.Sprint(got) != "[ssid:Café-1 ssid:Café-2 ssid:Café-3]" {
			t.Errorf("devices %q", got)
		}
	})
	t.Run("mislabelled: bytes of another encoding", func(t *testing.T) {
		cnt, recs := readFile(t, "mislabelled.xml")
		if len(recs) != 2 || recs[0].Whole != nil || recs[1].Whole != nil {
			t.Fatalf("records %+v", recs)
		}
		// In fields seams does not read: the report stands, whole.
		if g := recs[0]; len(g.Parts) != 0 || len(g.IPs) != 1 || len(g.Devices) != 1 {
			t.Errorf("report with a bad name: %+v", g)
		}
		// In a value seams reads: that value's event or device is
		// rejected, with where and why.
		g := recs[1]
		if len(g.IPs) != 1 || len(g.Devices) != 0 || len(g.Parts) != 1 || g.Parts[0].Item != "personOrUserReported[1]/deviceId[1]/idValue" ||
			!strings.Contains(g.Parts[0].Reason, "not valid utf-8") {
			t.Errorf("report with a bad device: %+v", g)
		}
		if cnt.Replaced != 7 {
			t.Errorf("%d characters replaced, want 7 (three names of two bad characters, one device)", cnt.Replaced)
		}
	})

	units := func(s string) []byte { // UTF-16LE without a byte-order mark
		var b []byte
		for _, u := range utf16.Encode([]rune(s)) {
			b = append(b, byte(u), byte(u>>8))
		}
		return b
	}
	utf16le := func(s string) []byte { return append([]byte{0xFF, 0xFE}, units(s)...) }
	good := "<ipCaptureEvent><ipAddress>203.0.113.7</ipAddress><dateTime>2024-05-01T22:14:03Z</dateTime></ipCaptureEvent>"
	rep := func(id, body string) string {
		return "<report><reportId>" + id + "</reportId><personOrUserReported>" + body + "</personOrUserReported></report>"
	}
	dev := func(v string) string { return "<deviceId><idType>t</idType><idValue>" + v + "</idValue></deviceId>" }
	cases := []struct {
		name string
		in   []byte
		want []string // brief records, then the devices of the last report
	}{
		{"UTF-8 byte-order mark", []byte("\uFEFF<?xml version=\"1.0\"?>" + rep("a", good+dev("é"))), []string{"R a 1 1 []", "t:é"}},
		{"a declaration of UTF-16 without a byte-order mark is ignored", []byte(`<?xml version="1.0" encoding="UTF-16"?>` + rep("a", good+dev("é"))),
			[]string{"R a 1 1 []", "t:é"}},
		{"a UTF-16 byte-order mark wins over a declaration", utf16le(`<?xml version="1.0" encoding="ISO-8859-1"?>` + rep("a", good+dev("é"))),
			[]string{"R a 1 1 []", "t:é"}},
		{"a declaration of another encoding inside a report rejects it", []byte("<r>" + rep("a", `<?xml version="1.0" encoding="ISO-8859-1"?>`+good) + rep("b", good) + "</r>"),
			[]string{`W 1: an XML declaration of encoding "ISO-8859-1" inside a report`, "R b 1 0 []"}},
		{"a control character in an unread field", []byte(rep("a", "<espIdentifier>x\x01\x1by</espIdentifier>"+good)), []string{"R a 1 0 []"}},
		{"a control character in the report id rejects the report", []byte("<r>" + rep("a\x01", good) + rep("b", good) + "</r>"),
			[]string{"W 1: reportId: bytes that are not valid utf-8", "R b 1 0 []"}},
		{"invalid UTF-8 in an address rejects the event", []byte(rep("a", "<ipCaptureEvent><ipAddress>203.0.113.7\xff</ipAddress></ipCaptureEvent>"+good)),
			[]string{"R a 1 0 [personOrUserReported[1]/ipCaptureEvent[1]/ipAddress]"}},
		{"U+FFFE is not an XML character", []byte(rep("a", "<espIdentifier>\uFFFE</espIdentifier>"+good)), []string{"R a 1 0 []"}},
		{"a real U+FFFD is kept", []byte(rep("a", good+dev("\uFFFD"))), []string{"R a 1 1 []", "t:\uFFFD"}},
		{"a truncated UTF-8 sequence at the end of the input", []byte(rep("a", good) + "\xe4\xb8"), []string{"R a 1 0 []"}},
		{"UTF-16 with lone surrogates in an unread field",
			slices.Concat(utf16le("<report><reportId>a</reportId><personOrUserReported><espIdentifier>x"), []byte{0x00, 0xD8, 'y', 0, 0x00, 0xDC},
				units("</espIdentifier>"+good+"</personOrUserReported></report>")),
			[]string{"R a 1 0 []"}},
		{"UTF-16 cut after one byte of a unit", append(utf16le(rep("a", good)), '\n'), []string{"R a 1 0 []"}},
		{"Shift_JIS declared, invalid bytes in an unread field", []byte(`<?xml version="1.0" encoding="Shift_JIS"?>` + rep("a", "<espIdentifier>\x82</espIdentifier>"+good+dev("\x83\x4a"))),
			[]string{"R a 1 1 []", "t:カ"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text, recs := readAll(t, bytes.NewReader(c.in), "x.xml", NewOptions())
			var got []string
			for _, g := range recs {
				got = append(got, brief(g))
			}
			if len(recs) > 0 && len(c.want) > len(recs) {
				got = append(got, recs[len(recs)-1].Devices...)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %q, want %q\n%s", got, c.want, text)
			}
			for i := range got {
				if !matches(got[i], c.want[i]) {
					t.Errorf("record %d: got %q, want %q", i, got[i], c.want[i])
				}
			}
		})
	}
}

// TestUnknownElements: elements of a newer schema are skipped with what
// they hold and counted, never a rejection, wherever they stand.
func TestUnknownElements(t *testing.T) {
	c, recs := readFile(t, "newer-schema.xml")
	noRejections(t, recs)
	g := reportOf(t, recs, "ct-newer")
	if fmt.Sprint(g.IPs) != "[203.0.113.7 2024-05-01T22:14:03Z event=login]" || fmt.Sprint(g.Devices) != "[idfa:AAAA-BBBB]" || g.Inc != "Online Enticement of Children for Sexual Acts; sextortion" {
		t.Errorf("read as %+v", g)
	}
	want := map[string]int{
		"incidentSummary/incidentRiskScore":                         1,
		"internetDetails/immersiveWorldIncident":                    1,
		"personOrUserReported/ipCaptureEvent/ipAddressType":         1,
		"personOrUserReported/estimatedLocation/confidenceRadiusKm": 1,
		"personOrUserReported/associatedAccount/ageAssertion":       1,
		"personOrUserReported/associatedAccount/ageVerified":        1,
		"personOrUserReported/accountRiskSignals":                   1,
		"reportingChannel": 1,
	}
	if c.Unknown != 8 || fmt.Sprint(c.UnknownPaths) != fmt.Sprint(want) {
		t.Errorf("unknown %d %v\nwant 8 %v", c.Unknown, c.UnknownPaths, want)
	}
	if c.OtherIPs != 1 {
		t.Errorf("the ipCaptureEvent inside an unknown incident: OtherIPs %d, want 1", c.OtherIPs)
	}
	// The paths counted are bounded.
	var b strings.Builder
	b.WriteString("<report><reportId>r</reportId>")
	for i := range MaxUnknownPaths + 10 {
		fmt.Fprintf(&b, "<x%d/><x%d/>", i, i)
	}
	b.WriteString("</report>")
	rd := NewReader(strings.NewReader(b.String()), "x.xml")
	if rec, err := rd.Next(); err != nil || rec.Whole != nil || len(rec.Parts) != 0 {
		t.Fatalf("%+v %v", rec, err)
	}
	c = rd.Counts()
	if c.Unknown != 2*(MaxUnknownPaths+10) || len(c.UnknownPaths) != MaxUnknownPaths+1 || c.UnknownPaths["..."] != 20 {
		t.Errorf("unknown %d, %d paths, %d under ...", c.Unknown, len(c.UnknownPaths), c.UnknownPaths["..."])
	}
}

// TestSourceLines checks that the encoding takes effect right after the
// declaration that names it, and that lines are counted in the text read.
func TestSourceLines(t *testing.T) {
	in := append([]byte("<?xml version=\"1.0\" encoding=\"windows-1252\"?>\n<r>\n<report><reportId>a\x80</reportId>\n"+
		"<personOrUserReported><ipCaptureEvent><ipAddress>N/A</ipAddress></ipCaptureEvent>\n<deviceId><idType>t</idType><idValue>\x93x\x94</idValue></deviceId>"),
		"</personOrUserReported></report>\n</r>\n"...)
	_, recs := readAll(t, bytes.NewReader(in), "x.xml", NewOptions())
	if len(recs) != 1 || recs[0].ID != "a€" || fmt.Sprint(recs[0].Devices) != "[t:“x”]" || recs[0].Line != 3 ||
		len(recs[0].Parts) != 1 || recs[0].Parts[0].Line != 4 {
		t.Errorf("got %+v", recs)
	}
}
