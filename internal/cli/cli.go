// Package cli implements cascadectl, the command-line client of Cascade:
// it publishes breach reports and updates over NATS and follows their
// fan-out, shows a breach's progress, lists, shows and acknowledges
// notices, records what controllers did (authority report, not reportable,
// data-subject communication), drafts their report to the authority and
// exports and verifies evidence, issues and revokes tokens and lists and
// rotates signing keys, over the gRPC API, checks the signature of a
// message from Cascade (verify) and prints shell completion scripts made
// from its verb table (completion). Every verb lives in its own file
// (breach_publish.go, notice_ack.go, ...), writes to the io.Writers it is
// given and renders from proto messages, so the output can be tested
// without a terminal. Main is the whole program; cmd/cascadectl only
// wires it to the process.
//
// Every gRPC call carries the caller's credentials: a bearer token
// (--token, --token-file, CASCADE_TOKEN, CASCADE_TOKEN_FILE) as
// "authorization: Bearer <token>", and/or a client certificate over
// mutual TLS (--tls-cert, --tls-key). A token is never printed, except
// by tokens issue, which exists to show it once.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
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
	EnvGRPCAddr      = "CASCADE_GRPC_ADDR"
	EnvNATSURL       = "CASCADE_NATS_URL"
	EnvToken         = "CASCADE_TOKEN"
	EnvTokenFile     = "CASCADE_TOKEN_FILE"
	EnvTLSCA         = "CASCADE_TLS_CA"
	EnvTLSCert       = "CASCADE_CLIENT_TLS_CERT" // not CASCADE_TLS_CERT: that is cascaded's server certificate
	EnvTLSKey        = "CASCADE_CLIENT_TLS_KEY"
	EnvNATSNkey      = "CASCADE_NATS_NKEY"
	EnvTLSServerName = "CASCADE_TLS_SERVER_NAME"
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
	// warnedPlaintext: the warning about a token sent without TLS was
	// printed (once per invocation).
	warnedPlaintext bool
	clk             clock // of breach status --watch; nil: the system's
	// channelWait is breach publish's --channel-wait.
	channelWait time.Duration
}

// globals are the flags every verb accepts.
type globals struct {
	grpcAddr string
	natsURL  string
	natsNkey string // NKey seed file of the NATS user (from `nats-auth generate`)
	output   string
	timeout  time.Duration
	// token and tokenFile are the flags only; envToken and envTokenFile
	// the environment, used when neither flag is given (see credential).
	// A token never becomes a flag default, so it never shows in help.
	token, tokenFile       string
	envToken, envTokenFile string
	// TLS: a CA to verify the server, a client certificate and key for
	// mutual TLS, and the name to verify the server's certificate against.
	tlsCA, tlsCert, tlsKey, tlsServerName string
	// From the environment only: NO_COLOR is set; TERM is "dumb" (a
	// terminal that cannot move the cursor).
	noColor, dumbTerm bool
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
	if v, ok := lookup(EnvNATSNkey); ok && v != "" {
		g.natsNkey = v
	}
	if v, ok := lookup("NO_COLOR"); ok && v != "" {
		g.noColor = true
	}
	if v, _ := lookup("TERM"); v == "dumb" {
		g.dumbTerm = true
	}
	for env, p := range map[string]*string{EnvToken: &g.envToken, EnvTokenFile: &g.envTokenFile, EnvTLSCA: &g.tlsCA,
		EnvTLSCert: &g.tlsCert, EnvTLSKey: &g.tlsKey, EnvTLSServerName: &g.tlsServerName} {
		if v, ok := lookup(env); ok && v != "" {
			*p = v
		}
	}
	return g
}

// register adds the global flags to fs; their defaults are g's current values.
func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.grpcAddr, "grpc-addr", g.grpcAddr, "gRPC API `address` of cascaded (env "+EnvGRPCAddr+")")
	fs.StringVar(&g.natsURL, "nats-url", g.natsURL, "NATS `URL` to publish on (env "+EnvNATSURL+")")
	fs.StringVar(&g.natsNkey, "nats-nkey", g.natsNkey, "NKey seed `file` of your NATS user, when the NATS server requires credentials (env "+EnvNATSNkey+")")
	fs.StringVar(&g.token, "token", g.token, "bearer `token` for the gRPC API (env "+EnvToken+", safer than the flag: command lines are visible)")
	fs.StringVar(&g.tokenFile, "token-file", g.tokenFile, "read the bearer token from `file` (env "+EnvTokenFile+")")
	fs.StringVar(&g.tlsCA, "tls-ca", g.tlsCA, "use TLS, trusting the CA certificates in PEM `file` for cascaded's certificate (env "+EnvTLSCA+")")
	fs.StringVar(&g.tlsCert, "tls-cert", g.tlsCert, "use mutual TLS with the client certificate in PEM `file` (env "+EnvTLSCert+")")
	fs.StringVar(&g.tlsKey, "tls-key", g.tlsKey, "private key of --tls-cert, PEM `file` (env "+EnvTLSKey+")")
	fs.StringVar(&g.tlsServerName, "tls-server-name", g.tlsServerName, "use TLS, expecting cascaded's certificate to name `host` (env "+EnvTLSServerName+")")
	fs.StringVar(&g.output, "o", g.output, "output `format`: table or json")
	fs.DurationVar(&g.timeout, "timeout", g.timeout, "time limit (a `duration`) of the command; 0 means none")
}

// globalOrder is the order help lists the global flags in.
var globalOrder = []string{"grpc-addr", "nats-url", "nats-nkey", "token", "token-file", "tls-ca", "tls-cert", "tls-key", "tls-server-name", "o", "timeout"}

// isGlobal reports whether name is one of the global flags.
func isGlobal(name string) bool {
	return slices.Contains(globalOrder, name)
}

func (g *globals) check() error {
	if g.output != outputTable && g.output != outputJSON {
		return fmt.Errorf("-o must be %q or %q, not %q", outputTable, outputJSON, g.output)
	}
	if g.timeout < 0 {
		return fmt.Errorf("--timeout must not be negative")
	}
	if g.token != "" && g.tokenFile != "" {
		return errors.New("give either --token or --token-file, not both")
	}
	if g.token == "" && g.tokenFile == "" && g.envToken != "" && g.envTokenFile != "" {
		return fmt.Errorf("both %s and %s are set: unset one (or choose with --token or --token-file)", EnvToken, EnvTokenFile)
	}
	if (g.tlsCert == "") != (g.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together (or " + EnvTLSCert + " and " + EnvTLSKey + ")")
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
	// examples are command lines, each after a "# what it does" comment
	// line, shown in help; TestEveryVerbHasExamples parses them.
	examples string
	// setup registers the verb's own flags on fs and returns the function
	// that runs it once fs is parsed.
	setup func(fs *flag.FlagSet) runFunc
}

// commands lists every verb, in the order help shows them.
func commands() []*command {
	return []*command{
		breachPublishCmd(),
		breachUpdateCmd(),
		breachForwardCmd(),
		breachStatusCmd(),
		breachListCmd(),
		breachAdvisoryPublishCmd(),
		breachAdvisoryUnpublishCmd(),
		noticeListCmd(),
		noticeShowCmd(),
		noticeHistoryCmd(),
		noticeAckCmd(),
		noticeRecordReportCmd(),
		noticeRecordNotReportableCmd(),
		noticeRecordSubjectsCmd(),
		noticeReportCmd(),
		noticeSubjectDraftCmd(),
		noticeAskCmd(),
		noticeAnswerCmd(),
		noticeQuestionsCmd(),
		evidenceExportCmd(),
		evidenceVerifyCmd(),
		tokensIssueCmd(),
		tokensListCmd(),
		tokensRevokeCmd(),
		whoamiCmd(),
		keysListCmd(),
		keysRotateCmd(),
		webhookSecretCmd(),
		deadletterListCmd(),
		natsAuthGenerateCmd(),
		natsAuthInboxPrefixCmd(),
		verifyCmd(),
		versionCmd(),
		completionCmd(),
		helpCmd(),
	}
}

// groups are the first words of multi-word verbs.
func groups() map[string]string {
	return map[string]string{
		"breach":     "Publish breach reports and updates and follow their progress",
		"notice":     "List, show and acknowledge notices, record outcomes, draft reports, ask and answer questions",
		"evidence":   "Export and verify the documented record (Art. 33(5))",
		"tokens":     "Issue, list and revoke the bearer tokens of the gRPC API (vendor only)",
		"keys":       "List and rotate the keys that sign every message to an organisation",
		"nats-auth":  "Generate NATS users and permissions from the registry; print a user's inbox prefix",
		"webhook":    "Issue the secrets that sign webhook requests (vendor only)",
		"deadletter": "List messages given up on after every webhook or e-mail retry",
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
		return &usageError{msg: flagError(top, err)}
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
			return &usageError{msg: fmt.Sprintf("unknown command %q", group+" "+args[1]) + didYouMean(args[1], verbWords(group), quoteWith(group+" ")),
				usage: func(w io.Writer) { _ = a.printGroupUsage(w, group) }}
		}
		return &usageError{msg: fmt.Sprintf("unknown command %q", args[0]) + didYouMean(args[0], verbWords(""), quoteWith("")),
			usage: func(w io.Writer) { _ = a.printUsage(w) }}
	}
	fs := a.newFlagSet("cascadectl " + cmd.name)
	runner := cmd.setup(fs)
	pos, err := parseInterspersed(fs, rest)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return a.printCommandUsage(a.stdout, cmd)
		}
		return &usageError{name: cmd.name, msg: flagError(fs, err)}
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
	return a.advise(cmd.name, err)
}

// flagError is the message of a parse error of fs, with a suggestion for
// a mistyped flag.
func flagError(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		msg += didYouMean(strings.TrimPrefix(name, "-"), names, flagName)
	}
	return msg
}

// verbWords are the words that can follow "cascadectl" (group "") or
// "cascadectl <group>".
func verbWords(group string) []string {
	var words []string
	if group == "" {
		for g := range groups() {
			words = append(words, g)
		}
	}
	for _, c := range commands() {
		w := strings.Fields(c.name)
		switch {
		case group == "" && len(w) == 1:
			words = append(words, w[0])
		case group != "" && len(w) == 2 && w[0] == group:
			words = append(words, w[1])
		}
	}
	slices.Sort(words)
	return words
}

// quoteWith formats a suggested verb as prefix+verb, quoted.
func quoteWith(prefix string) func(string) string {
	return func(s string) string { return strconv.Quote(prefix + s) }
}

// flagName is how help writes a flag: -o, --grpc-addr.
func flagName(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
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
