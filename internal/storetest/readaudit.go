package storetest

import (
	"sync"
	"testing"

	"github.com/seams-dev/seams"
)

// testConcurrentReadsAudited: reads made at once by several principals
// (whose audit entries a store may commit together) each return only once
// audited: after them, every read has its entry, under its own actor and
// organisation, and the chain verifies.
func testConcurrentReadsAudited(t *testing.T, e Engine) {
	st, _ := e.New(t)
	defer st.Close()
	a, b := orgFixture(t, st)
	before := auditCount(t, st, "summary.read")
	const readers, reads = 6, 15
	var wg sync.WaitGroup
	errs := make(chan error, readers*reads)
	for i := range readers {
		p := []seams.Principal{a, b, Operator}[i%3]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range reads {
				if _, err := st.Summary(ctx(), p, seams.SummaryQuery{}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := auditCount(t, st, "summary.read") - before; got != readers*reads {
		t.Errorf("%d reads, %d audit entries", readers*reads, got)
	}
	by := map[string]int{}
	for _, en := range auditEntries(t, st, "summary.read") {
		by[en.Org+" "+en.Actor]++
	}
	for _, p := range []seams.Principal{a, b, Operator} {
		if by[p.Org+" "+p.Actor()] < readers/3*reads {
			t.Errorf("entries by %s: %d, want at least %d (%v)", p.Actor(), by[p.Org+" "+p.Actor()], readers/3*reads, by)
		}
	}
	if _, err := st.VerifyAudit(ctx(), Operator); err != nil {
		t.Errorf("the chain after concurrent reads: %v", err)
	}
}

func auditEntries(t testing.TB, st seams.Store, action string) []seams.AuditEntry {
	t.Helper()
	var out []seams.AuditEntry
	q := seams.AuditQuery{Action: action, Limit: 10000}
	for {
		page, err := st.AuditEntries(ctx(), Operator, q)
		must(t, err)
		out = append(out, page...)
		if len(page) < q.Limit {
			return out
		}
		q.After = page[len(page)-1].Seq
		if len(out) > 1_000_000 {
			t.Fatalf("audit of %s does not end", action)
		}
	}
}

func auditCount(t testing.TB, st seams.Store, action string) int {
	t.Helper()
	return len(auditEntries(t, st, action))
}
