package hunt

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/enrich"
)

// digestV4 is Digest as schema version 4 released it (hunt.go at
// 6d28e1d), kept here to hold the digests of findings without
// enrichment or cap to it: a store's findings must not all be revised by
// the first run after an upgrade.
func digestV4(ev []seams.StoredEvidence, private bool) []byte {
	h := sha256.New()
	var b [8]byte
	num := func(n int64) {
		binary.BigEndian.PutUint64(b[:], uint64(n))
		h.Write(b[:])
	}
	str := func(s string) {
		num(int64(len(s)))
		h.Write([]byte(s))
	}
	if private {
		num(1)
	} else {
		num(0)
	}
	num(int64(len(ev)))
	for i := range ev {
		e := &ev[i]
		num(int64(e.Rule))
		num(e.Indicator)
		a := e.Observed.IP.As16()
		if !e.Observed.IP.IsValid() {
			a = [16]byte{}
		}
		h.Write(a[:])
		str(e.Observed.Device.Type)
		str(e.Observed.Device.Value)
		if e.Observed.At.IsZero() {
			num(-1 << 63)
		} else {
			num(e.Observed.At.UnixNano())
		}
		str(e.Observed.Event)
		num(int64(e.Observed.Port))
		if e.Observed.Proxy {
			num(1)
		} else {
			num(0)
		}
		num(int64(e.Drift))
		str(e.Shared.String())
	}
	if slices.ContainsFunc(ev, func(e seams.StoredEvidence) bool { return e.Observed.Associated || e.SharedWhy != "" }) {
		// After the whole of the older input, whose count says where it
		// ends: no evidence without flags or reasons hashes these bytes.
		str("associated, shared_why")
		for i := range ev {
			if ev[i].Observed.Associated {
				num(1)
			} else {
				num(0)
			}
			str(ev[i].SharedWhy)
		}
	}
	return h.Sum(nil)
}

func sampleEvidence() []seams.StoredEvidence {
	at := time.Date(2024, 5, 1, 22, 14, 3, 0, time.UTC)
	return []seams.StoredEvidence{
		{Rule: seams.RuleIP, Indicator: 7, Observed: seams.Observation{IP: netip.MustParseAddr("203.0.113.7"), At: at, Event: "login", Port: 51234}},
		{Rule: seams.RuleDevice, Indicator: 9, Observed: seams.Observation{Device: seams.DeviceID{Type: "imei", Value: "358240051111110"}}},
		{Rule: seams.RuleIPDrift, Indicator: 8, Observed: seams.Observation{IP: netip.MustParseAddr("198.51.100.20"), At: at, Proxy: true}, Drift: time.Hour,
			Shared: netip.MustParsePrefix("198.51.100.0/24")},
	}
}

// TestDigestKeepsVersion4: evidence without what version 5 added digests
// as version 4 did, with and without the parts version 4 added.
func TestDigestKeepsVersion4(t *testing.T) {
	ev := sampleEvidence()
	withV4 := slices.Clone(ev)
	withV4[2].SharedWhy = "listed in preset satellite"
	withV4[0].Observed.Associated = true
	for _, tc := range []struct {
		name    string
		ev      []seams.StoredEvidence
		private bool
	}{{"plain", ev, false}, {"private", ev, true}, {"associated and a reason", withV4, false}, {"none", nil, false}} {
		if got, want := Digest(tc.ev, tc.private, seams.Signals{}, nil), digestV4(tc.ev, tc.private); !bytes.Equal(got, want) {
			t.Errorf("%s: digest %x, version 4's %x", tc.name, got, want)
		}
	}
}

// TestDigestParts: each part version 5 added changes the digest, and no
// two of them collide.
func TestDigestParts(t *testing.T) {
	ev := sampleEvidence()
	net := func(n seams.AddrInfo) []seams.StoredEvidence {
		e := slices.Clone(ev)
		e[0].Observed.Net = n
		return e
	}
	cases := []struct {
		name    string
		ev      []seams.StoredEvidence
		signals seams.Signals
		capped  []int64
	}{
		{"nothing", ev, seams.Signals{}, nil},
		{"asn", net(seams.AddrInfo{ASN: 64499}), seams.Signals{}, nil},
		{"as org", net(seams.AddrInfo{ASN: 64499, Org: "Example Hosting"}), seams.Signals{}, nil},
		{"country", net(seams.AddrInfo{Country: "LA"}), seams.Signals{}, nil},
		{"city", net(seams.AddrInfo{City: "LA"}), seams.Signals{}, nil},
		{"cross-border", ev, seams.Signals{CrossBorder: true}, nil},
		{"foreign-asn", ev, seams.Signals{ForeignASN: true}, nil},
		{"both signals", ev, seams.Signals{CrossBorder: true, ForeignASN: true}, nil},
		{"capped by 7", ev, seams.Signals{}, []int64{7}},
		{"capped by 9", ev, seams.Signals{}, []int64{9}},
		{"capped by 7 and 9", ev, seams.Signals{}, []int64{7, 9}},
		{"capped by 9 and 7", ev, seams.Signals{}, []int64{9, 7}},
	}
	seen := map[string]string{}
	for _, tc := range cases {
		d := fmt.Sprintf("%x", Digest(tc.ev, false, tc.signals, tc.capped))
		if other, ok := seen[d]; ok {
			t.Errorf("%s digests as %s", tc.name, other)
		}
		seen[d] = tc.name
		if again := fmt.Sprintf("%x", Digest(slices.Clone(tc.ev), false, tc.signals, slices.Clone(tc.capped))); again != d {
			t.Errorf("%s: digest not stable", tc.name)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(*Options)
		fields []string
	}{
		{"defaults", func(*Options) {}, nil},
		{"lift values", func(o *Options) { o.LiftCap = []string{"203.0.113.7", "imei:358240051111110", "2001:db8::1"} }, nil},
		{"bad lift value", func(o *Options) { o.LiftCap = []string{"203.0.113.0/24", "nope"} }, []string{"LiftCap", "LiftCap"}},
		{"shared ASNs without a database", func(o *Options) { o.Enrich.SharedASN = []uint32{64500} }, []string{"Enrich.SharedASN"}},
		{"unknown preset", func(o *Options) { o.Enrich.SharedPresets = "moon" }, []string{"Enrich.SharedPresets"}},
		{"preset of ASes without a database", func(o *Options) { o.Enrich.SharedPresets = "satellite" }, []string{"Enrich.SharedPresets"}},
		{"preset of ASes with a database", func(o *Options) {
			o.Enrich = enrich.Options{ASNDB: []string{"asn.mmdb"}, SharedPresets: "satellite,cdn"}
		}, nil},
	} {
		o := NewOptions()
		tc.edit(&o)
		err := o.Validate()
		var fields []string
		var walk func(error)
		walk = func(err error) {
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				for _, e := range j.Unwrap() {
					walk(e)
				}
				return
			}
			var fe *FieldError
			if errors.As(err, &fe) {
				fields = append(fields, fe.Field)
			}
		}
		walk(err)
		if !slices.Equal(fields, tc.fields) || (err != nil) != errors.Is(err, ErrOptions) {
			t.Errorf("%s: %v (fields %q), want fields %q", tc.name, err, fields, tc.fields)
		}
	}
}

// TestParameters: what a run records, canonical so that the same
// parameters given otherwise compare the same.
func TestParameters(t *testing.T) {
	o := NewOptions()
	o.LiftCap = []string{"imei:358240051111110", "203.0.113.7", "203.0.113.7", "::ffff:192.0.2.1"}
	o.Enrich = enrich.Options{SharedASN: []uint32{64500, 64496, 64500}, SharedPresets: " cdn, satellite ,cdn"}
	dbs, err := enrich.OpenDatabases(enrich.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := o.parameters(dbs)
	want := seams.StoreRunParameters{Drift: "2160h0m0s", MaxReportsPerIndicator: 500, LiftCap: []string{"192.0.2.1", "203.0.113.7", "imei:358240051111110"},
		SharedASN: []uint32{64496, 64500}, SharedPresets: []string{"cdn", "satellite"}, Databases: []seams.DatabaseInfo{},
		Decay: seams.DefaultDecay()}
	if fmt.Sprintf("%+v", p) != fmt.Sprintf("%+v", want) {
		t.Errorf("parameters\n %+v\nwant\n %+v", p, want)
	}
	// Given in another order, the same; without the cap, a lift list says
	// nothing.
	o.LiftCap = []string{"203.0.113.7", "192.0.2.1", "imei:358240051111110"}
	o.Enrich.SharedASN = []uint32{64496, 64500}
	if q := o.parameters(dbs); !q.Same(p) {
		t.Errorf("the same parameters in another order differ: %+v", q)
	}
	o.MaxReportsPerIndicator = 0
	off := o.parameters(dbs)
	o.LiftCap = nil
	if q := o.parameters(dbs); !q.Same(off) || len(off.LiftCap) != 0 || off.Same(p) {
		t.Errorf("without the cap: %+v and %+v", off, q)
	}
}

// TestDecayIsNotARule: a run's decay model is kept with its parameters
// but never makes a retro-hunt (a score changes no finding).
func TestDecayIsNotARule(t *testing.T) {
	dbs, err := enrich.OpenDatabases(enrich.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := NewOptions()
	p := o.parameters(dbs)
	o.Decay = seams.DecayParameters{Default: seams.DecayModel{BaseScore: 50, Lifetime: "30d", DecaySpeed: 2, Threshold: 10}}
	q := o.parameters(dbs)
	if !p.Same(q) || fmt.Sprint(q.Decay) != fmt.Sprint(o.Decay) || fmt.Sprint(p.Decay) == fmt.Sprint(q.Decay) {
		t.Errorf("parameters with another decay model: %+v and %+v, same %v; want kept, and the same rules", p.Decay, q.Decay, p.Same(q))
	}
	o.Decay.Default.Lifetime = "0d"
	if err := o.Validate(); !errors.Is(err, ErrOptions) || !strings.HasPrefix(err.Error(), "Decay") {
		t.Errorf("a lifetime of 0: %v, want a field error of Decay", err)
	}
}
