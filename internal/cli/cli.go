// Package cli implements cascadectl, the command-line client of Cascade:
// it publishes breach reports and updates over NATS and follows their
// fan-out, shows a breach's progress, lists, shows and acknowledges
// notices, records what controllers did (authority report, not reportable,
// data-subject communication), drafts their report to the authority and
// exports and verifies evidence, over the gRPC API, and checks the
// signature of a message from Cascade (verify). Every verb lives in its own file (breach_publish.go, notice_ack.go,
// ...), writes to the io.Writers it is given and renders from proto
// messages, so the output can be tested without a terminal. Main is the
// whole program; cmd/cascadectl only wires it to the process.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Defaults of the global flags.
const (
	DefaultGRPCAddr = "127.0.0.1:7400"
	DefaultNATSURL  = "nats://127.0.0.1:4222"
	DefaultTimeout  = 30 * time.Second
)

// Environment variables the global flags fall back to.
const (
	EnvGRPCAddr = "CASCADE_GRPC_ADDR"
	EnvNATSURL  = "CASCADE_NATS_URL"
)

// Output formats (-o).
const (
	outputTable = "table"
	outputJSON  = "json"
)

// Main runs cascadectl with args (without the program name) and returns the
// process exit code: 0 on success, 1 on errors, 2 on usage errors. It
// reads CASCADE_* variables from the process environment.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil { // a bug in cascadectl must not print a stack at the user
			fmt.Fprintf(stderr, "cascadectl: internal error: %v\n", r)
			code = 1
		}
	}()
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, g: envGlobals(os.LookupEnv)}
	return a.exitCode(a.run(ctx, args))
}

// app is one invocation: its streams and its global flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	g              globals
	timed          context.Context // the last context withTimeout made
}

// globals are the flags every verb accepts.
type globals struct {
	grpcAddr string
	natsURL  string
	output   string
	timeout  time.Duration
}

// staticGlobals are the built-in defaults, shown in help text.
func staticGlobals() globals {
	return globals{grpcAddr: DefaultGRPCAddr, natsURL: DefaultNATSURL, output: outputTable, timeout: DefaultTimeout}
}

// envGlobals are the defaults overridden by the environment.
func envGlobals(lookup func(string) (string, bool)) globals {
	g := staticGlobals()
	if v, ok := lookup(EnvGRPCAddr); ok && v != "" {
		g.grpcAddr = v
	}
	if v, ok := lookup(EnvNATSURL); ok && v != "" {
		g.natsURL = v
	}
	return g
}

// register adds the global flags to fs; their defaults are g's current values.
func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.grpcAddr, "grpc-addr", g.grpcAddr, "gRPC API `address` of cascaded (env "+EnvGRPCAddr+")")
	fs.StringVar(&g.natsURL, "nats-url", g.natsURL, "NATS `URL` to publish on (env "+EnvNATSURL+")")
	fs.StringVar(&g.output, "o", g.output, "output `format`: table or json")
	fs.DurationVar(&g.timeout, "timeout", g.timeout, "time limit (a `duration`) of the command; 0 means none")
}

// isGlobal reports whether name is one of the global flags.
func isGlobal(name string) bool {
	switch name {
	case "grpc-addr", "nats-url", "o", "timeout":
		return true
	}
	return false
}

func (g *globals) check() error {
	if g.output != outputTable && g.output != outputJSON {
		return fmt.Errorf("-o must be %q or %q, not %q", outputTable, outputJSON, g.output)
	}
	if g.timeout < 0 {
		return fmt.Errorf("--timeout must not be negative")
	}
	return nil
}

// runFunc runs a verb with its positional arguments.
type runFunc func(ctx context.Context, a *app, args []string) error

// command is one verb.
type command struct {
	name    string // words after "cascadectl", e.g. "breach publish"
	args    string // positional arguments in usage, e.g. "FILE"
	summary string // one line for the command list
	details string // paragraphs for the verb's help
	// setup registers the verb's own flags on fs and returns the function
	// that runs it once fs is parsed.
	setup func(fs *flag.FlagSet) runFunc
}

// commands lists every verb, in the order help shows them.
func commands() []*command {
	return []*command{
		breachPublishCmd(),
		breachUpdateCmd(),
		breachStatusCmd(),
		breachListCmd(),
		noticeListCmd(),
		noticeShowCmd(),
		noticeHistoryCmd(),
		noticeAckCmd(),
		noticeRecordReportCmd(),
		noticeRecordNotReportableCmd(),
		noticeRecordSubjectsCmd(),
		noticeReportCmd(),
		evidenceExportCmd(),
		evidenceVerifyCmd(),
		verifyCmd(),
		versionCmd(),
		helpCmd(),
	}
}

// groups are the first words of multi-word verbs.
func groups() map[string]string {
	return map[string]string{
		"breach":   "Publish breach reports and updates and follow their progress",
		"notice":   "List, show and acknowledge notices, record outcomes, draft reports",
		"evidence": "Export and verify the documented record (Art. 33(5))",
	}
}

// lookup finds the command named by the leading words of args and returns
// it with the remaining arguments.
func lookup(args []string) (*command, []string) {
	for _, c := range commands() {
		words := strings.Fields(c.name)
		if len(args) < len(words) {
			continue
		}
		match := true
		for i, w := range words {
			if args[i] != w {
				match = false
				break
			}
		}
		if match {
			return c, args[len(words):]
		}
	}
	return nil, args
}

// run parses the global flags before the verb, finds the verb and runs it.
func (a *app) run(ctx context.Context, args []string) error {
	top := a.newFlagSet("cascadectl")
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return a.printUsage(a.stdout)
		}
		return &usageError{msg: err.Error()}
	}
	args = top.Args()
	if len(args) == 0 {
		_ = a.printUsage(a.stderr)
		return &exitError{code: 2}
	}
	cmd, rest := lookup(args)
	if cmd == nil {
		if _, ok := groups()[args[0]]; ok {
			if len(args) == 1 || isHelpArg(args[1]) {
				w, code := a.stderr, 2
				if len(args) > 1 {
					w, code = a.stdout, 0
				}
				_ = a.printGroupUsage(w, args[0])
				if code != 0 {
					return &exitError{code: code}
				}
				return nil
			}
			if strings.HasPrefix(args[1], "-") { // global flags between the group and the verb
				gfs := a.newFlagSet("cascadectl " + args[0])
				if err := gfs.Parse(args[1:]); err != nil {
					return &usageError{msg: err.Error()}
				}
				return a.run(ctx, append([]string{args[0]}, gfs.Args()...))
			}
			group := args[0]
			return &usageError{msg: fmt.Sprintf("unknown command %q", args[0]+" "+args[1]),
				usage: func(w io.Writer) { _ = a.printGroupUsage(w, group) }}
		}
		return &usageError{msg: fmt.Sprintf("unknown command %q", args[0]),
			usage: func(w io.Writer) { _ = a.printUsage(w) }}
	}
	fs := a.newFlagSet("cascadectl " + cmd.name)
	runner := cmd.setup(fs)
	pos, err := parseInterspersed(fs, rest)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return a.printCommandUsage(a.stdout, cmd)
		}
		return &usageError{name: cmd.name, msg: err.Error()}
	}
	if err := a.g.check(); err != nil {
		return &usageError{name: cmd.name, msg: err.Error()}
	}
	err = runner(ctx, a, pos)
	if err == nil {
		return nil
	}
	var te *timeoutError
	if a.timed != nil && errors.As(context.Cause(a.timed), &te) && !errors.As(err, &te) {
		return te // "context deadline exceeded" from deep down says less
	}
	if ctx.Err() != nil && !errors.As(err, new(*exitError)) {
		return errors.New("interrupted")
	}
	return err
}

func isHelpArg(s string) bool {
	switch s {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// newFlagSet is a flag set with the global flags that reports errors
// instead of printing them.
func (a *app) newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	a.g.register(fs)
	return fs
}

// parseInterspersed parses flags that may come before, between or after
// positional arguments (the standard flag package stops at the first
// positional one). After "--" everything is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// withTimeout applies --timeout to ctx. Verbs call it for the work that
// --timeout bounds (all of it, except a watch).
func (a *app) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if a.g.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, a.g.timeout, &timeoutError{after: a.g.timeout})
	a.timed = ctx
	return ctx, cancel
}

// wantArgs checks the number of positional arguments.
func wantArgs(cmd string, args []string, n int) error {
	switch {
	case len(args) < n:
		return &usageError{name: cmd, msg: fmt.Sprintf("missing argument: want %d, got %d", n, len(args))}
	case len(args) > n:
		return &usageError{name: cmd, msg: fmt.Sprintf("unexpected argument %q", args[n])}
	}
	return nil
}
