package stix

// Limits bound what ReadBundle accepts from a hostile input.
type Limits struct {
	// MaxBytes is the largest bundle read, in bytes. A bundle is resolved
	// as a whole (relationships point anywhere in it), so it is held in
	// memory: about ten times its size once decoded.
	MaxBytes int64
	// MaxDepth is the deepest nesting of arrays and objects allowed inside
	// one STIX object. The objects seams reads nest three levels deep.
	MaxDepth int
}

// DefaultLimits are the limits of ReadBundle: 256 MiB, depth 32.
func DefaultLimits() Limits { return Limits{MaxBytes: 256 << 20, MaxDepth: 32} }
