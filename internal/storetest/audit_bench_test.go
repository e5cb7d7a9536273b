package storetest_test

import (
	"context"
	"database/sql"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/storetest"
)

// BenchmarkVerifyAudit measures verifying a chain of SEAMS_BENCH_AUDIT
// entries (default 100,000; docs/store.md used 1,000,000): the whole chain
// (full), and from the checkpoint the first verification left after 100
// more entries (incremental).
func BenchmarkVerifyAudit(b *testing.B) {
	n := 100000
	if s := os.Getenv("SEAMS_BENCH_AUDIT"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			b.Fatalf("SEAMS_BENCH_AUDIT=%q", s)
		}
	}
	ctx, p := context.Background(), storetest.Operator
	for _, e := range benchEngines(b) {
		b.Run(e.name, func(b *testing.B) {
			st := e.new(b)
			defer st.Close()
			appendEntries(b, storetest.DB(b, st), n)
			b.Run("full", func(b *testing.B) {
				for b.Loop() {
					if _, err := st.VerifyAuditFull(ctx, p); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("incremental", func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					if _, err := st.VerifyAudit(ctx, p); err != nil { // the checkpoint at the head
						b.Fatal(err)
					}
					for range 100 {
						if err := st.Audit(ctx, p, seams.AuditEvent{Action: "bench", Object: "x"}); err != nil {
							b.Fatal(err)
						}
					}
					b.StartTimer()
					head, err := st.VerifyAudit(ctx, p)
					if err != nil {
						b.Fatal(err)
					}
					if head.From == 0 || head.Checked > 102 {
						b.Fatalf("incremental verification %+v", head)
					}
				}
			})
		})
	}
}

// appendEntries appends n chained entries to the audit log directly, as
// a store does, in large transactions.
func appendEntries(b *testing.B, db *sql.DB, n int) {
	b.Helper()
	var seq int64
	var head []byte
	if err := db.QueryRow(`SELECT audit_seq, audit_hash FROM state WHERE id = 1`).Scan(&seq, &head); err != nil {
		b.Fatal(err)
	}
	e := seams.AuditEntry{At: time.Unix(1767225600, 0).UTC(), Actor: "cli:bench", Org: "org-a"}
	copy(e.Prev[:], head)
	dollar := func(q string) string { return q }
	if _, err := db.Exec(`SELECT $1`, 1); err == nil {
		dollar = func(string) string {
			return `INSERT INTO audit (seq, at_ns, actor, org, action, object, detail, prev, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
		}
	}
	ins := dollar(`INSERT INTO audit (seq, at_ns, actor, org, action, object, detail, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	for done := 0; done < n; {
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		for k := 0; k < 10000 && done < n; k++ {
			seq++
			done++
			e.Seq = seq
			e.AuditEvent = seams.AuditEvent{Action: "findings.read", Object: "findings", Detail: "17 findings"}
			e.Hash = seams.AuditHash(&e)
			if _, err := tx.Exec(ins, e.Seq, e.At.UnixNano(), e.Actor, e.Org, e.Action, e.Object, e.Detail, e.Prev[:], e.Hash[:]); err != nil {
				b.Fatal(err)
			}
			e.Prev = e.Hash
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	upd := `UPDATE state SET audit_seq = ?, audit_hash = ? WHERE id = 1`
	if _, err := db.Exec(`SELECT $1`, 1); err == nil {
		upd = `UPDATE state SET audit_seq = $1, audit_hash = $2 WHERE id = 1`
	}
	if _, err := db.Exec(upd, seq, e.Prev[:]); err != nil {
		b.Fatal(err)
	}
}
