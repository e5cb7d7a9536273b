package cybertip

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// FuzzReader reads any input with small limits and checks what every
// record must be: in input order, a report with a usable id and events or
// a rejection with a reason; the same whether the input comes whole or a
// byte at a time; and every report read, written back as XML, reads back
// the same.
func FuzzReader(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	// The hand-made files: every encoding, the documentation's forms.
	files, _ := filepath.Glob("testdata/*.xml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	o := Options{MaxDepth: 12, MaxToken: 2048, MaxReport: 16 << 10, MaxValue: 256}
	f.Fuzz(func(t *testing.T, data []byte) {
		text, recs := readAll(t, bytes.NewReader(data), "f.xml", o)
		if len(recs) > len(data)+2 {
			t.Fatalf("%d records from %d bytes", len(recs), len(data))
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		last := 0
		for _, g := range recs {
			if g.Line < 1 || g.Line > lines || g.Line < last {
				t.Fatalf("line %d after %d (input has %d lines)", g.Line, last, lines)
			}
			last = g.Line
			if g.Whole != nil {
				if g.Whole.Reason == "" || g.Whole.Item != "" || g.Whole.Line != g.Line {
					t.Fatalf("bad rejection %+v", g.Whole)
				}
				continue
			}
			r := &g.report
			if r.ID == "" {
				t.Fatal("a report without an id")
			}
			for _, e := range r.IPs {
				if !e.Addr.IsValid() || e.Addr.Zone() != "" || e.Addr.Is4In6() {
					t.Fatalf("bad ip event %+v", e)
				}
			}
			for _, d := range r.Devices {
				if d.ID.Type == "" || d.ID.Value == "" {
					t.Fatalf("bad device %+v", d)
				}
			}
			for _, p := range g.Parts {
				if p.Item == "" || p.Reason == "" || p.Line < g.Line || p.File != "f.xml" {
					t.Fatalf("bad part %+v", p)
				}
			}
			if len(g.Sources) != len(r.IPs)+len(r.Devices) {
				t.Fatalf("%d sources for %d events", len(g.Sources), len(r.IPs)+len(r.Devices))
			}
			// Round trip.
			var b bytes.Buffer
			writeReport(&b, r, g.Sources[:len(r.IPs)], g.Sources[len(r.IPs):])
			_, back := readAll(t, &b, "f.xml", NewOptions())
			if len(back) != 1 || back[0].Whole != nil || len(back[0].Parts) != 0 {
				t.Fatalf("written back, %q reads as %+v", b.String(), back)
			}
			if fmt.Sprint(back[0].report) != fmt.Sprint(*r) {
				t.Fatalf("round trip:\ngot  %+v\nwant %+v\nfrom %s", back[0].report, *r, b.String())
			}
		}
		if again, _ := readAll(t, iotest.OneByteReader(bytes.NewReader(data)), "f.xml", o); again != text {
			t.Fatalf("read a byte at a time:\n%s\nwhole:\n%s", again, text)
		}
	})
}

var fuzzSeeds = []string{
	"",
	"<report/>",
	"<report><reportId>a</reportId></report>",
	`<?xml version="1.0"?><reports><report><reportId>a</reportId><incidentSummary><incidentType>Child Sex Trafficking</incidentType>` +
		`<reportAnnotations><sextortion>true</sextortion></reportAnnotations><incidentDateTime>2024-05-01T22:14:03-07:00</incidentDateTime></incidentSummary>` +
		`<personOrUserReported><ipCaptureEvent><ipAddress>203.0.113.7</ipAddress><eventName>Login</eventName><dateTime>2024-05-01T22:14:03Z</dateTime>` +
		`<possibleProxy>1</possibleProxy><port>443</port></ipCaptureEvent><deviceId><idType>IMEI</idType><idValue>1</idValue><eventName>Upload</eventName>` +
		`<dateTime>2024-05-01T22:14:03+02:00</dateTime></deviceId><estimatedLocation><countryCode>A1</countryCode></estimatedLocation>` +
		`<associatedAccount><ipCaptureEvent><ipAddress>2001:db8::1</ipAddress><dateTime>2024-05-01T22:14:03Z</dateTime></ipCaptureEvent></associatedAccount>` +
		`</personOrUserReported><victim><ipCaptureEvent><ipAddress>192.0.2.1</ipAddress></ipCaptureEvent></victim></report></reports>`,
	"<r><report><reportId>a</reportId><personOrUserReported><ipCaptureEvent><ipAddress>1</ipAdress></ipCaptureEvent></personOrUserReported></report><report><reportId>b</reportId></report></r>",
	"<r><report><reportId>a</reportId>\n<report><reportId>b</reportId></report></r>",
	`<!DOCTYPE r [<!ENTITY x "y">]><r><report><reportId>&x;</reportId></report></r>`,
	"<report><reportId>a</reportId><![CDATA[<report>]]></report><report ",
	"<r>" + strings.Repeat("<a>", 20) + "<report>",
	`<report><reportId>a</reportId><incidentSummary><reportAnnotations><sextortion/><spam>0</spam></reportAnnotations>` +
		`<incidentDateTime>2024-05-31T24:00:00Z</incidentDateTime></incidentSummary><internetDetails><peer2peerIncident>` +
		`<ipCaptureEvent><ipAddress>203.0.113.7</ipAddress><port>+443</port></ipCaptureEvent></peer2peerIncident></internetDetails>` +
		`<personOrUserReported/><personOrUserReported><ipCaptureEvent><ipAddress>2001:db8::1</ipAddress><dateTime/></ipCaptureEvent>` +
		`<estimatedLocation><countryCode>A1</countryCode></estimatedLocation><associatedAccount><ageAssertion/></associatedAccount>` +
		`</personOrUserReported></report>`,
	"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><report><reportId>\xe9</reportId></report><?xml version=\"1.0\"?><report><reportId>\xe9\x01</reportId></report>",
	"\xff\xfe<\x00r\x00/\x00>\x00\x00\xd8",
}
