package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"text/tabwriter"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/mmdb"
	"github.com/seams-dev/seams/sharedlist"
)

var whoisCommand = &command{
	summary: "print what the ASN and location databases say of addresses",
	usage: `Usage:
  seams whois-ip [--asn-db FILE]... [--geo-db FILE]... [--json] ADDR...

Print, for each address, what the databases say: its autonomous system
(number and organisation) and the network that answer holds for, its
country and city, and which of the embedded shared-infrastructure presets
list it (informational here; xref uses a preset only when given
--shared-preset). Flags and addresses may come in any order.

Flags:
  --asn-db FILE   IP-to-ASN database in MaxMind DB format (GeoLite2-ASN, DB-IP
                  ASN, IPinfo, or the asn.mmdb that scripts/fetch-ipdb builds).
                  Repeat for several files (an IPv4 and an IPv6 one): the
                  first with a record for an address answers.
  --geo-db FILE   IP-to-location database in MaxMind DB format (country or city:
                  GeoLite2, DB-IP, IPinfo, ip-location-db). Repeatable likewise.
  --json          print one JSON document instead of the table:
                  {"databases":[...],"addresses":[{"ip":...,"asn":...}]}

Databases are opened and checked in full before the first answer (about
0.3 s for an ASN database, 1-4 s for a city one). scripts/fetch-ipdb fetches
openly licensed ones and prints the flags to give.

Examples:
  seams whois-ip --asn-db ~/.cache/seams/ipdb/asn/asn.mmdb \
      --geo-db ~/.cache/seams/ipdb/country/geo-whois-asn-country.mmdb 98.97.0.1 1.1.1.1
  seams whois-ip --json --asn-db asn.mmdb 2001:db8::1

Exit status: 0 when every address was looked up; 1 when a database cannot be
opened or read; 2 for a usage error (no address, an invalid address).
`,
	run: runWhois,
}

// dbArgs are the database flags shared by whois-ip and enrich.
type dbArgs struct {
	asn, geo listFlag
}

func (a *dbArgs) register(fs *flag.FlagSet) {
	fs.Var(&a.asn, "asn-db", "")
	fs.Var(&a.geo, "geo-db", "")
}

// open opens the databases given; with none, the Enricher answers nothing.
func (a *dbArgs) open() (*mmdb.Enricher, error) {
	o := mmdb.NewOptions()
	o.ASN, o.Geo = a.asn, a.geo
	return mmdb.New(o)
}

// whoisArgs are the flags of whois-ip.
type whoisArgs struct {
	db   dbArgs
	json bool
}

func whoisFlags(a *whoisArgs) *flag.FlagSet {
	fs := newFlags("whois-ip")
	a.db.register(fs)
	fs.BoolVar(&a.json, "json", false, "")
	return fs
}

// parseInterleaved parses flags and positional arguments in any order, as
// "seams whois-ip 1.1.1.1 --asn-db F" is natural to type.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef(fs.Name(), "%v", err)
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// whoisAnswer is one address's line of output.
type whoisAnswer struct {
	IP         string   `json:"ip"`
	ASN        uint32   `json:"asn,omitempty"`
	Org        string   `json:"as_org,omitempty"`
	Network    string   `json:"network,omitempty"`
	Country    string   `json:"country,omitempty"`
	City       string   `json:"city,omitempty"`
	GeoNetwork string   `json:"geo_network,omitempty"`
	NotRouted  string   `json:"not_routable,omitempty"` // why the address can identify no place
	Presets    []string `json:"presets"`                // embedded presets that list it
}

func runWhois(ctx context.Context, e *env, args []string) error {
	var a whoisArgs
	fs := whoisFlags(&a)
	addrs, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(addrs) == 0 {
		return usagef("whois-ip", "no address given")
	}
	parsed := make([]netip.Addr, len(addrs))
	for i, s := range addrs {
		if parsed[i], err = seams.ParseAddr(s); err != nil {
			return usagef("whois-ip", "%v", err)
		}
	}
	en, err := a.db.open()
	if err != nil {
		return err
	}
	defer en.Close()
	presets, err := sharedlist.LoadPresets()
	if err != nil {
		return err
	}
	answers := make([]whoisAnswer, 0, len(parsed))
	for _, addr := range parsed {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, err := en.Lookup(addr)
		if err != nil {
			return err
		}
		ans := whoisAnswer{IP: addr.String(), ASN: r.ASN, Org: r.Org, Country: r.Country, City: r.City,
			NotRouted: seams.NonRoutable(addr), Presets: presets.Listing(addr, r.ASN)}
		if r.Network.IsValid() {
			ans.Network = r.Network.String()
		}
		if r.GeoNetwork.IsValid() {
			ans.GeoNetwork = r.GeoNetwork.String()
		}
		answers = append(answers, ans)
	}
	if a.json {
		dbs := en.Databases()
		if dbs == nil {
			dbs = []mmdb.Info{}
		}
		b, err := json.Marshal(struct {
			Databases []mmdb.Info   `json:"databases"`
			Addresses []whoisAnswer `json:"addresses"`
		}{dbs, answers})
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(append(b, '\n'))
		return err
	}
	printWhois(e.stdout, answers, en)
	if !en.HasASN() && !en.HasGeo() {
		fmt.Fprintln(e.stderr, "seams whois-ip: no --asn-db or --geo-db given, so only the presets were consulted (scripts/fetch-ipdb fetches databases)")
	}
	return nil
}

func printWhois(w io.Writer, answers []whoisAnswer, en *mmdb.Enricher) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "address\tasn\torganisation\tnetwork\tcountry\tcity\tpresets")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, a := range answers {
		asn := "-"
		if a.ASN != 0 {
			asn = fmt.Sprintf("AS%d", a.ASN)
		}
		org := a.Org
		if a.NotRouted != "" {
			org = "(" + a.NotRouted + " address)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.IP, asn, dash(org), dash(a.Network), dash(a.Country), dash(a.City), dash(strings.Join(a.Presets, ",")))
	}
	tw.Flush()
	for _, d := range en.Databases() {
		fmt.Fprintf(w, "%s database: %s (%s, built %s, %d networks)\n", d.Role, d.File, d.Type, d.Date(), d.Networks)
	}
}
