package storetest

import (
	"net/netip"

	"github.com/seams-dev/seams"
)

type netipAddrT = netip.Addr

func mustAddr(s string) netip.Addr {
	a, err := seams.ParseAddr(s)
	if err != nil {
		panic(err)
	}
	return a
}

// searchHits is the slow twin of the store's report search: whether r is
// among the reports a search for q finds.
func searchHits(q seams.SearchQuery, r *seams.StoredReport) bool {
	switch q.Kind {
	case seams.SearchIP:
		for _, e := range r.IPs {
			if e.Addr == q.Addr {
				return true
			}
		}
	case seams.SearchPrefix:
		for _, e := range r.IPs {
			if q.Prefix.Contains(e.Addr) {
				return true
			}
		}
	case seams.SearchDevice:
		for _, d := range r.Devices {
			if d.ID == q.Device {
				return true
			}
		}
	case seams.SearchReport:
		return r.ID == q.Report
	}
	return false
}

// searchHitsIndicator is the slow twin of the store's indicator search.
func searchHitsIndicator(q seams.SearchQuery, in *seams.Indicator) bool {
	switch q.Kind {
	case seams.SearchIP:
		return in.Kind == seams.KindIP && in.Addr == q.Addr || in.Kind == seams.KindCIDR && in.Prefix.Contains(q.Addr)
	case seams.SearchPrefix:
		return in.Kind == seams.KindIP && q.Prefix.Contains(in.Addr) || in.Kind == seams.KindCIDR && in.Prefix.Overlaps(q.Prefix)
	case seams.SearchDevice:
		return in.Kind == seams.KindDevice && in.Value == q.Device.String()
	}
	return false
}
