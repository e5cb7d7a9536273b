package seams

// ReportRecord is one record read from a report input: a report, perhaps
// with some of its parts rejected on their own, or a record rejected whole.
type ReportRecord struct {
	// Report is the report read; meaningless when Whole is set.
	Report Report
	// Line is where the record starts in its file, 1-based; 0 for a format
	// without lines.
	Line int
	// Raw is the record's text (or its start), quoted in the rejection of
	// a duplicate report id; it may be nil.
	Raw []byte
	// Whole, when set, says why the record was rejected whole.
	Whole *RecordError
	// Parts are the parts of Report rejected on their own (an ip event, a
	// device), in the order they were met.
	Parts []RecordError
}

// ReportReader reads the records of one report input, in any format. Every
// record read is returned, as a report or as a rejection, in input order:
// that is what lets a run account for everything it read.
//
// The pipeline in package xref reads JSON Lines with its own parallel
// parser; every other format comes to it as a ReportReader.
type ReportReader interface {
	// Next returns the next record, or io.EOF after the last. Any other
	// error means the input cannot be read on (an I/O error, a file cut
	// short in a way no record can describe) and ends the run. The record
	// and everything it points to are valid until the next call.
	Next() (*ReportRecord, error)
}
