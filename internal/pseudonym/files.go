package pseudonym

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/jsonl"
	"github.com/seams-dev/seams/registry"
	"github.com/seams-dev/seams/registryfile"
)

// RewriteIndicators reads an indicators file of format f (the CSV, a STIX
// 2.1 bundle or MISP events: registryfile) and writes the indicators CSV of
// the mapped indicators to w, in the order read. known maps the id of every
// compound (from the compounds file) to anything. A row the reader rejects
// goes to reject with its file and line and is not written. A bundle or
// MISP events naming a compound that known lacks is an error: the CSV
// written could not carry that compound, and xref would reject every
// indicator of it.
func RewriteIndicators(m Mapper, f registryfile.Format, r io.Reader, file string, known map[string]int, w io.Writer, reject registry.Reject) (Counts, error) {
	var c Counts
	counted := func(e *seams.RecordError) {
		c.Records++
		c.Rejected++
		reject(e)
	}
	// The drift column is written when the input may carry drift bounds,
	// so that a file without them is rewritten as before.
	var iw *registry.IndicatorWriter
	write := func(in *seams.Indicator) error {
		c.Records++
		out := c.Indicator(m, in)
		if err := iw.Write(&out); err != nil {
			return err
		}
		c.Written++
		return nil
	}
	if f == registryfile.CSV {
		br := bufio.NewReader(r)
		if csvHeaderHasDrift(br) {
			iw = registry.NewIndicatorWriterDrift(w)
		} else {
			iw = registry.NewIndicatorWriter(w)
		}
		if err := registry.ScanIndicators(br, file, known, counted, write); err != nil {
			return c, err
		}
		return c, iw.Flush()
	}
	added, inds, err := registryfile.ReadIndicators(f, r, file, known, counted)
	if err != nil {
		return c, err
	}
	iw = registry.NewIndicatorWriter(w)
	if slices.ContainsFunc(inds, func(in seams.Indicator) bool { return in.HasDrift }) {
		iw = registry.NewIndicatorWriterDrift(w)
	}
	if len(added) > 0 {
		return c, fmt.Errorf("%s: names %d compounds that the compounds file lacks (the first: %q): add them to the compounds file, which xref reads beside the indicators", file, len(added), added[0].ID)
	}
	for i := range inds {
		if err := write(&inds[i]); err != nil {
			return c, err
		}
	}
	return c, iw.Flush()
}

// csvHeaderHasDrift reports whether the first line of an indicators CSV
// names a drift column, without consuming it.
func csvHeaderHasDrift(br *bufio.Reader) bool {
	b, _ := br.Peek(64 << 10)
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	b = bytes.TrimPrefix(b, []byte("\uFEFF"))
	header, err := csv.NewReader(bytes.NewReader(b)).Read()
	if err != nil {
		return false
	}
	return slices.ContainsFunc(header, func(h string) bool { return strings.EqualFold(strings.TrimSpace(h), "drift") })
}

// RewriteShared reads a shared-space file of format f (the list, or a MISP
// warninglist) and writes the list of its mapped prefixes to w, one a
// line, in the order read. A warninglist's autonomous systems cannot be
// written in the list: each is rejected, saying to give it to xref with
// --shared-asn (AS numbers are not pseudonymised).
func RewriteShared(m Mapper, f registryfile.Format, r io.Reader, file string, w io.Writer, reject registry.Reject) (Counts, error) {
	var c Counts
	counted := func(e *seams.RecordError) {
		c.Records++
		c.Rejected++
		reject(e)
	}
	prefixes, asns, err := registryfile.ReadShared(f, r, file, counted)
	if err != nil {
		return c, err
	}
	bw := bufio.NewWriter(w)
	var line []byte
	for _, p := range prefixes {
		c.Records++
		line = m.Prefix(p).AppendTo(line[:0])
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return c, err
		}
		c.Prefixes++
		c.Written++
	}
	for _, n := range asns {
		counted(&seams.RecordError{File: file, Item: seams.FormatASN(n),
			Reason: "an autonomous system cannot stand in the pseudonymised list: give it to xref with --shared-asn " + seams.FormatASN(n) + " (with the pseudonymised --asn-db)"})
	}
	return c, bw.Flush()
}

// RewriteReports reads reports from rr (any format: package reportfile)
// and writes each, its addresses and devices mapped, to w as a line of
// JSON Lines (jsonl.AppendReport), in the order read. A record rejected
// whole, and each part of a report rejected on its own, goes to reject
// (with the clear text the reader quotes: rejections are for the key
// holder, never for sharing) and is not written.
func RewriteReports(m Mapper, rr seams.ReportReader, w io.Writer, reject func(*seams.RecordError)) (Counts, error) {
	var c Counts
	bw := bufio.NewWriterSize(w, 1<<16)
	var line []byte
	for {
		rec, err := rr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return c, err
		}
		c.Records++
		if rec.Whole != nil {
			c.Rejected++
			reject(rec.Whole)
			continue
		}
		for i := range rec.Parts {
			c.Parts++
			reject(&rec.Parts[i])
		}
		c.Report(m, &rec.Report)
		line = jsonl.AppendReport(line[:0], &rec.Report)
		if _, err := bw.Write(line); err != nil {
			return c, err
		}
		c.Written++
	}
	return c, bw.Flush()
}

// RewriteFindings reads a findings.jsonl (jsonl.ReadFindings) and writes
// each finding, mapped (Counts.Finding), to w with jsonl.AppendFinding, in
// the order read. Findings are seams' own output: a line that does not
// read is an error, as it is for every reader of findings.
func RewriteFindings(m Mapper, r io.Reader, file string, w io.Writer) (Counts, error) {
	var c Counts
	bw := bufio.NewWriterSize(w, 1<<16)
	var line []byte
	err := jsonl.ReadFindings(r, file, func(f *seams.Finding) error {
		c.Records++
		out, err := c.Finding(m, f)
		if err != nil {
			return fmt.Errorf("%s: finding %d (report %q, compound %q): %w", file, c.Records, f.Report, f.Compound, err)
		}
		line = jsonl.AppendFinding(line[:0], &out)
		if _, err := bw.Write(line); err != nil {
			return err
		}
		c.Written++
		return nil
	})
	if err != nil {
		return c, err
	}
	return c, bw.Flush()
}

// prefixOfNetwork is p as seams sees it: a prefix inside ::/96 of an IPv6
// database, where such databases keep IPv4, is the IPv4 prefix.
func prefixOfNetwork(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is6() && p.Bits() >= 96 {
		b := a.As16()
		if [12]byte(b[:12]) == [12]byte{} {
			return netip.PrefixFrom(netip.AddrFrom4([4]byte(b[12:])), p.Bits()-96)
		}
	}
	return p
}
