// Package export turns the output of a cross-reference run (findings.jsonl
// and summary.json) into the formats partners use: STIX 2.1, MISP, a flat
// signal feed, and findings as CSV or Parquet for spreadsheets and
// analytical databases. Run is what "seams export" does.
package export
