package outdir

import (
	"fmt"
	"os"
)

// twoStep swaps the folders a and b with two renames, where a file system
// cannot exchange them in one (no RENAME_EXCHANGE): b goes aside to a
// temporary name, a takes its place, and the old b takes a's name. A crash
// between the renames leaves b missing and the old folder at its temporary
// name: never a mix of two runs.
func twoStep(a, b string) error {
	aside := a + "-old"
	if err := os.Rename(b, aside); err != nil {
		return err
	}
	if err := os.Rename(a, b); err != nil {
		if rerr := os.Rename(aside, b); rerr != nil {
			return fmt.Errorf("%w (and the old folder stays at %s: %v)", err, aside, rerr)
		}
		return err
	}
	return os.Rename(aside, a)
}
