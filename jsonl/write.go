package jsonl

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/seams-dev/seams"
)

// AppendFinding appends f as one line of findings.jsonl, newline included:
//
//	{"report":"r-1","compound":"c-jinbei","tier":"tied","evidence":[{"rule":"ip","indicator":{...},"observed":{...}}]}
//
// Fields are written in a fixed order, and optional ones only when set, so
// the same finding always gives the same bytes.
func AppendFinding(b []byte, f *seams.Finding) []byte {
	b = append(b, `{"report":`...)
	b = AppendString(b, f.Report)
	b = append(b, `,"compound":`...)
	b = AppendString(b, f.Compound)
	b = append(b, `,"tier":"`...)
	b = append(b, f.Tier.String()...)
	b = append(b, `","evidence":[`...)
	for i := range f.Evidence {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendEvidence(b, &f.Evidence[i])
	}
	b = append(b, ']')
	if f.Signals.Any() {
		b = append(b, `,"signals":[`...)
		sep := ""
		if f.Signals.CrossBorder {
			b = append(b, `"cross-border"`...)
			sep = ","
		}
		if f.Signals.ForeignASN {
			b = append(b, sep...)
			b = append(b, `"foreign-asn"`...)
		}
		b = append(b, ']')
	}
	if len(f.Capped) > 0 {
		b = AppendCapped(b, f.Capped)
	}
	return append(b, "}\n"...)
}

// AppendCapped appends the capped field of a finding:
//
//	,"capped":[{"kind":"ip","value":"203.0.113.7","reports":812,"limit":500}]
func AppendCapped(b []byte, cs []seams.CapNote) []byte {
	b = append(b, `,"capped":[`...)
	for k, c := range cs {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"kind":`...)
		b = AppendString(b, c.Kind)
		b = append(b, `,"value":`...)
		b = AppendString(b, c.Value)
		b = append(b, `,"reports":`...)
		b = strconv.AppendInt(b, int64(c.Reports), 10)
		b = append(b, `,"limit":`...)
		b = strconv.AppendInt(b, int64(c.Limit), 10)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendEvidence(b []byte, e *seams.Evidence) []byte {
	b = append(b, `{"rule":"`...)
	b = append(b, e.Rule.String()...)
	b = append(b, `","indicator":`...)
	b = AppendIndicator(b, e.Indicator)
	b = append(b, `,"observed":{`...)
	o := &e.Observed
	if o.IP.IsValid() {
		b = append(b, `"ip":"`...)
		b = o.IP.AppendTo(b)
		b = append(b, '"')
	} else {
		b = append(b, `"device":"`...)
		b = appendEscaped(b, o.Device.Type)
		b = append(b, ':')
		b = appendEscaped(b, o.Device.Value)
		b = append(b, '"')
	}
	if !o.At.IsZero() {
		b = append(b, `,"at":`...)
		b = appendTime(b, o.At)
	}
	if o.Event != "" {
		b = append(b, `,"event":`...)
		b = AppendString(b, o.Event)
	}
	if o.Port != 0 {
		b = append(b, `,"port":`...)
		b = strconv.AppendInt(b, int64(o.Port), 10)
	}
	if o.Proxy {
		b = append(b, `,"proxy":true`...)
	}
	if o.Associated {
		b = append(b, `,"associated":true`...)
	}
	b = appendAddrInfo(b, &o.Net)
	b = append(b, '}')
	if e.Rule == seams.RuleIPDrift {
		b = append(b, `,"drift":"`...)
		b = append(b, e.Drift.String()...)
		b = append(b, '"')
	}
	if e.Shared.IsValid() {
		b = append(b, `,"shared":"`...)
		b = e.Shared.AppendTo(b)
		b = append(b, '"')
		if e.SharedWhy != "" {
			b = append(b, `,"shared_why":`...)
			b = AppendString(b, e.SharedWhy)
		}
	}
	return append(b, '}')
}

// appendAddrInfo appends the enrichment fields of an observed address,
// those that are known: ,"asn":14593,"as_org":"...","country":"KH","city":"..."
// (the names seams enrich writes).
func appendAddrInfo(b []byte, n *seams.AddrInfo) []byte {
	if n.ASN != 0 {
		b = append(b, `,"asn":`...)
		b = strconv.AppendUint(b, uint64(n.ASN), 10)
	}
	if n.Org != "" {
		b = append(b, `,"as_org":`...)
		b = AppendString(b, n.Org)
	}
	if n.Country != "" {
		b = append(b, `,"country":`...)
		b = AppendString(b, n.Country)
	}
	if n.City != "" {
		b = append(b, `,"city":`...)
		b = AppendString(b, n.City)
	}
	return b
}

// AppendIndicator appends the JSON object of an indicator as findings show it.
func AppendIndicator(b []byte, in *seams.Indicator) []byte {
	b = append(b, `{"kind":"`...)
	b = append(b, in.Kind.String()...)
	b = append(b, `","value":`...)
	b = AppendString(b, in.Value)
	if !in.Window.First.IsZero() {
		b = append(b, `,"first_seen":`...)
		b = appendTime(b, in.Window.First)
	}
	if !in.Window.Last.IsZero() {
		b = append(b, `,"last_seen":`...)
		b = appendTime(b, in.Window.Last)
	}
	if in.HasConfidence {
		b = append(b, `,"confidence":`...)
		b = strconv.AppendFloat(b, in.Confidence, 'g', -1, 64)
	}
	if in.Source != "" {
		b = append(b, `,"source":`...)
		b = AppendString(b, in.Source)
	}
	return append(b, '}')
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// AppendRejected appends e as one line of rejected.jsonl, newline included:
//
//	{"file":"reports.jsonl","line":12,"item":"ips[3]","reason":"invalid IP address \"N/A\"","raw":"..."}
func AppendRejected(b []byte, e *seams.RecordError) []byte {
	b = append(b, `{"file":`...)
	b = AppendString(b, e.File)
	b = append(b, `,"line":`...)
	b = strconv.AppendInt(b, int64(e.Line), 10)
	b = append(b, `,"item":`...)
	b = AppendString(b, e.Item)
	b = append(b, `,"reason":`...)
	b = AppendString(b, e.Reason)
	b = append(b, `,"raw":`...)
	b = AppendString(b, e.Raw)
	return append(b, "}\n"...)
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. Like encoding/json it replaces
// invalid UTF-8 with U+FFFD and escapes U+2028 and U+2029; unlike it, it does
// not escape <, > and &, which are harmless in files.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendEscaped(b, s)
	return append(b, '"')
}

// appendEscaped appends the escaped contents of a JSON string, unquoted.
func appendEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}
