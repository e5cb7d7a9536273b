package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/seams-dev/seams"
)

// A token secret is "seams_" and 43 characters of URL-safe base64: 256
// random bits. Only its SHA-256 is stored. A fast hash is right here: the
// secret is random, not a password, so there is nothing to guess; a slow
// one would only cost every request.
const (
	tokenPrefix    = "seams_"
	tokenSecretLen = len(tokenPrefix) + 43
)

// ParseTokenSecret checks the form of a presented secret and returns the
// hash to look it up by. Anything else is refused before the database is
// asked, and the error never quotes the secret.
func ParseTokenSecret(secret string) ([32]byte, error) {
	if len(secret) != tokenSecretLen || !strings.HasPrefix(secret, tokenPrefix) {
		return [32]byte{}, seams.ErrUnauthorized
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(secret[len(tokenPrefix):])
	if err != nil || len(b) != 32 {
		return [32]byte{}, seams.ErrUnauthorized
	}
	return sha256.Sum256([]byte(secret)), nil
}

func newTokenSecret() (secret, id string) {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than return an error)
	var i [6]byte
	rand.Read(i[:])
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:]), "tok_" + hex.EncodeToString(i[:])
}

// CreateToken implements seams.Access. Only an admin may create tokens, and
// only for its own organisation, except at the command line, where the
// operator owns the store.
func (s *Store) CreateToken(ctx context.Context, p seams.Principal, nt seams.NewToken) (string, seams.Token, error) {
	if _, err := seams.ParseRole(string(nt.Role)); err != nil {
		return "", seams.Token{}, err
	}
	if nt.Role == seams.RoleCoalition && !p.Operator {
		// A coalition steward changes what every organisation's findings
		// rest on: no organisation's admin mints one for itself.
		return "", seams.Token{}, fmt.Errorf("%w: only the operator creates coalition tokens", seams.ErrForbidden)
	}
	if !p.Operator && nt.Org != p.Org {
		return "", seams.Token{}, fmt.Errorf("%w: a token can create tokens only for its own organisation", seams.ErrForbidden)
	}
	if nt.User != "" {
		if err := checkName("user", nt.User); err != nil {
			return "", seams.Token{}, err
		}
	}
	if len(nt.Label) > 256 {
		return "", seams.Token{}, fmt.Errorf("%w: token label longer than 256 bytes", seams.ErrInvalid)
	}
	secret, id := newTokenSecret()
	hash := sha256.Sum256([]byte(secret))
	now := s.now().UTC()
	tok := seams.Token{ID: id, Org: nt.Org, User: nt.User, Role: nt.Role, Label: clean(nt.Label), Created: now, Expires: nt.Expires}
	err := s.write(ctx, p, seams.RoleAdmin, func(t *tx) error {
		org, err := t.orgID(nt.Org, true)
		if err != nil {
			return err
		}
		var user any
		if nt.User != "" {
			var uid int64
			err := t.queryRow(`SELECT id FROM users WHERE org = ? AND name = ?`, org, nt.User).Scan(&uid)
			if errors.Is(err, sql.ErrNoRows) {
				err = t.queryRow(`INSERT INTO users (org, name, created_ns) VALUES (?, ?, ?) RETURNING id`, org, nt.User, now.UnixNano()).Scan(&uid)
				t.record("user.create", "user:"+nt.User, "org "+nt.Org)
			}
			if err != nil {
				return err
			}
			user = uid
		}
		if _, err := t.exec(`INSERT INTO tokens (id, hash, org, user_id, role, label, created_ns, expires_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			id, hash[:], org, user, string(nt.Role), tok.Label, now.UnixNano(), nsOrNull(nt.Expires)); err != nil {
			return err
		}
		t.record("token.create", "token:"+id, fmt.Sprintf("role %s, org %s, user %q", nt.Role, nt.Org, nt.User))
		return nil
	})
	if err != nil {
		return "", seams.Token{}, err
	}
	return secret, tok, nil
}

// Authenticate implements seams.Access.
func (s *Store) Authenticate(ctx context.Context, secret string) (seams.Principal, error) {
	hash, err := ParseTokenSecret(secret)
	if err != nil {
		return seams.Principal{}, err
	}
	var p seams.Principal
	err = s.view(ctx, func(t *tx) error {
		var user sql.NullString
		var role string
		var stored []byte
		var expires, revoked sql.NullInt64
		err := t.queryRow(`SELECT t.id, t.hash, o.name, u.name, t.role, t.expires_ns, t.revoked_ns
			FROM tokens t JOIN orgs o ON o.id = t.org LEFT JOIN users u ON u.id = t.user_id
			WHERE t.hash = ?`, hash[:]).Scan(&p.Token, &stored, &p.Org, &user, &role, &expires, &revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return seams.ErrUnauthorized
		}
		if err != nil {
			return err
		}
		// The lookup was by hash already; comparing again in constant
		// time costs nothing and keeps the check independent of how the
		// database compares.
		if subtle.ConstantTimeCompare(stored, hash[:]) != 1 {
			return seams.ErrUnauthorized
		}
		if revoked.Valid || expires.Valid && s.now().UnixNano() >= expires.Int64 {
			return seams.ErrUnauthorized
		}
		p.User, p.Role = user.String, seams.Role(role)
		return nil
	})
	if err != nil {
		return seams.Principal{}, err
	}
	return p, nil
}

// RevokeToken implements seams.Access.
func (s *Store) RevokeToken(ctx context.Context, p seams.Principal, id string) error {
	return s.write(ctx, p, seams.RoleAdmin, func(t *tx) error {
		v, err := t.viewer(p)
		if err != nil {
			return err
		}
		res, err := t.exec(`UPDATE tokens SET revoked_ns = ? WHERE id = ? AND (? = 1 OR org = ?) AND revoked_ns IS NULL`, s.now().UnixNano(), id, boolInt(v.all), v.org)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("token %q: %w", clean(id), seams.ErrNotFound)
		}
		t.record("token.revoke", "token:"+clean(id), "")
		return nil
	})
}

// Tokens implements seams.Access.
func (s *Store) Tokens(ctx context.Context, p seams.Principal) ([]seams.Token, error) {
	var out []seams.Token
	if err := allow(p, seams.RoleAdmin); err != nil {
		return nil, err
	}
	err := s.read(ctx, p, func(t *tx, v viewer) error {
		rows, err := t.query(`SELECT t.id, o.name, u.name, t.role, t.label, t.created_ns, t.expires_ns, t.revoked_ns
			FROM tokens t JOIN orgs o ON o.id = t.org LEFT JOIN users u ON u.id = t.user_id
			WHERE (? = 1 OR t.org = ?) ORDER BY o.name, t.created_ns, t.id`, v.args()...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var tk seams.Token
			var user sql.NullString
			var role string
			var created, expires, revoked sql.NullInt64
			if err := rows.Scan(&tk.ID, &tk.Org, &user, &role, &tk.Label, &created, &expires, &revoked); err != nil {
				return err
			}
			tk.User, tk.Role = user.String, seams.Role(role)
			tk.Created, tk.Expires, tk.Revoked = timeOf(created), timeOf(expires), timeOf(revoked)
			out = append(out, tk)
		}
		return rows.Err()
	})
	return out, err
}
