package sqlstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seams-dev/seams"
)

// Rows of a multi-row INSERT: enough to amortize a statement, few enough to
// stay under both engines' limits on parameters (SQLite 32766).
const insertRows = 500

// PutCompounds implements seams.Loader. A compound belongs to the
// organisation that first stored it: another organisation's analyst may
// not rename it, move it or close it for everyone (only a coalition
// steward or the operator may change any). A change that moves a compound
// more than seams.MaxCompoundMove km, or to another country, needs
// f.Confirm. Every change is recorded as compound.update, which every
// organisation sees in its audit view.
func (s *Store) PutCompounds(ctx context.Context, p seams.Principal, f seams.CompoundFile, cs []seams.Compound) (seams.LoadResult, error) {
	var res seams.LoadResult
	file := f.Name
	if err := checkFile(file); err != nil {
		return res, err
	}
	for i := range cs {
		if !seams.ValidCompoundID(cs[i].ID) {
			return res, fmt.Errorf("%w: compound id %q", seams.ErrInvalid, clean(cs[i].ID))
		}
		if why := seams.UnstorableCompound(&cs[i]); why != "" {
			return res, fmt.Errorf("compound %s: %s", cs[i].ID, why)
		}
	}
	err := s.write(ctx, p, seams.RoleAnalyst, func(t *tx) error {
		res = seams.LoadResult{}
		stored, err := t.compounds()
		if err != nil {
			return err
		}
		owners, err := t.compoundOwners()
		if err != nil {
			return err
		}
		org, err := t.orgID(p.Org, true)
		if err != nil {
			return err
		}
		now := s.now().UnixNano()
		seen := map[string]bool{}
		countryChanged := false
		for _, c := range cs {
			if seen[c.ID] {
				continue // the first one stands, as in a file
			}
			seen[c.ID] = true
			aliases, _ := json.Marshal(nonNil(c.Aliases))
			var lat, lon any
			if c.HasLocation {
				lat, lon = c.Lat, c.Lon
			}
			old, ok := stored[c.ID]
			switch {
			case !ok:
				if _, err := t.exec(`INSERT INTO compounds (id, name, aliases, country, province, lat, lon, status, file, added_by, added_ns, updated_by, updated_ns, org)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
					c.ID, c.Name, string(aliases), c.Country, c.Province, lat, lon, string(c.Status), file, p.Actor(), now, p.Actor(), now, org); err != nil {
					return err
				}
				if err := t.compoundVersion(&c, string(aliases), lat, lon); err != nil {
					return err
				}
				res.New++
			case !sameCompound(&old, &c):
				if owner := owners[c.ID]; owner != org && !steward(p) {
					return fmt.Errorf("%w: compound %s belongs to %s: only that organisation, a coalition steward or the operator may change it (nothing was stored)",
						seams.ErrForbidden, c.ID, t.orgName(owner))
				}
				change, absurd := compoundChange(&old, &c)
				if absurd != "" && !f.Confirm {
					return fmt.Errorf("%w: %w: compound %s: %s (nothing was stored)", seams.ErrInvalid, seams.ErrNeedsConfirm, c.ID, absurd)
				}
				if absurd != "" {
					change += "; confirmed"
				}
				if _, err := t.exec(`UPDATE compounds SET name = ?, aliases = ?, country = ?, province = ?, lat = ?, lon = ?, status = ?, updated_by = ?, updated_ns = ? WHERE id = ?`,
					c.Name, string(aliases), c.Country, c.Province, lat, lon, string(c.Status), p.Actor(), now, c.ID); err != nil {
					return err
				}
				if err := t.compoundVersion(&c, string(aliases), lat, lon); err != nil {
					return err
				}
				res.Updated++
				countryChanged = countryChanged || old.Country != c.Country
				t.record("compound.update", "compound:"+c.ID, change+"; from "+file)
			default:
				res.Unchanged++
			}
		}
		if countryChanged {
			// Reports are counted by the countries of their compounds:
			// count them again (rare: a compound seldom moves).
			if err := t.rebuildSummary(); err != nil {
				return err
			}
		}
		state, err := t.compoundsState()
		if err != nil {
			return err
		}
		t.record("compounds.load", "file:"+file, fmt.Sprintf("%d new, %d updated, %d unchanged; %s", res.New, res.Updated, res.Unchanged, state))
		return nil
	})
	return res, err
}

// compoundOwners returns the owner of every compound, by id (0: the
// coalition's, for compounds stored before owners were kept).
func (t *tx) compoundOwners() (map[string]int64, error) {
	rows, err := t.query(`SELECT id, org FROM compounds`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var org int64
		if err := rows.Scan(&id, &org); err != nil {
			return nil, err
		}
		out[id] = org
	}
	return out, rows.Err()
}

// orgName names an organisation by id ("the coalition" for 0).
func (t *tx) orgName(id int64) string {
	var name string
	if id == 0 || t.queryRow(`SELECT name FROM orgs WHERE id = ?`, id).Scan(&name) != nil {
		return "the coalition"
	}
	return name
}

// compoundChange says what a change of a compound changes, and why it
// needs confirmation ("" when it does not): a move of more than
// seams.MaxCompoundMove km, or to another country.
func compoundChange(old, c *seams.Compound) (change, absurd string) {
	var parts, why []string
	if old.Name != c.Name {
		parts = append(parts, fmt.Sprintf("name %q to %q", old.Name, c.Name))
	}
	if !slices.Equal(old.Aliases, c.Aliases) {
		parts = append(parts, "aliases")
	}
	if old.Country != c.Country {
		parts = append(parts, fmt.Sprintf("country %s to %s", old.Country, c.Country))
		why = append(why, fmt.Sprintf("moved from country %s to %s", old.Country, c.Country))
	}
	if old.Province != c.Province {
		parts = append(parts, fmt.Sprintf("province %q to %q", old.Province, c.Province))
	}
	if old.HasLocation != c.HasLocation || old.Lat != c.Lat || old.Lon != c.Lon {
		if old.HasLocation && c.HasLocation {
			km := seams.Distance(old.Lat, old.Lon, c.Lat, c.Lon)
			parts = append(parts, fmt.Sprintf("moved %.0f km", km))
			if km > seams.MaxCompoundMove {
				why = append(why, fmt.Sprintf("moved %.0f km (more than %d)", km, seams.MaxCompoundMove))
			}
		} else {
			parts = append(parts, "location")
		}
	}
	if old.Status != c.Status {
		parts = append(parts, fmt.Sprintf("status %s to %s", old.Status, c.Status))
	}
	return strings.Join(parts, ", "), strings.Join(why, ", ")
}

// compoundVersion records what c says from this transaction's record
// time on: compounds are updated in place, compound_versions keeps each
// version for a replay of the store as it was.
func (t *tx) compoundVersion(c *seams.Compound, aliases string, lat, lon any) error {
	rec, err := t.recordTime()
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO compound_versions (compound, recorded_ns, name, aliases, country, province, lat, lon, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, rec, c.Name, aliases, c.Country, c.Province, lat, lon, string(c.Status))
	return err
}

// recordTime returns the record time of the transaction: the wall clock,
// made strictly greater than every record time handed out before
// (state.recorded_ns), so that record times order the writes that change
// the registry as they committed, even when the clock steps back. Writers
// are serialized, so the first call of a transaction reads the state
// after every earlier commit; later calls return the same time.
func (t *tx) recordTime() (int64, error) {
	if t.rec != 0 {
		return t.rec, nil
	}
	var last int64
	if err := t.queryRow(`SELECT recorded_ns FROM state WHERE id = 1`).Scan(&last); err != nil {
		return 0, fmt.Errorf("record clock: %w", err)
	}
	rec := max(t.s.now().UnixNano(), last+1)
	if _, err := t.exec(`UPDATE state SET recorded_ns = ? WHERE id = 1`, rec); err != nil {
		return 0, fmt.Errorf("record clock: %w", err)
	}
	t.rec = rec
	return rec, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func sameCompound(a, b *seams.Compound) bool {
	return a.Name == b.Name && slices.Equal(a.Aliases, b.Aliases) && a.Country == b.Country && a.Province == b.Province &&
		a.HasLocation == b.HasLocation && (!a.HasLocation || a.Lat == b.Lat && a.Lon == b.Lon) && a.Status == b.Status
}

func checkFile(name string) error {
	if len(name) > seams.MaxKey {
		return fmt.Errorf("%w: file name longer than %d bytes", seams.ErrInvalid, seams.MaxKey)
	}
	return checkName("file", name)
}

// compounds reads every compound, by id.
func (t *tx) compounds() (map[string]seams.Compound, error) {
	rows, err := t.query(`SELECT id, name, aliases, country, province, lat, lon, status FROM compounds ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]seams.Compound{}
	for rows.Next() {
		c, err := scanCompound(rows)
		if err != nil {
			return nil, err
		}
		out[c.ID] = c
	}
	return out, rows.Err()
}

func scanCompound(rows *sql.Rows) (seams.Compound, error) {
	var c seams.Compound
	var aliases, status string
	var lat, lon sql.NullFloat64
	if err := rows.Scan(&c.ID, &c.Name, &aliases, &c.Country, &c.Province, &lat, &lon, &status); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(aliases), &c.Aliases); err != nil {
		return c, fmt.Errorf("compound %s: aliases: %w", c.ID, err)
	}
	if len(c.Aliases) == 0 {
		c.Aliases = nil
	}
	c.Status = seams.Status(status)
	if lat.Valid && lon.Valid {
		c.Lat, c.Lon, c.HasLocation = lat.Float64, lon.Float64, true
	}
	return c, nil
}

// Compounds implements seams.Loader.
func (s *Store) Compounds(ctx context.Context) ([]seams.Compound, error) {
	var out []seams.Compound
	err := s.view(ctx, func(t *tx) error {
		m, err := t.compounds()
		for _, c := range m {
			out = append(out, c)
		}
		return err
	})
	slices.SortFunc(out, func(a, b seams.Compound) int { return strings.Compare(a.ID, b.ID) })
	return out, err
}

// indicatorDigest identifies an indicator by what it says, not where it
// was read: two rows with the same digest are the same indicator.
func indicatorDigest(in *seams.Indicator) []byte {
	h := sha256.New()
	for _, s := range []string{in.Compound, in.Kind.String(), in.Value, in.Source} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	var b [25]byte
	binary.BigEndian.PutUint64(b[0:], uint64(edge(in.Window.First)))
	binary.BigEndian.PutUint64(b[8:], uint64(edge(in.Window.Last)))
	binary.BigEndian.PutUint64(b[16:], math.Float64bits(in.Confidence))
	if in.HasConfidence {
		b[24] = 1
	}
	h.Write(b[:])
	// A drift bound is hashed only when present, so that an indicator
	// without one keeps the digest it was stored with before bounds were.
	if in.HasDrift {
		var d [9]byte
		d[0] = 'd'
		binary.BigEndian.PutUint64(d[1:], uint64(in.Drift))
		h.Write(d[:])
	}
	return h.Sum(nil)
}

// edge distinguishes an open window edge from every real instant.
func edge(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixNano()
}

// PutIndicators implements seams.Loader.
func (s *Store) PutIndicators(ctx context.Context, p seams.Principal, f seams.IndicatorFile, inds []seams.Indicator) (seams.LoadResult, error) {
	var res seams.LoadResult
	if err := checkFile(f.Name); err != nil {
		return res, err
	}
	for i := range inds {
		if why := seams.UnstorableIndicator(&inds[i]); why != "" {
			return res, fmt.Errorf("%s:%d: %s", f.Name, inds[i].Line, why)
		}
		if _, err := seams.ParseIndicatorValue(inds[i].Kind, inds[i].Value); err != nil {
			return res, fmt.Errorf("%s:%d: %w", f.Name, inds[i].Line, err)
		}
	}
	err := s.write(ctx, p, seams.RoleAnalyst, func(t *tx) error {
		res = seams.LoadResult{}
		org, err := t.orgID(p.Org, true)
		if err != nil {
			return err
		}
		compounds, err := t.compounds()
		if err != nil {
			return err
		}
		for i := range inds {
			if _, ok := compounds[inds[i].Compound]; !ok {
				return fmt.Errorf("%s:%d: unknown compound %q (load the compounds first)", f.Name, inds[i].Line, inds[i].Compound)
			}
		}
		var version int
		var lastSHA []byte
		var lastShared int64
		err = t.queryRow(`SELECT version, sha256, shared FROM indicator_files WHERE org = ? AND name = ? ORDER BY version DESC LIMIT 1`, org, f.Name).
			Scan(&version, &lastSHA, &lastShared)
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		res.Version = version

		// The active rows of this file, by what they say.
		active := map[string][]int64{}
		rows, err := t.query(`SELECT id, digest FROM indicators WHERE org = ? AND file = ? AND retired_ns IS NULL ORDER BY id`, org, f.Name)
		if err != nil {
			return err
		}
		nActive := 0
		for rows.Next() {
			var id int64
			var d []byte
			if err := rows.Scan(&id, &d); err != nil {
				rows.Close()
				return err
			}
			active[string(d)] = append(active[string(d)], id)
			nActive++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if version > 0 && bytes.Equal(lastSHA, f.SHA256[:]) && (lastShared == 1) == f.Shared {
			res.Unchanged = nActive
			t.record("indicators.load", "file:"+f.Name, fmt.Sprintf("version %d, unchanged", version))
			return nil
		}

		var add []int
		digests := make([][]byte, len(inds))
		for i := range inds {
			d := indicatorDigest(&inds[i])
			digests[i] = d
			if ids := active[string(d)]; len(ids) > 0 {
				active[string(d)] = ids[1:]
				res.Unchanged++
				continue
			}
			add = append(add, i)
		}
		var retire []int64
		for _, ids := range active {
			retire = append(retire, ids...)
		}
		slices.Sort(retire)
		sharingChanged := version > 0 && (lastShared == 1) != f.Shared && res.Unchanged > 0
		if len(add) == 0 && len(retire) == 0 && !sharingChanged {
			t.record("indicators.load", "file:"+f.Name, fmt.Sprintf("version %d, same indicators", version))
			return nil
		}

		version++
		res.Version = version
		now := s.now().UnixNano()
		rec, err := t.recordTime()
		if err != nil {
			return err
		}
		if _, err := t.exec(`INSERT INTO indicator_files (org, name, version, shared, sha256, indicators, added, retired, loaded_by, loaded_ns, recorded_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			org, f.Name, version, boolInt(f.Shared), f.SHA256[:], len(inds), len(add), len(retire), p.Actor(), now, rec); err != nil {
			return err
		}
		for chunk := range slices.Chunk(retire, insertRows) {
			// Retirement is a record time: a replay as of an earlier
			// time sees the version active.
			args := []any{rec, version}
			for _, id := range chunk {
				args = append(args, id)
			}
			if _, err := t.exec(`UPDATE indicators SET retired_ns = ?, retired_version = ? WHERE id IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")+`)`, args...); err != nil {
				return err
			}
		}
		res.Retired = len(retire)
		if sharingChanged {
			if _, err := t.exec(`UPDATE indicators SET shared = ? WHERE org = ? AND file = ? AND retired_ns IS NULL`, boolInt(f.Shared), org, f.Name); err != nil {
				return err
			}
			res.Updated = res.Unchanged
			res.Unchanged = 0
		}

		// Each new row is the next version of its (compound, kind, value)
		// in this file.
		type key struct {
			compound string
			kind     int
			value    string
		}
		versions := map[key]int{}
		rows, err = t.query(`SELECT compound, kind, value, MAX(version) FROM indicators WHERE org = ? AND file = ? GROUP BY compound, kind, value`, org, f.Name)
		if err != nil {
			return err
		}
		for rows.Next() {
			var k key
			var v int
			if err := rows.Scan(&k.compound, &k.kind, &k.value, &v); err != nil {
				rows.Close()
				return err
			}
			versions[k] = v
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		const cols = 20
		for chunk := range slices.Chunk(add, insertRows) {
			args := make([]any, 0, cols*len(chunk))
			for _, i := range chunk {
				in := &inds[i]
				k := key{in.Compound, int(in.Kind), in.Value}
				versions[k]++
				var conf any
				if in.HasConfidence {
					conf = in.Confidence
				}
				var drift any
				if in.HasDrift {
					drift = int64(in.Drift)
				}
				var lo, hi any
				if p, ok := indicatorPrefix(in); ok {
					l, h := bounds(p)
					lo, hi = l[:], h[:]
				}
				args = append(args, org, f.Name, boolInt(f.Shared), in.Compound, int64(in.Kind), in.Value, lo, hi,
					nsOrNull(in.Window.First), nsOrNull(in.Window.Last), conf, in.Source, int64(in.Line),
					digests[i], versions[k], version, p.Actor(), now, drift, rec)
			}
			if _, err := t.exec(`INSERT INTO indicators (org, file, shared, compound, kind, value, lo, hi, first_ns, last_ns, confidence, source, line, digest, version, file_version, added_by, added_ns, drift_ns, recorded_ns)
				VALUES `+placeholders(len(chunk), cols), args...); err != nil {
				return err
			}
		}
		failpoint("indicators.insert")
		res.New = len(add)
		if err := t.bumpRegistry(); err != nil {
			return err
		}
		state, err := t.indicatorsState(org, f.Name)
		if err != nil {
			return err
		}
		t.record("indicators.load", "file:"+f.Name, fmt.Sprintf("version %d: %d new, %d retired, %d unchanged, shared %v; %s", version, res.New, res.Retired, res.Unchanged, f.Shared, state))
		return nil
	})
	return res, err
}

func (t *tx) bumpRegistry() error {
	_, err := t.exec(`UPDATE state SET registry_version = registry_version + 1 WHERE id = 1`)
	return err
}

// PutShared implements seams.Loader. A list belongs to p's organisation
// (the coalition set to nobody's: org 0) and is identified by its owner
// and name, so that no organisation can empty or widen another's list.
// Its scope says whose reports it applies to; a list that applies to
// other organisations is recorded as shared.global, which every
// organisation sees in its audit view.
func (s *Store) PutShared(ctx context.Context, p seams.Principal, l seams.SharedSpaceList) (seams.LoadResult, error) {
	var res seams.LoadResult
	if err := checkFile(l.Name); err != nil {
		return res, err
	}
	if l.Scope < seams.SharedOwn || l.Scope > seams.SharedCoalition {
		return res, fmt.Errorf("%w: shared-space scope %d", seams.ErrInvalid, l.Scope)
	}
	if l.Scope == seams.SharedCoalition && !steward(p) {
		return res, fmt.Errorf("%w: the coalition-wide shared space is changed only by a coalition steward (role coalition) or the operator", seams.ErrForbidden)
	}
	for _, sp := range l.Prefixes {
		if !sp.IsValid() || sp.Masked() != sp {
			return res, fmt.Errorf("%w: %s: prefix %s is not canonical", seams.ErrInvalid, l.Name, sp)
		}
		if sp.Bits() == 0 {
			return res, fmt.Errorf("%w: %s: %s is every address: shared space that holds every address would downgrade every finding (refused, confirmed or not)", seams.ErrInvalid, l.Name, sp)
		}
	}
	v4, v6 := sharedCover(l.Prefixes)
	wide := v4 > seams.MaxSharedCover || v6 > seams.MaxSharedCover
	if wide && l.Scope == seams.SharedAll && !steward(p) {
		// Confirmation guards against a mistake, not against a member:
		// a list this wide applies to other organisations' reports only
		// as the coalition's.
		return res, fmt.Errorf("%w: %s covers %s of IPv4 and %s of IPv6: a list covering more than %s of a family applies to other organisations only in the coalition set (a coalition steward's); keep it to your organisation's reports (not shared)",
			seams.ErrForbidden, l.Name, percent(v4), percent(v6), percent(seams.MaxSharedCover))
	}
	if wide && !l.Confirm {
		return res, fmt.Errorf("%w: %w: %s covers %s of IPv4 and %s of IPv6, more than %s of a family: every finding on those addresses would be downgraded; nothing was stored",
			seams.ErrInvalid, seams.ErrNeedsConfirm, l.Name, percent(v4), percent(v6), percent(seams.MaxSharedCover))
	}
	asns := slices.Clone(l.ASNs)
	slices.Sort(asns)
	asns = slices.Compact(asns)
	err := s.write(ctx, p, seams.RoleAdmin, func(t *tx) error {
		res = seams.LoadResult{}
		owner := int64(0)
		if l.Scope != seams.SharedCoalition {
			var err error
			if owner, err = t.orgID(p.Org, true); err != nil {
				return err
			}
		}
		oldScope := -1
		type entry struct {
			table, col string
			items      []string
			value      func(i int) (string, []any)
		}
		now := s.now().UnixNano()
		rec := int64(0) // the record time, taken when something changes
		recTime := func() (int64, error) {
			var err error
			if rec == 0 {
				rec, err = t.recordTime()
			}
			return rec, err
		}
		for _, en := range []entry{
			{"shared_space", "prefix", nil, func(i int) (string, []any) {
				sp := l.Prefixes[i]
				lo, hi := bounds(sp)
				return sp.String(), []any{lo[:], hi[:]}
			}},
			{"shared_asn", "asn", nil, func(i int) (string, []any) { return strconv.FormatUint(uint64(asns[i]), 10), nil }},
		} {
			n := len(l.Prefixes)
			if en.table == "shared_asn" {
				n = len(asns)
			}
			active := map[string][]int64{}
			rows, err := t.query(`SELECT id, `+en.col+`, scope FROM `+en.table+` WHERE org = ? AND file = ? AND retired_ns IS NULL ORDER BY id`, owner, l.Name)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id, sc int64
				var v string
				if err := rows.Scan(&id, &v, &sc); err != nil {
					rows.Close()
					return err
				}
				active[v] = append(active[v], id)
				oldScope = int(sc)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for i := range n {
				v, extra := en.value(i)
				if ids := active[v]; len(ids) > 0 {
					active[v] = ids[1:]
					res.Unchanged++
					continue
				}
				rec, err := recTime()
				if err != nil {
					return err
				}
				if en.table == "shared_space" {
					_, err = t.exec(`INSERT INTO shared_space (org, file, scope, prefix, lo, hi, added_by, added_ns, recorded_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
						owner, l.Name, int64(l.Scope), v, extra[0], extra[1], p.Actor(), now, rec)
				} else {
					_, err = t.exec(`INSERT INTO shared_asn (org, file, scope, asn, added_by, added_ns, recorded_ns) VALUES (?, ?, ?, ?, ?, ?, ?)`,
						owner, l.Name, int64(l.Scope), int64(asns[i]), p.Actor(), now, rec)
				}
				if err != nil {
					return err
				}
				res.New++
			}
			var retire []int64
			for _, ids := range active {
				retire = append(retire, ids...)
			}
			slices.Sort(retire)
			for _, id := range retire {
				rec, err := recTime()
				if err != nil {
					return err
				}
				if _, err := t.exec(`UPDATE `+en.table+` SET retired_ns = ? WHERE id = ?`, rec, id); err != nil {
					return err
				}
				res.Retired++
			}
		}
		scopeChanged := oldScope >= 0 && oldScope != int(l.Scope) && res.Unchanged > 0
		if scopeChanged {
			for _, table := range []string{"shared_space", "shared_asn"} {
				if _, err := t.exec(`UPDATE `+table+` SET scope = ? WHERE org = ? AND file = ? AND retired_ns IS NULL`, int64(l.Scope), owner, l.Name); err != nil {
					return err
				}
			}
			res.Updated, res.Unchanged = res.Unchanged, 0
		}
		if res.Changed() {
			if err := t.bumpRegistry(); err != nil {
				return err
			}
		}
		// A list that applies, or applied, to other organisations'
		// reports changes their findings: they see the entry.
		action := "shared.load"
		if l.Scope != seams.SharedOwn || oldScope > int(seams.SharedOwn) {
			action = "shared.global"
		}
		detail := fmt.Sprintf("scope %s: %d new, %d retired, %d updated, %d unchanged; %d prefixes (%s of IPv4, %s of IPv6), %d ASes",
			l.Scope, res.New, res.Retired, res.Updated, res.Unchanged, len(l.Prefixes), percent(v4), percent(v6), len(asns))
		if l.Confirm && (v4 > seams.MaxSharedCover || v6 > seams.MaxSharedCover) {
			detail += "; confirmed"
		}
		state, err := t.sharedState(owner, l.Name)
		if err != nil {
			return err
		}
		t.record(action, sharedObject(l.Scope, l.Name), detail+"; "+state)
		return nil
	})
	return res, err
}

// steward reports whether p may change what belongs to the coalition: the
// coalition-wide shared space, any organisation's compounds.
func steward(p seams.Principal) bool { return p.Operator || p.Role == seams.RoleCoalition }

// sharedObject names a shared-space list in the audit log: "shared:NAME"
// (the owner is the entry's organisation), "coalition:NAME" for the
// coalition set.
func sharedObject(scope seams.SharedScope, name string) string {
	if scope == seams.SharedCoalition {
		return "coalition:" + name
	}
	return "shared:" + name
}

// sharedCover returns the share of the IPv4 and of the IPv6 address space
// the prefixes cover together (overlaps counted once).
func sharedCover(prefixes []netip.Prefix) (v4, v6 float64) {
	type span struct{ lo, hi [16]byte }
	var spans [2][]span
	for _, p := range prefixes {
		lo, hi := bounds(p)
		f := 1
		if p.Addr().Is4() {
			f = 0
		}
		spans[f] = append(spans[f], span{lo, hi})
	}
	var cover [2]float64
	for f := range spans {
		ss := spans[f]
		slices.SortFunc(ss, func(a, b span) int { return bytes.Compare(a.lo[:], b.lo[:]) })
		var cur *span
		size := func(s *span) float64 {
			// Addresses in [lo, hi], as a float: exact enough to
			// compare with a share of the space.
			var n float64
			for i := range 16 {
				n = n*256 + float64(s.hi[i]) - float64(s.lo[i])
			}
			return n + 1
		}
		for i := range ss {
			switch {
			case cur == nil:
				cur = &ss[i]
			case bytes.Compare(ss[i].lo[:], cur.hi[:]) <= 0:
				if bytes.Compare(ss[i].hi[:], cur.hi[:]) > 0 {
					cur.hi = ss[i].hi
				}
			default:
				cover[f] += size(cur)
				cur = &ss[i]
			}
		}
		if cur != nil {
			cover[f] += size(cur)
		}
	}
	return cover[0] / math.Exp2(32), cover[1] / math.Exp2(128)
}

// percent writes a share as a percentage a person reads: "0.0015%".
func percent(f float64) string {
	return strconv.FormatFloat(f*100, 'g', 3, 64) + "%"
}

// reportDigest identifies a report by its content: id, received, incident,
// events and devices, in order. The associated flags come last, and only
// when flags is set and some event or device has one: without them the
// digest is the one schema version 2 stored, which kept no flags, so a
// report stored then with none is still the same report, and one stored
// then with flags it lost can be told apart (restoreAssociated).
func reportDigest(r *seams.Report, flags bool) []byte {
	h := sha256.New()
	var b [8]byte
	str := func(s string) {
		binary.BigEndian.PutUint32(b[:4], uint32(len(s)))
		h.Write(b[:4])
		h.Write([]byte(s))
	}
	num := func(n int64) {
		binary.BigEndian.PutUint64(b[:], uint64(n))
		h.Write(b[:])
	}
	str(r.ID)
	num(edge(r.Received))
	str(r.Incident)
	num(int64(len(r.IPs)))
	for _, e := range r.IPs {
		a := e.Addr.As16()
		h.Write(a[:])
		num(edge(e.At)) // an event without a time: unlike any real instant
		str(e.Event)
		num(int64(e.Port))
		num(boolInt(e.Proxy))
	}
	num(int64(len(r.Devices)))
	for _, d := range r.Devices {
		str(d.ID.Type)
		str(d.ID.Value)
		num(edge(d.At))
	}
	if flags && hasAssociated(r) {
		// After a whole version 2 digest input, whose counts say where it
		// ends: no report without flags hashes these bytes.
		str("associated")
		for _, e := range r.IPs {
			num(boolInt(e.Associated))
		}
		for _, d := range r.Devices {
			num(boolInt(d.Associated))
		}
	}
	return h.Sum(nil)
}

// hasAssociated reports whether an event or a device of r is an associated
// account's.
func hasAssociated(r *seams.Report) bool {
	for i := range r.IPs {
		if r.IPs[i].Associated {
			return true
		}
	}
	for i := range r.Devices {
		if r.Devices[i].Associated {
			return true
		}
	}
	return false
}

// PutReports implements seams.Loader.
func (s *Store) PutReports(ctx context.Context, p seams.Principal, b seams.ReportBatch, rs []seams.Report) (seams.LoadResult, []*seams.RecordError, error) {
	var res seams.LoadResult
	var rejected []*seams.RecordError
	if err := checkFile(b.File); err != nil {
		return res, nil, err
	}
	if len(b.Source) > seams.MaxKey || hasNUL(b.Source) {
		return res, nil, fmt.Errorf("%w: source %q", seams.ErrInvalid, clean(b.Source))
	}
	line := func(i int) int {
		if i < len(b.Lines) {
			return b.Lines[i]
		}
		return 0
	}
	err := s.write(ctx, p, seams.RoleAnalyst, func(t *tx) error {
		res, rejected = seams.LoadResult{}, nil
		org, err := t.orgID(p.Org, true)
		if err != nil {
			return err
		}
		// Keep the storable reports, the first of each id.
		type item struct {
			i      int
			digest []byte
		}
		var items []item
		first := map[string]int{} // id -> index in items
		for i := range rs {
			r := &rs[i]
			if why := seams.Unstorable(r); why != "" {
				rejected = append(rejected, &seams.RecordError{File: b.File, Line: line(i), Reason: why})
				continue
			}
			d := reportDigest(r, true)
			if _, dup := first[r.ID]; dup {
				rejected = append(rejected, &seams.RecordError{File: b.File, Line: line(i),
					Reason: fmt.Sprintf("duplicate report id %q (the first one stands)", r.ID)})
				continue
			}
			first[r.ID] = len(items)
			items = append(items, item{i, d})
		}

		now := s.now().UnixNano()
		inserted := map[string]int64{} // id -> seq
		const cols = 11
		for chunk := range slices.Chunk(items, insertRows) {
			args := make([]any, 0, cols*len(chunk))
			for _, it := range chunk {
				r := &rs[it.i]
				args = append(args, org, r.ID, boolInt(b.Shared), nsOrNull(r.Received), r.Incident, b.Source, b.File, int64(line(it.i)), it.digest, p.Actor(), now)
			}
			rows, err := t.query(`INSERT INTO reports (org, rid, shared, received_ns, incident, source, file, line, digest, loaded_by, loaded_ns)
				VALUES `+placeholders(len(chunk), cols)+` ON CONFLICT (org, rid) DO NOTHING RETURNING seq, rid`, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var seq int64
				var rid string
				if err := rows.Scan(&seq, &rid); err != nil {
					rows.Close()
					return err
				}
				inserted[rid] = seq
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}

		// Reports already stored: the same content is unchanged (its
		// sharing follows the batch), other content is rejected.
		var existing []item
		for _, it := range items {
			if _, ok := inserted[rs[it.i].ID]; !ok {
				existing = append(existing, it)
			}
		}
		var lost int64 // reports with seq <= lost were stored without associated flags
		if len(existing) > 0 {
			if err := t.queryRow(`SELECT associated_lost FROM state WHERE id = 1`).Scan(&lost); err != nil {
				return err
			}
		}
		restored := 0
		for chunk := range slices.Chunk(existing, insertRows) {
			args := []any{org}
			for _, it := range chunk {
				args = append(args, rs[it.i].ID)
			}
			rows, err := t.query(`SELECT rid, seq, digest, shared FROM reports WHERE org = ? AND rid IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")+`)`, args...)
			if err != nil {
				return err
			}
			type old struct {
				seq    int64
				digest []byte
				shared bool
			}
			olds := map[string]old{}
			for rows.Next() {
				var rid string
				var o old
				var sh int64
				if err := rows.Scan(&rid, &o.seq, &o.digest, &sh); err != nil {
					rows.Close()
					return err
				}
				o.shared = sh == 1
				olds[rid] = o
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, it := range chunk {
				r := &rs[it.i]
				o := olds[r.ID]
				switch {
				case !bytes.Equal(o.digest, it.digest) && o.seq <= lost && bytes.Equal(o.digest, reportDigest(r, false)):
					// Stored before schema version 4, which dropped the
					// flags: the same report, whose flags come back.
					if err := t.summaryAround([]int64{o.seq}, true, func() error { return t.restoreAssociated(o.seq, r, it.digest, b.Shared) }); err != nil {
						return err
					}
					restored++
					res.Updated++
				case !bytes.Equal(o.digest, it.digest):
					rejected = append(rejected, &seams.RecordError{File: b.File, Line: line(it.i),
						Reason: fmt.Sprintf("report id %q is already stored with other content (the first one stands)", r.ID)})
				case o.shared != b.Shared:
					if err := t.summaryAround([]int64{o.seq}, true, func() error {
						_, err := t.exec(`UPDATE reports SET shared = ? WHERE org = ? AND rid = ?`, boolInt(b.Shared), org, r.ID)
						return err
					}); err != nil {
						return err
					}
					res.Updated++
				default:
					res.Unchanged++
				}
			}
		}

		if restored > 0 {
			// Their findings were made without the flags: the next run
			// matches every report again, as after a change of indicators.
			if err := t.bumpRegistry(); err != nil {
				return err
			}
			t.record("reports.restore", "file:"+b.File, fmt.Sprintf("%d reports stored before schema version 4: associated-account flags restored", restored))
		}

		// Events and devices of the new reports.
		var ips, devs []any
		nips, ndevs := 0, 0
		flushIPs := func() error {
			if nips == 0 {
				return nil
			}
			_, err := t.exec(`INSERT INTO report_ips (report, n, addr, at_ns, event, port, proxy, associated) VALUES `+placeholders(nips, 8), ips...)
			ips, nips = ips[:0], 0
			return err
		}
		flushDevs := func() error {
			if ndevs == 0 {
				return nil
			}
			_, err := t.exec(`INSERT INTO report_devices (report, n, type, value, at_ns, associated) VALUES `+placeholders(ndevs, 6), devs...)
			devs, ndevs = devs[:0], 0
			return err
		}
		for _, it := range items {
			r := &rs[it.i]
			seq, ok := inserted[r.ID]
			if !ok {
				continue
			}
			for n, e := range r.IPs {
				a := e.Addr.As16()
				ips = append(ips, seq, n, a[:], nsOrNull(e.At), e.Event, e.Port, boolInt(e.Proxy), boolInt(e.Associated))
				if nips++; nips == insertRows*2 {
					if err := flushIPs(); err != nil {
						return err
					}
				}
			}
			for n, d := range r.Devices {
				devs = append(devs, seq, n, d.ID.Type, d.ID.Value, nsOrNull(d.At), boolInt(d.Associated))
				if ndevs++; ndevs == insertRows*2 {
					if err := flushDevs(); err != nil {
						return err
					}
				}
			}
		}
		if err := flushIPs(); err != nil {
			return err
		}
		if err := flushDevs(); err != nil {
			return err
		}
		if len(inserted) > 0 {
			// New reports have no findings yet: they count as stored.
			d := &summaryDelta{stored: map[summaryStoredKey]*summaryStoredCounts{}}
			var events, devices int64
			for _, it := range items {
				if _, ok := inserted[rs[it.i].ID]; ok {
					events += int64(len(rs[it.i].IPs))
					devices += int64(len(rs[it.i].Devices))
				}
			}
			d.addStored(org, b.Shared, int64(len(inserted)), events, devices)
			if err := t.applySummary(d); err != nil {
				return err
			}
		}
		res.New = len(inserted)
		failpoint("reports.insert")
		// A batch that changed nothing and rejected nothing leaves no
		// entry: loading an unchanged file again used to append one
		// entry a batch (hundreds for a large file) for nothing. The
		// load records one entry for the whole file instead (package
		// load).
		if len(rs) > 0 && (res.New > 0 || res.Updated > 0 || len(rejected) > 0) {
			from, to := line(0), line(len(rs)-1)
			t.record("reports.load", "file:"+b.File, fmt.Sprintf("lines %d-%d: %d new, %d sharing changed, %d flags restored, %d unchanged, %d rejected; source %q, shared %v",
				from, to, res.New, res.Updated-restored, restored, res.Unchanged, len(rejected), b.Source, b.Shared))
		}
		return nil
	})
	if err != nil {
		return seams.LoadResult{}, nil, err
	}
	return res, rejected, nil
}

// restoreAssociated sets the associated flags of the events and devices of
// the stored report seq as r has them (the report was stored before the
// store kept them, with none), and its digest and sharing as a load of r
// stores them.
func (t *tx) restoreAssociated(seq int64, r *seams.Report, digest []byte, shared bool) error {
	for _, table := range []struct {
		name string
		n    int
		on   func(i int) bool
	}{
		{"report_ips", len(r.IPs), func(i int) bool { return r.IPs[i].Associated }},
		{"report_devices", len(r.Devices), func(i int) bool { return r.Devices[i].Associated }},
	} {
		var ns []any
		for i := range table.n {
			if table.on(i) {
				ns = append(ns, i)
			}
		}
		for chunk := range slices.Chunk(ns, insertRows) {
			res, err := t.exec(`UPDATE `+table.name+` SET associated = 1 WHERE report = ? AND n IN (`+inList(len(chunk))+`)`, append([]any{seq}, chunk...)...)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k != int64(len(chunk)) {
				return fmt.Errorf("report %q: %d of %d rows of %s to restore are stored", r.ID, k, len(chunk), table.name)
			}
		}
	}
	_, err := t.exec(`UPDATE reports SET digest = ?, shared = ? WHERE seq = ?`, digest, boolInt(shared), seq)
	return err
}

// ShareReports implements seams.Loader.
func (s *Store) ShareReports(ctx context.Context, p seams.Principal, ids []string, shared bool) (int, error) {
	n := 0
	err := s.write(ctx, p, seams.RoleAnalyst, func(t *tx) error {
		n = 0
		org, err := t.orgID(p.Org, false)
		if err != nil || org == 0 {
			return err
		}
		for chunk := range slices.Chunk(ids, insertRows) {
			args := []any{boolInt(shared), org}
			for _, id := range chunk {
				args = append(args, id)
			}
			// The reports whose sharing changes move between the
			// counts other organisations see.
			var seqs []int64
			if err := t.each(`SELECT seq FROM reports WHERE shared <> ? AND org = ? AND rid IN (`+inList(len(chunk))+`)`, args, func(rows *sql.Rows) error {
				var seq int64
				err := rows.Scan(&seq)
				seqs = append(seqs, seq)
				return err
			}); err != nil {
				return err
			}
			err := t.summaryAround(seqs, true, func() error {
				res, err := t.exec(`UPDATE reports SET shared = ? WHERE org = ? AND rid IN (`+inList(len(chunk))+`)`, args...)
				if err != nil {
					return err
				}
				k, _ := res.RowsAffected()
				n += int(k)
				return nil
			})
			if err != nil {
				return err
			}
		}
		t.record("reports.share", "reports", fmt.Sprintf("%d of %d reports, shared %v", n, len(ids), shared))
		return nil
	})
	return n, err
}

// indicatorPrefix returns the prefix an ip or cidr indicator covers.
func indicatorPrefix(in *seams.Indicator) (netip.Prefix, bool) {
	switch in.Kind {
	case seams.KindIP:
		return netip.PrefixFrom(in.Addr, in.Addr.BitLen()), in.Addr.IsValid()
	case seams.KindCIDR:
		return in.Prefix, in.Prefix.IsValid()
	}
	return netip.Prefix{}, false
}

// bounds returns the first and last address of p as stored: 16 bytes,
// IPv4 as IPv4-mapped, so that bytewise order is address order.
func bounds(p netip.Prefix) (lo, hi [16]byte) {
	lo = p.Masked().Addr().As16()
	hi = lo
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	for i := bits; i < 128; i++ {
		hi[i/8] |= 1 << (7 - i%8)
	}
	return lo, hi
}

func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) }

// addrBytes is how an address is stored: 16 bytes, IPv4 as IPv4-mapped.
// Events are normalized (IPv4-mapped addresses are unmapped when read), so
// a stored IPv4-mapped address is always an IPv4 one.
func addrOf(b []byte) (netip.Addr, error) {
	if len(b) != 16 {
		return netip.Addr{}, fmt.Errorf("stored address of %d bytes", len(b))
	}
	return netip.AddrFrom16([16]byte(b)).Unmap(), nil
}

// ShareIndicators implements seams.Loader.
func (s *Store) ShareIndicators(ctx context.Context, p seams.Principal, name string, shared bool) (seams.LoadResult, error) {
	var res seams.LoadResult
	if err := checkFile(name); err != nil {
		return res, err
	}
	err := s.write(ctx, p, seams.RoleAnalyst, func(t *tx) error {
		res = seams.LoadResult{}
		org, err := t.orgID(p.Org, false)
		if err != nil {
			return err
		}
		var version int
		var sha []byte
		var lastShared int64
		err = t.queryRow(`SELECT version, sha256, shared FROM indicator_files WHERE org = ? AND name = ? ORDER BY version DESC LIMIT 1`, org, name).
			Scan(&version, &sha, &lastShared)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("indicator file %q of %s: %w", clean(name), clean(p.Org), seams.ErrNotFound)
		}
		if err != nil {
			return err
		}
		res.Version = version
		if (lastShared == 1) == shared {
			if err := t.queryRow(`SELECT COUNT(*) FROM indicators WHERE org = ? AND file = ? AND retired_ns IS NULL`, org, name).Scan(&res.Unchanged); err != nil {
				return err
			}
			t.record("indicators.share", "file:"+name, fmt.Sprintf("version %d, already shared %v", version, shared))
			return nil
		}
		r, err := t.exec(`UPDATE indicators SET shared = ? WHERE org = ? AND file = ? AND retired_ns IS NULL`, boolInt(shared), org, name)
		if err != nil {
			return err
		}
		n, _ := r.RowsAffected()
		res.Updated = int(n)
		version++
		res.Version = version
		rec, err := t.recordTime()
		if err != nil {
			return err
		}
		if _, err := t.exec(`INSERT INTO indicator_files (org, name, version, shared, sha256, indicators, added, retired, loaded_by, loaded_ns, recorded_ns) VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?)`,
			org, name, version, boolInt(shared), sha, n, p.Actor(), s.now().UnixNano(), rec); err != nil {
			return err
		}
		if err := t.bumpRegistry(); err != nil {
			return err
		}
		state, err := t.indicatorsState(org, name)
		if err != nil {
			return err
		}
		t.record("indicators.share", "file:"+name, fmt.Sprintf("version %d: %d indicators, shared %v; %s", version, n, shared, state))
		return nil
	})
	return res, err
}
