package gen_test

// A strict reader of the contract's file formats and a brute-force matcher,
// written from the contract alone (issue 2) with the root package's Parse*
// helpers: the slow twin the generator's truth file is checked against.

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams"
)

// dataset is what a reader following the contract takes from a data set.
type dataset struct {
	compounds  []seams.Compound
	indicators []seams.Indicator
	shared     []netip.Prefix
	reports    []seams.Report // accepted reports, in order
	lines      int            // report lines read
	rejected   []string       // every rejected line or item, as file:line: item: reason
}

// readCSV reads a CSV file with a header and returns rows as maps by column
// name.
func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(rows) == 0 {
		t.Fatalf("%s: no header", path)
	}
	var out []map[string]string
	for _, row := range rows[1:] {
		m := map[string]string{}
		for i, name := range rows[0] {
			m[name] = row[i]
		}
		out = append(out, m)
	}
	return out
}

// readCompounds reads the compounds file; every row must be valid.
func readCompounds(t *testing.T, path string) []seams.Compound {
	t.Helper()
	var out []seams.Compound
	seen := map[string]bool{}
	for i, row := range readCSV(t, path) {
		line := i + 2
		c := seams.Compound{ID: row["id"], Name: row["name"], Province: row["province"]}
		if !seams.ValidCompoundID(c.ID) || seen[c.ID] {
			t.Errorf("%s:%d: invalid or repeated id %q", path, line, c.ID)
		}
		seen[c.ID] = true
		if strings.TrimSpace(c.Name) == "" {
			t.Errorf("%s:%d: empty name", path, line)
		}
		var err error
		if c.Country, err = seams.ParseCountry(row["country"]); err != nil {
			t.Errorf("%s:%d: %v", path, line, err)
		}
		if c.Status, err = seams.ParseStatus(row["status"]); err != nil {
			t.Errorf("%s:%d: %v", path, line, err)
		}
		if row["aliases"] != "" {
			c.Aliases = strings.Split(row["aliases"], ";")
		}
		if row["lat"] != "" || row["lon"] != "" {
			lat, err1 := strconv.ParseFloat(row["lat"], 64)
			lon, err2 := strconv.ParseFloat(row["lon"], 64)
			if err1 != nil || err2 != nil || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
				t.Errorf("%s:%d: invalid location %q,%q", path, line, row["lat"], row["lon"])
			}
			c.Lat, c.Lon, c.HasLocation = lat, lon, true
		}
		out = append(out, c)
	}
	return out
}

// readIndicators reads the indicators file; every row must be valid.
func readIndicators(t *testing.T, path string, compounds []seams.Compound) []seams.Indicator {
	t.Helper()
	known := map[string]bool{}
	for _, c := range compounds {
		known[c.ID] = true
	}
	var out []seams.Indicator
	for i, row := range readCSV(t, path) {
		line := i + 2
		fail := func(err error) { t.Errorf("%s:%d: %v (row %v)", path, line, err, row) }
		if !known[row["compound"]] {
			fail(fmt.Errorf("unknown compound %q", row["compound"]))
			continue
		}
		k, err := seams.ParseKind(row["kind"])
		if err != nil {
			fail(err)
			continue
		}
		ind, err := seams.ParseIndicatorValue(k, row["value"])
		if err != nil {
			fail(err)
			continue
		}
		if ind.Window, err = seams.ParseWindow(row["first_seen"], row["last_seen"]); err != nil {
			fail(err)
			continue
		}
		if ind.Confidence, ind.HasConfidence, err = seams.ParseConfidence(row["confidence"]); err != nil {
			fail(err)
			continue
		}
		ind.Compound, ind.Source, ind.File, ind.Line = row["compound"], row["source"], path, line
		out = append(out, ind)
	}
	return out
}

// readShared reads the shared-space list; every line must be valid.
func readShared(t *testing.T, path string) []netip.Prefix {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := []netip.Prefix{seams.CarrierNAT}
	for i, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		p, err := seams.ParsePrefix(l)
		if err != nil {
			t.Errorf("%s:%d: %v", path, i+1, err)
			continue
		}
		out = append(out, p)
	}
	return out
}

// readReports reads report lines by the contract: a line that is not an
// object or lacks a valid, unique id is rejected whole; an invalid event or
// device is rejected on its own.
func readReports(t *testing.T, path string, d *dataset) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		d.lines++
		reject := func(item, format string, args ...any) {
			d.rejected = append(d.rejected, fmt.Sprintf("%s:%d: %s: %s", path, line, item, fmt.Sprintf(format, args...)))
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil || obj == nil {
			reject("", "not a JSON object")
			continue
		}
		var r seams.Report
		if err := json.Unmarshal(obj["id"], &r.ID); err != nil || r.ID == "" {
			reject("", "no valid id")
			continue
		}
		if seen[r.ID] {
			reject("", "duplicate id %q", r.ID)
			continue
		}
		seen[r.ID] = true
		if raw, ok := obj["received"]; ok {
			var s string
			var err error
			if err = json.Unmarshal(raw, &s); err == nil {
				r.Received, err = seams.ParseTime(s)
			}
			if err != nil {
				t.Errorf("%s:%d: received %s: %v", path, line, raw, err) // the generator never writes this
			}
		}
		if raw, ok := obj["incident"]; ok {
			if err := json.Unmarshal(raw, &r.Incident); err != nil {
				t.Errorf("%s:%d: incident %s: %v", path, line, raw, err)
			}
		}
		var ips, devs []map[string]json.RawMessage
		if err := unmarshalOptional(obj["ips"], &ips); err != nil {
			t.Errorf("%s:%d: ips: %v", path, line, err)
		}
		if err := unmarshalOptional(obj["devices"], &devs); err != nil {
			t.Errorf("%s:%d: devices: %v", path, line, err)
		}
		for i, e := range ips {
			item := fmt.Sprintf("ips[%d]", i)
			var ip, at string
			if json.Unmarshal(e["ip"], &ip) != nil || json.Unmarshal(e["at"], &at) != nil {
				reject(item, "ip or at missing")
				continue
			}
			var ev seams.IPEvent
			var err error
			if ev.Addr, err = seams.ParseAddr(ip); err != nil {
				reject(item, "%v", err)
				continue
			}
			if ev.At, err = seams.ParseTime(at); err != nil {
				reject(item, "%v", err)
				continue
			}
			if err := unmarshalOptional(e["event"], &ev.Event); err != nil {
				t.Errorf("%s:%d: %s: event: %v", path, line, item, err)
			}
			if err := unmarshalOptional(e["port"], &ev.Port); err != nil || ev.Port < 0 || ev.Port > 65535 || e["port"] != nil && ev.Port == 0 {
				t.Errorf("%s:%d: %s: port %s", path, line, item, e["port"])
			}
			if err := unmarshalOptional(e["proxy"], &ev.Proxy); err != nil {
				t.Errorf("%s:%d: %s: proxy: %v", path, line, item, err)
			}
			r.IPs = append(r.IPs, ev)
		}
		for i, dv := range devs {
			item := fmt.Sprintf("devices[%d]", i)
			var typ, val, at string
			if json.Unmarshal(dv["type"], &typ) != nil || json.Unmarshal(dv["value"], &val) != nil {
				reject(item, "type or value missing")
				continue
			}
			id, err := seams.NewDeviceID(typ, val)
			if err != nil {
				reject(item, "%v", err)
				continue
			}
			dev := seams.Device{ID: id}
			if raw, ok := dv["at"]; ok {
				if json.Unmarshal(raw, &at) != nil {
					reject(item, "at is not a string")
					continue
				}
				if dev.At, err = seams.ParseTime(at); err != nil {
					reject(item, "%v", err)
					continue
				}
			}
			r.Devices = append(r.Devices, dev)
		}
		d.reports = append(d.reports, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

func unmarshalOptional(raw json.RawMessage, v any) error {
	if raw == nil {
		return nil
	}
	return json.Unmarshal(raw, v)
}

// truthLine is one line of truth.jsonl, or one finding of the matcher.
type truthLine struct {
	Report   string `json:"report"`
	Compound string `json:"compound"`
	Tier     string `json:"tier"`
}

func readTruth(t *testing.T, path string) []truthLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []truthLine
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	for {
		var l truthLine
		if err := dec.Decode(&l); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, l)
	}
	return out
}

// match is the brute-force matcher: for every event of every report, every
// indicator, by the contract's rules. Findings come in report order, then
// compound id.
//
// It also counts in cover the cases it met where they alone decide a
// (report, compound) pair: an indicator that fired, or came close and did
// not, with nothing else of that compound in the report. A test can then
// check that the data exercises every rule and boundary where a wrong
// truth would show.
func match(d *dataset, drift time.Duration, cover map[string]int) []truthLine {
	inShared := func(a netip.Addr) bool {
		for _, p := range d.shared {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	var out []truthLine
	for _, r := range d.reports {
		tiers := map[string]seams.Tier{}
		cases := map[string][]string{}
		note := func(c string, t seams.Tier, label string) {
			tiers[c] = max(tiers[c], t)
			cases[c] = append(cases[c], label)
		}
		for _, e := range r.IPs {
			if seams.NonRoutable(e.Addr) != "" {
				continue // accepted, but can never match
			}
			shared := inShared(e.Addr)
			for i := range d.indicators {
				ind := &d.indicators[i]
				switch ind.Kind {
				case seams.KindIP:
					if ind.Addr != e.Addr {
						continue
					}
					dist := ind.Window.Distance(e.At)
					edge := e.At.Equal(ind.Window.First) || e.At.Equal(ind.Window.Last)
					switch {
					case ind.Window.Contains(e.At) && e.Proxy && !shared:
						note(ind.Compound, seams.TierPotential, "ip in window, proxy")
					case ind.Window.Contains(e.At) && shared && !e.Proxy:
						note(ind.Compound, seams.TierPotential, "ip in window, shared space")
					case ind.Window.Contains(e.At) && shared:
						note(ind.Compound, seams.TierPotential, "ip in window, proxy in shared space")
					case ind.Window.Contains(e.At) && edge:
						note(ind.Compound, seams.TierTied, "ip on a window edge")
					case ind.Window.Contains(e.At):
						note(ind.Compound, seams.TierTied, "ip in window")
					case dist == time.Nanosecond && !e.Proxy && !shared: // would tie if taken as inside
						note(ind.Compound, seams.TierPotential, "ip-drift, 1ns outside the window")
					case dist == drift:
						note(ind.Compound, seams.TierPotential, "ip-drift exactly at the drift")
					case dist < drift:
						note(ind.Compound, seams.TierPotential, "ip-drift")
					case dist == drift+time.Nanosecond:
						note(ind.Compound, seams.TierNone, "ip 1ns beyond the drift")
					default:
						note(ind.Compound, seams.TierNone, "ip beyond the drift")
					}
				case seams.KindCIDR:
					switch {
					case !ind.Prefix.Contains(e.Addr):
					case ind.Window.Contains(e.At):
						note(ind.Compound, seams.TierPotential, "cidr")
					default:
						note(ind.Compound, seams.TierNone, "cidr outside its window")
					}
				}
			}
		}
		for _, dv := range r.Devices {
			for i := range d.indicators {
				ind := &d.indicators[i]
				if ind.Kind != seams.KindDevice || ind.Device != dv.ID {
					continue
				}
				switch {
				case dv.At.IsZero():
					note(ind.Compound, seams.TierTied, "device without a time")
				case ind.Window.Contains(dv.At):
					note(ind.Compound, seams.TierTied, "device in window")
				default:
					note(ind.Compound, seams.TierNone, "device outside its window")
				}
			}
		}
		var cs []string
		for c, labels := range cases {
			if len(labels) == 1 {
				cover[labels[0]]++
			}
			if tiers[c] != seams.TierNone {
				cs = append(cs, c)
			}
		}
		slices.Sort(cs)
		if len(cs) > 1 {
			cover["report with two compounds"]++
		}
		for _, c := range cs {
			out = append(out, truthLine{Report: r.ID, Compound: c, Tier: tiers[c].String()})
		}
	}
	return out
}
