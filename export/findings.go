// Package export turns the output of a cross-reference run (findings.jsonl
// and summary.json) into the formats partners use: STIX 2.1, MISP, a flat
// signal feed, and findings as CSV or Parquet for spreadsheets and
// analytical databases. Run is what "seams export" does.
package export

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/seams-dev/seams"
)

// MaxFindingLine is the longest line of findings.jsonl read, in bytes.
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

// ReadFindings reads findings.jsonl as seams xref writes it and hands each
// finding to fn, in file order. The finding is fn's to keep. Findings are
// seams' own output, so a line that does not read is an error naming the
// file and line, not a rejection: the file is corrupt or not a findings file.
func ReadFindings(r io.Reader, file string, fn func(*seams.Finding) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	interned := indicators{}
	for n := 1; ; n++ {
		line, err := readLine(br)
		if len(line) > 0 {
			f, perr := parseFinding(line, interned)
			if perr != nil {
				return fmt.Errorf("%s:%d: %v", file, n, perr)
			}
			if err := fn(f); err != nil {
				return err
			}
		}
		switch {
		case err == io.EOF:
			return nil
		case errors.Is(err, errLongLine):
			return fmt.Errorf("%s:%d: line longer than %d bytes", file, n, MaxFindingLine)
		case err != nil:
			return fmt.Errorf("%s: %w", file, err)
		}
	}
}

var errLongLine = errors.New("line too long")

func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > MaxFindingLine {
			return nil, errLongLine
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return []byte(strings.TrimSpace(string(line))), err
	}
}

func parseFinding(line []byte, interned indicators) (*seams.Finding, error) {
	var j jFinding
	if err := json.Unmarshal(line, &j); err != nil {
		return nil, fmt.Errorf("not a finding: %v", err)
	}
	f := &seams.Finding{Report: j.Report, Compound: j.Compound}
	switch j.Tier {
	case "tied":
		f.Tier = seams.TierTied
	case "potential":
		f.Tier = seams.TierPotential
	default:
		return nil, fmt.Errorf("tier %q (want tied or potential)", j.Tier)
	}
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
