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
		{Rule: seams.RuleIP, Indicator: 10, Observed: seams.Observation{IP: netip.MustParseAddr("198.51.100.20"), At: time.Unix(0, 2).UTC(), Associated: true},
			Shared: netip.MustParsePrefix("198.51.100.0/24"), SharedWhy: "AS64500 Example Satellite, listed in shared-asn"},
		{Rule: seams.RuleDevice, Indicator: 11, Observed: seams.Observation{Device: seams.DeviceID{Type: "idfa", Value: "AAAA-BBBB"}, Associated: true}},
		{Rule: seams.RuleASN, Indicator: 12, Observed: seams.Observation{IP: netip.MustParseAddr("198.51.100.9"), At: time.Unix(0, 3).UTC(),
			Net: seams.AddrInfo{ASN: 64497, Org: "Example Mobile", Country: "MM", City: "Myawaddy"}}},
		{Rule: seams.RuleIP, Indicator: 13, Observed: seams.Observation{IP: netip.MustParseAddr("2001:db8::7"), Net: seams.AddrInfo{Country: "KH"}}},
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
		`[{"rule":"ip","indicator":1,"ip":"192.0.2.1","shared":"x"}]`, `[{"rule":"ip","indicator":1,"ip":"nope"}]`,
		`[{"rule":"ip","indicator":1,"ip":"192.0.2.1","shared_why":"listed in preset satellite"}]`,
		`[{"rule":"ip","indicator":1,"ip":"192.0.2.1","associated":"yes"}]`,
		`[{"rule":"device","indicator":1,"device":{"type":"a","value":"b"},"asn":64496}]`,
		`[{"rule":"ip","indicator":1,"ip":"192.0.2.1","asn":-1}]`, `[{"rule":"ip","indicator":1,"ip":"192.0.2.1","asn":4294967296}]`} {
		if _, err := DecodeEvidence(bad); err == nil {
			t.Errorf("DecodeEvidence(%s) accepted", bad)
		}
	}
}

// TestEvidenceKeepsEveryField: each field of stored evidence is set in one
// of the pieces below (found by reflection, so that a field added to
// StoredEvidence or Observation fails here until it is set), and each
// comes back from the database's encoding, except those the store does
// not keep yet, named here.
func TestEvidenceKeepsEveryField(t *testing.T) {
	at := time.Date(2024, 5, 1, 22, 14, 3, 0, time.UTC)
	ev := []seams.StoredEvidence{
		{Rule: seams.RuleIPDrift, Indicator: 7, Drift: time.Hour, Shared: netip.MustParsePrefix("203.0.113.96/27"), SharedWhy: "listed in preset satellite",
			Observed: seams.Observation{IP: netip.MustParseAddr("203.0.113.100"), At: at, Event: "login", Port: 51234, Proxy: true, Associated: true,
				Net: seams.AddrInfo{ASN: 64499, Org: "Example Hosting", Country: "LA", City: "Vientiane"}}},
		{Rule: seams.RuleDevice, Indicator: 8, Observed: seams.Observation{Device: seams.DeviceID{Type: "imei", Value: "358240051111110"}, At: at, Associated: true}},
	}
	// Every field is stored (since schema version 5, what enrichment
	// says of an address too).
	notStored := map[string]bool{}
	set := map[string]bool{}
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		for i := range v.NumField() {
			name := prefix + v.Type().Field(i).Name
			f := v.Field(i)
			if f.Kind() == reflect.Struct && f.Type() == reflect.TypeFor[seams.Observation]() {
				walk(name+".", f)
				continue
			}
			if !f.IsZero() {
				set[name] = true
			}
		}
	}
	for i := range ev {
		walk("", reflect.ValueOf(ev[i]))
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[seams.StoredEvidence](), reflect.TypeFor[seams.Observation]()} {
		prefix := ""
		if typ == reflect.TypeFor[seams.Observation]() {
			prefix = "Observed."
		}
		for i := range typ.NumField() {
			name := prefix + typ.Field(i).Name
			if name != "Observed" && !set[name] && !notStored[name] {
				t.Errorf("no piece of evidence in this test sets %s: set it, so that the test shows it is stored", name)
			}
		}
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
	// A reason without its prefix is never written.
	if _, err := EncodeEvidence([]seams.StoredEvidence{{Rule: seams.RuleIP, Indicator: 1, Observed: seams.Observation{IP: netip.MustParseAddr("192.0.2.1")}, SharedWhy: "x"}}); err == nil {
		t.Error("EncodeEvidence wrote a reason for shared space without the prefix")
	}
	// Evidence stored before schema version 4 has neither field, nor what
	// enrichment says of the address (version 5), and reads as evidence
	// without them.
	old, err := DecodeEvidence(`[{"rule":"ip","indicator":5,"ip":"203.0.113.100","at":1715248800000000000,"event":"upload","shared":"203.0.113.96/27"}]`)
	if err != nil || len(old) != 1 || old[0].Observed.Associated || old[0].SharedWhy != "" || old[0].Observed.Net != (seams.AddrInfo{}) || old[0].Shared != netip.MustParsePrefix("203.0.113.96/27") {
		t.Errorf("evidence of version 2: %+v %v", old, err)
	}
}

// FuzzDecodeEvidence holds the decoder of stored evidence (the database is
// input like any other) to never panic, and to encode what it accepts back
// to something that decodes the same.
func FuzzDecodeEvidence(f *testing.F) {
	f.Add(`[{"rule":"ip","indicator":7,"ip":"203.0.113.7","at":1714601643000000000,"event":"login","port":51234}]`)
	f.Add(`[{"rule":"device","indicator":9,"device":{"type":"imei","value":"1"}}]`)
	f.Add(`[{"rule":"ip-drift","indicator":8,"ip":"2001:db8::1","drift":3600000000000,"shared":"203.0.113.96/27","proxy":true}]`)
	f.Add(`[{"rule":"ip","indicator":5,"ip":"203.0.113.100","at":1715248800000000000,"event":"upload","associated":true,"shared":"203.0.113.96/27","shared_why":"AS64500 Example Satellite, listed in shared-asn"}]`)
	f.Add(`[{"rule":"device","indicator":4,"device":{"type":"idfa","value":"AAAA-BBBB"},"at":1714723500000000000,"associated":true}]`)
	f.Add(`[{"rule":"ip","indicator":1,"ip":"192.0.2.1","shared_why":"listed in shared.txt"}]`)
	f.Add(`[{"rule":"cidr","indicator":2,"ip":"100.64.0.1","shared":"100.64.0.0/10","shared_why":"carrier-grade NAT (RFC 6598), always shared","associated":false}]`)
	f.Add(`[{"rule":"asn","indicator":3,"ip":"198.51.100.9","at":1714601643000000000,"asn":64497,"as_org":"Example Mobile","country":"MM","city":"Myawaddy"}]`)
	f.Add(`[{"rule":"device","indicator":4,"device":{"type":"imei","value":"1"},"country":"KH"}]`)
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
