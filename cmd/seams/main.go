// Command seams cross-references hotline reports against a registry of
// infrastructure attributed to scam compounds. Run "seams help" for the
// manual.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	// SIGINT, SIGTERM and SIGHUP end a command cleanly: it stops reading,
	// removes what it was writing, and exits 1. A second signal, while it
	// does, ends the process at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the run could not complete
	exitUsage   = 2 // the command line is wrong
)

// command is one subcommand: its one-line summary, its manual, and its body.
type command struct {
	summary string
	usage   string // the manual printed by "seams help NAME"
	run     func(ctx context.Context, env *env, args []string) error
}

// env is what a command may touch of the outside world.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// usageError is a mistake on the command line: exit 2 and a hint.
type usageError struct {
	cmd string
	msg string
}

func (e *usageError) Error() string { return e.msg }

func usagef(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

var commands map[string]*command

func init() {
	commands = map[string]*command{
		"xref":           xrefCommand,
		"derive":         deriveCommand,
		"export":         exportCommand,
		"gen":            genCommand,
		"demo":           demoCommand,
		"version":        versionCommand,
		"whois-ip":       whoisCommand,
		"enrich":         enrichCommand,
		"load":           loadCommand,
		"token":          tokenCommand,
		"audit":          auditCommand,
		"findings":       findingsCommand,
		"review":         reviewCommand,
		"serve":          serveCommand,
		"psi":            psiCommand,
		"aggregate":      aggregateCommand,
		"key":            keyCommand,
		"evidence":       evidenceCommand,
		"verify":         verifyCommand,
		"brief":          briefCommand,
		"diff":           diffCommand,
		"indicators":     indicatorsCommand,
		"pseudonymize":   pseudonymizeCommand,
		"depseudonymize": depseudonymizeCommand,
	}
}

const mainUsage = `seams finds the seams between hotline reports and the infrastructure of
scam compounds: it cross-references the IP capture events and device IDs of
reports against a registry of addresses, prefixes and devices attributed to
named compounds, each with a time window, and explains every finding.

Usage:
  seams <command> [flags]

Commands:
%s
Run "seams help <command>" for the manual of a command, with examples.

Exit status: 0 when the command completed, 1 when it could not complete,
2 when the command line is wrong.
`

// Run runs seams with args (without the program name) and returns the exit
// status. It is main without the process: tests drive it in-process.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		fmt.Fprint(stderr, mainHelp())
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			fmt.Fprint(stdout, mainHelp())
			return exitOK
		}
		c, ok := commands[rest[0]]
		if !ok {
			fmt.Fprintf(stderr, "seams help: unknown command %q\nTry: seams help\n", rest[0])
			return exitUsage
		}
		fmt.Fprint(stdout, c.usage)
		return exitOK
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "seams: unknown command %q\nTry: seams help\n", name)
		return exitUsage
	}
	err := runCommand(ctx, c, e, rest)
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "seams %s: interrupted; what it was writing was removed, and earlier outputs stay as they were\n", name)
		return exitFailure
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, c.usage)
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "seams %s: %s\nTry: seams help %s\n", name, ue.msg, name)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "seams %s: %s\n", name, err)
		return exitFailure
	}
}

// runCommand runs a command, turning a panic into an error: a crash must
// not exit 2, which says the command line was wrong.
func runCommand(ctx context.Context, c *command, e *env, args []string) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("internal error (please report it, with this message): %v\n%s", v, debug.Stack())
		}
	}()
	return c.run(ctx, e, args)
}

func mainHelp() string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	width := len("help")
	for _, n := range names {
		width = max(width, len(n))
	}
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, n, commands[n].summary)
	}
	fmt.Fprintf(&b, "  %-*s  %s\n", width, "help", "show the manual of a command")
	return fmt.Sprintf(mainUsage, b.String())
}

// newFlags returns a flag set for a command that reports errors as usage
// errors instead of printing them.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args; a flag error becomes a usageError, stray
// arguments too.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef(fs.Name(), "%v", err)
	}
	if fs.NArg() > 0 {
		return usagef(fs.Name(), "unexpected argument %q (flags come before nothing else here)", fs.Arg(0))
	}
	return nil
}

// listFlag is a flag that may repeat.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// durationFlag is a time.Duration flag that also takes days: "90d".
type durationFlag time.Duration

func (d *durationFlag) String() string { return time.Duration(*d).String() }
func (d *durationFlag) Set(v string) error {
	dur, err := parseDuration(v)
	if err != nil {
		return err
	}
	*d = durationFlag(dur)
	return nil
}

// parseDuration parses Go duration syntax, or a whole number of days with a
// "d" suffix ("90d"). Negative durations are refused.
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseUint(n, 10, 32)
		if err != nil || days > 100000 {
			return 0, fmt.Errorf("invalid duration %q (want e.g. 90d or 2160h)", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q (want e.g. 90d or 2160h)", s)
	}
	return d, nil
}

// newLogger returns the logger commands use: warnings and errors on stderr,
// everything with --verbose.
func newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// isTerminal reports whether w is a terminal, for progress lines.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
