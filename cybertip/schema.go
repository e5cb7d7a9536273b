package cybertip

import (
	"strconv"
	"strings"
)

// The order of the children of each element the reader walks, as the
// CyberTipline Reporting API's schema gives it (an xs:sequence each). A
// trailing '*' marks an element that may repeat. The names follow the
// schema's element names (the Go module github.com/Boostport/ncmec-go has
// types generated from it; these lists were written from its element names,
// not copied). reportId is seams' one addition: see the package comment.
var (
	// personOrUserReported may repeat: the schema declares it
	// maxOccurs="unbounded" (its annotation says "0 or 1"), and a
	// batchedReport groups the reports of several persons.
	reportOrder = newOrder("reportId", "batchedReport", "incidentSummary", "internetDetails*",
		"lawEnforcement", "reporter", "personOrUserReported*", "intendedRecipient*", "victim*",
		"additionalInfo")
	incidentOrder = newOrder("incidentType", "platform", "escalateToHighPriority",
		"reportAnnotations", "incidentDateTime", "incidentDateTimeDescription")
	personOrder = newOrder("personOrUserReportedPerson", "vehicleDescription", "espIdentifier",
		"espService", "compromisedAccount", "screenName", "displayName*", "profileUrl*",
		"profileBio", "ipCaptureEvent*", "deviceId*", "thirdPartyUserReported", "priorCTReports*",
		"groupIdentifier", "accountTemporarilyDisabled", "accountPermanentlyDisabled",
		"estimatedLocation", "allEmailsReported", "associatedAccount*", "additionalInfo")
	accountOrder = newOrder("platform", "firstName", "middleName", "lastName", "approximateAge",
		"dateOfBirth", "phone*", "email*", "allEmailsReported", "address*", "espService",
		"espIdentifier", "profileUrl*", "screenName", "displayName*", "profileBio",
		"groupIdentifier", "compromisedAccount", "accountTemporarilyDisabled",
		"accountPermanentlyDisabled", "ipCaptureEvent*", "deviceId*", "priorCTReport*",
		"additionalInfo")
	locationOrder  = newOrder("city", "region", "countryCode")
	peer2peerOrder = newOrder("client", "ipCaptureEvent*", "fileNames", "additionalInfo")
	ipEventOrder   = newOrder("ipAddress", "eventName", "dateTime", "possibleProxy", "port")
	deviceOrder    = newOrder("idType", "idValue", "eventName", "dateTime")
)

// order is the sequence of an element's children.
type order struct {
	names  []string
	repeat []bool
	index  map[string]int
}

func newOrder(names ...string) *order {
	o := &order{index: make(map[string]int, len(names))}
	for i, n := range names {
		rep := strings.HasSuffix(n, "*")
		n = strings.TrimSuffix(n, "*")
		o.names = append(o.names, n)
		o.repeat = append(o.repeat, rep)
		o.index[n] = i
	}
	return o
}

// list names the sequence for a message: "ipAddress, eventName, dateTime".
func (o *order) list() string { return strings.Join(o.names, ", ") }

// seq checks the children of one element against its order as they come.
type seq struct {
	o     *order
	last  int   // index of the last known child seen; -1 before the first
	count []int // occurrences of each child so far
}

func newSeq(o *order) seq { return seq{o: o, last: -1, count: make([]int, len(o.names))} }

// next takes the next child's name. It returns the child's index in the
// order (-1 for a name the order does not know), its occurrence (1-based),
// and a problem when the child breaks the order.
func (s *seq) next(name string) (i, k int, problem string) {
	i, ok := s.o.index[name]
	if !ok {
		return -1, 0, ""
	}
	s.count[i]++
	k = s.count[i]
	switch {
	case i < s.last:
		problem = "<" + name + "> after <" + s.o.names[s.last] + ">: out of the schema's order (" + s.o.list() + ")"
	case i == s.last && !s.o.repeat[i]:
		problem = "<" + name + "> repeated: the schema allows one"
	}
	if i > s.last {
		s.last = i
	}
	return i, k, problem
}

// child names a child for an element path: "ipCaptureEvent[2]" for an
// element that may repeat, "ipAddress" for one that may not.
func (s *seq) child(i, k int) string {
	if s.o.repeat[i] {
		return s.o.names[i] + "[" + strconv.Itoa(k) + "]"
	}
	return s.o.names[i]
}
