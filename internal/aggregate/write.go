package aggregate

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/seams-dev/seams/internal/export"
)

// Header is the CSV header row.
var Header = []string{"tier", "level", "compound", "incident", "month", "reports", "status"}

// The levels of a row.
const (
	LevelCell          = "cell"
	LevelCompoundTotal = "compound total"
	LevelColumnTotal   = "incident-month total"
	LevelTotal         = "total"
)

// Method returns the statement of method written at the head of the file,
// one sentence a line.
func Method(k int) []string {
	return []string{
		"Counts of distinct reports with a finding, by compound, incident type, month and tier.",
		"Tiers are separate tables and are never added together: tied (a device, or an exact address in its window) and potential (potentially associated).",
		"A cell counts the reports whose finding with that compound has that tier, whose incident type is the row's and whose month is the month (UTC) of the finding's earliest observation ('undated' when no evidence has a time; incident 'unspecified' when the report gave none).",
		"A report is counted once in a cell. A report with findings for two compounds is counted in a cell of each; its compound totals count it in each compound, while the incident-month totals and the total count it once, so they can be less than the sum of the cells.",
		"A report tied to one compound and potentially associated with another is counted in both tables.",
		fmt.Sprintf("Counts from 1 to %d are suppressed (k = %d); further counts, cells or totals, are suppressed so that no suppressed count can be worked out from the published ones, even assuming every total is the sum of its cells and counts are whole and not negative (complementary suppression).", k-1, k),
		"Combinations not listed are zero. Suppressed rows have an empty count and status 'suppressed'.",
	}
}

// Write writes res as CSV, after comment lines (starting with '#') that
// state the method and what about says of the source, one item a line.
func Write(w io.Writer, res *Result, about []string) error {
	bw := bufio.NewWriter(w)
	for _, l := range append(Method(res.K), about...) {
		fmt.Fprintf(bw, "# %s\n", strings.ReplaceAll(l, "\n", " "))
	}
	cw := csv.NewWriter(bw)
	cw.Write(Header)
	row := func(t *Table, level, compound, incident, month string, v Value) {
		n, status := strconv.Itoa(v.N), "published"
		if v.Suppressed {
			n, status = "", "suppressed"
		} else if v.N == 0 && level == LevelCell {
			return
		}
		cw.Write([]string{t.Tier.String(), level, export.SafeCell(compound), export.SafeCell(incident), month, n, status})
	}
	for _, t := range res.Tables {
		for r, comp := range t.Rows {
			for c, col := range t.Cols {
				row(t, LevelCell, comp, col.Incident, col.Month, t.Cells[r][c])
			}
			row(t, LevelCompoundTotal, comp, "", "", t.RowTotals[r])
		}
		for c, col := range t.Cols {
			row(t, LevelColumnTotal, "", col.Incident, col.Month, t.ColTotals[c])
		}
		row(t, LevelTotal, "", "", "", t.Total)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}
