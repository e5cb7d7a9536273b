package psi

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/seams-dev/seams"
)

// EventLabel is what a registry's holder learns of a report event whose
// item it holds, when the reports' holder serves (the reverse direction):
// the report's id, where the event stands in it, and what a finding shows
// of it. The address or device is the querier's own item.
type EventLabel struct {
	Report string
	// ReportOrder is a random key in the order of the reports (see
	// Label.Order); Seq the event's place in its report: ip events
	// first, then devices.
	ReportOrder uint64
	Seq         uint32
	Kind        seams.Kind // ip or device
	At          time.Time  // zero for a device without a time
	Event       string
	Port        int
	Proxy       bool
	Associated  bool
}

// eventLabelVersion is the first byte of an encoded event label: not an
// indicator label's, so that neither is read as the other.
const eventLabelVersion = 0x81

const (
	eflagAt         = 1 << 0
	eflagProxy      = 1 << 1
	eflagAssociated = 1 << 2
)

// AppendEventLabel appends the encoding of l, padded with zeros to a
// multiple of LabelPad:
//
//	version u8 | kind u8 | flags u8 | report order u64 | seq u32 |
//	port u16 | report str | event str | [at i64] | zeros
func AppendEventLabel(b []byte, l *EventLabel) []byte {
	start := len(b)
	var flags byte
	if !l.At.IsZero() {
		flags |= eflagAt
	}
	if l.Proxy {
		flags |= eflagProxy
	}
	if l.Associated {
		flags |= eflagAssociated
	}
	b = append(b, eventLabelVersion, byte(l.Kind), flags)
	b = binary.BigEndian.AppendUint64(b, l.ReportOrder)
	b = binary.BigEndian.AppendUint32(b, l.Seq)
	b = binary.BigEndian.AppendUint16(b, uint16(l.Port))
	b = appendStr(b, l.Report)
	b = appendStr(b, l.Event)
	if flags&eflagAt != 0 {
		b = binary.BigEndian.AppendUint64(b, uint64(l.At.UnixNano()))
	}
	for (len(b)-start)%LabelPad != 0 {
		b = append(b, 0)
	}
	return b
}

// ParseEventLabel decodes an event label and checks it: kind ip or
// device, a report id, a time for an ip event, only zeros after the
// fields, padded as AppendEventLabel pads.
func ParseEventLabel(b []byte) (*EventLabel, error) {
	d := decoder{b: b}
	bad := func(format string, a ...any) (*EventLabel, error) {
		return nil, fmt.Errorf("%w: %s", ErrLabel, fmt.Sprintf(format, a...))
	}
	if v := d.u8(); v != eventLabelVersion {
		return bad("version %#x (want an event label, %#x)", v, eventLabelVersion)
	}
	l := &EventLabel{Kind: seams.Kind(d.u8())}
	flags := d.u8()
	if flags&^(eflagAt|eflagProxy|eflagAssociated) != 0 {
		return bad("unknown flags %#x", flags)
	}
	l.ReportOrder = d.u64()
	l.Seq = d.u32()
	l.Port = int(d.u16())
	l.Report = d.str()
	l.Event = d.str()
	if flags&eflagAt != 0 {
		l.At = time.Unix(0, int64(d.u64())).UTC()
	}
	l.Proxy, l.Associated = flags&eflagProxy != 0, flags&eflagAssociated != 0
	if d.err != nil {
		return bad("cut short")
	}
	for _, c := range d.b {
		if c != 0 {
			return bad("bytes after the fields")
		}
	}
	switch {
	case len(b)%LabelPad != 0 || len(d.b) >= LabelPad:
		return bad("padded to %d bytes", len(b))
	case l.Kind != seams.KindIP && l.Kind != seams.KindDevice:
		return bad("kind %d (want ip or device)", l.Kind)
	case l.Report == "":
		return bad("no report id")
	case l.Kind == seams.KindIP && l.At.IsZero():
		return bad("an ip event without a time")
	case l.Kind == seams.KindDevice && (l.Port != 0 || l.Proxy || l.Event != ""):
		return bad("a device with an ip event's fields")
	}
	return l, nil
}

// AddReport adds the items of a report's events, in the order of the
// reports, for a table of events (the reverse direction): a dated ip event
// is its address on its day and whatever the day; a dated device likewise;
// an undated device is a device-undated item. Undated ip events,
// unroutable addresses and unmatchable devices have no item, as in
// ReportItems. A builder holds indicators or events, not both.
func (b *Builder) AddReport(r *seams.Report) error {
	if len(b.labels) > 0 {
		return fmt.Errorf("report %s: this table holds indicators", r.ID)
	}
	if len(r.ID) > maxLabelString {
		return fmt.Errorf("report %.40s...: an id of more than %d bytes cannot be labelled", r.ID, maxLabelString)
	}
	rank := uint64(b.reports)
	b.reports++
	add := func(l EventLabel, items ...[]byte) {
		idx := uint32(len(b.events))
		for _, it := range items {
			off := uint32(len(b.arena))
			b.arena = append(b.arena, it...)
			b.items = append(b.items, bItem{off: off, end: uint32(len(b.arena)), label: idx})
			b.families = b.families.With(Family(it[0]))
		}
		b.events = append(b.events, l)
	}
	for i := range r.IPs {
		e := &r.IPs[i]
		if e.At.IsZero() || seams.NonRoutable(e.Addr) != "" {
			continue
		}
		if len(e.Event) > maxLabelString || e.Port < 0 || e.Port > 65535 {
			return fmt.Errorf("report %s: ips[%d]: an event name of more than %d bytes or a port out of range cannot be labelled", r.ID, i, maxLabelString)
		}
		add(EventLabel{Report: r.ID, ReportOrder: rank, Seq: uint32(i), Kind: seams.KindIP, At: e.At, Event: e.Event, Port: e.Port, Proxy: e.Proxy, Associated: e.Associated},
			AppendIPDay(nil, e.Addr, DayOf(e.At)), AppendIPAny(nil, e.Addr))
	}
	for j := range r.Devices {
		d := &r.Devices[j]
		if !d.ID.Matchable() || len(d.ID.Type)+len(d.ID.Value)+6 > MaxItemLen {
			continue
		}
		l := EventLabel{Report: r.ID, ReportOrder: rank, Seq: uint32(len(r.IPs) + j), Kind: seams.KindDevice, At: d.At, Associated: d.Associated}
		if d.At.IsZero() {
			add(l, AppendDevice(nil, FamilyDeviceUndated, d.ID))
		} else {
			add(l, AppendDeviceDay(nil, d.ID, DayOf(d.At)), AppendDevice(nil, FamilyDeviceAny, d.ID))
		}
	}
	return nil
}
