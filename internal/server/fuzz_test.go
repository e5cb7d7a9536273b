package server

import (
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/export"
	"github.com/seams-dev/seams/internal/termsafe"
)

// Fuzz targets for every parser of request input: query strings, path ids,
// durations, upload names. Each must never panic; what it accepts must be
// valid, and a parsed finding query must read back the same from its own
// encoding.

func encodeFindingQuery(q seams.FindingQuery) url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Tier != seams.TierNone {
		set("tier", q.Tier.String())
	}
	set("compound", q.Compound)
	set("country", q.Country)
	set("incident", q.Incident)
	set("report", q.Report)
	if q.Mark != nil {
		v.Set("review", markName(*q.Mark))
	}
	if !q.From.IsZero() {
		set("from", q.From.Format(time.RFC3339Nano))
	}
	if !q.To.IsZero() {
		set("to", q.To.Format(time.RFC3339Nano))
	}
	if q.Withdrawn {
		set("withdrawn", "true")
	}
	if q.Stale {
		set("stale", "true")
	}
	if q.Rule != 0 {
		set("rule", q.Rule.String())
	}
	set("source", q.Source)
	if q.ASN != 0 {
		set("asn", strconv.FormatUint(uint64(q.ASN), 10))
	}
	set("sort", string(q.Sort))
	set("cursor", q.Cursor)
	if q.Limit != 0 {
		set("limit", strconv.Itoa(q.Limit))
	}
	if q.Count {
		set("count", "true")
	}
	return v
}

func FuzzFindingQuery(f *testing.F) {
	for _, s := range []string{"", "tier=tied&compound=c-jinbei&country=kh", "review=none&from=2024-05-01&to=2024-06-01T00:00:00Z",
		"sort=newest&cursor=f12&limit=50&count=true&withdrawn=1", "sort=tier&review=none&rule=ip-drift&source=partner-a&asn=AS64500&stale=1&cursor=fbt:2.1.5.9", "asn=0", "rule=x", "tier=tied&tier=potential", "limit=-1", "from=2024-02-30", "x=1", "review=%00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseFindingQuery(v)
		if err != nil {
			return
		}
		if q.Limit < 0 || q.Limit > 1000 || q.Compound != "" && !seams.ValidCompoundID(q.Compound) {
			t.Fatalf("accepted %q as %+v", raw, q)
		}
		back, err := parseFindingQuery(encodeFindingQuery(q))
		if err != nil {
			t.Fatalf("%q parsed as %+v, whose encoding is refused: %v", raw, q, err)
		}
		if !reflect.DeepEqual(back, q) {
			t.Fatalf("round trip of %q: %+v, then %+v", raw, q, back)
		}
	})
}

// FuzzExportQuery: what GET /api/findings/export accepts is a known
// format and filters that read back as themselves.
func FuzzExportQuery(f *testing.F) {
	for _, s := range []string{"format=csv", "format=CSV&bom=true&tier=tied", "format=stix&bom=1", "format=parquet&cursor=f1", "format=misp&rule=device&asn=AS64500&sort=tier", "", "format=gse&stale=true"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		e, err := parseExportQuery(v)
		if err != nil {
			return
		}
		if _, err := export.ParseFormat(string(e.format)); err != nil || e.bom && e.format != export.CSV || e.q.Cursor != "" || e.q.Limit != 0 {
			t.Fatalf("accepted %q as %+v", raw, e)
		}
		back := encodeFindingQuery(e.q)
		back.Set("format", string(e.format))
		if e.bom {
			back.Set("bom", "true")
		}
		again, err := parseExportQuery(back)
		if err != nil || !reflect.DeepEqual(again, e) {
			t.Fatalf("round trip of %q: %+v, then %+v, %v", raw, e, again, err)
		}
	})
}

func FuzzReportQuery(f *testing.F) {
	for _, s := range []string{"", "id=r-1&id=r-2&incident=sextortion", "from=2024-01-01&to=2025-01-01&cursor=r5&limit=10", "file=a.jsonl&limit=1001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseReportQuery(v)
		if err != nil {
			return
		}
		if len(q.IDs) > 100 || q.Limit < 0 || q.Limit > 1000 {
			t.Fatalf("accepted %q as %+v", raw, q)
		}
		for _, id := range q.IDs {
			if id == "" || len(id) > seams.MaxKey || strings.IndexByte(id, 0) >= 0 {
				t.Fatalf("accepted report id %q", id)
			}
		}
	})
}

func FuzzIndicatorQuery(f *testing.F) {
	for _, s := range []string{"", "compound=c-kings&kind=device&retired=true", "kind=url", "file=x.csv&org=partner-a&limit=10000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseIndicatorQuery(v)
		if err != nil {
			return
		}
		if q.Limit < 0 || q.Limit > 10000 || q.Kind != 0 && q.Kind.String() == "unknown" {
			t.Fatalf("accepted %q as %+v", raw, q)
		}
	})
}

func FuzzSearch(f *testing.F) {
	for _, s := range []string{"q=203.0.113.7", "q=198.51.100.0/24", "q=imei:358240051111110", "q=r-1&kind=report", "q=1.2.3.4&kind=device", "q=::ffff:192.0.2.1", "q=%20", "kind=ip"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseSearch(v)
		if err != nil {
			return
		}
		switch q.Kind {
		case seams.SearchIP:
			if !q.Addr.IsValid() {
				t.Fatalf("%q: invalid address accepted", raw)
			}
		case seams.SearchPrefix:
			if !q.Prefix.IsValid() || q.Prefix.Masked() != q.Prefix {
				t.Fatalf("%q: prefix %v accepted", raw, q.Prefix)
			}
		case seams.SearchDevice:
			if q.Device.Type == "" || q.Device.Value == "" {
				t.Fatalf("%q: empty device accepted", raw)
			}
		case seams.SearchReport:
			if q.Report == "" || len(q.Report) > seams.MaxKey {
				t.Fatalf("%q: report id %q accepted", raw, q.Report)
			}
		default:
			t.Fatalf("%q: kind %q", raw, q.Kind)
		}
		// What is accepted reads back as itself.
		again, err := seams.ParseSearch(string(q.Kind), q.String())
		if err != nil || again.String() != q.String() {
			t.Fatalf("%q: %s does not read back (%v)", raw, q.String(), err)
		}
	})
}

func FuzzChangeQuery(f *testing.F) {
	f.Add("1", "kind=new&limit=5")
	f.Add("0", "")
	f.Add("12", "kind=moved")
	f.Add("007", "cursor=c3")
	f.Fuzz(func(t *testing.T, run, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseChangeQuery(run, v)
		if err != nil {
			return
		}
		if q.Run < 1 || strconv.FormatInt(q.Run, 10) != run || q.Limit < 0 || q.Limit > 1000 {
			t.Fatalf("accepted run %q, %q as %+v", run, raw, q)
		}
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"90d", "2160h", "36h30m", "0", "-1h", "d", "100001d", "1.5h", "9223372036854775807ns"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDuration(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("%q: negative duration %v accepted", s, d)
		}
		if again, err := parseDuration(d.String()); err != nil || again != d {
			t.Fatalf("%q = %v does not read back (%v, %v)", s, d, again, err)
		}
	})
}

func FuzzUploadParams(f *testing.F) {
	for _, s := range []string{"name=a.jsonl", "name=reports.xml.gz&shared=true&format=cybertip&source=hotline", "name=../x", "name=%0a", "shared=yes&name=a", "name=a&name=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		u, err := parseUpload(v)
		if err != nil {
			return
		}
		if u.name == "" || len(u.name) > 256 || strings.ContainsAny(u.name, "/\\\x00\n\r") || u.name == "." || u.name == ".." ||
			strings.IndexFunc(u.name, termsafe.Unsafe) >= 0 {
			t.Fatalf("accepted upload name %q", u.name)
		}
	})
}

func FuzzParseID(f *testing.F) {
	for _, s := range []string{"1", "42", "0", "-1", "01", "+1", "9223372036854775807", "9223372036854775808", "1e3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseID(s)
		if err != nil {
			return
		}
		if n < 1 || strconv.FormatInt(n, 10) != s {
			t.Fatalf("%q read as %d", s, n)
		}
	})
}
