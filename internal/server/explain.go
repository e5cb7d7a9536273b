package server

import (
	"fmt"
	"strings"
	"time"

	"github.com/seams-dev/seams"
)

// explain writes a finding's evidence chain in plain words, one sentence
// for each piece of evidence, and a sentence for its tier:
//
//	report r-1 logged in from 203.0.113.7 on 1 May 2024 22:14 UTC; that
//	address was seen at Jinbei from 3 Mar to 9 Jun 2024, source partner-a
//
// so that an analyst can read, check and defend it without the JSON.
func (r redactor) explain(d *seams.FindingDetail) (sentences []string, summary string) {
	inds := make(map[int64]*seams.StoredIndicator, len(d.Indicators))
	for i := range d.Indicators {
		inds[d.Indicators[i].ID] = &d.Indicators[i]
	}
	place := d.Compound.Name
	if place == "" {
		place = d.StoredFinding.Compound
	}
	sentences = make([]string, 0, len(d.Evidence))
	for i := range d.Evidence {
		sentences = append(sentences, r.sentence(d.StoredFinding.Report, place, &d.Evidence[i], inds[d.Evidence[i].Indicator]))
	}
	switch {
	case d.Tier == seams.TierTied:
		summary = fmt.Sprintf("Tied to %s: a device, or an exact address in its window, not from a proxy or shared space.", place)
	case d.Tier == seams.TierPotential && len(d.Capped) > 0:
		var names []string
		for _, c := range d.Capped {
			name := fmt.Sprintf("indicator %d", c.Indicator)
			if in := inds[c.Indicator]; in != nil {
				name = in.Value
				if in.Kind == seams.KindDevice {
					name = r.device(in.Device)
				}
			}
			names = append(names, fmt.Sprintf("%s (evidence in %d stored reports)", name, c.Reports))
		}
		summary = fmt.Sprintf("Potentially associated with %s: it would be tied by %s, but that is more than the limit of %d reports an indicator may tie: "+
			"probably shared (a carrier NAT address, a VPN exit, a device id reported for everyone), so the finding is capped at potential.",
			place, strings.Join(names, " and "), d.Capped[0].Limit)
	case d.Tier == seams.TierPotential:
		summary = fmt.Sprintf("Potentially associated with %s: there is evidence, but none of it is decisive.", place)
	default:
		summary = fmt.Sprintf("Withdrawn: the last run found no evidence connecting this report to %s.", place)
	}
	if d.Tier != seams.TierNone {
		if d.Signals.CrossBorder {
			summary += fmt.Sprintf(" Signal: an address of the evidence is located outside %s's country.", place)
		}
		if d.Signals.ForeignASN {
			summary += fmt.Sprintf(" Signal: an address of the evidence is on an AS none of %s's own addresses is on.", place)
		}
	}
	return sentences, summary
}

// sentence explains one piece of evidence; in is nil when the indicator
// is not visible to the reader (then only what the report showed is said).
func (r redactor) sentence(report, place string, e *seams.StoredEvidence, in *seams.StoredIndicator) string {
	var b strings.Builder
	o := &e.Observed
	b.WriteString("report " + report)
	if o.Associated {
		b.WriteString(" (an account associated with the suspect)")
	}
	if e.Rule == seams.RuleDevice {
		b.WriteString(" showed device " + r.device(o.Device))
		if !o.At.IsZero() {
			b.WriteString(" on " + instant(o.At))
		} else {
			b.WriteString(" (with no time)")
		}
	} else {
		b.WriteString(" " + verb(o.Event) + " from " + o.IP.String())
		if where := netWords(o.Net); where != "" {
			b.WriteString(" (" + where + ")")
		}
		if !o.At.IsZero() {
			b.WriteString(" on " + instant(o.At))
		} else {
			b.WriteString(" (with no time)")
		}
	}
	b.WriteString("; ")
	if in == nil {
		fmt.Fprintf(&b, "that matched indicator %d of %s, which you may not see", e.Indicator, place)
		return b.String()
	}
	seen := "seen at " + place + " " + window(in.Window)
	switch e.Rule {
	case seams.RuleDevice:
		b.WriteString("that device was " + seen)
	case seams.RuleIP:
		b.WriteString("that address was " + seen)
	case seams.RuleIPDrift:
		b.WriteString("that address was " + seen)
		if e.Drift != 0 {
			b.WriteString(", " + days(e.Drift) + " " + side(o.At, in.Window) + " that window")
		}
	case seams.RuleCIDR:
		b.WriteString("that address lies in " + in.Value + ", " + seen)
	case seams.RuleASN:
		b.WriteString("that address is announced by " + in.Value + ", " + seen)
	case seams.RuleIPUndated:
		b.WriteString("that address was " + seen)
	default:
		b.WriteString("indicator " + in.Value + " was " + seen)
	}
	if in.Source != "" {
		b.WriteString(", source " + in.Source)
	}
	switch {
	case e.Rule == seams.RuleIP && o.Proxy:
		b.WriteString(" (the reporter flagged the address as a possible proxy, so it does not tie the report)")
	case e.Rule == seams.RuleIP && e.Shared.IsValid():
		b.WriteString(" (the address is in shared address space " + e.Shared.String())
		if e.SharedWhy != "" {
			b.WriteString(", " + e.SharedWhy)
		}
		b.WriteString(", so it does not tie the report)")
	case e.Rule == seams.RuleIPUndated:
		b.WriteString(" (the report gives no time for the event, so it cannot be placed in that window and does not tie the report)")
	}
	return b.String()
}

// netWords says what enrichment says of an address: "AS64499 Example
// Hosting, Vientiane, LA"; "" when nothing.
func netWords(n seams.AddrInfo) string {
	var parts []string
	if n.ASN != 0 {
		as := seams.FormatASN(n.ASN)
		if n.Org != "" {
			as += " " + n.Org
		}
		parts = append(parts, as)
	}
	for _, s := range []string{n.City, n.Country} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}

// verb says what the suspect did from an address.
func verb(event string) string {
	switch strings.ToLower(event) {
	case "":
		return "was seen"
	case "login":
		return "logged in"
	case "registration", "register", "signup":
		return "registered"
	case "upload":
		return "uploaded"
	case "logout":
		return "logged out"
	}
	return fmt.Sprintf("had a %q event", event)
}

// instant writes a time as "1 May 2024 22:14 UTC".
func instant(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 MST") }

// window writes an indicator's window as "from 3 Mar to 9 Jun 2024".
func window(w seams.Window) string {
	f, l := w.First.UTC(), w.Last.UTC()
	switch {
	case f.IsZero() && l.IsZero():
		return "at any time"
	case l.IsZero():
		return "since " + f.Format("2 Jan 2006")
	case f.IsZero():
		return "until " + l.Format("2 Jan 2006")
	case f.Year() == l.Year():
		return "from " + f.Format("2 Jan") + " to " + l.Format("2 Jan 2006")
	}
	return "from " + f.Format("2 Jan 2006") + " to " + l.Format("2 Jan 2006")
}

// days writes a drift in whole days, rounded up: an event one second
// outside is "1 day" outside.
func days(d time.Duration) string {
	n := int64((d + 24*time.Hour - 1) / (24 * time.Hour))
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

func side(at time.Time, w seams.Window) string {
	if !w.First.IsZero() && at.Before(w.First) {
		return "before"
	}
	return "after"
}
