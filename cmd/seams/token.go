package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seams-dev/seams"
)

var tokenCommand = &command{
	summary: "create, list and revoke the API tokens of a store",
	usage: `Usage:
  seams token create (--data DIR | --db URL) --org ORG --role ROLE [--user NAME]
                     [--label TEXT] [--expires DURATION]
  seams token list   (--data DIR | --db URL) [--org ORG]
  seams token revoke (--data DIR | --db URL) ID

Manage the tokens with which people and programs use the store's API.

create prints the new token's secret on standard output, once: the store
keeps only its SHA-256 and cannot show it again. The organisation and user
are created when new. A token sees its organisation's data and what other
organisations shared; its role says what it may do:
  viewer    read findings, reports, indicators and summaries
  analyst   also load files, run cross-references, review findings
  admin     also manage its organisation's tokens, load its organisation's
            shared space and read its organisation's audit entries
  coalition a coalition steward: also change the coalition-wide shared
            space and any organisation's compounds (only this command
            creates such tokens: no admin can)
list prints the tokens (never their secrets), revoke ends one by its id
(tok_...). Every change is written to the audit log.

Flags:
` + storeFlagsHelp + `  --org ORG           the token's organisation (create); only this
                      organisation's tokens (list)
  --role ROLE         viewer, analyst, admin or coalition (create)
  --user NAME         the person the token is for (create; optional)
  --label TEXT        what the token is for (create; optional)
  --expires DURATION  the token stops working after this long: 90d, 720h
                      (create; more than 0; default never)

Examples:
  seams token create --data case/ --org partner-a --role analyst --user alice
  seams token list --data case/
  seams token revoke --data case/ tok_3f2a9c0d1e4b
`,
	run: runToken,
}

func runToken(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usagef("token", "want create, list or revoke (before the flags)")
	}
	sub, args := args[0], args[1:]
	fs := newFlags("token")
	var sa storeArgs
	sa.register(fs)
	var org, role, user, label string
	var expires durationFlag
	fs.StringVar(&org, "org", "", "")
	fs.StringVar(&role, "role", "", "")
	fs.StringVar(&user, "user", "", "")
	fs.StringVar(&label, "label", "", "")
	fs.Var(&expires, "expires", "")
	pos, err := parseMixed(fs, args)
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		if len(pos) > 0 {
			return usagef("token", "unexpected argument %q", pos[0])
		}
		if org == "" {
			return usagef("token", "missing --org")
		}
		r, err := seams.ParseRole(role)
		if err != nil {
			return usagef("token", "--role: %v", err)
		}
		st, err := sa.open(ctx, "token", newLogger(e.stderr, false))
		if err != nil {
			return storeError(err)
		}
		defer st.Close()
		expiresSet := false
		fs.Visit(func(f *flag.Flag) { expiresSet = expiresSet || f.Name == "expires" })
		if expiresSet && expires <= 0 {
			// A zero duration used to mean "no expiry": a token meant to
			// last no time at all lasted for ever.
			return usagef("token", "--expires %s: a token must expire after more than no time (leave --expires out for a token that never expires)", time.Duration(expires))
		}
		nt := seams.NewToken{Org: org, User: user, Role: r, Label: label}
		if expires > 0 {
			nt.Expires = time.Now().Add(time.Duration(expires)).UTC()
		}
		secret, tok, err := st.CreateToken(ctx, operator(org), nt)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, secret)
		who := ""
		if tok.User != "" {
			who = " for " + tok.User
		}
		fmt.Fprintf(e.stderr, "created token %s%s in %s, role %s. The secret above is shown only now: keep it safe.\n", tok.ID, who, tok.Org, tok.Role)
		return nil
	case "list":
		if len(pos) > 0 {
			return usagef("token", "unexpected argument %q", pos[0])
		}
		st, err := sa.open(ctx, "token", newLogger(e.stderr, false))
		if err != nil {
			return storeError(err)
		}
		defer st.Close()
		toks, err := st.Tokens(ctx, operator(defaultOrg))
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "id\torg\tuser\trole\tcreated\texpires\tstate\tlabel")
		for _, t := range toks {
			if org != "" && t.Org != org {
				continue
			}
			state := "active"
			switch {
			case !t.Revoked.IsZero():
				state = "revoked " + t.Revoked.Format(time.DateOnly)
			case !t.Expires.IsZero() && time.Now().After(t.Expires):
				state = "expired"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Org, dash(t.User), t.Role, t.Created.Format(time.DateOnly),
				dateOrNever(t.Expires), state, dash(t.Label))
		}
		return tw.Flush()
	case "revoke":
		if len(pos) != 1 {
			return usagef("token", "revoke wants one token id")
		}
		st, err := sa.open(ctx, "token", newLogger(e.stderr, false))
		if err != nil {
			return storeError(err)
		}
		defer st.Close()
		if err := st.RevokeToken(ctx, operator(defaultOrg), pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "revoked %s\n", pos[0])
		return nil
	}
	return usagef("token", "unknown subcommand %q (want create, list or revoke)", sub)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func dateOrNever(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format(time.DateOnly)
}
