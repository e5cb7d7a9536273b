package registry

import (
	"reflect"
	"strings"
	"testing"

	"github.com/seams-dev/seams"
)

// TestReadCompoundsRow checks each column rule on a single row, read under
// the full header.
func TestReadCompoundsRow(t *testing.T) {
	const header = "id,name,aliases,country,province,lat,lon,status\n"
	id64 := strings.Repeat("a", 64)
	base := seams.Compound{ID: "c-1", Name: "Test Compound One", Country: "KH"}
	with := func(f func(*seams.Compound)) *seams.Compound {
		c := base
		f(&c)
		return &c
	}
	at := func(lat, lon float64) *seams.Compound {
		return with(func(c *seams.Compound) { c.Lat, c.Lon, c.HasLocation = lat, lon, true })
	}
	tests := []struct {
		name   string
		row    string
		want   *seams.Compound // nil when the row is rejected
		reason string
	}{
		{"minimal row", "c-1,Test Compound One,,KH,,,,", &base, ""},
		{"full row", "c-1,Test Compound One,Test One; T1 ;;,kh,Test Province,11.5,104.25,Active",
			with(func(c *seams.Compound) {
				c.Aliases = []string{"Test One", "T1"}
				c.Province = "Test Province"
				c.Lat, c.Lon, c.HasLocation = 11.5, 104.25, true
				c.Status = seams.StatusActive
			}), ""},
		{"fields trimmed", "  c-1 ,\tTest Compound One  , , kh ,  Test Province ,  1 , 2 , raided ",
			with(func(c *seams.Compound) {
				c.Province = "Test Province"
				c.Lat, c.Lon, c.HasLocation = 1, 2, true
				c.Status = seams.StatusRaided
			}), ""},
		{"quoted fields", `"c-1","Test Compound One","A;B",KH,"Province, Test",,,`,
			with(func(c *seams.Compound) { c.Aliases = []string{"A", "B"}; c.Province = "Province, Test" }), ""},
		{"aliases only separators", "c-1,Test Compound One, ; ;,KH,,,,", &base, ""},

		{"id of 64 characters", id64 + ",Test Compound One,,KH,,,,", with(func(c *seams.Compound) { c.ID = id64 }), ""},
		{"id of 65 characters", id64 + "a,Test Compound One,,KH,,,,", nil, `invalid id "` + id64 + `a" (want 1 to 64 characters from A-Za-z0-9._-)`},
		{"id of 1 character", "x,Test Compound One,,KH,,,,", with(func(c *seams.Compound) { c.ID = "x" }), ""},
		{"id with every allowed kind of character", "Az09._-,Test Compound One,,KH,,,,", with(func(c *seams.Compound) { c.ID = "Az09._-" }), ""},
		{"id with a space inside", "c 1,Test Compound One,,KH,,,,", nil, `invalid id "c 1" (want 1 to 64 characters from A-Za-z0-9._-)`},
		{"id with a slash", "c/1,Test Compound One,,KH,,,,", nil, `invalid id "c/1" (want 1 to 64 characters from A-Za-z0-9._-)`},
		{"id not ASCII", "cé,Test Compound One,,KH,,,,", nil, `invalid id "cé" (want 1 to 64 characters from A-Za-z0-9._-)`},
		{"id empty", ",Test Compound One,,KH,,,,", nil, "id is empty"},
		{"id blank", "   ,Test Compound One,,KH,,,,", nil, "id is empty"},

		{"name empty", "c-1,,,KH,,,,", nil, "name is empty"},
		{"name blank", "c-1,  ,,KH,,,,", nil, "name is empty"},

		{"country lower case", "c-1,Test Compound One,,mm,,,,", with(func(c *seams.Compound) { c.Country = "MM" }), ""},
		{"country user-assigned code", "c-1,Test Compound One,,XK,,,,", with(func(c *seams.Compound) { c.Country = "XK" }), ""},
		{"country empty", "c-1,Test Compound One,,,,,,", nil, "country is empty"},
		{"country three letters", "c-1,Test Compound One,,KHM,,,,", nil, `invalid country "KHM" (want an ISO 3166-1 alpha-2 code such as KH)`},
		{"country with a digit", "c-1,Test Compound One,,K1,,,,", nil, `invalid country "K1" (want an ISO 3166-1 alpha-2 code such as KH)`},

		{"lat 90", "c-1,Test Compound One,,KH,,90,0,", at(90, 0), ""},
		{"lat -90", "c-1,Test Compound One,,KH,,-90,0,", at(-90, 0), ""},
		{"lat 90.0000001", "c-1,Test Compound One,,KH,,90.0000001,0,", nil, `invalid lat "90.0000001" (want a decimal number in [-90,90])`},
		{"lat -90.5", "c-1,Test Compound One,,KH,,-90.5,0,", nil, `invalid lat "-90.5" (want a decimal number in [-90,90])`},
		{"lon 180", "c-1,Test Compound One,,KH,,0,180,", at(0, 180), ""},
		{"lon -180", "c-1,Test Compound One,,KH,,0,-180,", at(0, -180), ""},
		{"lon 180.5", "c-1,Test Compound One,,KH,,0,180.5,", nil, `invalid lon "180.5" (want a decimal number in [-180,180])`},
		{"lon -181", "c-1,Test Compound One,,KH,,0,-181,", nil, `invalid lon "-181" (want a decimal number in [-180,180])`},
		{"lat and lon zero", "c-1,Test Compound One,,KH,,0,0,", at(0, 0), ""},
		{"lat with plus sign and exponent", "c-1,Test Compound One,,KH,,+1.5e1,-.5,", at(15, -0.5), ""},
		// Each coordinate is optional: one alone is checked, and the
		// compound has no location.
		{"lat without lon: accepted, no location", "c-1,Test Compound One,,KH,,11.5,,", with(func(c *seams.Compound) {}), ""},
		{"lon without lat: accepted, no location", "c-1,Test Compound One,,KH,,,104.9,", with(func(c *seams.Compound) {}), ""},
		{"lon without lat, out of range", "c-1,Test Compound One,,KH,,,180.5,", nil, `invalid lon "180.5" (want a decimal number in [-180,180])`},
		{"country not in ISO 3166-1", "c-1,Test Compound One,,QQ,,,,", nil, `invalid country "QQ" (not an ISO 3166-1 alpha-2 code)`},
		{"lat NaN", "c-1,Test Compound One,,KH,,NaN,0,", nil, `invalid lat "NaN" (want a decimal number in [-90,90])`},
		{"lon Inf", "c-1,Test Compound One,,KH,,0,Inf,", nil, `invalid lon "Inf" (want a decimal number in [-180,180])`},
		{"lon -Infinity", "c-1,Test Compound One,,KH,,0,-Infinity,", nil, `invalid lon "-Infinity" (want a decimal number in [-180,180])`},
		{"lat huge exponent", "c-1,Test Compound One,,KH,,1e400,0,", nil, `invalid lat "1e400" (want a decimal number in [-90,90])`},
		{"lat hexadecimal float", "c-1,Test Compound One,,KH,,0x1p4,0,", nil, `invalid lat "0x1p4" (want a decimal number in [-90,90])`},
		{"lat with digit separator", "c-1,Test Compound One,,KH,,1_0,0,", nil, `invalid lat "1_0" (want a decimal number in [-90,90])`},
		{"lat two points", "c-1,Test Compound One,,KH,,1.2.3,0,", nil, `invalid lat "1.2.3" (want a decimal number in [-90,90])`},
		{"lat decimal comma", `c-1,Test Compound One,,KH,,"11,5",0,`, nil, `invalid lat "11,5" (want a decimal number in [-90,90])`},
		{"lat and lon both bad names lat", "c-1,Test Compound One,,KH,,x,y,", nil, `invalid lat "x" (want a decimal number in [-90,90])`},

		{"status upper case", "c-1,Test Compound One,,KH,,,,CLOSED", with(func(c *seams.Compound) { c.Status = seams.StatusClosed }), ""},
		{"status mixed case", "c-1,Test Compound One,,KH,,,,Unknown", with(func(c *seams.Compound) { c.Status = seams.StatusUnknown }), ""},
		{"status raided", "c-1,Test Compound One,,KH,,,,raided", with(func(c *seams.Compound) { c.Status = seams.StatusRaided }), ""},
		{"status unknown word", "c-1,Test Compound One,,KH,,,,demolished", nil, `invalid status "demolished" (want active, raided, closed or unknown)`},

		{"first problem wins", ",,,KHM,,x,,bogus", nil, "id is empty"},
		{"country checked before location", "c-1,Test Compound One,,K,,x,,", nil, `invalid country "K" (want an ISO 3166-1 alpha-2 code such as KH)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, rej, err := readCompoundsString(t, header+tc.row+"\n")
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if len(got) != 0 || len(rej) != 1 {
					t.Fatalf("got %+v, rejected %q; want the row rejected", got, rej.reasons())
				}
				if e := rej[0]; e.Reason != tc.reason || e.Line != 2 || e.File != "compounds.csv" || e.Item != "" {
					t.Errorf("rejected %+v\nwant line 2 reason %s", *e, tc.reason)
				}
				return
			}
			if len(rej) != 0 || len(got) != 1 {
				t.Fatalf("got %+v, rejected %q; want one compound", got, rej.reasons())
			}
			if !reflect.DeepEqual(got[0], *tc.want) {
				t.Errorf("got  %+v\nwant %+v", got[0], *tc.want)
			}
		})
	}
}

// TestRejectedRaw checks that a rejected row carries its fields as they
// were written, before trimming, as one line of CSV.
func TestRejectedRaw(t *testing.T) {
	_, rej, err := readCompoundsString(t, "id,name,country\n c-1 ,\" Spaced, name \",KHM\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(rej) != 1 || rej[0].Raw != `c-1 ," Spaced, name ",KHM` {
		t.Fatalf("rejected %+v", rej)
	}
}

// TestReadCompoundsDuplicates checks that of two rows with one id the first
// valid one stands.
func TestReadCompoundsDuplicates(t *testing.T) {
	tests := []struct {
		name    string
		rows    string
		wantIDs []string
		want    []string // "line: reason"
	}{
		{"second row with the same id", "c-1,One,KH\nc-2,Two,KH\nc-1,One again,MM\n",
			[]string{"c-1", "c-2"}, []string{`4: duplicate compound id "c-1" (first on line 2)`}},
		{"three rows with the same id name the first", "c-1,One,KH\nc-1,Again,KH\nc-1,Thrice,KH\n",
			[]string{"c-1"}, []string{`3: duplicate compound id "c-1" (first on line 2)`, `4: duplicate compound id "c-1" (first on line 2)`}},
		{"same id after trimming", "c-1,One,KH\n  c-1  ,Two,KH\n",
			[]string{"c-1"}, []string{`3: duplicate compound id "c-1" (first on line 2)`}},
		{"ids differing in case are distinct", "c-1,One,KH\nC-1,Two,KH\n",
			[]string{"c-1", "C-1"}, nil},
		{"an invalid first row does not hold the id", "c-1,,KH\nc-1,One,KH\n",
			[]string{"c-1"}, []string{"2: name is empty"}},
		{"a duplicate that is also invalid is rejected for being invalid", "c-1,One,KH\nc-1,One,KHM\n",
			[]string{"c-1"}, []string{`3: invalid country "KHM" (want an ISO 3166-1 alpha-2 code such as KH)`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, rej, err := readCompoundsString(t, "id,name,country\n"+tc.rows)
			if err != nil {
				t.Fatal(err)
			}
			if !equalStrings(ids(got), tc.wantIDs) {
				t.Errorf("ids = %q, want %q", ids(got), tc.wantIDs)
			}
			if !equalStrings(rej.reasons(), tc.want) {
				t.Errorf("rejected %q, want %q", rej.reasons(), tc.want)
			}
		})
	}
}

// TestNilReject checks that a nil Reject drops rejected records quietly.
func TestNilReject(t *testing.T) {
	got, err := ReadCompounds(strings.NewReader("id,name,country\nc-1,One,KHM\nc-2,Two,KH\n"), "c.csv", nil)
	if err != nil || !equalStrings(ids(got), []string{"c-2"}) {
		t.Fatalf("got %v, %v", ids(got), err)
	}
}
