package mmdbcsv

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

func build(t testing.TB, csv string, o Options) ([]byte, Stats, error) {
	t.Helper()
	if o.BuildEpoch == 0 {
		o.BuildEpoch = 1767225600
	}
	if o.DatabaseType == "" {
		o.DatabaseType = "test"
	}
	var buf bytes.Buffer
	st, err := Build(&buf, []Input{{Name: "t.csv", R: strings.NewReader(csv)}}, o)
	return buf.Bytes(), st, err
}

func TestBuild(t *testing.T) {
	b, st, err := build(t, "start,end,asn,org,state1\n198.51.100.0,198.51.100.255,AS64500,\"Example, Inc.\",Phnom Penh\n2001:db8::,2001:db8::ffff,64501,,\n10.0.0.0,10.0.0.255,64502,Private,\n", Options{IncludeReserved: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != 3 || st.Networks != 3 || st.Skipped != 0 {
		t.Errorf("stats %+v", st)
	}
	r, err := maxminddb.OpenBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		ASN   uint32 `maxminddb:"autonomous_system_number"`
		Org   string `maxminddb:"autonomous_system_organization"`
		State string `maxminddb:"state1"`
	}
	res := r.Lookup(netip.MustParseAddr("198.51.100.9"))
	if err := res.Decode(&rec); err != nil || rec.ASN != 64500 || rec.Org != "Example, Inc." || rec.State != "Phnom Penh" || res.Prefix().String() != "198.51.100.0/24" {
		t.Errorf("got %+v %s %v", rec, res.Prefix(), err)
	}
	if r.Metadata.BuildEpoch != 1767225600 || r.Metadata.DatabaseType != "test" {
		t.Errorf("metadata %+v", r.Metadata)
	}
	again, _, _ := build(t, "start,end,asn,org,state1\n198.51.100.0,198.51.100.255,AS64500,\"Example, Inc.\",Phnom Penh\n2001:db8::,2001:db8::ffff,64501,,\n10.0.0.0,10.0.0.255,64502,Private,\n", Options{IncludeReserved: true})
	if !bytes.Equal(b, again) {
		t.Error("two builds of the same table differ")
	}
	// Without IncludeReserved, rows in documentation and private space are
	// left out and counted.
	if _, st, err := build(t, "network,asn\n198.51.100.0/24,1\n10.0.0.0/8,2\n", Options{}); err != nil || st.Skipped != 2 || st.Networks != 0 {
		t.Errorf("reserved rows: %+v, %v", st, err)
	}
}

func TestBuildErrors(t *testing.T) {
	for _, c := range []struct {
		name, csv string
		o         Options
		err       string
	}{
		{"no network columns", "asn,org\n1,x\n", Options{}, "name neither network nor start and end"},
		{"host bits", "network,asn\n198.51.100.1/24,1\n", Options{}, `t.csv:2: invalid network "198.51.100.1/24"`},
		{"bad asn", "network,asn\n198.51.100.0/24,ASX\n", Options{}, `t.csv:2: invalid asn "ASX"`},
		{"reversed range", "start,end\n198.51.100.9,198.51.100.1\n", Options{}, "t.csv:2: invalid range"},
		{"mixed families", "start,end\n198.51.100.9,2001:db8::1\n", Options{}, "invalid range"},
		{"IPv6 in an IPv4 database", "network,asn\n2001:db8::/32,1\n", Options{IPv4Only: true}, "IPv6 network 2001:db8::/32 in an IPv4 database"},
		{"short row", "network,asn\n198.51.100.0/24\n", Options{}, "wrong number of fields"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := build(t, c.csv, c.o)
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("error %v, want %q", err, c.err)
			}
		})
	}
	if _, err := Build(&bytes.Buffer{}, nil, Options{}); err == nil {
		t.Error("no BuildEpoch accepted")
	}
}

// FuzzBuild: any table builds a database that opens, or is refused with an
// error; it never panics.
func FuzzBuild(f *testing.F) {
	f.Add("network,asn,org\n198.51.100.0/24,64500,Example\n")
	f.Add("start,end,country,city\n192.0.2.0,192.0.2.127,KH,Phnom Penh\n2001:db8::,2001:db8::1,LA,\n")
	f.Fuzz(func(t *testing.T, csv string) {
		if len(csv) > 4096 {
			return
		}
		b, _, err := build(t, csv, Options{IncludeReserved: true})
		if err != nil {
			return
		}
		if _, err := maxminddb.OpenBytes(b); err != nil {
			t.Fatalf("built a database that does not open: %v", err)
		}
	})
}
