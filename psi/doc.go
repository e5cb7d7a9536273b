// Package psi is private matching between two seams instances: a holder of
// a registry (compound indicators with windows) and a querier holding
// reports learn the overlap of their items, and nothing else.
//
// The protocol is an oblivious pseudorandom function (RFC 9497 OPRF,
// ristretto255 with SHA-512, from github.com/cloudflare/circl/oprf). The
// holder evaluates each of its items once under a secret key of the
// current epoch and publishes a table: per item a tag and a sealed pointer
// to a label (the indicator's compound, window and what else the holder
// chose to reveal), each label sealed under a key that only the item's PRF
// output opens. The querier obtains the PRF outputs of its own items
// through the blinded protocol (one round trip per batch) and can open the
// labels of the items it holds, and no other. The holder learns how many
// items were evaluated.
//
// Items are what an exact match compares (item.go): an address on a UTC
// day, a device (on a day, or whatever the day). A window expands to its
// days; a window open on a side, or longer than a limit, is an item of the
// "any day" family and its label's window decides. The querier applies the
// labels' exact windows, its proxy flags and shared space afterwards, as a
// cross-reference restricted to rules device and ip does.
//
// A count-only mode (count.go) tells the querier how many of its reports
// would be tied or potentially associated per compound, and not which:
// Diffie-Hellman blinding by both sides, report groups shuffled by the
// holder.
//
// docs/psi.md has the threat model, the messages and the set-up.
//
// This package holds the protocol and its messages, with no network: the
// transport (TLS, sessions, limits) is in package psi/psinet, the runs of
// both sides over seams' files in psi/psirun.
package psi
