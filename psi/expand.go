package psi

import (
	"github.com/seams-dev/seams"
)

// ExpandOptions says how the holder turns an indicator into items.
type ExpandOptions struct {
	// MaxWindowDays: a bounded window of more days than this becomes one
	// item of an any-day family instead of an item a day (its label's
	// window still decides). Zero or less means DefaultMaxWindowDays.
	MaxWindowDays int
	// Undated gives every device indicator a device-undated item too, so
	// that a report device without a time matches it whatever its window,
	// as xref matches it. Off, such devices match nothing, and the
	// querier cannot learn that a device is in the registry without
	// naming a day of its window.
	Undated bool
	// Calendar, when set (From <= To), closes open windows: an open first
	// side starts on From, an open last side ends on To, and the window
	// is expanded to days like a bounded one. The querier then need not
	// query the any-day families (one item less per event), at a price:
	// an event before From or after To no longer matches an open window,
	// as xref would match it. Off by default.
	Calendar struct{ From, To Day }
}

// calendarOn reports whether o closes open windows.
func (o *ExpandOptions) calendarOn() bool { return o.Calendar.From < o.Calendar.To }

// DefaultMaxWindowDays is the default of ExpandOptions.MaxWindowDays:
// about ten years.
const DefaultMaxWindowDays = 3660

// NewExpandOptions returns the default ExpandOptions.
func NewExpandOptions() ExpandOptions {
	return ExpandOptions{MaxWindowDays: DefaultMaxWindowDays, Undated: true}
}

// windowDays returns the days a window touches, when it is bounded on both
// sides (or closed by o's calendar) and at most MaxWindowDays long.
func windowDays(w seams.Window, o *ExpandOptions) (first, last Day, ok bool) {
	switch {
	case !w.First.IsZero():
		first = DayOf(w.First)
	case o.calendarOn():
		first = o.Calendar.From
	default:
		return 0, 0, false
	}
	switch {
	case !w.Last.IsZero():
		last = DayOf(w.Last)
	case o.calendarOn():
		last = o.Calendar.To
	default:
		return 0, 0, false
	}
	max := o.MaxWindowDays
	if max <= 0 {
		max = DefaultMaxWindowDays
	}
	return first, last, first <= last && int64(last)-int64(first) < int64(max)
}

// IndicatorItems calls fn with each item of indicator in, appending them to
// b[:0] (an item is valid until the next call). Only ip and device
// indicators have items: cidr and asn indicators are not matched
// privately. It returns the number of items, and whether the indicator
// was left out for a device longer than MaxItemLen.
func IndicatorItems(b []byte, in *seams.Indicator, o ExpandOptions, fn func(item []byte)) (n int, tooLong bool) {
	switch in.Kind {
	case seams.KindIP:
		if first, last, ok := windowDays(in.Window, &o); ok {
			for d := first; d <= last; d++ {
				fn(AppendIPDay(b[:0], in.Addr, d))
				n++
			}
			return n, false
		}
		fn(AppendIPAny(b[:0], in.Addr))
		return 1, false
	case seams.KindDevice:
		if len(in.Device.Type)+len(in.Device.Value)+6 > MaxItemLen {
			return 0, true
		}
		if first, last, ok := windowDays(in.Window, &o); ok {
			for d := first; d <= last; d++ {
				fn(AppendDeviceDay(b[:0], in.Device, d))
				n++
			}
		} else {
			fn(AppendDevice(b[:0], FamilyDeviceAny, in.Device))
			n++
		}
		if o.Undated {
			fn(AppendDevice(b[:0], FamilyDeviceUndated, in.Device))
			n++
		}
		return n, false
	}
	return 0, false
}

// IndicatorFamilies returns the families the items of in fall in.
func IndicatorFamilies(in *seams.Indicator, o ExpandOptions) Families {
	var s Families
	_, _, bounded := windowDays(in.Window, &o)
	switch in.Kind {
	case seams.KindIP:
		if bounded {
			return s.With(FamilyIPDay)
		}
		return s.With(FamilyIPAny)
	case seams.KindDevice:
		if bounded {
			s = s.With(FamilyDeviceDay)
		} else {
			s = s.With(FamilyDeviceAny)
		}
		if o.Undated {
			s = s.With(FamilyDeviceUndated)
		}
	}
	return s
}

// ReportItems calls fn with each item that report r queries in the
// families fams, appending them to b[:0] (an item is valid until the next
// call): a dated ip event its address on its day (ip-day) and whatever the
// day (ip-any); a dated device likewise (device-day, device-any); a device
// without a time, device-undated. An ip event without a time queries
// nothing (its only rule, ip-undated, is not matched privately), nor does
// an address that can never match (NonRoutable) or a device whose type
// holds a colon (seams.DeviceID.Matchable). A report repeats an item as
// often as its events do: callers deduplicate. It returns the number of
// devices left out for being longer than MaxItemLen.
func ReportItems(b []byte, r *seams.Report, fams Families, fn func(item []byte)) (tooLong int) {
	for i := range r.IPs {
		e := &r.IPs[i]
		if e.At.IsZero() || seams.NonRoutable(e.Addr) != "" {
			continue
		}
		if fams.Has(FamilyIPDay) {
			fn(AppendIPDay(b[:0], e.Addr, DayOf(e.At)))
		}
		if fams.Has(FamilyIPAny) {
			fn(AppendIPAny(b[:0], e.Addr))
		}
	}
	for i := range r.Devices {
		d := &r.Devices[i]
		if !d.ID.Matchable() {
			continue
		}
		if len(d.ID.Type)+len(d.ID.Value)+6 > MaxItemLen {
			tooLong++
			continue
		}
		if d.At.IsZero() {
			if fams.Has(FamilyDeviceUndated) {
				fn(AppendDevice(b[:0], FamilyDeviceUndated, d.ID))
			}
			continue
		}
		if fams.Has(FamilyDeviceDay) {
			fn(AppendDeviceDay(b[:0], d.ID, DayOf(d.At)))
		}
		if fams.Has(FamilyDeviceAny) {
			fn(AppendDevice(b[:0], FamilyDeviceAny, d.ID))
		}
	}
	return tooLong
}
