package sqlstore

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/seams-dev/seams"
)

func TestEvidenceRoundTrip(t *testing.T) {
	ev := []seams.StoredEvidence{
		{Rule: seams.RuleIP, Indicator: 7, Observed: seams.Observation{IP: netip.MustParseAddr("203.0.113.7"), At: time.Date(2024, 5, 1, 22, 14, 3, 0, time.UTC), Event: "login", Port: 51234}},
		{Rule: seams.RuleIPDrift, Indicator: 8, Observed: seams.Observation{IP: netip.MustParseAddr("2001:db8::1"), At: time.Unix(0, 1).UTC(), Proxy: true}, Drift: 36 * time.Hour,
			Shared: netip.MustParsePrefix("203.0.113.96/27")},
		{Rule: seams.RuleDevice, Indicator: 9, Observed: seams.Observation{Device: seams.DeviceID{Type: "imei", Value: "358240051111110"}}},
	}
	s, err := EncodeEvidence(ev)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeEvidence(s)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, ev) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, ev)
	}
	for _, bad := range []string{`{}`, `[{"rule":"ip","indicator":1}]`, `[{"rule":"teleport","indicator":1,"ip":"192.0.2.1"}]`,
		`[{"rule":"device","indicator":1,"ip":"192.0.2.1","device":{"type":"a","value":"b"}}]`, `[{"rule":"ip","indicator":1,"ip":"192.0.2.1","port":70000}]`,
		`[{"rule":"ip","indicator":1,"ip":"192.0.2.1","shared":"x"}]`, `[{"rule":"ip","indicator":1,"ip":"nope"}]`} {
		if _, err := DecodeEvidence(bad); err == nil {
			t.Errorf("DecodeEvidence(%s) accepted", bad)
		}
	}
}

// FuzzDecodeEvidence holds the decoder of stored evidence (the database is
// input like any other) to never panic, and to encode what it accepts back
// to something that decodes the same.
func FuzzDecodeEvidence(f *testing.F) {
	f.Add(`[{"rule":"ip","indicator":7,"ip":"203.0.113.7","at":1714601643000000000,"event":"login","port":51234}]`)
	f.Add(`[{"rule":"device","indicator":9,"device":{"type":"imei","value":"1"}}]`)
	f.Add(`[{"rule":"ip-drift","indicator":8,"ip":"2001:db8::1","drift":3600000000000,"shared":"203.0.113.96/27","proxy":true}]`)
	f.Fuzz(func(t *testing.T, s string) {
		ev, err := DecodeEvidence(s)
		if err != nil {
			return
		}
		enc, err := EncodeEvidence(ev)
		if err != nil {
			t.Fatalf("encode what was decoded: %v", err)
		}
		again, err := DecodeEvidence(enc)
		if err != nil {
			t.Fatalf("decode %s: %v", enc, err)
		}
		if !reflect.DeepEqual(again, ev) {
			t.Fatalf("round trip of %s changed it:\n%+v\n%+v", s, ev, again)
		}
	})
}
