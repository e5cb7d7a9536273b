package evidence

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/dsse"
	"github.com/seams-dev/seams/jsonl"
)

// Sign returns the DSSE envelope of b signed with key, as one line of JSON
// with its newline.
func Sign(b *Bundle, key ed25519.PrivateKey) ([]byte, error) {
	if b.Type == "" {
		b.Type = Type
	}
	if b.Rules == nil {
		b.Rules = Rules
	}
	payload, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	env, err := dsse.Sign(PayloadType, payload, key)
	if err != nil {
		return nil, err
	}
	out, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// Problem is one check of a finding that failed.
type Problem struct {
	Finding int // index in the bundle
	What    string
}

// Result is what Verify found.
type Result struct {
	KeyIDs []string // the keys whose signature verified
	Bundle *Bundle
	// Findings holds the decoded findings, in the bundle's order.
	Findings []*seams.Finding
	// Problems are the checks that failed: a bundle with any does not
	// hold what it says.
	Problems []Problem
	// Notes are what could not be checked offline, or tiers weaker than
	// the evidence gives (a cap the bundle does not record).
	Notes []string
}

// ErrBundle: the signed payload is not a bundle this seams reads.
var ErrBundle = errors.New("not a seams evidence bundle")

// Verify checks an envelope offline: its signature under one of keys,
// then the bundle inside: every report record against its hash, every
// observation of the evidence against the report record, every piece of
// evidence against the rule it names and its indicator's window, and
// every finding's tier against its evidence. A bad signature or a payload
// that is not a bundle is an error; a failed check of the content is a
// Problem in the result.
func Verify(envelope []byte, keys ...ed25519.PublicKey) (*Result, error) {
	env, err := dsse.Parse(envelope)
	if err != nil {
		return nil, err
	}
	ids, err := env.Verify(PayloadType, keys...)
	if err != nil {
		return nil, err
	}
	res := &Result{KeyIDs: ids}
	var b Bundle
	d := json.NewDecoder(bytes.NewReader(env.Payload))
	d.DisallowUnknownFields()
	if err := d.Decode(&b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBundle, err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: text after the bundle", ErrBundle)
	}
	if b.Type != Type {
		return nil, fmt.Errorf("%w: _type %q (want %q)", ErrBundle, b.Type, Type)
	}
	res.Bundle = &b
	var drift time.Duration
	haveDrift := false
	if b.Source.Parameters != nil {
		if drift, err = time.ParseDuration(b.Source.Parameters.Drift); err == nil {
			haveDrift = true
		}
	} else if b.Source.Drift != "" {
		if drift, err = time.ParseDuration(b.Source.Drift); err == nil {
			haveDrift = true
		}
	}
	if !haveDrift {
		res.Notes = append(res.Notes, "the bundle records no drift: ip-drift evidence is checked for the address only")
	}
	if b.Source.Kind == "run" {
		if got := RegistryHash(b.Source.Inputs); got != b.Source.RegistrySHA256 {
			res.Problems = append(res.Problems, Problem{-1, fmt.Sprintf("registry_sha256 %s is not the hash of the registry inputs listed (%s)", b.Source.RegistrySHA256, got)})
		}
	}
	for i := range b.Findings {
		f := res.checkFinding(i, &b.Findings[i], drift, haveDrift)
		res.Findings = append(res.Findings, f)
	}
	return res, nil
}

// checkFinding checks one finding of the bundle and returns it decoded
// (nil when it cannot be).
func (res *Result) checkFinding(i int, bf *Finding, drift time.Duration, haveDrift bool) *seams.Finding {
	fail := func(format string, args ...any) {
		res.Problems = append(res.Problems, Problem{i, fmt.Sprintf(format, args...)})
	}
	f, err := jsonl.ParseFinding(bf.Finding)
	if err != nil {
		fail("the finding does not read as a line of findings.jsonl: %v", err)
		return nil
	}
	if f.Compound != bf.Compound.ID {
		fail("the finding names compound %q, the bundle %q", f.Compound, bf.Compound.ID)
	}
	if got := SHA256(bf.Report.Record); got != bf.Report.SHA256 {
		fail("the report record's SHA-256 is %s, the bundle says %s: the record was changed", got, bf.Report.SHA256)
	}
	var rec reportJSON
	d := json.NewDecoder(bytes.NewReader(bf.Report.Record))
	d.DisallowUnknownFields()
	if err := d.Decode(&rec); err != nil {
		fail("the report record does not read: %v", err)
		return f
	}
	if rec.ID != f.Report {
		fail("the finding is of report %q, the record of %q", f.Report, rec.ID)
	}
	for k := range f.Evidence {
		ev := &f.Evidence[k]
		if !inRecord(&rec, &ev.Observed) {
			fail("evidence %d (%s): the observation %s is not in the report record", k+1, ev.Rule, observed(&ev.Observed))
		}
		if p := checkRule(ev, drift, haveDrift); p != "" {
			fail("evidence %d (%s): %s", k+1, ev.Rule, p)
		}
		if ev.Rule == seams.RuleASN && ev.Observed.Net.ASN == 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("finding %d, evidence %d: asn evidence without the address's AS recorded: which AS announces %s is the run's ASN database's word", i+1, k+1, ev.Observed.IP))
		}
	}
	want := seams.TierOf(f.Evidence)
	switch {
	case want == seams.TierTied && len(f.Capped) > 0:
		want = seams.TierPotential
	case f.Tier < want:
		res.Notes = append(res.Notes, fmt.Sprintf("finding %d (%s, %s): %s, though its evidence alone would make it %s (a cap the bundle does not record)", i+1, f.Report, f.Compound, f.Tier, want))
		want = f.Tier
	}
	if f.Tier != want {
		fail("the finding says %s, its evidence gives %s", f.Tier, want)
	}
	return f
}

func observed(o *seams.Observation) string {
	s := o.IP.String()
	if o.Device != (seams.DeviceID{}) {
		s = o.Device.String()
	}
	if !o.At.IsZero() {
		s += " at " + o.At.UTC().Format(time.RFC3339Nano)
	}
	return s
}

// inRecord reports whether the report record holds the observation.
func inRecord(rec *reportJSON, o *seams.Observation) bool {
	at := timeText(o.At)
	if o.Device != (seams.DeviceID{}) {
		for _, d := range rec.Devices {
			id, err := seams.NewReportDeviceID(d.Type, d.Value)
			if err == nil && id == o.Device && sameTime(d.At, at) && d.Associated == o.Associated {
				return true
			}
		}
		return false
	}
	for _, e := range rec.IPs {
		a, err := netip.ParseAddr(e.IP)
		if err == nil && a == o.IP && sameTime(e.At, at) && e.Proxy == o.Proxy && e.Associated == o.Associated &&
			e.Event == o.Event && e.Port == o.Port {
			return true
		}
	}
	return false
}

func sameTime(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	ta, err1 := time.Parse(time.RFC3339Nano, a)
	tb, err2 := time.Parse(time.RFC3339Nano, b)
	return err1 == nil && err2 == nil && ta.Equal(tb)
}

// checkRule returns what is wrong with a piece of evidence under its rule,
// or "".
func checkRule(ev *seams.Evidence, drift time.Duration, haveDrift bool) string {
	in := ev.Indicator
	o := &ev.Observed
	w := in.Window
	kind := func(k seams.Kind) string {
		if in.Kind != k {
			return fmt.Sprintf("the indicator is of kind %s, not %s", in.Kind, k)
		}
		return ""
	}
	inWindow := func() string {
		if o.At.IsZero() {
			return "the observation has no time"
		}
		if !w.Contains(o.At) {
			return fmt.Sprintf("%s is outside the window %s", o.At.UTC().Format(time.RFC3339Nano), w)
		}
		return ""
	}
	sameAddr := func() string {
		if o.IP != in.Addr {
			return fmt.Sprintf("the address %s is not the indicator's %s", o.IP, in.Value)
		}
		return ""
	}
	first := func(ps ...string) string {
		for _, p := range ps {
			if p != "" {
				return p
			}
		}
		return ""
	}
	switch ev.Rule {
	case seams.RuleDevice:
		if p := kind(seams.KindDevice); p != "" {
			return p
		}
		if o.Device != in.Device {
			return fmt.Sprintf("the device %s is not the indicator's %s", o.Device, in.Value)
		}
		if !o.At.IsZero() && !w.Contains(o.At) {
			return inWindow()
		}
	case seams.RuleIP:
		return first(kind(seams.KindIP), sameAddr(), inWindow())
	case seams.RuleIPDrift:
		if p := first(kind(seams.KindIP), sameAddr()); p != "" {
			return p
		}
		if o.At.IsZero() || w.Contains(o.At) {
			return "ip-drift evidence must lie outside the window"
		}
		d := w.Distance(o.At)
		if ev.Drift != d {
			return fmt.Sprintf("the drift recorded (%s) is not the distance to the window (%s)", ev.Drift, d)
		}
		if haveDrift && d > drift {
			return fmt.Sprintf("%s outside the window is beyond the run's drift %s", d, drift)
		}
	case seams.RuleCIDR:
		if p := kind(seams.KindCIDR); p != "" {
			return p
		}
		if !in.Prefix.Contains(o.IP) {
			return fmt.Sprintf("the address %s is not inside %s", o.IP, in.Value)
		}
		return inWindow()
	case seams.RuleASN:
		if p := first(kind(seams.KindASN), inWindow()); p != "" {
			return p
		}
		if o.Net.ASN != 0 && o.Net.ASN != in.ASN {
			return fmt.Sprintf("the address is on AS%d, not the indicator's %s", o.Net.ASN, in.Value)
		}
	case seams.RuleIPUndated:
		if p := first(kind(seams.KindIP), sameAddr()); p != "" {
			return p
		}
		if !o.At.IsZero() {
			return "ip-undated evidence of an event with a time"
		}
	default:
		return "unknown rule"
	}
	return ""
}

// OK reports whether every check passed.
func (res *Result) OK() bool { return len(res.Problems) == 0 }

// Explain writes what the verification found and what it proves, for a
// person. keyNames names the keys by id, when known.
func (res *Result) Explain(w io.Writer, keyNames map[string]string) {
	b := res.Bundle
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	for _, id := range res.KeyIDs {
		name := keyNames[id]
		if name != "" {
			name = " (" + name + ")"
		}
		p("signature     valid: Ed25519 key %s%s", id, name)
	}
	p("bundle        made %s (the signer's clock) by seams %s", b.Created.UTC().Format(time.RFC3339), buildText(b.Seams))
	switch b.Source.Kind {
	case "run":
		p("source        a cross-reference run by seams %s", buildText(*orZero(b.Source.RunSeams)))
		p("              summary.json sha256 %s", b.Source.SummarySHA256)
		p("              findings.jsonl sha256 %s", b.Source.FindingsSHA256)
	case "store":
		p("source        a store: run %d (started %s), registry version %d", b.Source.Run, b.Source.RunStarted, b.Source.RegistryVersion)
	}
	if b.Source.RegistrySHA256 != "" {
		p("registry      sha256 %s", b.Source.RegistrySHA256)
	}
	for _, in := range b.Source.Inputs {
		p("input         %-10s %s (%d bytes, sha256 %s)", in.Kind, in.File, in.Size, in.SHA256)
	}
	for _, s := range b.Subjects {
		p("subject       %s (%d bytes, sha256 %s)", s.Name, s.Size, s.SHA256)
	}
	tiers := map[seams.Tier]int{}
	for _, f := range res.Findings {
		if f != nil {
			tiers[f.Tier]++
		}
	}
	p("findings      %d (%d tied, %d potential)", len(b.Findings), tiers[seams.TierTied], tiers[seams.TierPotential])
	for _, m := range b.Source.Missing {
		p("not recorded  %s", m)
	}
	for _, n := range res.Notes {
		p("note          %s", n)
	}
	if !res.OK() {
		p("")
		p("FAILED: %d checks did not hold; the bundle does not show what it says:", len(res.Problems))
		for _, pr := range res.Problems {
			where := "bundle"
			if pr.Finding >= 0 {
				where = fmt.Sprintf("finding %d", pr.Finding+1)
				if f := res.Findings; pr.Finding < len(f) && f[pr.Finding] != nil {
					where += fmt.Sprintf(" (%s, %s)", f[pr.Finding].Report, f[pr.Finding].Compound)
				}
			}
			p("  %s: %s", where, pr.What)
		}
		return
	}
	p("")
	p("What this proves:")
	p("- The holder of the private key above signed exactly these bytes; nothing in them has changed since.")
	p("- Each finding's tier follows from the evidence listed, under seams's rules (stated in the bundle) and the run's parameters recorded in it.")
	p("- Each observation of the evidence is in the report's record, and each record hashes to the SHA-256 given: compare it with your copy of the report.")
	if b.Source.Kind == "run" {
		p("- The run's inputs and the registry are named by SHA-256: hash your copies to know they are the ones the run read.")
	}
	p("What it does not prove:")
	p("- that an indicator belongs to the compound: the bundle names who said so (its source) and when (its window);")
	p("- that what the report says is true, or that the report is complete;")
	p("- when the bundle was made: the time is the signer's claim;")
	p("- who holds the key: check the public key's id with its owner, by another channel.")
}

func orZero(b *seams.Build) *seams.Build {
	if b == nil {
		return &seams.Build{Version: "(not recorded)"}
	}
	return b
}

func buildText(b seams.Build) string {
	s := b.Version
	if b.Commit != "" {
		s += " (commit " + b.Commit + ")"
	}
	if b.Go != "" {
		s += ", " + b.Go
	}
	return strings.TrimSpace(s)
}
