// Package ftm reads FollowTheMoney entities (the data model of Aleph and
// OpenSanctions) as JSON lines: the compounds among them, and the whole
// entity graph, for the entity-graph work to build on.
//
// An entity stands for a compound when its "keywords" property holds
// "seams:compound=ID", or when a mapping file (ReadCompoundMap) maps its id
// to a compound id. Relationship entities (Ownership, Directorship, ...)
// become edges of the graph, and so do entity references such as a
// Sanction's "entity" or a Thing's "addressEntity". docs/formats.md has the
// full mapping.
package ftm

import (
	"sort"
	"strings"
)

// Node is an entity of the graph.
type Node struct {
	ID      string
	Schema  string // e.g. Company, Person, Address
	Caption string // the entity's caption, or its first name, or its id
	// Properties holds every property as FollowTheMoney gives it: a list of
	// strings (a nested entity is replaced by its id).
	Properties map[string][]string
	Line       int // where the entity was read
}

// Edge is a link between two entities: a relationship entity (Schema
// Ownership, Property empty) or a reference from one entity to another
// (Schema of the referring entity, Property the property, e.g. Sanction
// "entity").
type Edge struct {
	ID         string // the relationship entity's id; "" for a reference
	Schema     string
	Property   string
	Source     string // entity ids; either may be absent from the file
	Target     string
	Properties map[string][]string // of a relationship entity; nil for a reference
	Line       int
}

// Graph is the entity graph of a file: nodes and edges in file order.
type Graph struct {
	Nodes []Node
	Edges []Edge
}

// Node returns the node with the given id, or nil.
func (g *Graph) Node(id string) *Node {
	for i := range g.Nodes {
		if g.Nodes[i].ID == id {
			return &g.Nodes[i]
		}
	}
	return nil
}

// KeywordCompound is the prefix of the keywords value that makes an entity
// a compound: "seams:compound=c-jinbei".
const KeywordCompound = "seams:compound="

// edgeSchemata are the relationship schemata, with the properties that hold
// their source and target (FollowTheMoney's edge definitions).
var edgeSchemata = map[string][2]string{
	"Ownership":      {"owner", "asset"},
	"Directorship":   {"director", "organization"},
	"Membership":     {"member", "organization"},
	"Employment":     {"employee", "employer"},
	"Family":         {"person", "relative"},
	"Associate":      {"person", "associate"},
	"UnknownLink":    {"subject", "object"},
	"Representation": {"agent", "client"},
	"Succession":     {"predecessor", "successor"},
	"Payment":        {"payer", "beneficiary"},
	"Occupancy":      {"holder", "post"},
}

// nodeSchemata are the entity schemata read as nodes.
var nodeSchemata = map[string]bool{
	"Person": true, "Organization": true, "Company": true, "LegalEntity": true, "PublicBody": true,
	"Address": true, "RealEstate": true, "Sanction": true, "Identification": true, "Passport": true,
	"BankAccount": true, "CryptoWallet": true, "UserAccount": true, "Vessel": true, "Airplane": true,
	"Vehicle": true, "Position": true, "Security": true, "Asset": true,
}

// refProperties are the entity-typed properties of nodes that become
// reference edges.
var refProperties = map[string]bool{
	"entity": true, "addressEntity": true, "holder": true, "parent": true, "subsidiaries": true,
}

// Schemata lists the schemata ftm reads, sorted, for messages and docs.
func Schemata() []string {
	var s []string
	for k := range nodeSchemata {
		s = append(s, k)
	}
	for k := range edgeSchemata {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

func schemataText() string { return strings.Join(Schemata(), ", ") }
