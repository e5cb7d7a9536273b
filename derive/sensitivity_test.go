package derive

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/gen"
)

// TestSensitivity varies each parameter of derive, one at a time, on one
// generated world, and prints a Markdown table of what each value does to
// precision and recall, to the chain into xref, and to who is a member
// (the share of the default run's members that change: Vanhoof et al.
// found that the choice of criteria changes the home detected for up to
// 40% of users). It takes minutes: run it on purpose,
//
//	SEAMS_SENSITIVITY=1 go test ./derive -run TestSensitivity -v -timeout 60m
//
// (SEAMS_SENSITIVITY_OBS sets the observations, default 2,000,000).
func TestSensitivity(t *testing.T) {
	if os.Getenv("SEAMS_SENSITIVITY") == "" {
		t.Skip("set SEAMS_SENSITIVITY=1 to run")
	}
	n := 2_000_000
	if s := os.Getenv("SEAMS_SENSITIVITY_OBS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	dir := t.TempDir()
	f, err := gen.GenerateObservations(dir, gen.ObservationOptions{Seed: 11, Compounds: 12, Observations: n, Reports: 4000})
	if err != nil {
		t.Fatal(err)
	}
	tw := readTruth(t, f.World)
	type run struct {
		param, value string
		set          func(*Options)
	}
	d := func(h int) time.Duration { return time.Duration(h) * time.Hour }
	runs := []run{{"defaults", "", func(*Options) {}}}
	add := func(param string, values []string, set func(*Options, int)) {
		for i, v := range values {
			runs = append(runs, run{param, v, func(o *Options) { set(o, i) }})
		}
	}
	add("--min-stay", []string{"15m", "30m", "2h", "4h"}, func(o *Options, i int) {
		o.MinStay = []time.Duration{15 * time.Minute, 30 * time.Minute, d(2), d(4)}[i]
	})
	add("--max-gap", []string{"4h", "6h", "16h", "24h"}, func(o *Options, i int) { o.MaxGap = d([]int{4, 6, 16, 24}[i]) })
	add("--min-dwell", []string{"8h", "12h", "48h", "96h"}, func(o *Options, i int) { o.MinDwell = d([]int{8, 12, 48, 96}[i]) })
	add("--min-days", []string{"2", "5", "7"}, func(o *Options, i int) { o.MinDays = []int{2, 5, 7}[i] })
	add("--window", []string{"14d", "60d"}, func(o *Options, i int) { o.Window = d(24 * []int{14, 60}[i]) })
	add("--min-fixes", []string{"3", "10", "20", "40"}, func(o *Options, i int) { o.MinFixes = []int{3, 10, 20, 40}[i] })
	add("--min-share", []string{"0.1", "0.15", "0.4", "0.6"}, func(o *Options, i int) { o.MinShare = []float64{0.1, 0.15, 0.4, 0.6}[i] })
	add("--min-nights", []string{"0", "1", "4"}, func(o *Options, i int) { o.MinNights = []int{0, 1, 4}[i] })
	add("--night", []string{"22-6", "1-5"}, func(o *Options, i int) {
		o.NightStart, o.NightEnd = []int{22, 1}[i], []int{6, 5}[i]
	})
	add("--spot-devices", []string{"0 (off)", "3", "10", "20"}, func(o *Options, i int) { o.SpotDevices = []int{0, 3, 10, 20}[i] })
	add("--assume-accuracy", []string{"0", "50"}, func(o *Options, i int) { o.AssumeAccuracy = []float64{0, 50}[i] })
	add("--max-accuracy", []string{"50", "200"}, func(o *Options, i int) {
		o.MaxAccuracy = []float64{50, 200}[i]
		o.AssumeAccuracy = o.MaxAccuracy
	})
	add("--min-address-devices", []string{"1", "3", "5"}, func(o *Options, i int) { o.MinAddrDevices = []int{1, 3, 5}[i] })
	add("--min-address-days", []string{"1", "3", "5"}, func(o *Options, i int) { o.MinAddrDays = []int{1, 3, 5}[i] })
	add("--lease-gap", []string{"2d", "14d", "30d", "365d (one window)"}, func(o *Options, i int) { o.LeaseGap = d(24 * []int{2, 14, 30, 365}[i]) })
	add("--share-margin", []string{"0d", "3d", "7d", "365d (time ignored)"}, func(o *Options, i int) { o.ShareMargin = d(24 * []int{0, 3, 7, 365}[i]) })
	add("--max-outside-share", []string{"0.3", "0.7"}, func(o *Options, i int) {
		o.MaxOutsideShare = []float64{0.3, 0.7}[i]
		o.MaxCompetingShare = min(o.MaxCompetingShare, o.MaxOutsideShare)
	})
	add("--min-outside-devices", []string{"1", "5"}, func(o *Options, i int) { o.MinOutsideDevices = []int{1, 5}[i] })
	add("--max-competing-share", []string{"0", "0.1", "0.4"}, func(o *Options, i int) { o.MaxCompetingShare = []float64{0, 0.1, 0.4}[i] })

	var base map[[2]string]bool
	var b strings.Builder
	b.WriteString("| parameter | value | members P / R | R (seen 10+ days) | residents P / R | false members | members changed | IPv4 P / R (3+) | IPv6 P / R (3+) | shared P | tied reports tied | findings on must-not-find | took |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for i, x := range runs {
		opts := deriveOptions(f, filepath.Join(dir, fmt.Sprintf("run%02d", i)))
		x.set(opts)
		start := time.Now()
		s, err := Run(context.Background(), *opts)
		if err != nil {
			t.Fatalf("%s %s: %v", x.param, x.value, err)
		}
		took := time.Since(start)
		r := readResult(t, opts.Out, opts.Compounds, s)
		sc := scoreRegistry(tw, r)
		members := map[[2]string]bool{}
		for _, in := range r.indicators {
			if in.Kind == seams.KindDevice {
				members[[2]string{in.Compound, in.Value}] = true
			}
		}
		if base == nil {
			base = members
		}
		changed := 0
		for k := range members {
			changed += b2i(!base[k])
		}
		for k := range base {
			changed += b2i(!members[k])
		}
		c := runChain(t, f, opts, 0, 0)
		tied, tiedWant := c.met["member-device"]+c.met["compound-ip"], c.expected["member-device"]+c.expected["compound-ip"]
		falseMembers := 0
		for _, v := range sc.falseMembers {
			falseMembers += v
		}
		fmt.Fprintf(&b, "| %s | %s | %.3f / %.3f | %.3f | %.3f / %.3f | %d | %.1f%% | %.3f / %.3f | %.3f / %.3f | %.3f | %d of %d | %d | %.1f s |\n",
			x.param, x.value, sc.members.precision(), sc.members.recall(), sc.membersSeen.recall(), sc.residents.precision(), sc.residents.recall(),
			falseMembers, 100*float64(changed)/float64(max(len(base), 1)), sc.ipv4.precision(), sc.ipv4Seen3.recall(),
			sc.ipv6.precision(), sc.ipv6Seen3.recall(), sc.shared.precision(), tied, tiedWant, len(c.extra), took.Seconds())
		if i == 0 {
			t.Logf("defaults:\n%s\nchain:\n%s", sc, c)
		}
		os.RemoveAll(opts.Out)
	}
	t.Logf("%d observations, seed 11, 12 compounds\n%s", n, b.String())
}
