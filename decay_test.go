package seams

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestDecayScore(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name    string
		m       DecayModel
		base    float64
		elapsed time.Duration
		want    float64
	}{
		{"at the sighting", DecayModel{Lifetime: "100d", DecaySpeed: 1}, 80, 0, 80},
		{"before the sighting: the base", DecayModel{Lifetime: "100d", DecaySpeed: 1}, 80, -day, 80},
		{"linear, a quarter of the lifetime", DecayModel{Lifetime: "100d", DecaySpeed: 1}, 80, 25 * day, 60},
		{"speed 2: square root, fast at first", DecayModel{Lifetime: "100d", DecaySpeed: 2}, 100, 25 * day, 50},
		{"speed 0.5: square, slow at first", DecayModel{Lifetime: "100d", DecaySpeed: 0.5}, 100, 50 * day, 75},
		{"one lifetime: 0", DecayModel{Lifetime: "100d", DecaySpeed: 1}, 100, 100 * day, 0},
		{"past the lifetime: 0, never negative", DecayModel{Lifetime: "100d", DecaySpeed: 2}, 100, 400 * day, 0},
		{"hours", DecayModel{Lifetime: "48h", DecaySpeed: 1}, 100, 12 * time.Hour, 75},
	}
	for _, tt := range tests {
		if got := tt.m.Score(tt.base, tt.elapsed); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%s: score %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestFreshnessOf(t *testing.T) {
	p := DecayParameters{Default: DecayModel{BaseScore: 100, Lifetime: "100d", DecaySpeed: 1, Threshold: 30},
		Sources: map[string]DecayModel{"slow": {BaseScore: 100, Lifetime: "1000d", DecaySpeed: 1, Threshold: 30}}}
	at := time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)
	w, _ := ParseWindow("2024-01-01", "2024-10-21") // its end: 70 days and a nanosecond before at
	rec := time.Date(2024, 11, 1, 0, 0, 0, 0, time.UTC)
	in := Indicator{Window: w, Source: "a"}
	tests := []struct {
		name      string
		in        Indicator
		s         Sighting
		wantSince time.Time
		wantScore float64
		decayed   bool
	}{
		{"from the window's end; at the threshold is not below it", in, Sighting{}, w.Last, 30, false},
		{"a confirmed sighting later renews it", in, Sighting{At: time.Date(2024, 12, 21, 0, 0, 0, 0, time.UTC), Confirmed: 1}, time.Date(2024, 12, 21, 0, 0, 0, 0, time.UTC), 90, false},
		{"a sighting before the window's end does not", in, Sighting{At: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), Confirmed: 2}, w.Last, 30, false},
		{"an open window counts from its record time", Indicator{Source: "a"}, Sighting{}, rec, 40, false},
		{"a confidence is the base", Indicator{Source: "a", Confidence: 0.5, HasConfidence: true}, Sighting{}, rec, 20, true},
		{"a source's own model", Indicator{Window: w, Source: "slow"}, Sighting{}, w.Last, 93, false},
	}
	for _, tt := range tests {
		f := p.FreshnessOf(&tt.in, rec, tt.s, at)
		if !f.Since.Equal(tt.wantSince) || f.Score != tt.wantScore || f.Decayed != tt.decayed || f.Sightings != tt.s.Confirmed {
			t.Errorf("%s: %+v, want since %v, score %v, decayed %v", tt.name, f, tt.wantSince, tt.wantScore, tt.decayed)
		}
	}
}

func TestParseDecaySource(t *testing.T) {
	def := DefaultDecay().Default
	tests := []struct {
		in, src string
		want    DecayModel
		err     string
	}{
		{"partner-d=730d", "partner-d", DecayModel{BaseScore: 100, Lifetime: "730d", DecaySpeed: 1, Threshold: 30}, ""},
		{"partner-d=730d,0.5,20,90", "partner-d", DecayModel{BaseScore: 90, Lifetime: "730d", DecaySpeed: 0.5, Threshold: 20}, ""},
		{"a=b=90d", "a=b", DecayModel{BaseScore: 100, Lifetime: "90d", DecaySpeed: 1, Threshold: 30}, ""},
		{"=90d", "", def, "want SOURCE="},
		{"partner", "", def, "want SOURCE="},
		{"p=0d", "", def, "lifetime"},
		{"p=90d,0", "", def, "decay speed"},
		{"p=90d,1,101", "", def, "threshold"},
		{"p=90d,x", "", def, "not a number"},
		{"p=90d,1,2,3,4", "", def, "at most"},
	}
	for _, tt := range tests {
		src, m, err := ParseDecaySource(tt.in, def)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want one saying %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || src != tt.src || m != tt.want {
			t.Errorf("%q: %q %+v %v, want %q %+v", tt.in, src, m, err, tt.src, tt.want)
		}
	}
}

func TestParseAsOf(t *testing.T) {
	tests := []struct {
		in   string
		want AsOf
		ok   bool
	}{
		{"run:12", AsOf{Run: 12}, true},
		{"2024-06-01T12:00:00Z", AsOf{Time: time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)}, true},
		{"2024-06-01", AsOf{Time: time.Date(2024, 6, 1, 23, 59, 59, 999999999, time.UTC)}, true},
		{"run:0", AsOf{}, false},
		{"run:-3", AsOf{}, false},
		{"run:x", AsOf{}, false},
		{"yesterday", AsOf{}, false},
		{"", AsOf{}, false},
	}
	for _, tt := range tests {
		got, err := ParseAsOf(tt.in)
		if (err == nil) != tt.ok || tt.ok && (got.Run != tt.want.Run || !got.Time.Equal(tt.want.Time)) {
			t.Errorf("%q: %+v %v, want %+v (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
		if tt.ok {
			if back, err := ParseAsOf(got.String()); err != nil || back.Run != got.Run || !back.Time.Equal(got.Time) {
				t.Errorf("%q: %s reads back as %+v %v", tt.in, got, back, err)
			}
		}
	}
}

// FuzzParseAsOf holds ParseAsOf to never panic and to read back what it
// writes.
func FuzzParseAsOf(f *testing.F) {
	for _, s := range []string{"run:1", "2024-06-01", "2024-06-01T12:00:00.5+02:00", "run:", "9999-12-31"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAsOf(s)
		if err != nil {
			return
		}
		b, err := ParseAsOf(a.String())
		if err != nil || b.Run != a.Run || !b.Time.Equal(a.Time) {
			t.Fatalf("%q: %+v writes %q, which reads %+v %v", s, a, a.String(), b, err)
		}
	})
}

// FuzzParseDecaySource holds ParseDecaySource to never panic and to
// accept only valid models.
func FuzzParseDecaySource(f *testing.F) {
	for _, s := range []string{"partner-d=730d,0.5", "a=1h,1,2,3", "=", "x=NaN", "x=90d,1e308"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, m, err := ParseDecaySource(s, DefaultDecay().Default)
		if err == nil {
			if verr := m.Validate(); verr != nil {
				t.Fatalf("%q: accepted an invalid model %+v: %v", s, m, verr)
			}
		}
	})
}
