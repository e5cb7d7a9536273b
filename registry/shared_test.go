package registry

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// TestReadShared checks each rule of the shared-infrastructure list.
func TestReadShared(t *testing.T) {
	type rejected struct {
		line   int
		reason string
		raw    string
	}
	tests := []struct {
		name string
		in   string
		want []string // prefixes
		rej  []rejected
	}{
		{"empty file", "", nil, nil},
		{"prefix", "203.0.113.0/24\n", []string{"203.0.113.0/24"}, nil},
		{"ipv4 address is a /32", "203.0.113.7\n", []string{"203.0.113.7/32"}, nil},
		{"ipv6 address is a /128", "2001:db8::7\n", []string{"2001:db8::7/128"}, nil},
		{"ipv6 prefix", "2001:db8::/32\n", []string{"2001:db8::/32"}, nil},
		{"ipv4-mapped address is ipv4", "::ffff:203.0.113.7\n", []string{"203.0.113.7/32"}, nil},
		{"ipv4-mapped prefix is ipv4", "::ffff:198.51.100.0/120\n", []string{"198.51.100.0/24"}, nil},
		{"full-length prefix", "192.0.2.1/32\n", []string{"192.0.2.1/32"}, nil},
		{"file order kept, duplicates kept", "203.0.113.0/24\n192.0.2.0/24\n203.0.113.0/24\n", []string{"203.0.113.0/24", "192.0.2.0/24", "203.0.113.0/24"}, nil},
		{"blank lines and comments", "# shared test ranges\n\n   \n\t# indented comment\n192.0.2.0/24\n", []string{"192.0.2.0/24"}, nil},
		{"trailing comment", "198.51.100.0/24 # test ISP pool\n198.51.100.9#no space\n", []string{"198.51.100.0/24", "198.51.100.9/32"}, nil},
		{"spaces around", "  \t203.0.113.0/24\t  \n", []string{"203.0.113.0/24"}, nil},
		{"CRLF", "203.0.113.0/24\r\n192.0.2.7\r\n", []string{"203.0.113.0/24", "192.0.2.7/32"}, nil},
		{"no newline at end", "203.0.113.0/24", []string{"203.0.113.0/24"}, nil},
		{"byte order mark", "\uFEFF203.0.113.0/24\n", []string{"203.0.113.0/24"}, nil},
		{"byte order mark before a comment", "\uFEFF# list\n203.0.113.0/24\n", []string{"203.0.113.0/24"}, nil},
		{"carrier-grade NAT is not added", "100.64.0.0/10\n", []string{"100.64.0.0/10"}, nil},
		{"private space accepted", "10.0.0.0/8\n", []string{"10.0.0.0/8"}, nil},

		{"host bits set", "203.0.113.7/24\n", nil, []rejected{{1, `prefix "203.0.113.7/24" has host bits set (did you mean 203.0.113.0/24?)`, "203.0.113.7/24"}}},
		{"ipv6 host bits set", "2001:db8::1/32 # office\n", nil, []rejected{{1, `prefix "2001:db8::1/32" has host bits set (did you mean 2001:db8::/32?)`, "2001:db8::1/32 # office"}}},
		{"not an address", "# list\n\nnot-an-address\n192.0.2.0/24\n", []string{"192.0.2.0/24"}, []rejected{{3, `invalid IP address "not-an-address"`, "not-an-address"}}},
		{"length too long", "192.0.2.0/33\n", nil, []rejected{{1, `invalid CIDR prefix "192.0.2.0/33"`, "192.0.2.0/33"}}},
		{"two entries on a line", "192.0.2.0/24 198.51.100.0/24\n", nil, []rejected{{1, `invalid CIDR prefix "192.0.2.0/24 198.51.100.0/24"`, "192.0.2.0/24 198.51.100.0/24"}}},
		{"line numbers count every line", "\n#\n192.0.2.0/24\n\nbad\n", []string{"192.0.2.0/24"}, []rejected{{5, `invalid IP address "bad"`, "bad"}}},
		{"raw without carriage return", "bad\r\n", nil, []rejected{{1, `invalid IP address "bad"`, "bad"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rej collector
			got, err := ReadShared(strings.NewReader(tc.in), "shared.txt", rej.reject)
			if err != nil {
				t.Fatal(err)
			}
			var want []netip.Prefix
			for _, s := range tc.want {
				want = append(want, netip.MustParsePrefix(s))
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
			if len(rej) != len(tc.rej) {
				t.Fatalf("rejected %q, want %d", rej.reasons(), len(tc.rej))
			}
			for i, w := range tc.rej {
				e := rej[i]
				if e.File != "shared.txt" || e.Line != w.line || e.Reason != w.reason || e.Raw != w.raw || e.Item != "" {
					t.Errorf("rejected %+v\nwant line %d reason %s raw %q", *e, w.line, w.reason, w.raw)
				}
			}
		})
	}
}

// TestReadSharedStopsAtFatal checks that a line cut short by a fatal error
// is not read as an entry.
func TestReadSharedStopsAtFatal(t *testing.T) {
	var rej collector
	in := "203.0.113.0/24\n" + strings.Repeat("x", MaxLine+1)
	_, err := ReadShared(strings.NewReader(in), "shared.txt", rej.reject)
	if err == nil || err.Error() != "shared.txt:2: line longer than 1048576 bytes" || len(rej) != 0 {
		t.Fatalf("err = %v, rejected %q", err, rej.reasons())
	}
}
