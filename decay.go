package seams

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DecayModel is MISP's polynomial decaying model of an indicator's score
// (MISP 2.4.114 and later; app/Model/DecayingModelsFormulas/Polynomial.php,
// after "An indicator scoring method for MISP platforms"):
//
//	score(t) = base_score * (1 - (t / lifetime)^(1 / decay_speed))
//
// where t is the time since the indicator was last sighted, clamped to
// [0, base_score]: the full base score at the sighting, 0 from one
// lifetime after it. decay_speed 1 is linear; above 1 the score drops
// fast at first, below 1 it holds and then drops. An indicator whose
// score is below the threshold is decayed. A score never changes a tier:
// it is shown beside findings.
type DecayModel struct {
	// BaseScore is the score at the sighting of an indicator without a
	// confidence, 0 to 100; one with a confidence starts at 100 times it.
	BaseScore  float64 `json:"base_score"`
	Lifetime   string  `json:"lifetime"` // a duration: 180d, 4320h
	DecaySpeed float64 `json:"decay_speed"`
	Threshold  float64 `json:"threshold"`
}

// DecayParameters are the decay models of a store: a default and
// overrides by indicator source (the source column of an indicator).
type DecayParameters struct {
	Default DecayModel            `json:"default"`
	Sources map[string]DecayModel `json:"sources,omitempty"`
}

// DefaultDecay returns the default decay: base score 100, a lifetime of
// 180 days, linear (decay speed 1), decayed below 30. Address leases of
// compounds change hands within months (docs/derive.md); a device lasts
// longer, which a source's override can say.
func DefaultDecay() DecayParameters {
	return DecayParameters{Default: DecayModel{BaseScore: 100, Lifetime: "180d", DecaySpeed: 1, Threshold: 30}}
}

// OrDefault returns p, or the defaults when p is zero (no model given,
// or a run stored before decay was kept).
func (p DecayParameters) OrDefault() DecayParameters {
	if p.Default == (DecayModel{}) && len(p.Sources) == 0 {
		return DefaultDecay()
	}
	return p
}

// For returns the model of indicators of source: its override, or the
// default.
func (p DecayParameters) For(source string) DecayModel {
	if m, ok := p.Sources[source]; ok {
		return m
	}
	return p.Default
}

// Validate checks every model: base score and threshold in [0, 100], a
// positive lifetime, a positive decay speed.
func (p DecayParameters) Validate() error {
	if err := p.Default.Validate(); err != nil {
		return fmt.Errorf("decay: %w", err)
	}
	for _, s := range slices.Sorted(maps.Keys(p.Sources)) {
		if err := p.Sources[s].Validate(); err != nil {
			return fmt.Errorf("decay of source %q: %w", s, err)
		}
	}
	return nil
}

// Validate checks a model.
func (m DecayModel) Validate() error {
	switch {
	case !(m.BaseScore >= 0 && m.BaseScore <= 100):
		return fmt.Errorf("base score %v (want 0 to 100)", m.BaseScore)
	case !(m.Threshold >= 0 && m.Threshold <= 100):
		return fmt.Errorf("threshold %v (want 0 to 100)", m.Threshold)
	case !(m.DecaySpeed > 0 && m.DecaySpeed <= 100):
		return fmt.Errorf("decay speed %v (want a number above 0, at most 100)", m.DecaySpeed)
	}
	if _, err := m.lifetime(); err != nil {
		return err
	}
	return nil
}

func (m DecayModel) lifetime() (time.Duration, error) {
	d, err := ParseDays(m.Lifetime)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("lifetime %q (want a positive duration: 180d, 4320h)", m.Lifetime)
	}
	return d, nil
}

// ParseDays parses a duration as Go writes it (4320h, 36h30m) or a whole
// number of days (180d).
func ParseDays(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseUint(n, 10, 16)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return d, nil
}

// Score returns the score of an indicator with base score base, sighted
// last elapsed ago. An elapsed time before the sighting (a last_seen in
// the future of the time asked about) is the base score: the source
// vouches for it until then. (MISP scores it 0, which would make a
// window that reaches into the future worthless.)
func (m DecayModel) Score(base float64, elapsed time.Duration) float64 {
	life, err := m.lifetime()
	if err != nil {
		return 0
	}
	if elapsed <= 0 {
		return base
	}
	s := base * (1 - math.Pow(float64(elapsed)/float64(life), 1/m.DecaySpeed))
	return max(0, s)
}

// Freshness is how much an indicator (or the freshest indicator of a
// finding's evidence) is still worth at a time, by its decay model.
type Freshness struct {
	Score   float64   `json:"score"`          // 0 to 100, rounded to a tenth
	Base    float64   `json:"base"`           // the score at the last sighting
	Since   time.Time `json:"since,omitzero"` // the last sighting: t counts from it
	At      time.Time `json:"at"`             // the time the score is of
	Decayed bool      `json:"decayed"`        // below the model's threshold
	// Sightings counts the confirmed findings whose evidence names the
	// indicator (any version of its compound, kind and value);
	// FalsePositives the dismissed ones, the last at LastFalsePositive.
	Sightings         int       `json:"sightings"`
	FalsePositives    int       `json:"false_positives"`
	LastFalsePositive time.Time `json:"last_false_positive,omitzero"`
}

// Sighting is a time an indicator was seen: the end of its window, its
// record time for an open window, or an observation of a confirmed
// finding.
type Sighting struct {
	At            time.Time
	Confirmed     int
	Dismissed     int
	LastDismissed time.Time
}

// FreshnessOf scores an indicator at time at: t counts from the latest of
// the end of its window (its record time when the window is open) and
// the sightings of confirmed findings.
func (p DecayParameters) FreshnessOf(in *Indicator, recorded time.Time, s Sighting, at time.Time) Freshness {
	m := p.For(in.Source)
	base := m.BaseScore
	if in.HasConfidence {
		base = 100 * in.Confidence
	}
	since := in.Window.Last
	if since.IsZero() {
		since = recorded
	}
	if s.At.After(since) {
		since = s.At
	}
	score := math.Round(m.Score(base, at.Sub(since))*10) / 10
	return Freshness{Score: score, Base: base, Since: since.UTC(), At: at.UTC(), Decayed: score < m.Threshold,
		Sightings: s.Confirmed, FalsePositives: s.Dismissed, LastFalsePositive: s.LastDismissed}
}

// ParseDecaySource reads a source's override of the default model def:
// SOURCE=LIFETIME[,SPEED[,THRESHOLD[,BASE]]], such as partner-d=730d,0.5
// (a device list that lasts two years and holds its score, then drops).
// The fields left out are def's. The source is what comes before the
// last "=".
func ParseDecaySource(s string, def DecayModel) (string, DecayModel, error) {
	i := strings.LastIndexByte(s, '=')
	if i <= 0 || len(s) > 1024 {
		return "", def, fmt.Errorf("decay source %q: want SOURCE=LIFETIME[,SPEED[,THRESHOLD[,BASE]]]", clip(s))
	}
	src, rest := s[:i], s[i+1:]
	if hasNUL(src) || strings.TrimSpace(src) != src {
		return "", def, fmt.Errorf("decay source %q: the source is not clean text", clip(src))
	}
	m := def
	fields := strings.Split(rest, ",")
	if len(fields) > 4 {
		return "", def, fmt.Errorf("decay source %q: at most LIFETIME,SPEED,THRESHOLD,BASE", clip(s))
	}
	m.Lifetime = strings.TrimSpace(fields[0])
	for k, f := range fields[1:] {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return "", def, fmt.Errorf("decay source %q: %q is not a number", clip(s), clip(f))
		}
		switch k {
		case 0:
			m.DecaySpeed = v
		case 1:
			m.Threshold = v
		case 2:
			m.BaseScore = v
		}
	}
	if err := m.Validate(); err != nil {
		return "", def, fmt.Errorf("decay source %q: %w", clip(src), err)
	}
	return src, m, nil
}

// clip shortens what an error quotes.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
