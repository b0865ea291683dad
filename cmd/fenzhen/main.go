// Command fenzhen is the Fenzhen triage-and-diagnosis inference server and its tools.
//
// Each subcommand lives in its own file and registers itself in init, so main
// stays a thin dispatcher.
package main

import (
	"errors"
	"flag"
	"fmt"
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

func usage() {
	var b strings.Builder
	b.WriteString("fenzhen: triage-and-diagnosis inference server for Chinese healthcare\n\nUsage:\n  fenzhen <command> [flags]\n\nCommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  %-10s %s\n", n, commands[n].summary)
	}
	b.WriteString("\nRun 'fenzhen <command> --help' for a command's flags and examples.\n")
	fmt.Fprint(os.Stderr, b.String())
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	c, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "fenzhen: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err := c.run(os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintf(os.Stderr, "fenzhen %s: %v\n", c.name, err)
		os.Exit(1)
	}
}

// newFlagSet builds a FlagSet whose --help prints the summary, an example block and the flags.
func newFlagSet(name, summary, examples string) *flag.FlagSet {
	fs := flag.NewFlagSet("fenzhen "+name, flag.ContinueOnError)
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
