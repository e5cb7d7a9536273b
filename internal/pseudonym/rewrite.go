package pseudonym

import (
	"fmt"

	"github.com/seams-dev/seams"
)

// Counts says what a rewrite read and did.
type Counts struct {
	Records  int // records read (rows, lines, reports, findings, networks)
	Written  int // records written
	Rejected int // records rejected whole (never written)
	// Parts counts the parts of written records rejected on their own (a
	// report's invalid ip event or device), left out of what is written.
	Parts    int
	Addrs    int // addresses mapped
	Prefixes int // prefixes mapped
	Devices  int // devices mapped
	// Unknown counts devices a Reverser could not reverse: written as
	// they were (pseudonyms), never guessed.
	Unknown int
}

func (c *Counts) add(o Counts) {
	c.Records += o.Records
	c.Written += o.Written
	c.Rejected += o.Rejected
	c.Parts += o.Parts
	c.Addrs += o.Addrs
	c.Prefixes += o.Prefixes
	c.Devices += o.Devices
	c.Unknown += o.Unknown
}

// device maps d, counting it; a device m cannot map is kept as it is and
// counted as unknown.
func (c *Counts) device(m Mapper, d seams.DeviceID) seams.DeviceID {
	out, ok := m.Device(d)
	c.Devices++
	if !ok {
		c.Unknown++
		return d
	}
	return out
}

// Indicator returns in with its value mapped: an ip indicator's address, a
// cidr indicator's prefix, a device indicator's device. An asn indicator
// is returned as it is: AS numbers are public facts about networks, and
// the asn rule needs them (see RewriteMMDB).
func (c *Counts) Indicator(m Mapper, in *seams.Indicator) seams.Indicator {
	out := *in
	switch in.Kind {
	case seams.KindIP:
		out.Addr = m.Addr(in.Addr)
		out.Value = out.Addr.String()
		c.Addrs++
	case seams.KindCIDR:
		out.Prefix = m.Prefix(in.Prefix)
		out.Value = out.Prefix.String()
		c.Prefixes++
	case seams.KindDevice:
		out.Device = c.device(m, in.Device)
		out.Value = out.Device.String()
	}
	return out
}

// Report maps the addresses and devices of r, in place. Its id, times,
// incident, events' names, ports and flags are kept.
func (c *Counts) Report(m Mapper, r *seams.Report) {
	for i := range r.IPs {
		r.IPs[i].Addr = m.Addr(r.IPs[i].Addr)
		c.Addrs++
	}
	for i := range r.Devices {
		r.Devices[i].ID = c.device(m, r.Devices[i].ID)
	}
}

// Finding returns f with everything that identifies an address or a
// device mapped: each evidence's indicator (copied: readers share one
// indicator among findings), observed address or device and shared-space
// prefix, and the capped indicators' values. Report and compound ids,
// tiers, rules, times, drift, enrichment fields and signals are kept. A
// capped value that is not of its kind is an error: nothing unknown is
// passed through.
func (c *Counts) Finding(m Mapper, f *seams.Finding) (seams.Finding, error) {
	out := *f
	out.Evidence = make([]seams.Evidence, len(f.Evidence))
	for i := range f.Evidence {
		e := f.Evidence[i]
		if e.Indicator != nil {
			in := c.Indicator(m, e.Indicator)
			e.Indicator = &in
		}
		if e.Observed.IP.IsValid() {
			e.Observed.IP = m.Addr(e.Observed.IP)
			c.Addrs++
		} else {
			e.Observed.Device = c.device(m, e.Observed.Device)
		}
		if e.Shared.IsValid() {
			e.Shared = m.Prefix(e.Shared)
			c.Prefixes++
		}
		out.Evidence[i] = e
	}
	if len(f.Capped) > 0 {
		out.Capped = make([]seams.CapNote, len(f.Capped))
		for i, n := range f.Capped {
			v, err := c.capValue(m, n.Kind, n.Value)
			if err != nil {
				return seams.Finding{}, fmt.Errorf("capped[%d]: %w", i, err)
			}
			n.Value = v
			out.Capped[i] = n
		}
	}
	return out, nil
}

// capValue maps the value of a capped indicator as an indicator of its
// kind is mapped.
func (c *Counts) capValue(m Mapper, kind, value string) (string, error) {
	k, err := seams.ParseKind(kind)
	if err != nil {
		return "", err
	}
	in, err := seams.ParseIndicatorValue(k, value)
	if err != nil {
		return "", err
	}
	out := c.Indicator(m, &in)
	return out.Value, nil
}
