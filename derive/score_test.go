package derive

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seams-dev/seams"
)

// This file scores a derived registry against the generator's ground truth
// (world.jsonl of seams gen --observations), phenomenon by phenomenon.

// truthWorld is the generator's ground truth.
type truthWorld struct {
	members   map[[2]string]truthMember // compound, device
	byDevice  map[string][]string       // device -> compounds it is a member of
	others    map[string]string         // device -> rider, visitor, neighbour, centroid
	addresses map[[2]string][]truthLease
	prefixes  map[string][]truthPrefix // compound -> its /56
	shared    map[string]string        // address -> carrier, satellite
	after     map[string][]truthLease  // address -> later household leases
	adjacent  map[string]string        // compound -> the one it shares a wall with
	centroids int                      // towns whose centroid lies inside a compound
}

type truthMember struct {
	Kind, Regime string
	SeenDays     int `json:"seen_days"`
}

type truthLease struct {
	First, Last   time.Time
	Lease         string
	Devices, Days int
}

type truthPrefix struct {
	Prefix      netip.Prefix
	First, Last time.Time
	Subnets     []struct {
		Prefix        netip.Prefix
		Devices, Days int
	}
}

func readTruth(t testing.TB, path string) *truthWorld {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := &truthWorld{members: map[[2]string]truthMember{}, byDevice: map[string][]string{}, others: map[string]string{},
		addresses: map[[2]string][]truthLease{}, prefixes: map[string][]truthPrefix{}, shared: map[string]string{},
		after: map[string][]truthLease{}, adjacent: map[string]string{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var v struct {
			Kind, Compound, Device, IP, Why, Other string
			truthMember
			truthLease
		}
		line := sc.Bytes()
		if err := json.Unmarshal(line, &v); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if v.Device != "" {
			v.Device = normalizeDevice(t, v.Device)
		}
		switch v.Kind {
		case "resident", "worker":
			v.truthMember.Kind = v.Kind
			w.members[[2]string{v.Compound, v.Device}] = v.truthMember
			w.byDevice[v.Device] = append(w.byDevice[v.Device], v.Compound)
		case "rider", "visitor", "neighbour", "centroid":
			w.others[v.Device] = v.Kind
		case "address":
			w.addresses[[2]string{v.Compound, v.IP}] = append(w.addresses[[2]string{v.Compound, v.IP}], v.truthLease)
		case "prefix":
			var p truthPrefix
			if err := json.Unmarshal(line, &p); err != nil {
				t.Fatal(err)
			}
			w.prefixes[v.Compound] = append(w.prefixes[v.Compound], p)
		case "shared":
			w.shared[v.IP] = v.Why
		case "lease_after":
			w.after[v.IP] = append(w.after[v.IP], v.truthLease)
		case "adjacent":
			w.adjacent[v.Compound], w.adjacent[v.Other] = v.Other, v.Compound
		case "centroid_inside":
			w.centroids++
		}
	}
	return w
}

func normalizeDevice(t testing.TB, s string) string {
	d, err := seams.ParseDeviceID(s)
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// pr is a precision and recall.
type pr struct {
	truth, got, hit, found int // found: truth items covered (recall's numerator)
}

func (p pr) precision() float64 {
	if p.got == 0 {
		return 1
	}
	return float64(p.hit) / float64(p.got)
}

func (p pr) recall() float64 {
	if p.truth == 0 {
		return 1
	}
	return float64(p.found) / float64(p.truth)
}

func (p pr) String() string {
	return fmt.Sprintf("P %.3f (%d of %d) R %.3f (%d of %d)", p.precision(), p.hit, p.got, p.recall(), p.found, p.truth)
}

// worldScore is a derived registry scored against the truth.
type worldScore struct {
	members, residents pr
	// membersSeen is recall over the members seen inside on 10 days or
	// more: those with data enough to measure where they dwell (and those
	// reports are planted on).
	membersSeen pr
	// Members found, by ping regime: regime -> found, truth.
	byRegime map[string][2]int
	// Devices wrongly made members, by what they are.
	falseMembers map[string]int
	// Members made members of the other compound of a shared wall.
	wrongSide int
	// Roles: truth role -> derived role -> count.
	roles map[string]map[string]int
	// Compound IPv4 addresses; recall over every lease members were seen
	// using inside (all) and over those at least two were seen using on
	// two days or more (seen).
	ipv4, ipv4Seen, ipv4Seen3 pr
	ipv4False                 map[string]int // why wrong: carrier, satellite, window into another holder's lease, unknown
	// Compound IPv6: precision of the prefixes; recall over the /64
	// members were seen using (all, and seen as above).
	ipv6, ipv6Seen, ipv6Seen3 pr
	shared                    pr
	sharedFalse               map[string]int
}

func (s *worldScore) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "members (residents and workers) %s\n", s.members)
	fmt.Fprintf(&b, "  recall of members seen inside on 10 days or more %.3f (%d of %d)\n", s.membersSeen.recall(), s.membersSeen.found, s.membersSeen.truth)
	fmt.Fprintf(&b, "  residents (role resident)       %s\n", s.residents)
	fmt.Fprintf(&b, "  found by ping regime %v; false members by kind %v; wrong side of a shared wall %d\n", s.byRegime, s.falseMembers, s.wrongSide)
	fmt.Fprintf(&b, "  roles %v\n", s.roles)
	fmt.Fprintf(&b, "compound IPv4 %s; recall of leases seen by 2+ members on 2+ days %.3f (%d of %d), by 3+ on 3+ %.3f (%d of %d); false %v\n",
		s.ipv4, s.ipv4Seen.recall(), s.ipv4Seen.found, s.ipv4Seen.truth, s.ipv4Seen3.recall(), s.ipv4Seen3.found, s.ipv4Seen3.truth, s.ipv4False)
	fmt.Fprintf(&b, "compound IPv6 %s; recall of /64 seen by 2+ members on 2+ days %.3f (%d of %d), by 3+ on 3+ %.3f (%d of %d)\n",
		s.ipv6, s.ipv6Seen.recall(), s.ipv6Seen.found, s.ipv6Seen.truth, s.ipv6Seen3.recall(), s.ipv6Seen3.found, s.ipv6Seen3.truth)
	fmt.Fprintf(&b, "shared %s; false %v", s.shared, s.sharedFalse)
	return b.String()
}

// scoreRegistry scores a derived registry against the truth.
func scoreRegistry(tw *truthWorld, r *result) *worldScore {
	s := &worldScore{byRegime: map[string][2]int{}, falseMembers: map[string]int{}, roles: map[string]map[string]int{},
		ipv4False: map[string]int{}, sharedFalse: map[string]int{}}
	// Members.
	got := map[[2]string]string{} // -> derived role
	for i, in := range r.indicators {
		if in.Kind == seams.KindDevice {
			role := ""
			if d := r.prov[i].Dwell; d != nil {
				role = d.Role
			}
			got[[2]string{in.Compound, in.Value}] = role
		}
	}
	s.members.truth, s.members.got = len(tw.members), len(got)
	for k, role := range got {
		if m, ok := tw.members[k]; ok {
			s.members.hit++
			if s.roles[m.Kind] == nil {
				s.roles[m.Kind] = map[string]int{}
			}
			s.roles[m.Kind][role]++
			continue
		}
		switch {
		case tw.others[k[1]] != "":
			s.falseMembers[tw.others[k[1]]]++
		case len(tw.byDevice[k[1]]) > 0:
			s.falseMembers["member elsewhere"]++
			if slices.Contains(tw.byDevice[k[1]], tw.adjacent[k[0]]) {
				s.wrongSide++
			}
		default:
			s.falseMembers["town"]++
		}
	}
	for k, m := range tw.members {
		c := s.byRegime[m.Regime]
		c[1]++
		_, ok := got[k]
		if ok {
			s.members.found++
			c[0]++
		}
		if m.SeenDays >= 10 {
			s.membersSeen.truth++
			s.membersSeen.found += b2i(ok)
		}
		s.byRegime[m.Regime] = c
		if m.Kind == roleResident {
			s.residents.truth++
			if got[k] == roleResident {
				s.residents.found++
			}
		}
	}
	for k, role := range got {
		if role == roleResident {
			s.residents.got++
			if tw.members[k].Kind == roleResident {
				s.residents.hit++
			}
		}
	}
	// IPv4.
	within := func(first, last time.Time, ls []truthLease) bool {
		for _, l := range ls {
			if !first.Before(l.First.Add(-time.Second)) && !last.After(l.Last.Add(time.Second)) {
				return true
			}
		}
		return false
	}
	var ipRows, cidrRows []seams.Indicator
	for _, in := range r.indicators {
		switch in.Kind {
		case seams.KindIP:
			ipRows = append(ipRows, in)
		case seams.KindCIDR:
			cidrRows = append(cidrRows, in)
		}
	}
	s.ipv4.got = len(ipRows)
	for _, in := range ipRows {
		ls := tw.addresses[[2]string{in.Compound, in.Value}]
		switch {
		case within(in.Window.First, in.Window.Last, ls):
			s.ipv4.hit++
		case len(ls) > 0:
			s.ipv4False["window beyond the compound's lease"]++
		case tw.shared[in.Value] != "":
			s.ipv4False[tw.shared[in.Value]]++
		default:
			s.ipv4False["not the compound's"]++
		}
	}
	for k, ls := range tw.addresses {
		for _, l := range ls {
			covered := slices.ContainsFunc(ipRows, func(in seams.Indicator) bool {
				return in.Compound == k[0] && in.Value == k[1] && !in.Window.First.After(l.Last) && !in.Window.Last.Before(l.First)
			})
			s.ipv4.truth++
			s.ipv4.found += b2i(covered)
			if l.Devices >= 2 && l.Days >= 2 {
				s.ipv4Seen.truth++
				s.ipv4Seen.found += b2i(covered)
			}
			if l.Devices >= 3 && l.Days >= 3 {
				s.ipv4Seen3.truth++
				s.ipv4Seen3.found += b2i(covered)
			}
		}
	}
	// IPv6.
	s.ipv6.got = len(cidrRows)
	for _, in := range cidrRows {
		if slices.ContainsFunc(tw.prefixes[in.Compound], func(p truthPrefix) bool {
			return p.Prefix.Bits() <= in.Prefix.Bits() && p.Prefix.Overlaps(in.Prefix)
		}) {
			s.ipv6.hit++
		}
	}
	for c, ps := range tw.prefixes {
		for _, p := range ps {
			for _, sub := range p.Subnets {
				covered := slices.ContainsFunc(cidrRows, func(in seams.Indicator) bool {
					return in.Compound == c && in.Prefix.Bits() <= sub.Prefix.Bits() && in.Prefix.Overlaps(sub.Prefix)
				})
				s.ipv6.truth++
				s.ipv6.found += b2i(covered)
				if sub.Devices >= 2 && sub.Days >= 2 {
					s.ipv6Seen.truth++
					s.ipv6Seen.found += b2i(covered)
				}
				if sub.Devices >= 3 && sub.Days >= 3 {
					s.ipv6Seen3.truth++
					s.ipv6Seen3.found += b2i(covered)
				}
			}
		}
	}
	// Shared.
	s.shared.truth, s.shared.got = len(tw.shared), len(r.shared)
	for _, p := range r.shared {
		a := p.Addr().String()
		switch {
		case tw.shared[a] != "":
			s.shared.hit++
		case p.Addr().Is6():
			s.sharedFalse["IPv6 /64"]++
		default:
			compound := false
			for k := range tw.addresses {
				compound = compound || k[1] == a
			}
			if compound {
				s.sharedFalse["a compound's address"]++
			} else {
				s.sharedFalse["other"]++
			}
		}
	}
	for a := range tw.shared {
		if slices.ContainsFunc(r.shared, func(p netip.Prefix) bool { return p.Addr().String() == a }) {
			s.shared.found++
		}
	}
	return s
}
