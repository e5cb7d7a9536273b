package cybertip

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams"
)

// readAll reads every record of an input, rendered as JSON lines (one per
// record, then one with the counts): the form the golden files and the
// comparisons use.
func readAll(t testing.TB, r io.Reader, file string, o Options) (string, []got) {
	t.Helper()
	rd := NewReaderOptions(r, file, o)
	var b strings.Builder
	var all []got
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // the golden files are read by people
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		g := gotOf(rd, rec)
		all = append(all, g)
		enc.Encode(g)
	}
	enc.Encode(rd.Counts())
	return b.String(), all
}

// got is a record as the tests see it.
type got struct {
	Line    int                 `json:"line"`
	Whole   *seams.RecordError  `json:"whole,omitempty"`
	Raw     string              `json:"raw,omitempty"`
	ID      string              `json:"id,omitempty"`
	Recv    string              `json:"received,omitempty"`
	Inc     string              `json:"incident,omitempty"`
	IPs     []string            `json:"ips,omitempty"`
	Devices []string            `json:"devices,omitempty"`
	Parts   []seams.RecordError `json:"parts,omitempty"`
	Sources []Source            `json:"sources,omitempty"`

	report seams.Report
}

func gotOf(rd *Reader, rec *seams.ReportRecord) got {
	g := got{Line: rec.Line, Raw: string(rec.Raw)}
	if rec.Whole != nil {
		w := *rec.Whole
		g.Whole = &w
		return g
	}
	r := &rec.Report
	g.report = r.Clone()
	g.ID, g.Inc = r.ID, r.Incident
	if !r.Received.IsZero() {
		g.Recv = r.Received.Format(time.RFC3339Nano)
	}
	for _, e := range r.IPs {
		at := "undated"
		if !e.At.IsZero() {
			at = e.At.Format(time.RFC3339Nano)
		}
		s := e.Addr.String() + " " + at
		if e.Event != "" {
			s += " event=" + e.Event
		}
		if e.Port != 0 {
			s += " port=" + itoa(e.Port)
		}
		if e.Proxy {
			s += " proxy"
		}
		g.IPs = append(g.IPs, s)
	}
	for _, d := range r.Devices {
		s := d.ID.String()
		if !d.At.IsZero() {
			s += " " + d.At.Format(time.RFC3339Nano)
		}
		g.Devices = append(g.Devices, s)
	}
	g.Parts = append(g.Parts, rec.Parts...)
	ips, devs := rd.Sources()
	g.Sources = append(append(g.Sources, ips...), devs...)
	return g
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// writeReport writes a report read by a Reader back as CyberTipline XML:
// the suspect's own events, then the associated accounts' in one
// associatedAccount (ips and devices are the reader's sources, in order).
func writeReport(b *bytes.Buffer, r *seams.Report, ips, devs []Source) {
	el := func(name, v string) {
		b.WriteString("<" + name + ">")
		xml.EscapeText(b, []byte(v))
		b.WriteString("</" + name + ">")
	}
	b.WriteString("<report>")
	el("reportId", r.ID)
	if r.Incident != "" || !r.Received.IsZero() {
		b.WriteString("<incidentSummary>")
		if r.Incident != "" {
			el("incidentType", r.Incident)
		}
		if !r.Received.IsZero() {
			el("incidentDateTime", r.Received.Format(time.RFC3339Nano))
		}
		b.WriteString("</incidentSummary>")
	}
	ip := func(i int) {
		e := r.IPs[i]
		b.WriteString("<ipCaptureEvent>")
		el("ipAddress", e.Addr.String())
		if ips[i].Event != "" {
			el("eventName", ips[i].Event)
		}
		if !e.At.IsZero() {
			el("dateTime", e.At.Format(time.RFC3339Nano))
		}
		if e.Proxy {
			el("possibleProxy", "true")
		}
		if e.Port != 0 {
			el("port", itoa(e.Port))
		}
		b.WriteString("</ipCaptureEvent>")
	}
	dev := func(i int) {
		d := r.Devices[i]
		b.WriteString("<deviceId>")
		el("idType", d.ID.Type)
		el("idValue", d.ID.Value)
		if devs[i].Event != "" {
			el("eventName", devs[i].Event)
		}
		if !d.At.IsZero() {
			el("dateTime", d.At.Format(time.RFC3339Nano))
		}
		b.WriteString("</deviceId>")
	}
	b.WriteString("<personOrUserReported>")
	assoc := false
	for i := range r.IPs {
		if ips[i].Associated {
			assoc = true
		} else {
			ip(i)
		}
	}
	for i := range r.Devices {
		if devs[i].Associated {
			assoc = true
		} else {
			dev(i)
		}
	}
	if assoc {
		b.WriteString("<associatedAccount>")
		for i := range r.IPs {
			if ips[i].Associated {
				ip(i)
			}
		}
		for i := range r.Devices {
			if devs[i].Associated {
				dev(i)
			}
		}
		b.WriteString("</associatedAccount>")
	}
	b.WriteString("</personOrUserReported></report>\n")
}

// errReader fails after its data.
type errReader struct {
	data []byte
	err  error
}

func (e *errReader) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

var errBroken = errors.New("disk on fire")
