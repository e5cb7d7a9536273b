package sqlstore

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/seams-dev/seams"
)

func TestRunRecordRoundTrip(t *testing.T) {
	p := seams.StoreRunParameters{Drift: "2160h0m0s", MaxReportsPerIndicator: 5, LiftCap: []string{"203.0.113.7", "imei:358240051111110"},
		SharedASN: []uint32{64500}, SharedPresets: []string{"satellite", "cdn"},
		Databases: []seams.DatabaseInfo{{Role: "asn", File: "ipdb.mmdb", Type: "seams-gen-asn-country", Built: "2026-11-24", Networks: 12, Provides: []string{"asn", "country"}}}}
	s, err := encodeParameters(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeParameters(s, time.Hour)
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Errorf("parameters round trip: %+v %v\nwant %+v", got, err, p)
	}
	// A run stored before version 5: its drift alone.
	old, err := decodeParameters("", 36*time.Hour)
	if err != nil || old.Drift != "36h0m0s" || old.MaxReportsPerIndicator != 0 || old.LiftCap == nil || old.Databases == nil {
		t.Errorf("parameters of a run of version 4: %+v %v", old, err)
	}
	for _, bad := range []string{`{`, `[]`, `{"drift":"1h","max_reports_per_indicator":-1}`, `{"drift":"1h","color":"red"}`, `{"drift":1}`} {
		if _, err := decodeParameters(bad, 0); err == nil {
			t.Errorf("decodeParameters(%s) accepted", bad)
		}
	}
	for _, ids := range [][]int64{nil, {7}, {9, 7, 12}} {
		got, err := DecodeCapped(encodeCapped(ids))
		if err != nil || !slices.Equal(got, ids) {
			t.Errorf("capped %v round trip: %v %v", ids, got, err)
		}
	}
	for _, bad := range []string{`[]`, `[0]`, `[-3]`, `["7"]`, `{}`, `7`, `[1.5]`} {
		if _, err := DecodeCapped(bad); err == nil {
			t.Errorf("DecodeCapped(%s) accepted", bad)
		}
	}
	for b := range int64(4) {
		s, err := signalsOf(b)
		if err != nil || signalBits(s) != b {
			t.Errorf("signals %d: %+v %v", b, s, err)
		}
	}
	if _, err := signalsOf(4); err == nil {
		t.Error("signals 4 accepted")
	}
}

// FuzzDecodeCapped holds the decoder of finding_versions.capped (the
// database is input like any other) to never panic, and to encode what it
// accepts to what decodes the same.
func FuzzDecodeCapped(f *testing.F) {
	for _, s := range []string{"", "[7]", "[9,7,12]", "[]", "[0]", "[-1]", `["7"]`, "null", "[7,", "[9223372036854775807]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := DecodeCapped(s)
		if err != nil {
			return
		}
		again, err := DecodeCapped(encodeCapped(ids))
		if err != nil || !slices.Equal(again, ids) {
			t.Fatalf("round trip of %q: %v, then %v %v", s, ids, again, err)
		}
	})
}

// FuzzDecodeParameters holds the decoder of runs.parameters to never
// panic, and to encode what it accepts to what decodes the same.
func FuzzDecodeParameters(f *testing.F) {
	for _, s := range []string{"", `{"drift":"2160h0m0s","max_reports_per_indicator":500,"lift_cap":[],"shared_asn":[],"shared_presets":[],"databases":[]}`,
		`{"drift":"1h","max_reports_per_indicator":5,"lift_cap":["203.0.113.7"],"shared_asn":[64500],"shared_presets":["satellite"],"databases":[{"role":"asn","file":"a.mmdb","type":"t","built":"2026-11-24","networks":3,"provides":["asn"]}]}`,
		`{"drift":"1h","lift_cap":null}`, `{"max_reports_per_indicator":-1}`, `{"databases":[{}]}`, `{}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := decodeParameters(s, time.Hour)
		if err != nil {
			return
		}
		enc, err := encodeParameters(p)
		if err != nil {
			t.Fatalf("encode what was decoded: %v", err)
		}
		again, err := decodeParameters(enc, time.Hour)
		if err != nil || !reflect.DeepEqual(normal(again), normal(p)) {
			t.Fatalf("round trip of %s: %+v, then %+v %v", s, p, again, err)
		}
	})
}

// normal writes nil lists as empty ones, as encodeParameters does.
func normal(p seams.StoreRunParameters) seams.StoreRunParameters {
	if p.LiftCap == nil {
		p.LiftCap = []string{}
	}
	if p.SharedASN == nil {
		p.SharedASN = []uint32{}
	}
	if p.SharedPresets == nil {
		p.SharedPresets = []string{}
	}
	if p.Databases == nil {
		p.Databases = []seams.DatabaseInfo{}
	}
	return p
}
