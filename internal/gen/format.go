package gen

import "strconv"

// The formatting below builds report lines by hand: encoding/json and fmt
// would cost more than everything else per report put together.

// timeFormat says how an instant is written: how many fractional digits and
// which UTC offset. The instant is always quantized to the precision written,
// so that what a reader parses is exactly what the generator reasoned about.
type timeFormat uint8

const (
	tfSec      timeFormat = iota // 2024-05-01T22:14:03Z
	tfMilli                      // 2024-05-01T22:14:03.120Z
	tfMicro                      // 2024-05-01T22:14:03.120301Z
	tfNano                       // 2024-05-01T22:14:03.120301007Z, for exact window edges
	tfICT                        // 2024-05-02T05:14:03+07:00 (Indochina time: KH, LA)
	tfICTMicro                   // 2024-05-02T05:14:03.120301+07:00
	tfMMT                        // 2024-05-02T04:44:03+06:30 (Myanmar time)
	tfDate                       // 2024-05-01: window edges only
)

var tfDigits = [...]int{tfSec: 0, tfMilli: 3, tfMicro: 6, tfNano: 9, tfICT: 0, tfICTMicro: 6, tfMMT: 0}
var tfOffset = [...]int64{tfICT: 7 * 60, tfICTMicro: 7 * 60, tfMMT: 6*60 + 30} // minutes east of UTC

var pow10 = [...]int64{1, 10, 100, 1000, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// quantize truncates ns (after 1970) to the precision f writes.
func quantize(ns int64, f timeFormat) int64 {
	u := pow10[9-tfDigits[f]]
	return ns - ns%u
}

const twoDigits = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

func append2(b []byte, v int) []byte { return append(b, twoDigits[2*v], twoDigits[2*v+1]) }

// civil converts days since 1970-01-01 (non-negative) to a Gregorian date
// (Howard Hinnant's civil_from_days).
func civil(days int64) (y, m, d int) {
	z := days + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	y = int(yoe + era*400)
	if m <= 2 {
		y++
	}
	return y, m, d
}

func appendDateOf(b []byte, days int64) []byte {
	y, m, d := civil(days)
	b = append2(b, y/100)
	b = append2(b, y%100)
	b = append(b, '-')
	b = append2(b, m)
	b = append(b, '-')
	return append2(b, d)
}

// appendDate writes the UTC date of the instant ns as YYYY-MM-DD.
func appendDate(b []byte, ns int64) []byte { return appendDateOf(b, ns/nsDay) }

// appendTime writes the instant ns (after 1970, already quantized) in RFC 3339
// in the format f.
func appendTime(b []byte, ns int64, f timeFormat) []byte {
	off := tfOffset[f] * 60
	sec := ns/1e9 + off
	frac := ns % 1e9
	days, sod := sec/86400, int(sec%86400)
	b = appendDateOf(b, days)
	b = append(b, 'T')
	b = append2(b, sod/3600)
	b = append(b, ':')
	b = append2(b, sod/60%60)
	b = append(b, ':')
	b = append2(b, sod%60)
	if n := tfDigits[f]; n > 0 {
		b = append(b, '.')
		v := frac / pow10[9-n]
		for i := n - 1; i >= 0; i-- {
			b = append(b, byte('0'+v/pow10[i]%10))
		}
	}
	if off == 0 {
		return append(b, 'Z')
	}
	b = append(b, '+')
	b = append2(b, int(off/3600))
	b = append(b, ':')
	return append2(b, int(off/60%60))
}

// appendWindowEdge writes a window edge in its format: a date, or a time.
func appendWindowEdge(b []byte, ns int64, f timeFormat) []byte {
	if f == tfDate {
		return appendDate(b, ns)
	}
	return appendTime(b, ns, f)
}

var octets [256]string

func init() {
	for i := range octets {
		octets[i] = strconv.Itoa(i)
	}
}

func appendIPv4(b []byte, a uint32) []byte {
	b = append(b, octets[a>>24]...)
	b = append(b, '.')
	b = append(b, octets[a>>16&0xff]...)
	b = append(b, '.')
	b = append(b, octets[a>>8&0xff]...)
	b = append(b, '.')
	return append(b, octets[a&0xff]...)
}

const hexLower, hexUpper = "0123456789abcdef", "0123456789ABCDEF"

// appendUUID writes hi:lo as a UUID, 8-4-4-4-12 hex digits.
func appendUUID(b []byte, hi, lo uint64, upper bool) []byte {
	digits := hexLower
	if upper {
		digits = hexUpper
	}
	for i := 60; i >= 0; i -= 4 {
		if i == 28 || i == 12 {
			b = append(b, '-')
		}
		b = append(b, digits[hi>>uint(i)&0xf])
	}
	b = append(b, '-')
	for i := 60; i >= 0; i -= 4 {
		if i == 44 {
			b = append(b, '-')
		}
		b = append(b, digits[lo>>uint(i)&0xf])
	}
	return b
}

// appendDigits writes v as exactly n decimal digits, zero-padded.
func appendDigits(b []byte, v uint64, n int) []byte {
	var buf [20]byte
	for i := n - 1; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, buf[:n]...)
}

// luhn returns the check digit that makes the digits of body followed by it
// pass the Luhn check, as the 15th digit of an IMEI does for the 14 before it.
func luhn(body uint64, n int) uint64 {
	sum := uint64(0)
	for i := 0; i < n; i++ { // from the rightmost digit of body, which is doubled
		d := body % 10
		body /= 10
		if i%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return (10 - sum%10) % 10
}
