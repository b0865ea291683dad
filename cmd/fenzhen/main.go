// Command fenzhen is the Fenzhen triage-and-diagnosis inference server and its tools.
//
// Each subcommand lives in its own file and registers itself in init, so main
// stays a thin dispatcher.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one subcommand: `fenzhen <name> [flags]`.
type command struct {
	name    string
	summary string
	run     func(args []string) error
}

var commands = map[string]command{}

func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("fenzhen: duplicate command " + c.name)
	}
	commands[c.name] = c
}

func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("fenzhen: triage-and-diagnosis inference server for Chinese healthcare\n\nUsage:\n  fenzhen <command> [flags]\n\nCommands:\n")
	for _, n := range commandNames() {
		fmt.Fprintf(&b, "  %-10s %s\n", n, commands[n].summary)
	}
	b.WriteString("\nRun 'fenzhen <command> --help' for a command's flags and examples.\n")
	fmt.Fprint(w, b.String())
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

func main() {
	args := os.Args[1:]
	if len(args) == 0 {
		usage(os.Stderr)
		os.Exit(2)
	}
	switch {
	case isHelp(args[0]) && len(args) > 1 && commands[args[1]].run != nil:
		args = []string{args[1], "--help"} // fenzhen help serve
	case isHelp(args[0]):
		usage(os.Stdout)
		return
	case args[0] == "-version" || args[0] == "--version":
		args[0] = "version"
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "fenzhen: unknown command %q\n", args[0])
		if s := closest(strings.TrimLeft(args[0], "-"), commandNames()); s != "" {
			fmt.Fprintf(os.Stderr, "did you mean %s?\n", s)
		}
		fmt.Fprintln(os.Stderr, "Run 'fenzhen --help' for the list of commands.")
		os.Exit(2)
	}
	err := c.run(args[1:])
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return
	}
	var fe *flagError
	if errors.As(err, &fe) {
		// At most three lines, so the mistake stays on screen.
		fmt.Fprintf(os.Stderr, "fenzhen %s: %v\n", fe.cmd, fe.err)
		if fe.hint != "" {
			fmt.Fprintln(os.Stderr, fe.hint)
		}
		fmt.Fprintf(os.Stderr, "Run 'fenzhen %s --help' for usage.\n", fe.cmd)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "fenzhen %s: %v\n", c.name, err)
	os.Exit(1)
}

// newFlagSet builds a FlagSet whose --help prints the summary, an example
// block and the flags, to stdout. Parse it with parseFlags.
func newFlagSet(name, summary, examples string) *flag.FlagSet {
	fs := flag.NewFlagSet("fenzhen "+name, flag.ContinueOnError)
	fs.SetOutput(os.Stdout)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: fenzhen %s [flags]\n\n%s\n", name, summary)
		if examples != "" {
			fmt.Fprintf(out, "\nExamples:\n%s\n", examples)
		}
		fmt.Fprintln(out, "\nFlags:")
		fs.PrintDefaults()
	}
	return fs
}
