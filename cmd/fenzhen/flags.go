package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// flagError is a mistake on the command line. main prints it in at most
// three lines: the error, the closest flag name if there is one, and where
// help is, never the whole usage, which would push the error off screen.
type flagError struct {
	cmd  string // "serve", "kg validate"
	err  error
	hint string // "did you mean --addr?" or ""
}

func (e *flagError) Error() string { return e.err.Error() }
func (e *flagError) Unwrap() error { return e.err }

// usageErr reports a wrong use of fs's command as a flagError.
func usageErr(fs *flag.FlagSet, err error) error {
	return &flagError{cmd: strings.TrimPrefix(fs.Name(), "fenzhen "), err: err}
}

// parseFlags parses args into fs. --help prints fs's usage to its output
// (stdout unless set otherwise) and returns flag.ErrHelp; any other error
// comes back as a *flagError naming the closest flag.
func parseFlags(fs *flag.FlagSet, args []string) error {
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = usage
	fs.SetOutput(out)
	if err == nil {
		return nil
	}
	if errors.Is(err, flag.ErrHelp) {
		usage()
		return flag.ErrHelp
	}
	fe := usageErr(fs, explainFlagError(fs, err)).(*flagError)
	if m := undefinedFlag.FindStringSubmatch(err.Error()); m != nil {
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		if s := closest(m[1], names); s != "" {
			fe.hint = "did you mean --" + s + "?"
		}
	}
	return fe
}

var (
	undefinedFlag = regexp.MustCompile(`^flag provided but not defined: -+(\S+)$`)
	flagInMessage = regexp.MustCompile(`(flag|:) -(\w[\w-]*)`)
	invalidValue  = regexp.MustCompile(`^invalid value ".*" for flag -([\w-]+): parse error$`)
)

// explainFlagError writes flags as --name, and replaces the flag package's
// bare "parse error" with what the flag wants.
func explainFlagError(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	if m := invalidValue.FindStringSubmatch(msg); m != nil {
		if f := fs.Lookup(m[1]); f != nil {
			if want := wantFor(f); want != "" {
				msg = strings.TrimSuffix(msg, "parse error") + want
			}
		}
	}
	return errors.New(flagInMessage.ReplaceAllString(msg, "$1 --$2"))
}

// wantFor describes the values a flag of the standard library's types takes.
func wantFor(f *flag.Flag) string {
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return ""
	}
	switch g.Get().(type) {
	case time.Duration:
		return "want a duration like 10s"
	case int, int64, uint, uint64:
		return "want an integer"
	case float64:
		return "want a number"
	case bool:
		return "want true or false"
	}
	return ""
}

// closest returns the candidate nearest to s (a typo, a missing or extra
// letter, a prefix), or "" when none is near enough to be a likely meaning.
func closest(s string, candidates []string) string {
	best, bestD := "", len(s)/3+2
	for _, c := range candidates {
		d := editDistance(s, c)
		if strings.HasPrefix(c, s) && len(s) >= 3 {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// printHelp prints a subcommand group's usage text to stdout for --help,
// and returns flag.ErrHelp so main exits 0.
func printHelp(w io.Writer, text string) error {
	fmt.Fprint(w, text)
	return flag.ErrHelp
}

// subcommandErr reports an unknown subcommand of group, with the closest one.
func subcommandErr(group, got string, have ...string) error {
	fe := &flagError{cmd: group, err: fmt.Errorf("unknown subcommand %q (want %s)", got, strings.Join(have, ", "))}
	if s := closest(got, have); s != "" {
		fe.hint = "did you mean " + group + " " + s + "?"
	}
	return fe
}
