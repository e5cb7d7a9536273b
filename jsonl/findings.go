package jsonl

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/seams-dev/seams"
)

// MaxFindingLine is the longest line of findings.jsonl read, in bytes,
// newline not counted: the one limit of every reader of findings.
const MaxFindingLine = 64 << 20

type jFinding struct {
	Report   string      `json:"report"`
	Compound string      `json:"compound"`
	Tier     string      `json:"tier"`
	Evidence []jEvidence `json:"evidence"`
	Signals  []string    `json:"signals"`
	Capped   []struct {
		Kind    string `json:"kind"`
		Value   string `json:"value"`
		Reports int    `json:"reports"`
		Limit   int    `json:"limit"`
	} `json:"capped"`
}

type jEvidence struct {
	Rule      string `json:"rule"`
	Indicator struct {
		Kind       string   `json:"kind"`
		Value      string   `json:"value"`
		FirstSeen  string   `json:"first_seen"`
		LastSeen   string   `json:"last_seen"`
		Confidence *float64 `json:"confidence"`
		Source     string   `json:"source"`
	} `json:"indicator"`
	Observed struct {
		IP     string `json:"ip"`
		Device string `json:"device"`
		At     string `json:"at"`
		Event  string `json:"event"`
		Port   int    `json:"port"`
		Proxy  bool   `json:"proxy"`
		// Enrichment, when the run had databases.
		ASN        uint32 `json:"asn"`
		ASOrg      string `json:"as_org"`
		Country    string `json:"country"`
		City       string `json:"city"`
		Associated bool   `json:"associated"`
	} `json:"observed"`
	Drift     string `json:"drift"`
	Shared    string `json:"shared"`
	SharedWhy string `json:"shared_why"`
}

var kinds = map[string]seams.Kind{"ip": seams.KindIP, "cidr": seams.KindCIDR, "device": seams.KindDevice, "asn": seams.KindASN}

// indicators interns the indicators of evidence, so that the thousand
// findings of one address share one seams.Indicator.
type indicators map[string]*seams.Indicator

// ReadFindings reads findings.jsonl as seams xref writes it (AppendFinding)
// and hands each finding to fn, in file order. The finding is fn's to
// keep. Findings are seams' own output, so a line that does not read is an
// error naming the file and line, not a rejection: the file is corrupt or
// not a findings file. Blank lines are skipped; a line longer than
// MaxFindingLine is an error.
func ReadFindings(r io.Reader, file string, fn func(*seams.Finding) error) error {
	interned := indicators{}
	return findingLines(r, file, MaxFindingLine, func(n int, line []byte) error {
		f, err := parseFinding(line, interned)
		if err != nil {
			return fmt.Errorf("%s:%d: %v", file, n, err)
		}
		return fn(f)
	})
}

// ParseFinding parses one line of findings.jsonl (without its newline), as
// ReadFindings does.
func ParseFinding(line []byte) (*seams.Finding, error) {
	return parseFinding(line, indicators{})
}

// ReadFindingKeys reads the report, compound and tier of each line of a
// findings file, or of a file of expected findings that lists no evidence
// (the truth.jsonl of seams gen), with the line limit of ReadFindings. A
// line without a report, with an invalid compound or with another tier is
// an error naming the file and line.
func ReadFindingKeys(r io.Reader, file string, fn func(report, compound string, tier seams.Tier) error) error {
	return findingLines(r, file, MaxFindingLine, func(n int, line []byte) error {
		var k struct{ Report, Compound, Tier string }
		if err := json.Unmarshal(line, &k); err != nil {
			return fmt.Errorf("%s:%d: not a finding: %v", file, n, err)
		}
		tier, ok := tiers[k.Tier]
		if !ok {
			return fmt.Errorf("%s:%d: tier %q (want tied or potential)", file, n, k.Tier)
		}
		if k.Report == "" || !seams.ValidCompoundID(k.Compound) {
			return fmt.Errorf("%s:%d: finding without a report id or with an invalid compound %q", file, n, k.Compound)
		}
		return fn(k.Report, k.Compound, tier)
	})
}

var tiers = map[string]seams.Tier{"tied": seams.TierTied, "potential": seams.TierPotential}

// findingLines calls fn with each non-blank line of r, trimmed, and its
// number; a line longer than max bytes is an error.
func findingLines(r io.Reader, file string, max int, fn func(n int, line []byte) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var line []byte
	for n := 1; ; n++ {
		var err error
		line, err = readFindingLine(br, line[:0], max)
		if t := bytes.TrimSpace(line); len(t) > 0 && (err == nil || err == io.EOF) {
			if ferr := fn(n, t); ferr != nil {
				return ferr
			}
		}
		switch {
		case err == io.EOF:
			return nil
		case errors.Is(err, errLongLine):
			return fmt.Errorf("%s:%d: line longer than %d bytes", file, n, max)
		case err != nil:
			return fmt.Errorf("%s: %w", file, err)
		}
	}
}

var errLongLine = errors.New("line too long")

// readFindingLine reads one line into buf, its line ending (LF or CRLF)
// dropped; a line longer than max bytes without it is errLongLine.
func readFindingLine(br *bufio.Reader, buf []byte, max int) ([]byte, error) {
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if err == bufio.ErrBufferFull {
			if len(buf) > max+1 { // +1: a CR that may end the line
				return buf[:0], errLongLine
			}
			continue
		}
		n := len(buf)
		if n > 0 && buf[n-1] == '\n' {
			n--
			if n > 0 && buf[n-1] == '\r' {
				n--
			}
		}
		if n > max {
			return buf[:0], errLongLine
		}
		return buf[:n], err
	}
}

func parseFinding(line []byte, interned indicators) (*seams.Finding, error) {
	var j jFinding
	if err := json.Unmarshal(line, &j); err != nil {
		return nil, fmt.Errorf("not a finding: %v", err)
	}
	tier, ok := tiers[j.Tier]
	if !ok {
		return nil, fmt.Errorf("tier %q (want tied or potential)", j.Tier)
	}
	f := &seams.Finding{Report: j.Report, Compound: j.Compound, Tier: tier}
	if f.Report == "" || !seams.ValidCompoundID(f.Compound) {
		return nil, fmt.Errorf("finding without a report id or with an invalid compound %q", f.Compound)
	}
	if len(j.Evidence) == 0 {
		return nil, errors.New("finding without evidence")
	}
	f.Evidence = make([]seams.Evidence, len(j.Evidence))
	for i, je := range j.Evidence {
		ev, err := parseEvidence(f.Compound, &je, interned)
		if err != nil {
			return nil, fmt.Errorf("evidence[%d]: %v", i, err)
		}
		f.Evidence[i] = ev
	}
	for _, sig := range j.Signals {
		switch sig {
		case "cross-border":
			f.Signals.CrossBorder = true
		case "foreign-asn":
			f.Signals.ForeignASN = true
		default:
			return nil, fmt.Errorf("unknown signal %q", sig)
		}
	}
	for _, c := range j.Capped {
		f.Capped = append(f.Capped, seams.CapNote{Kind: c.Kind, Value: c.Value, Reports: c.Reports, Limit: c.Limit})
	}
	return f, nil
}

func parseEvidence(compound string, je *jEvidence, interned indicators) (seams.Evidence, error) {
	var ev seams.Evidence
	var err error
	// Every rule seams writes, ip-undated included (seams.ParseRule knows
	// them all).
	if ev.Rule, err = seams.ParseRule(je.Rule); err != nil {
		return ev, err
	}
	ji := &je.Indicator
	key, _ := json.Marshal([]any{compound, ji.Kind, ji.Value, ji.FirstSeen, ji.LastSeen, ji.Confidence, ji.Source})
	if in := interned[string(key)]; in != nil {
		ev.Indicator = in
	} else {
		kind, ok := kinds[ji.Kind]
		if !ok {
			return ev, fmt.Errorf("indicator kind %q", ji.Kind)
		}
		in, err := seams.ParseIndicatorValue(kind, ji.Value)
		if err != nil {
			return ev, fmt.Errorf("indicator: %v", err)
		}
		var first, last time.Time
		if ji.FirstSeen != "" {
			if first, err = seams.ParseTime(ji.FirstSeen); err != nil {
				return ev, fmt.Errorf("indicator first_seen: %v", err)
			}
		}
		if ji.LastSeen != "" {
			if last, err = seams.ParseTime(ji.LastSeen); err != nil {
				return ev, fmt.Errorf("indicator last_seen: %v", err)
			}
		}
		if in.Window, err = seams.NewWindow(first, last); err != nil {
			return ev, fmt.Errorf("indicator: %v", err)
		}
		if ji.Confidence != nil {
			in.Confidence, in.HasConfidence = *ji.Confidence, true
		}
		in.Compound, in.Source = compound, ji.Source
		interned[string(key)] = &in
		ev.Indicator = &in
	}
	o := &je.Observed
	switch {
	case o.IP != "":
		if ev.Observed.IP, err = seams.ParseAddr(o.IP); err != nil {
			return ev, fmt.Errorf("observed: %v", err)
		}
	case o.Device != "":
		if ev.Observed.Device, err = seams.ParseDeviceID(o.Device); err != nil {
			return ev, fmt.Errorf("observed: %v", err)
		}
	default:
		return ev, errors.New("observed has neither ip nor device")
	}
	if o.At != "" {
		if ev.Observed.At, err = seams.ParseTime(o.At); err != nil {
			return ev, fmt.Errorf("observed at: %v", err)
		}
	}
	ev.Observed.Event, ev.Observed.Port, ev.Observed.Proxy = o.Event, o.Port, o.Proxy
	ev.Observed.Associated = o.Associated
	ev.Observed.Net = seams.AddrInfo{ASN: o.ASN, Org: o.ASOrg, Country: o.Country, City: o.City}
	ev.SharedWhy = je.SharedWhy
	if je.Drift != "" {
		if ev.Drift, err = time.ParseDuration(je.Drift); err != nil {
			return ev, fmt.Errorf("drift: %v", err)
		}
	}
	if je.Shared != "" {
		if ev.Shared, err = netip.ParsePrefix(je.Shared); err != nil {
			return ev, fmt.Errorf("shared: %v", err)
		}
	}
	return ev, nil
}
