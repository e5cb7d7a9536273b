// Package sqlstore is the one implementation of seams.Store over
// database/sql that the engines share: the sqlite and postgres packages
// open their database, give it a Dialect, and get the same schema, queries
// and behaviour. It is internal: users pick an engine package.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seams-dev/seams"
	"github.com/seams-dev/seams/internal/termsafe"
)

// Failpoint, when set, is called at named points inside transactions
// ("reports.insert", "run.write", "indicators.insert"); crash tests set it
// in a child process to stop it there and kill it. It is nil in
// production.
var Failpoint func(name string)

func failpoint(name string) {
	if Failpoint != nil {
		Failpoint(name)
	}
}

// Store implements seams.Store.
type Store struct {
	w, r *sql.DB
	d    *Dialect
	log  *slog.Logger
	now  func() time.Time

	mu     sync.Mutex
	rebind map[string]string

	reads readAudits
}

// Options configures a Store.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time // for tests; time.Now by default
}

// New returns a store over w (for writes; one writer at a time is enough)
// and r (for reads; may be the same pool), migrating the schema first.
func New(ctx context.Context, w, r *sql.DB, d *Dialect, o Options) (*Store, error) {
	s := &Store{w: w, r: r, d: d, log: o.Logger, now: o.Now, rebind: map[string]string{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := migrate(ctx, w, d, func() int64 { return s.now().UnixNano() }); err != nil {
		return nil, err
	}
	if err := s.ensureSummary(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// DB returns the database written to, for tests that tamper with it.
func (s *Store) DB() *sql.DB { return s.w }

// Dialect returns the store's dialect.
func (s *Store) Dialect() *Dialect { return s.d }

// Close closes the databases.
func (s *Store) Close() error {
	err := s.w.Close()
	if s.r != s.w {
		if rerr := s.r.Close(); err == nil {
			err = rerr
		}
	}
	return err
}

// q renders a query's {{TYPE}} markers for the dialect and rewrites its ?
// placeholders as $1, $2... where the dialect wants them.
func (s *Store) q(query string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.rebind[query]; ok {
		return r
	}
	r := s.d.render(query)
	if s.d.Dollar {
		var b strings.Builder
		n := 0
		inQuote := false
		for i := 0; i < len(r); i++ {
			c := r[i]
			switch {
			case c == '\'':
				inQuote = !inQuote
			case c == '?' && !inQuote:
				n++
				b.WriteString("$" + strconv.Itoa(n))
				continue
			}
			b.WriteByte(c)
		}
		r = b.String()
	}
	if len(s.rebind) < 4096 { // queries built per batch size are few; bound it anyway
		s.rebind[query] = r
	}
	return r
}

// tx is a transaction: a write one holds the store's lock from its start,
// and appends its audit entries last, just before it commits.
type tx struct {
	s     *Store
	tx    *sql.Tx
	ctx   context.Context
	p     seams.Principal
	audit []seams.AuditEvent
	rec   int64 // the record time of a write, once taken (recordTime)
}

func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(t.ctx, t.s.q(query), args...)
}

func (t *tx) query(query string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(t.ctx, t.s.q(query), args...)
}

func (t *tx) queryRow(query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(t.ctx, t.s.q(query), args...)
}

// record queues an audit entry, written when the transaction commits.
func (t *tx) record(action, object, detail string) {
	t.audit = append(t.audit, seams.AuditEvent{Action: action, Object: object, Detail: detail})
}

// allow checks that p may act with role need.
func allow(p seams.Principal, need seams.Role) error {
	if p.Org == "" {
		return fmt.Errorf("%w: principal has no organisation", seams.ErrForbidden)
	}
	if !p.Role.Allows(need) {
		return fmt.Errorf("%w: %s needs role %s", seams.ErrForbidden, roleName(p.Role), need)
	}
	return nil
}

func roleName(r seams.Role) string {
	if r == "" {
		return "no role"
	}
	return "role " + string(r)
}

// write runs fn in a write transaction on behalf of p, which must have
// role need. The audit entries fn queued are appended, then it commits.
func (s *Store) write(ctx context.Context, p seams.Principal, need seams.Role, fn func(t *tx) error) error {
	if err := allow(p, need); err != nil {
		return err
	}
	sqltx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer sqltx.Rollback()
	t := &tx{s: s, tx: sqltx, ctx: ctx, p: p}
	if s.d.LockState != "" {
		if _, err := t.exec(s.d.LockState); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
	}
	if err := fn(t); err != nil {
		return err
	}
	if err := t.appendAudit(); err != nil {
		return err
	}
	return sqltx.Commit()
}

// read runs fn in a read-only transaction on behalf of p (one consistent
// view), then appends the audit entries fn queued: a read of findings or
// reports returns only once it is on the record.
func (s *Store) read(ctx context.Context, p seams.Principal, fn func(t *tx, v viewer) error) error {
	if err := allow(p, seams.RoleViewer); err != nil {
		return err
	}
	sqltx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: s.d.Dollar, Isolation: s.readIsolation()})
	if err != nil {
		return err
	}
	defer sqltx.Rollback()
	t := &tx{s: s, tx: sqltx, ctx: ctx, p: p}
	v, err := t.viewer(p)
	if err != nil {
		return err
	}
	if err := fn(t, v); err != nil {
		return err
	}
	if err := sqltx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return err
	}
	if len(t.audit) == 0 {
		return nil
	}
	return s.auditRead(p, t.audit)
}

// readAudits gathers the audit entries of reads that finished while
// another batch was being committed, so that one write transaction (one
// fsync) appends them all: with every read of the API audited, a commit
// per read made concurrent readers queue on the disk, one after another
// (about 10 ms each on the development machine). The entries, their
// order within a read and the chain are those one transaction per read
// would write.
type readAudits struct {
	mu      sync.Mutex
	pending []*readAudit
	running bool
}

type readAudit struct {
	p      seams.Principal
	events []seams.AuditEvent
	done   chan error
}

// auditRead appends a read's audit entries and returns once they are
// committed. The first read to come while no batch is being written
// starts a writer, which writes batches while reads keep coming (in its
// own goroutine: no read waits for other reads' batches). It does not
// give up when the read's context ends: the read happened, and its
// entries are written either way.
func (s *Store) auditRead(p seams.Principal, events []seams.AuditEvent) error {
	r := &readAudit{p: p, events: events, done: make(chan error, 1)}
	s.reads.mu.Lock()
	s.reads.pending = append(s.reads.pending, r)
	lead := !s.reads.running
	s.reads.running = true
	s.reads.mu.Unlock()
	if lead {
		go s.writeReadAudits()
	}
	return <-r.done
}

// writeReadAudits commits the pending reads' entries, a batch at a time,
// until none is left.
func (s *Store) writeReadAudits() {
	for {
		s.reads.mu.Lock()
		batch := s.reads.pending
		s.reads.pending = nil
		if len(batch) == 0 {
			s.reads.running = false
			s.reads.mu.Unlock()
			return
		}
		s.reads.mu.Unlock()
		// Each read was allowed when it began; the entries name each
		// read's own principal.
		err := s.write(context.Background(), batch[0].p, seams.RoleViewer, func(w *tx) error {
			for _, r := range batch {
				w.p, w.audit = r.p, r.events
				if err := w.appendAudit(); err != nil {
					return err
				}
			}
			return nil
		})
		for _, r := range batch {
			r.done <- err
		}
	}
}

// view runs fn in a read-only transaction, for reference data that needs
// no principal (compounds) and is not audited.
func (s *Store) view(ctx context.Context, fn func(t *tx) error) error {
	sqltx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: s.d.Dollar, Isolation: s.readIsolation()})
	if err != nil {
		return err
	}
	defer sqltx.Rollback()
	return fn(&tx{s: s, tx: sqltx, ctx: ctx})
}

func (s *Store) readIsolation() sql.IsolationLevel {
	if s.d.Dollar {
		return sql.LevelRepeatableRead
	}
	return sql.LevelDefault
}

// viewer is what a principal may see: the rows of its organisation and
// those shared, or everything for the operator. Its conditions take the
// arguments all, org in that order.
type viewer struct {
	org int64
	all bool
}

func (t *tx) viewer(p seams.Principal) (viewer, error) {
	org, err := t.orgID(p.Org, false)
	return viewer{org: org, all: p.Operator}, err
}

func (v viewer) args() []any { return []any{boolInt(v.all), v.org} }

// sees is the condition that a row of alias a (columns org, shared) is
// visible.
func sees(a string) string { return "(? = 1 OR " + a + ".org = ? OR " + a + ".shared = 1)" }

// seesShared is the condition that a shared-space row applies to v's
// reports: the coalition set, a list shared with every organisation, or
// v's own (everything for the operator).
const seesShared = "(? = 1 OR scope <> 0 OR org = ?)"

// seesFinding is the condition that finding f of report r is visible: its
// organisation's, or of a shared report and made only of shared
// indicators.
const seesFinding = `(? = 1 OR f.org = ? OR (r.shared = 1 AND f.private = 0))`

// orgID returns the id of an organisation, creating it when create is set
// (and auditing that); 0 when it does not exist.
func (t *tx) orgID(name string, create bool) (int64, error) {
	var id int64
	err := t.queryRow(`SELECT id FROM orgs WHERE name = ?`, name).Scan(&id)
	if err == nil || !errors.Is(err, sql.ErrNoRows) || !create {
		if errors.Is(err, sql.ErrNoRows) {
			err = nil
		}
		return id, err
	}
	if err := checkName("organisation", name); err != nil {
		return 0, err
	}
	if err := t.queryRow(`INSERT INTO orgs (name, created_ns) VALUES (?, ?) RETURNING id`, name, t.s.now().UnixNano()).Scan(&id); err != nil {
		return 0, err
	}
	t.record("org.create", "org:"+name, "")
	return id, nil
}

// checkName refuses names that would confuse a reader of the audit log or
// a terminal: empty, over 128 bytes, or with control characters.
func checkName(what, s string) error {
	if s == "" || len(s) > 128 || strings.TrimSpace(s) != s {
		return fmt.Errorf("%w: %s name %q (1-128 characters, no surrounding spaces)", seams.ErrInvalid, what, clean(s))
	}
	for _, r := range s {
		if termsafe.Unsafe(r) || r == '\uFFFD' {
			return fmt.Errorf("%w: %s name %q (control character or bidirectional control)", seams.ErrInvalid, what, termsafe.String(clean(s)))
		}
	}
	return nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// nsOrNull stores a time as Unix nanoseconds, or NULL when zero.
func nsOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func timeOf(ns sql.NullInt64) time.Time {
	if !ns.Valid {
		return time.Time{}
	}
	return time.Unix(0, ns.Int64).UTC()
}

// placeholders returns "(?, ?, ?), (?, ?, ?)" for rows of n columns.
func placeholders(rows, n int) string {
	one := "(" + strings.Repeat("?, ", n-1) + "?)"
	return strings.Repeat(one+", ", rows-1) + one
}

func inList(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// Cursors are opaque to callers; inside they are the last id of a page,
// prefixed so that a cursor of one listing is refused by another.
func cursorOf(kind string, id int64) string { return kind + strconv.FormatInt(id, 10) }

func parseCursor(kind, c string) (int64, error) {
	if c == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(c, kind), 10, 64)
	if !strings.HasPrefix(c, kind) || err != nil || n < 0 {
		return 0, fmt.Errorf("%w: cursor %q", seams.ErrInvalid, clean(c))
	}
	return n, nil
}

func limit(n, def, most int) int {
	if n <= 0 {
		return def
	}
	return min(n, most)
}

var _ seams.Store = (*Store)(nil)
