package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

func helpCmd() *command {
	return &command{
		name:    "help",
		args:    "[COMMAND]",
		summary: "Show help for cascadectl or for one command",
		details: "Every command also takes -h.",
		examples: `
# The help of one command
cascadectl help breach status
# The commands of a group
cascadectl help notice`,
		setup: func(*flag.FlagSet) runFunc {
			return func(_ context.Context, a *app, args []string) error {
				if len(args) == 0 {
					return a.printUsage(a.stdout)
				}
				if _, ok := groups()[args[0]]; ok && len(args) == 1 {
					return a.printGroupUsage(a.stdout, args[0])
				}
				cmd, rest := lookup(args)
				if cmd == nil || len(rest) > 0 {
					return &usageError{msg: fmt.Sprintf("unknown command %q", strings.Join(args, " ")),
						usage: func(w io.Writer) { _ = a.printUsage(w) }}
				}
				return a.printCommandUsage(a.stdout, cmd)
			}
		},
	}
}

const intro = `cascadectl is the command-line client of Cascade, which carries a personal-data
breach at a supplier to every affected customer organisation as a notice with
its own 72-hour deadline.
`

// printUsage writes the overview: commands and global flags.
func (a *app) printUsage(w io.Writer) error {
	var b strings.Builder
	b.WriteString(intro)
	b.WriteString("\nUsage:\n  cascadectl <command> [flags] [arguments]\n\nCommands:\n")
	tw := newTable(&b)
	for _, c := range commands() {
		row(tw, "  "+strings.TrimSpace(c.name+" "+c.args), c.summary)
	}
	_ = tw.Flush()
	b.WriteString("\nGlobal flags (before or after the command):\n")
	writeFlags(&b, globalFlagSet(), func(f *flag.Flag) bool { return true })
	b.WriteString("\nRun 'cascadectl help <command>' for the flags and examples of a command.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// printGroupUsage lists the verbs of a group such as "breach".
func (a *app) printGroupUsage(w io.Writer, group string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s.\n\nUsage:\n  cascadectl %s <command> [flags] [arguments]\n\nCommands:\n", groups()[group], group)
	tw := newTable(&b)
	for _, c := range commands() {
		if strings.HasPrefix(c.name, group+" ") {
			row(tw, "  "+strings.TrimSpace(c.name+" "+c.args), c.summary)
		}
	}
	_ = tw.Flush()
	fmt.Fprintf(&b, "\nRun 'cascadectl help %s <command>' for the flags and examples of a command.\n", group)
	_, err := io.WriteString(w, b.String())
	return err
}

// printCommandUsage is the help of one verb: synopsis, description, flags.
func (a *app) printCommandUsage(w io.Writer, cmd *command) error {
	var b strings.Builder
	fs := globalFlagSet()
	cmd.setup(fs)
	own := func(f *flag.Flag) bool { return !isGlobal(f.Name) }
	hasOwn := false
	fs.VisitAll(func(f *flag.Flag) { hasOwn = hasOwn || own(f) })
	fmt.Fprintf(&b, "Usage:\n  %s\n\n%s.\n", synopsis(cmd), cmd.summary)
	if cmd.details != "" {
		fmt.Fprintf(&b, "\n%s\n", strings.TrimSpace(cmd.details))
	}
	if ex := strings.TrimSpace(cmd.examples); ex != "" {
		b.WriteString("\nExamples:\n")
		for line := range strings.Lines(ex) {
			fmt.Fprintf(&b, "  %s\n", strings.TrimSpace(line))
		}
	}
	if hasOwn {
		b.WriteString("\nFlags:\n")
		writeFlags(&b, fs, own)
	}
	b.WriteString("\nGlobal flags:\n")
	writeFlags(&b, fs, func(f *flag.Flag) bool { return isGlobal(f.Name) })
	_, err := io.WriteString(w, b.String())
	return err
}

// synopsis is the usage line of cmd, e.g.
// "cascadectl breach status [flags] ID".
func synopsis(cmd *command) string {
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	cmd.setup(fs)
	s := "cascadectl " + cmd.name
	hasOwn := false
	fs.VisitAll(func(*flag.Flag) { hasOwn = true })
	if hasOwn {
		s += " [flags]"
	}
	if cmd.args != "" {
		s += " " + cmd.args
	}
	return s
}

// globalFlagSet has the global flags with their built-in defaults, so help
// reads the same whatever the environment.
func globalFlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("cascadectl", flag.ContinueOnError)
	g := staticGlobals()
	g.register(fs)
	return fs
}

// writeFlags lists the flags of fs that keep selects, aligned.
func writeFlags(w io.Writer, fs *flag.FlagSet, keep func(*flag.Flag) bool) {
	var flags []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if keep(f) {
			flags = append(flags, f)
		}
	})
	// Globals in a fixed order; a verb's own flags alphabetically.
	slices.SortStableFunc(flags, func(x, y *flag.Flag) int {
		return slices.Index(globalOrder, x.Name) - slices.Index(globalOrder, y.Name)
	})
	tw := newTable(w)
	for _, f := range flags {
		arg, usage := flag.UnquoteUsage(f)
		name := flagName(f.Name)
		if arg != "" {
			name += " " + arg
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			usage += " (default " + f.DefValue + ")"
		}
		row(tw, "  "+name, usage)
	}
	_ = tw.Flush()
}
