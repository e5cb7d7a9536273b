package xref

import (
	"errors"
	"runtime"
	"slices"
	"strings"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/enrich"
	"github.com/seams-dev/seams/internal/idset"
	"github.com/seams-dev/seams/match"
	"github.com/seams-dev/seams/reportfile"
)

// FieldError is a mistake in one field of Options (seams.FieldError): it
// names the field as Go spells it ("MaxLine", "Readers.CSV.Memory"); a
// command line maps it to its flag. errors.Is(err, ErrUsage) holds for it.
type FieldError = seams.FieldError

func missing(field string) *FieldError { return seams.MissingField(field) }

func invalid(field, format string, a ...any) *FieldError {
	return seams.InvalidField(field, format, a...)
}

// The smallest values some fields take.
const (
	MinMaxLine   = 1024
	MinCSVMemory = 1 << 20
)

// Validate returns the mistakes in o, each a *FieldError, joined; nil when
// there is none. Run calls it; a command line calls it to report every
// mistake at once, by flag. What only the inputs can tell (a compounds
// file needed because the indicators file is a CSV) Run reports as a
// FieldError too.
func (o *Options) Validate() error {
	var errs []error
	add := func(e *FieldError) { errs = append(errs, e) }
	if o.Indicators == "" {
		add(missing("Indicators"))
	}
	// No report input is allowed: the run checks the registry.
	if n := countOf(o.Reports, "-"); n > 1 {
		add(invalid("Reports", "- (standard input) given %d times: it can be read once", n))
	}
	if err := checkOut(o.Out); err != nil {
		errs = append(errs, err)
	}
	if o.Format != "" && !slices.Contains(reportfile.Formats, o.Format) {
		add(invalid("Format", "unknown report format %q", o.Format))
	}
	if o.MaxLine != 0 && o.MaxLine < MinMaxLine {
		add(invalid("MaxLine", "%d is too small (at least %d)", o.MaxLine, MinMaxLine))
	}
	if m := o.Readers.CSV.Memory; m != 0 && m < MinCSVMemory {
		add(invalid("Readers.CSV.Memory", "%d is too small (at least %d)", m, MinCSVMemory))
	}
	if o.IDMemory != 0 && o.IDMemory < idset.MinBudget {
		add(invalid("IDMemory", "%d is too small (at least %d)", o.IDMemory, idset.MinBudget))
	}
	if o.MaxReportsPerIndicator < 0 {
		add(invalid("MaxReportsPerIndicator", "%d is negative (0 turns the check off)", o.MaxReportsPerIndicator))
	}
	for _, v := range o.LiftCap {
		if _, err := liftValue(v); err != nil {
			add(invalid("LiftCap", "%v", err))
		}
	}
	if len(o.SharedASN) > 0 && len(o.ASNDB) == 0 {
		add(invalid("SharedASN", "shared ASNs need an ASN database"))
	}
	for _, r := range o.Rules {
		if r < seams.RuleDevice || r > seams.RuleLast {
			add(invalid("Rules", "unknown rule %d", r))
		}
	}
	if !(o.MinConfidence >= 0 && o.MinConfidence <= 1) {
		add(invalid("MinConfidence", "%g: want a fraction from 0 to 1", o.MinConfidence))
	}
	if o.Drift < 0 {
		add(invalid("Drift", "%s is negative", o.Drift))
	}
	return errors.Join(errs...)
}

func countOf(list []string, v string) int {
	n := 0
	for _, s := range list {
		if s == v {
			n++
		}
	}
	return n
}

// checkOut refuses an output folder name that cannot be what was meant.
func checkOut(out string) error {
	if out == "" {
		return missing("Out")
	}
	if runtime.GOOS != "windows" && (strings.Contains(out, `\`) || len(out) >= 2 && out[1] == ':' &&
		(out[0] >= 'A' && out[0] <= 'Z' || out[0] >= 'a' && out[0] <= 'z')) {
		return invalid("Out", "%q looks like a Windows path; on this system folders are separated by /, as in out/ or /data/out", out)
	}
	return nil
}

// enrichError makes an error in the enrichment options a FieldError of
// the same field.
func enrichError(err error) error {
	var oe *enrich.OptionError
	if !errors.As(err, &oe) {
		return err
	}
	return invalid(oe.Field, "%s", oe.Reason)
}

// liftValue returns the canonical value of an indicator Options.LiftCap
// names: an address, or a device as type:value (match.LiftValue, the same
// for every door).
func liftValue(v string) (string, error) { return match.LiftValue(v) }
