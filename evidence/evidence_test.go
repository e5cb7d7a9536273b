package evidence

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/dsse"
	"github.com/seams-dev/seams/jsonl"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// fixture is a hand-made run: two reports, one tied by a device, one tied
// by an address, one potential by drift, with documentation addresses.
func fixture(t *testing.T) (*seams.Summary, []RunFinding) {
	t.Helper()
	w := seams.Window{First: at("2024-03-01T00:00:00Z"), Last: at("2024-06-30T23:59:59Z")}
	ipInd := &seams.Indicator{Compound: "c-jinbei", Kind: seams.KindIP, Value: "203.0.113.7", Addr: netip.MustParseAddr("203.0.113.7"), Window: w, Source: "partner-a", Confidence: 0.85, HasConfidence: true}
	dev := seams.DeviceID{Type: "imei", Value: "358240051111110"}
	devInd := &seams.Indicator{Compound: "c-jinbei", Kind: seams.KindDevice, Value: dev.String(), Device: dev, Window: w, Source: "partner-b"}
	r1 := &seams.Report{ID: "r-1", Received: at("2024-05-02T08:00:00Z"), Incident: "sextortion",
		IPs:     []seams.IPEvent{{Addr: netip.MustParseAddr("203.0.113.7"), At: at("2024-05-01T22:14:03Z"), Event: "login", Port: 51234}},
		Devices: []seams.Device{{ID: dev, At: at("2024-05-01T22:10:00Z")}}}
	r2 := &seams.Report{ID: "r-2", IPs: []seams.IPEvent{{Addr: netip.MustParseAddr("203.0.113.7"), At: at("2024-07-10T00:00:00Z")}}}
	f1 := &seams.Finding{Report: "r-1", Compound: "c-jinbei", Tier: seams.TierTied, Evidence: []seams.Evidence{
		{Rule: seams.RuleIP, Indicator: ipInd, Observed: seams.Observation{IP: r1.IPs[0].Addr, At: r1.IPs[0].At, Event: "login", Port: 51234}},
		{Rule: seams.RuleDevice, Indicator: devInd, Observed: seams.Observation{Device: dev, At: r1.Devices[0].At}},
	}}
	f2 := &seams.Finding{Report: "r-2", Compound: "c-jinbei", Tier: seams.TierPotential, Evidence: []seams.Evidence{
		{Rule: seams.RuleIPDrift, Indicator: ipInd, Observed: seams.Observation{IP: r2.IPs[0].Addr, At: r2.IPs[0].At}, Drift: w.Distance(r2.IPs[0].At)},
	}}
	sum := &seams.Summary{
		Seams:      seams.Build{Version: "v0.9.0", Go: "go1.26"},
		Parameters: seams.RunParameters{Drift: (90 * 24 * time.Hour).String(), MaxReportsPerIndicator: 500},
		ByCompound: []seams.CompoundCount{{Compound: "c-jinbei", Name: "Jinbei", Country: "KH", Tied: 1, Potential: 1}},
		Inputs: []seams.InputCount{
			{File: "compounds.csv", Kind: "compounds", SHA256: strings.Repeat("a", 64)},
			{File: "indicators.csv", Kind: "indicators", SHA256: strings.Repeat("b", 64)},
			{File: "reports.jsonl", Kind: "reports", SHA256: strings.Repeat("c", 64)},
		},
	}
	return sum, []RunFinding{
		{Finding: f1, Report: r1, File: "reports.jsonl", Line: 1, FileSHA256: strings.Repeat("c", 64)},
		{Finding: f2, Report: r2, File: "reports.jsonl", Line: 2, FileSHA256: strings.Repeat("c", 64)},
	}
}

func signed(t *testing.T, b *Bundle, key ed25519.PrivateKey) []byte {
	t.Helper()
	env, err := Sign(b, key)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestSignVerify(t *testing.T) {
	pub, priv, _ := dsse.NewKey()
	sum, fs := fixture(t)
	b := FromRun(sum, "s", "f", fs, at("2026-01-02T03:04:05Z"))
	env := signed(t, b, priv)
	res, err := Verify(env, pub)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() || len(res.Findings) != 2 || res.KeyIDs[0] != dsse.KeyID(pub) {
		t.Fatalf("problems %v, findings %d", res.Problems, len(res.Findings))
	}
	var out bytes.Buffer
	res.Explain(&out, nil)
	for _, want := range []string{"signature     valid", "findings      2 (1 tied, 1 potential)", "What this proves", "What it does not prove"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("explanation lacks %q:\n%s", want, out.String())
		}
	}
	// The same bundle signs to the same bytes (Ed25519 is deterministic).
	if !bytes.Equal(env, signed(t, FromRun(sum, "s", "f", fs, at("2026-01-02T03:04:05Z")), priv)) {
		t.Error("the same bundle gave other bytes")
	}
	other, _, _ := dsse.NewKey()
	if _, err := Verify(env, other); !errors.Is(err, dsse.ErrNoValidSignature) {
		t.Errorf("verified under another key: %v", err)
	}
}

// TestTampering changes a bundle in ways a forger (or a slip) would, and
// checks each is caught: by the signature when the bytes change after
// signing, by the content checks when a changed bundle is signed again.
func TestTampering(t *testing.T) {
	pub, priv, _ := dsse.NewKey()
	tests := []struct {
		name   string
		change func(b *Bundle)
		want   string
	}{
		{"report record edited", func(b *Bundle) {
			b.Findings[0].Report.Record = bytes.Replace(b.Findings[0].Report.Record, []byte("sextortion"), []byte("other"), 1)
		}, "the record was changed"},
		{"record and hash replaced by another report", func(b *Bundle) {
			rec := NewReportRecord(&seams.Report{ID: "r-1", IPs: []seams.IPEvent{{Addr: netip.MustParseAddr("198.51.100.1"), At: at("2024-05-01T22:14:03Z")}}})
			b.Findings[0].Report.Record, b.Findings[0].Report.SHA256 = rec.Record, rec.SHA256
		}, "is not in the report record"},
		{"tier raised", func(b *Bundle) {
			b.Findings[1].Finding = bytes.Replace(b.Findings[1].Finding, []byte(`"tier":"potential"`), []byte(`"tier":"tied"`), 1)
		}, "the finding says tied, its evidence gives potential"},
		{"window moved", func(b *Bundle) {
			b.Findings[0].Finding = bytes.Replace(b.Findings[0].Finding, []byte(`"first_seen":"2024-03-01T00:00:00Z"`), []byte(`"first_seen":"2024-05-15T00:00:00Z"`), 1)
		}, "outside the window"},
		{"drift beyond the run's", func(b *Bundle) { b.Source.Parameters.Drift = "24h0m0s" }, "beyond the run's drift"},
		{"compound swapped", func(b *Bundle) { b.Findings[0].Compound.ID = "c-kkpark" }, "names compound"},
		{"registry hash", func(b *Bundle) { b.Source.RegistrySHA256 = strings.Repeat("0", 64) }, "registry_sha256"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sum, fs := fixture(t)
			b := FromRun(sum, "s", "f", fs, at("2026-01-02T03:04:05Z"))
			tc.change(b)
			res, err := Verify(signed(t, b, priv), pub)
			if err != nil {
				t.Fatal(err)
			}
			var all []string
			for _, p := range res.Problems {
				all = append(all, p.What)
			}
			if res.OK() || !strings.Contains(strings.Join(all, "\n"), tc.want) {
				t.Errorf("problems %q, want one containing %q", all, tc.want)
			}
		})
	}
	// After signing, any byte changed in the payload breaks the signature.
	sum, fs := fixture(t)
	env := signed(t, FromRun(sum, "s", "f", fs, at("2026-01-02T03:04:05Z")), priv)
	e, _ := dsse.Parse(env)
	for _, i := range []int{0, len(e.Payload) / 2, len(e.Payload) - 1} {
		c := *e
		c.Payload = bytes.Clone(e.Payload)
		c.Payload[i] ^= 0x20
		out, _ := json.Marshal(&c)
		if _, err := Verify(out, pub); !errors.Is(err, dsse.ErrNoValidSignature) {
			t.Errorf("byte %d changed: %v", i, err)
		}
	}
}

func TestCappedFinding(t *testing.T) {
	pub, priv, _ := dsse.NewKey()
	sum, fs := fixture(t)
	fs[0].Finding.Tier = seams.TierPotential
	fs[0].Finding.Capped = []seams.CapNote{{Kind: "ip", Value: "203.0.113.7", Reports: 812, Limit: 500}, {Kind: "device", Value: "imei:358240051111110", Reports: 600, Limit: 500}}
	res, err := Verify(signed(t, FromRun(sum, "s", "f", fs, time.Unix(0, 0)), priv), pub)
	if err != nil || !res.OK() {
		t.Fatalf("a capped finding: %v %v", err, res.Problems)
	}
	// Without the cap notes, the weaker tier is noted, not failed.
	fs[0].Finding.Capped = nil
	res, err = Verify(signed(t, FromRun(sum, "s", "f", fs, time.Unix(0, 0)), priv), pub)
	if err != nil || !res.OK() || !strings.Contains(strings.Join(res.Notes, "\n"), "a cap the bundle does not record") {
		t.Fatalf("a weaker tier: %v %v %v", err, res.Problems, res.Notes)
	}
}

func TestNotABundle(t *testing.T) {
	pub, priv, _ := dsse.NewKey()
	for name, payload := range map[string]string{
		"other type":    `{"_type":"x","created":"2026-01-01T00:00:00Z","seams":{"version":"","go":"","cgo":false},"source":{"kind":"run"},"rules":[],"findings":[]}`,
		"unknown field": `{"_type":"` + Type + `","extra":1}`,
		"not json":      `hello`,
	} {
		env, _ := dsse.Sign(PayloadType, []byte(payload), priv)
		b, _ := json.Marshal(env)
		if _, err := Verify(b, pub); !errors.Is(err, ErrBundle) {
			t.Errorf("%s: %v", name, err)
		}
	}
	env, _ := dsse.Sign("application/vnd.in-toto+json", []byte(`{}`), priv)
	b, _ := json.Marshal(env)
	if _, err := Verify(b, pub); !errors.Is(err, dsse.ErrPayloadType) {
		t.Errorf("another payload type: %v", err)
	}
}

// fuzzKey signs the payloads of FuzzVerifyPayload: a forger cannot sign,
// so the fuzzer reaches the bundle checks by signing what it makes.
var fuzzKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))

// FuzzVerifyPayload holds the bundle reader and its checks to never panic
// on any payload, signed or not, and a bundle that verifies clean to list
// findings that read back as the same lines.
func FuzzVerifyPayload(f *testing.F) {
	sum, fs := fixture(&testing.T{})
	b := FromRun(sum, "s", "f", fs, time.Unix(0, 0))
	b.Type, b.Rules = Type, Rules
	good, _ := json.Marshal(b)
	f.Add(good, true)
	f.Add([]byte(`{"_type":"`+Type+`","findings":[{"finding":{},"report":{"record":{}}}]}`), true)
	f.Add(signed(&testing.T{}, b, fuzzKey), false)
	pub := fuzzKey.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, data []byte, sign bool) {
		env := data
		if sign {
			e, err := dsse.Sign(PayloadType, data, fuzzKey)
			if err != nil {
				t.Fatal(err)
			}
			env, _ = json.Marshal(e)
		}
		res, err := Verify(env, pub)
		if err != nil || !res.OK() {
			return
		}
		var out bytes.Buffer
		res.Explain(&out, nil)
		for i, f := range res.Findings {
			line := bytes.TrimSuffix(jsonl.AppendFinding(nil, f), []byte("\n"))
			back, err := jsonl.ParseFinding(line)
			if err != nil || back.Tier != f.Tier || len(back.Evidence) != len(f.Evidence) {
				t.Fatalf("finding %d does not read back: %v", i, err)
			}
		}
	})
}
