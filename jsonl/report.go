package jsonl

import (
	"strconv"

	"github.com/seams-dev/seams"
)

// AppendReport appends r as one line of reports JSON Lines, newline
// included, in the contract's compact shape, which Parser.Parse reads back
// as r:
//
//	{"id":"r-1","received":"...","incident":"...","ips":[{"ip":"203.0.113.7","at":"...","event":"login","port":51234,"proxy":true}],"devices":[{"type":"imei","value":"...","at":"..."}]}
//
// Optional fields are written only when set; times in UTC (RFC 3339 with
// the fraction they need). An event or device of an associated account
// (seams.IPEvent.Associated, which only CyberTipline XML says) gets
// "associated":true, which the contract's reader does not read (yet): the
// mark is kept in the file, not in what xref sees.
func AppendReport(b []byte, r *seams.Report) []byte {
	b = append(b, `{"id":`...)
	b = AppendString(b, r.ID)
	if !r.Received.IsZero() {
		b = append(b, `,"received":`...)
		b = appendTime(b, r.Received)
	}
	if r.Incident != "" {
		b = append(b, `,"incident":`...)
		b = AppendString(b, r.Incident)
	}
	b = append(b, `,"ips":[`...)
	for i := range r.IPs {
		e := &r.IPs[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"ip":"`...)
		b = e.Addr.AppendTo(b)
		b = append(b, '"')
		if !e.At.IsZero() {
			b = append(b, `,"at":`...)
			b = appendTime(b, e.At)
		}
		if e.Event != "" {
			b = append(b, `,"event":`...)
			b = AppendString(b, e.Event)
		}
		if e.Port != 0 {
			b = append(b, `,"port":`...)
			b = strconv.AppendInt(b, int64(e.Port), 10)
		}
		if e.Proxy {
			b = append(b, `,"proxy":true`...)
		}
		if e.Associated {
			b = append(b, `,"associated":true`...)
		}
		b = append(b, '}')
	}
	b = append(b, `],"devices":[`...)
	for i := range r.Devices {
		d := &r.Devices[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"type":`...)
		b = AppendString(b, d.ID.Type)
		b = append(b, `,"value":`...)
		b = AppendString(b, d.ID.Value)
		if !d.At.IsZero() {
			b = append(b, `,"at":`...)
			b = appendTime(b, d.At)
		}
		if d.Associated {
			b = append(b, `,"associated":true`...)
		}
		b = append(b, '}')
	}
	return append(b, "]}\n"...)
}
