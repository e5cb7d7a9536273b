package jsonl

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/seams-dev/seams"
)

func TestAppendReportReadsBack(t *testing.T) {
	at := time.Date(2024, 5, 1, 22, 14, 3, 123456789, time.UTC)
	tests := []struct {
		name string
		r    seams.Report
		want string
	}{
		{"id only", seams.Report{ID: "r-1"}, `{"id":"r-1","ips":[],"devices":[]}`},
		{"every field", seams.Report{ID: "r-2", Received: at, Incident: "sextortion; spam",
			IPs: []seams.IPEvent{
				{Addr: netip.MustParseAddr("203.0.113.7"), At: at, Event: "login", Port: 51234, Proxy: true},
				{Addr: netip.MustParseAddr("2001:db8::1"), Associated: true},
			},
			Devices: []seams.Device{
				{ID: seams.DeviceID{Type: "imei", Value: "358240051111110"}, At: at.Add(time.Hour)},
				{ID: seams.DeviceID{Type: "a:b", Value: "c \"quoted\"\nx"}, Associated: true},
			}},
			`{"id":"r-2","received":"2024-05-01T22:14:03.123456789Z","incident":"sextortion; spam","ips":[{"ip":"203.0.113.7","at":"2024-05-01T22:14:03.123456789Z","event":"login","port":51234,"proxy":true},{"ip":"2001:db8::1","associated":true}],"devices":[{"type":"imei","value":"358240051111110","at":"2024-05-01T23:14:03.123456789Z"},{"type":"a:b","value":"c \"quoted\"\nx","associated":true}]}`},
		{"time in another zone is written in UTC", seams.Report{ID: "r-3",
			IPs: []seams.IPEvent{{Addr: netip.MustParseAddr("198.51.100.1"), At: at.In(time.FixedZone("x", 7*3600))}}},
			`{"id":"r-3","ips":[{"ip":"198.51.100.1","at":"2024-05-01T22:14:03.123456789Z"}],"devices":[]}`},
	}
	for _, tt := range tests {
		line := AppendReport(nil, &tt.r)
		if got := string(bytes.TrimSuffix(line, []byte("\n"))); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
		var p Parser
		var back seams.Report
		if err := p.Parse(line, &back); err != nil || len(p.Problems) > 0 {
			t.Fatalf("%s: read back: %v %v", tt.name, err, p.Problems)
		}
		if !back.Equal(&tt.r) {
			t.Errorf("%s: read back %+v, want %+v", tt.name, back, tt.r)
		}
	}
}

// FuzzAppendReport reads any line; what reads as a report is written with
// AppendReport and must read back as the same report, and be written the
// same again.
func FuzzAppendReport(f *testing.F) {
	f.Add([]byte(`{"id":"r-1","received":"2024-05-02T08:00:00Z","incident":"sextortion","ips":[{"ip":"203.0.113.7","at":"2024-05-01T22:14:03Z","event":"login","port":51234,"proxy":false}],"devices":[{"type":"imei","value":"358240051111110","at":"2024-05-01T22:10:00Z"}]}`))
	f.Add([]byte(`{"id":"x","ips":[{"ip":"::ffff:192.0.2.1","at":""},{"ip":"fe80::1%eth0"}],"devices":[{"type":" IMEI ","value":" 1 "}]}`))
	f.Add([]byte(`{"id":"\u2028","incident":"\ud800","ips":null}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var p Parser
		var r seams.Report
		if p.Parse(line, &r) != nil {
			return
		}
		out := AppendReport(nil, &r)
		var p2 Parser
		var back seams.Report
		if err := p2.Parse(out, &back); err != nil {
			t.Fatalf("%s\nwritten as %s\ndoes not read back: %v", line, out, err)
		}
		if len(p2.Problems) > 0 {
			t.Fatalf("%s\nwritten as %s\nreads back with problems %v", line, out, p2.Problems)
		}
		if !back.Equal(&r) {
			t.Fatalf("%s\nwritten as %s\nreads back as %+v, want %+v", line, out, back, r)
		}
		if again := AppendReport(nil, &back); !bytes.Equal(again, out) {
			t.Fatalf("written twice differently:\n%s%s", out, again)
		}
	})
}
