package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/termsafe"
)

var auditCommand = &command{
	summary: "verify or list the store's hash-chained audit log",
	usage: `Usage:
  seams audit verify (--data DIR | --db URL) [--full]
  seams audit list   (--data DIR | --db URL) [--after SEQ] [--limit N]
                     [--action ACTION] [--object OBJECT] [--org ORG] [--json]

The store writes every change (loads, runs, reviews, tokens) and every read
of findings and reports to an append-only audit log, in the transaction of
the change. Each entry holds the SHA-256 of the one before it and of its own
fields, so that editing, inserting or removing an entry breaks the chain.

verify recomputes the chain from the last verified checkpoint (the whole
chain the first time, or with --full), checks that the current review
marks, indicator files, shared-space lists and compounds are what the chain
recorded last (so that a row edited in the database behind the store's back
is found), records the head as the new checkpoint, and prints the length
and last hash (keep that hash elsewhere: a log cut short, or rewritten
whole, with its head can only be caught against a copy). It exits 1 naming
the first entry or object that does not verify.
list prints entries in order, oldest first. Text that came from outside
(a request's path, a report id, a file name) is printed with its control
characters escaped (\x1b, \u202e): what is shown is what is stored.

Flags:
` + storeFlagsHelp + `  --after SEQ         list entries after this one (default 0: from the start)
  --limit N           list at most N entries (default 1000)
  --action ACTION     only entries of this action, e.g. finding.review
  --object OBJECT     only entries about this object, e.g. finding:42
  --org ORG           only entries of this organisation
  --json              one JSON object a line instead of a table
  --full              verify: recompute the whole chain, not from the
                      checkpoint

Examples:
  seams audit verify --data case/
  seams audit list --data case/ --action finding.review
`,
	run: runAudit,
}

func runAudit(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usagef("audit", "want verify or list (before the flags)")
	}
	sub, args := args[0], args[1:]
	fs := newFlags("audit")
	var sa storeArgs
	sa.register(fs)
	var q seams.AuditQuery
	var org string
	var asJSON bool
	fs.Int64Var(&q.After, "after", 0, "")
	fs.IntVar(&q.Limit, "limit", 1000, "")
	fs.StringVar(&q.Action, "action", "", "")
	fs.StringVar(&q.Object, "object", "", "")
	fs.StringVar(&org, "org", "", "")
	fs.BoolVar(&asJSON, "json", false, "")
	var full bool
	fs.BoolVar(&full, "full", false, "")
	pos, err := parseMixed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("audit", "unexpected argument %q", pos[0])
	}
	if sub != "verify" && sub != "list" {
		return usagef("audit", "unknown subcommand %q (want verify or list)", sub)
	}
	if q.Limit < 1 || q.Limit > 10000 {
		return usagef("audit", "--limit %d out of range (1 to 10000)", q.Limit)
	}
	st, err := sa.open(ctx, "audit", newLogger(e.stderr, false))
	if err != nil {
		return storeError(err)
	}
	defer st.Close()
	p := operator(defaultOrg)
	if sub == "verify" {
		verify := st.VerifyAudit
		if full {
			verify = st.VerifyAuditFull
		}
		head, err := verify(ctx, p)
		if err != nil {
			return err
		}
		from := "the whole chain recomputed"
		if head.From > 0 {
			from = fmt.Sprintf("entries %d to %d recomputed from the checkpoint at entry %d (--full recomputes all)", head.From+1, head.Seq, head.From)
		}
		fmt.Fprintf(e.stdout, "audit log verifies: %d entries, last hash %s; %s; the state of reviews, indicator files, shared space and compounds is what it records\n",
			head.Seq, hex.EncodeToString(head.Hash[:]), from)
		return nil
	}
	// An organisation filter is applied here: the operator's query sees
	// every organisation.
	var shown []seams.AuditEntry
	for len(shown) < q.Limit {
		page, err := st.AuditEntries(ctx, p, q)
		if err != nil {
			return err
		}
		for _, a := range page {
			if org == "" || a.Org == org {
				shown = append(shown, a)
			}
		}
		if len(page) < q.Limit {
			break
		}
		q.After = page[len(page)-1].Seq
	}
	shown = shown[:min(len(shown), q.Limit)]
	if asJSON {
		for _, a := range shown {
			b, err := json.Marshal(map[string]any{"seq": a.Seq, "at": a.At.Format(time.RFC3339Nano), "actor": a.Actor, "org": a.Org,
				"action": a.Action, "object": a.Object, "detail": a.Detail, "hash": hex.EncodeToString(a.Hash[:])})
			if err != nil {
				return err
			}
			if _, err := e.stdout.Write(append(termsafe.JSON(b), '\n')); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "seq\tat\tactor\torg\taction\tobject\tdetail")
	for _, a := range shown {
		// Actor, object and detail may hold what a request sent (an
		// unauthenticated URL path, a report id): escaped, never raw.
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Seq, a.At.Format(time.RFC3339), termsafe.String(a.Actor), termsafe.String(a.Org),
			termsafe.String(a.Action), termsafe.String(a.Object), termsafe.String(a.Detail))
	}
	return tw.Flush()
}
