// Package signalfeed writes compound addresses as a flat feed of scam
// signals in the shape the Global Signal Exchange takes: one JSON object a
// line, each with the signal, its type, the type of abuse, the date it was
// reported and a confidence score, so that a registry can be contributed to
// anti-scam exchanges.
//
// Only network signals are written (ip, cidr, asn): device identifiers are
// personal data and never leave seams this way. Nothing of the reports is
// written either: a signal says that an address belongs to a compound, not
// that any report came from it.
package signalfeed

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"math"
	"time"

	"github.com/seams-dev/seams"
)

// AbuseType is the abuse_type of every signal, and Category its finer kind
// in extra_data.
const (
	AbuseType = "scam"
	Category  = "scam-compound"
)

// Signal is one line of the feed.
type Signal struct {
	Signal     string `json:"signal"`      // 203.0.113.7, 198.51.100.0/24, AS64500
	SignalType string `json:"signal_type"` // ip, cidr or asn
	AbuseType  string `json:"abuse_type"`  // scam
	// ReportDate is the date the signal was last seen at the compound (the
	// end of the indicator's window), else the date it was first seen,
	// else the date of the export. YYYY-MM-DD.
	ReportDate string `json:"report_date"`
	// ConfidenceScore is the indicator's confidence on a 0-100 scale, as
	// STIX gives it; absent when the indicator has none.
	ConfidenceScore *int   `json:"confidence_score,omitempty"`
	Source          string `json:"source"`     // the contributing organisation
	Predictive      bool   `json:"predictive"` // always false: seen, not predicted
	ExtraData       Extra  `json:"extra_data"`
}

// Extra qualifies a signal.
type Extra struct {
	Category     string `json:"category"` // scam-compound
	Compound     string `json:"compound"`
	CompoundName string `json:"compound_name"`
	Country      string `json:"country,omitempty"`
	FirstSeen    string `json:"first_seen,omitempty"` // RFC 3339
	LastSeen     string `json:"last_seen,omitempty"`
}

// Export is what Write writes.
type Export struct {
	Org        string    // the contributing organisation. Required.
	Time       time.Time // the export date, for signals whose window is open on both sides. Required.
	Compounds  []seams.Compound
	Indicators []seams.Indicator
}

// Written counts the signals written and the indicators left out.
type Written struct {
	Signals int
	Devices int // device indicators, never written
}

// Write writes one signal per ip, cidr or asn indicator, in the order of
// the indicators.
func Write(w io.Writer, e *Export) (Written, error) {
	var n Written
	if e.Org == "" {
		return n, errors.New("signal feed: the contributing organisation is required")
	}
	if e.Time.IsZero() {
		return n, errors.New("signal feed: the export time is required")
	}
	compounds := map[string]*seams.Compound{}
	for i := range e.Compounds {
		compounds[e.Compounds[i].ID] = &e.Compounds[i]
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i := range e.Indicators {
		in := &e.Indicators[i]
		if in.Kind == seams.KindDevice {
			n.Devices++
			continue
		}
		s := Signal{Signal: in.Value, SignalType: in.Kind.String(), AbuseType: AbuseType, Source: e.Org,
			ExtraData: Extra{Category: Category, Compound: in.Compound, CompoundName: in.Compound}}
		if c := compounds[in.Compound]; c != nil {
			s.ExtraData.CompoundName, s.ExtraData.Country = c.Name, c.Country
		}
		day := e.Time
		if !in.Window.First.IsZero() {
			s.ExtraData.FirstSeen = in.Window.First.UTC().Format(time.RFC3339Nano)
			day = in.Window.First
		}
		if !in.Window.Last.IsZero() {
			s.ExtraData.LastSeen = in.Window.Last.UTC().Format(time.RFC3339Nano)
			day = in.Window.Last
		}
		s.ReportDate = day.UTC().Format(time.DateOnly)
		if in.HasConfidence {
			c := int(math.Round(in.Confidence * 100))
			s.ConfidenceScore = &c
		}
		if err := enc.Encode(&s); err != nil {
			return n, err
		}
		n.Signals++
	}
	return n, bw.Flush()
}
