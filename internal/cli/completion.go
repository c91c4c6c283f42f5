package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// shells are the shells completion writes scripts for.
var shells = []string{"bash", "zsh", "fish"}

func completionCmd() *command {
	const name = "completion"
	return &command{
		name:    name,
		args:    "bash|zsh|fish",
		summary: "Print a shell script that completes cascadectl's commands and flags",
		details: `The script completes commands, their sub-commands and flags, the values
of flags with a fixed set of values (-o, --state, --role, ...) and file
names where a command takes a file. It is generated from the commands of
this cascadectl: generate it again after an upgrade.

  bash: source <(cascadectl completion bash)   (in ~/.bashrc), or
        cascadectl completion bash > ~/.local/share/bash-completion/completions/cascadectl
  zsh:  cascadectl completion zsh > "${fpath[1]}/_cascadectl"   (then start a new shell)
  fish: cascadectl completion fish > ~/.config/fish/completions/cascadectl.fish`,
		examples: `
# Install for bash (with the bash-completion package)
cascadectl completion bash > ~/.local/share/bash-completion/completions/cascadectl
# Install for fish
cascadectl completion fish > ~/.config/fish/completions/cascadectl.fish`,
		setup: func(*flag.FlagSet) runFunc {
			return func(_ context.Context, a *app, args []string) error {
				if err := wantArgs(name, args, 1); err != nil {
					return err
				}
				m := newCompletionModel()
				switch args[0] {
				case "bash":
					return m.bash(a.stdout)
				case "zsh":
					return m.zsh(a.stdout)
				case "fish":
					return m.fish(a.stdout)
				}
				return usageErrorf(name, "unknown shell %q: want bash, zsh or fish", args[0])
			}
		},
	}
}

// completionModel is what the scripts complete, taken from the verb table.
type completionModel struct {
	// next maps the command words typed so far ("", "breach", "help",
	// "help breach") to the words that may follow.
	next     map[string][]compWord
	prefixes []string // the keys of next, in table order
	verbs    []compVerb
	globals  []compFlag
}

// compWord is a command word and its description.
type compWord struct{ name, desc string }

// compVerb is a complete command: its flags and what its arguments are.
type compVerb struct {
	name  string
	flags []compFlag
	args  compValues
}

// compFlag is one flag.
type compFlag struct {
	name, desc string
	bool       bool
	values     compValues
}

// compValues is what a flag value or an argument is: one of fixed
// words, a file, a directory or anything (none of these).
type compValues struct {
	words      []string
	file, dirs bool
}

// flagValues are the fixed values of flags, by name.
func flagValues() map[string][]string {
	var states, roles []string
	for v := range int32(len(cascadev1.NoticeState_name)) {
		if v > 0 {
			states = append(states, strings.ToLower(stateName(cascadev1.NoticeState(v))))
		}
	}
	for v := range int32(len(cascadev1.Role_name)) {
		if v > 0 {
			roles = append(roles, roleName(cascadev1.Role(v)))
		}
	}
	return map[string][]string{
		"o":       {outputTable, outputJSON},
		"state":   states,
		"role":    roles,
		"lang":    {"sv", "en"},
		"format":  {draftMarkdown, draftJSON},
		"exempt":  {"a", "b", "c"},
		"display": {displayAuto, displayLive, displayPlain},
	}
}

func newCompletionModel() *completionModel {
	m := &completionModel{next: map[string][]compWord{}}
	add := func(prefix string, w compWord) {
		if _, ok := m.next[prefix]; !ok {
			m.prefixes = append(m.prefixes, prefix)
		}
		if !slices.ContainsFunc(m.next[prefix], func(x compWord) bool { return x.name == w.name }) {
			m.next[prefix] = append(m.next[prefix], w)
		}
	}
	for _, c := range commands() {
		words := strings.Fields(c.name)
		if len(words) == 2 {
			add("", compWord{words[0], groups()[words[0]]})
			add(words[0], compWord{words[1], c.summary})
			add("help", compWord{words[0], groups()[words[0]]})
			add("help "+words[0], compWord{words[1], c.summary})
		} else {
			add("", compWord{words[0], c.summary})
			add("help", compWord{words[0], c.summary})
		}
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		c.setup(fs)
		v := compVerb{name: c.name, flags: compFlags(fs), args: argValues(c)}
		m.verbs = append(m.verbs, v)
	}
	m.globals = compFlags(globalFlagSet())
	return m
}

// compFlags are the flags of fs, in help's order.
func compFlags(fs *flag.FlagSet) []compFlag {
	values := flagValues()
	var flags []compFlag
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		cf := compFlag{name: f.Name, desc: usage, bool: arg == ""}
		switch {
		case values[f.Name] != nil:
			cf.values.words = values[f.Name]
		case arg == "file":
			cf.values.file = true
		case arg == "directory":
			cf.values.dirs = true
		}
		flags = append(flags, cf)
	})
	slices.SortStableFunc(flags, func(x, y compFlag) int {
		return slices.Index(globalOrder, x.name) - slices.Index(globalOrder, y.name)
	})
	return flags
}

// argValues is what the positional arguments of c are.
func argValues(c *command) compValues {
	switch {
	case c.name == "completion":
		return compValues{words: shells}
	case strings.Contains(c.args, "FILE"):
		return compValues{file: true}
	case strings.Contains(c.args, "DIR"):
		return compValues{dirs: true}
	}
	return compValues{}
}

// valueFlags are the names of the flags that take a value, of every verb.
func (m *completionModel) valueFlags() []string {
	var names []string
	for _, f := range m.allFlags() {
		if !f.bool && !slices.Contains(names, f.name) {
			names = append(names, f.name)
		}
	}
	return names
}

// allFlags are the global flags, then every verb's own.
func (m *completionModel) allFlags() []compFlag {
	flags := slices.Clone(m.globals)
	for _, v := range m.verbs {
		for _, f := range v.flags {
			if !isGlobal(f.name) {
				flags = append(flags, f)
			}
		}
	}
	return flags
}

// shQuote quotes s for sh, bash, zsh and fish alike.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// fishQuote quotes s for fish, which escapes quotes with a backslash.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}

// casePatterns is "-n|--n" for each flag name, for a case statement.
func casePatterns(names []string) string {
	var ps []string
	for _, n := range names {
		ps = append(ps, "-"+n, "--"+n)
	}
	return strings.Join(ps, "|")
}

// scanWords is the loop, in bash and zsh, that sets cmd to the command
// words typed before the cursor (a prefix of m.next or a verb), skipping
// flags and their values. Bash splits "--flag=value" into three words.
func (m *completionModel) scanWords(w io.Writer, first, limit, words string) {
	var prefixes []string
	for _, p := range m.prefixes {
		prefixes = append(prefixes, shQuote(p))
	}
	fmt.Fprintf(w, `    local cmd="" skip="" w i
    for ((i = %s; i < %s; i++)); do
        w=${%s[i]}
        if [[ -n $skip ]]; then
            [[ $w == = ]] || skip=""
            continue
        fi
        case $w in
        --) break ;;
        =) skip=1 ;;
        -*=*) ;;
        %s) skip=1 ;;
        -*) ;;
        *) case $cmd in
           %s) cmd="${cmd:+$cmd }$w" ;;
           esac ;;
        esac
    done
`, first, limit, words, casePatterns(m.valueFlags()), strings.Join(prefixes, "|"))
}

// bash writes the bash script.
func (m *completionModel) bash(out io.Writer) error {
	var b strings.Builder
	b.WriteString(`# bash completion for cascadectl, generated by 'cascadectl completion bash'.
# Load it with: source <(cascadectl completion bash)
_cascadectl() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
`)
	m.scanWords(&b, "1", "COMP_CWORD", "COMP_WORDS")
	b.WriteString("    [[ $prev == = ]] && prev=${COMP_WORDS[COMP_CWORD-2]}\n    case $prev in\n")
	m.valueCases(&b, func(v compValues) string {
		switch {
		case v.words != nil:
			return fmt.Sprintf(`COMPREPLY=($(compgen -W %s -- "$cur")); return`, shQuote(strings.Join(v.words, " ")))
		case v.file:
			return `COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames; return`
		case v.dirs:
			return `COMPREPLY=($(compgen -d -- "$cur")); compopt -o filenames; return`
		}
		return "return"
	})
	b.WriteString("    esac\n    local flags=\"\" words=\"\"\n    case $cmd in\n")
	for _, p := range m.prefixes {
		var names []string
		for _, w := range m.next[p] {
			names = append(names, w.name)
		}
		fmt.Fprintf(&b, "    %s) words=%s ;;\n", shQuote(p), shQuote(strings.Join(names, " ")))
	}
	for _, v := range m.verbs {
		if _, ok := m.next[v.name]; ok { // "help": its words are completed above
			continue
		}
		var names []string
		for _, f := range v.flags {
			names = append(names, flagName(f.name))
		}
		fmt.Fprintf(&b, "    %s)\n        flags=%s\n", shQuote(v.name), shQuote(strings.Join(names, " ")))
		switch {
		case v.args.words != nil:
			fmt.Fprintf(&b, "        words=%s ;;\n", shQuote(strings.Join(v.args.words, " ")))
		case v.args.file:
			b.WriteString("        [[ $cur != -* ]] && { COMPREPLY=($(compgen -f -- \"$cur\")); compopt -o filenames; return; } ;;\n")
		case v.args.dirs:
			b.WriteString("        [[ $cur != -* ]] && { COMPREPLY=($(compgen -d -- \"$cur\")); compopt -o filenames; return; } ;;\n")
		default:
			b.WriteString("        ;;\n")
		}
	}
	var globals []string
	for _, f := range m.globals {
		globals = append(globals, flagName(f.name))
	}
	fmt.Fprintf(&b, `    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$flags %s" -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
    fi
}
complete -F _cascadectl cascadectl
`, strings.Join(globals, " "))
	_, err := io.WriteString(out, b.String())
	return err
}

// valueCases writes a case for the value of each flag that takes one,
// grouping flags whose values are completed alike.
func (m *completionModel) valueCases(b *strings.Builder, action func(compValues) string) {
	var order []string
	byAction := map[string][]string{}
	seen := map[string]bool{}
	for _, f := range m.allFlags() {
		if f.bool || seen[f.name] {
			continue
		}
		seen[f.name] = true
		act := action(f.values)
		if _, ok := byAction[act]; !ok {
			order = append(order, act)
		}
		byAction[act] = append(byAction[act], f.name)
	}
	for _, act := range order {
		fmt.Fprintf(b, "    %s) %s ;;\n", casePatterns(byAction[act]), act)
	}
}

// zsh writes the zsh script, for fpath (as _cascadectl) or to source.
func (m *completionModel) zsh(out io.Writer) error {
	var b strings.Builder
	b.WriteString(`#compdef cascadectl
# zsh completion for cascadectl, generated by 'cascadectl completion zsh'.
# Install it as _cascadectl in a directory of $fpath, or source it.
_cascadectl() {
    local cur=${words[CURRENT]} prev=${words[CURRENT-1]}
`)
	m.scanWords(&b, "2", "CURRENT", "words")
	b.WriteString("    case $prev in\n")
	m.valueCases(&b, func(v compValues) string {
		switch {
		case v.words != nil:
			return "compadd -- " + strings.Join(v.words, " ") + "; return"
		case v.file:
			return "_files; return"
		case v.dirs:
			return "_files -/; return"
		}
		return "return"
	})
	b.WriteString("    esac\n    local -a flags verbs\n    case $cmd in\n")
	describe := func(name, desc string) string { return shQuote(strings.ReplaceAll(name, ":", `\:`) + ":" + desc) }
	for _, p := range m.prefixes {
		var ws []string
		for _, w := range m.next[p] {
			ws = append(ws, describe(w.name, w.desc))
		}
		fmt.Fprintf(&b, "    %s) verbs=(%s) ;;\n", shQuote(p), strings.Join(ws, " "))
	}
	for _, v := range m.verbs {
		if _, ok := m.next[v.name]; ok {
			continue
		}
		var fs []string
		for _, f := range v.flags {
			fs = append(fs, describe(flagName(f.name), f.desc))
		}
		fmt.Fprintf(&b, "    %s)\n        flags=(%s)\n", shQuote(v.name), strings.Join(fs, " "))
		switch {
		case v.args.words != nil:
			fmt.Fprintf(&b, "        [[ $cur != -* ]] && { compadd -- %s; return; } ;;\n", strings.Join(v.args.words, " "))
		case v.args.file:
			b.WriteString("        [[ $cur != -* ]] && { _files; return; } ;;\n")
		case v.args.dirs:
			b.WriteString("        [[ $cur != -* ]] && { _files -/; return; } ;;\n")
		default:
			b.WriteString("        ;;\n")
		}
	}
	var globals []string
	for _, f := range m.globals {
		globals = append(globals, describe(flagName(f.name), f.desc))
	}
	fmt.Fprintf(&b, `    esac
    if [[ $cur == -* ]]; then
        flags+=(%s)
        _describe -t flags flag flags
    else
        _describe -t commands command verbs
    fi
}
if [[ $funcstack[1] == _cascadectl ]]; then
    _cascadectl "$@"
else
    compdef _cascadectl cascadectl
fi
`, strings.Join(globals, " "))
	_, err := io.WriteString(out, b.String())
	return err
}

// fish writes the fish script.
func (m *completionModel) fish(out io.Writer) error {
	var b strings.Builder
	var prefixes []string
	for _, p := range m.prefixes {
		prefixes = append(prefixes, fishQuote(p))
	}
	fmt.Fprintf(&b, `# fish completion for cascadectl, generated by 'cascadectl completion fish'.
# Install it as ~/.config/fish/completions/cascadectl.fish
function __cascadectl_cmd --description 'the cascadectl command words before the cursor'
    set -l cmd ''
    set -l skip 0
    set -l words (commandline -opc)
    set -e words[1]
    for w in $words
        if test $skip = 1
            set skip 0
            continue
        end
        switch $w
            case --
                break
            case '-*=*'
            case '-*'
                contains -- (string replace -r '^--?' '' -- $w) %s; and set skip 1
            case '*'
                if contains -- $cmd %s
                    set cmd (string trim -- "$cmd $w")
                end
        end
    end
    echo $cmd
end
function __cascadectl_is --description 'whether the command words are argv[1]'
    set -l cmd (__cascadectl_cmd)
    test "$cmd" = "$argv[1]"
end
complete -c cascadectl -f
`, strings.Join(m.valueFlags(), " "), strings.Join(prefixes, " "))
	flagSpec := func(f compFlag) string {
		s := "-l " + f.name
		if len(f.name) == 1 {
			s = "-s " + f.name
		}
		switch {
		case f.bool:
		case f.values.words != nil:
			s += " -x -a " + fishQuote(strings.Join(f.values.words, " "))
		case f.values.file, f.values.dirs:
			s += " -r -F"
		default:
			s += " -x"
		}
		return s + " -d " + fishQuote(f.desc)
	}
	for _, p := range m.prefixes {
		for _, w := range m.next[p] {
			fmt.Fprintf(&b, "complete -c cascadectl -n %s -a %s -d %s\n", fishQuote("__cascadectl_is "+shQuote(p)), w.name, fishQuote(w.desc))
		}
	}
	for _, f := range m.globals {
		fmt.Fprintf(&b, "complete -c cascadectl %s\n", flagSpec(f))
	}
	for _, v := range m.verbs {
		cond := fishQuote("__cascadectl_is " + shQuote(v.name))
		for _, f := range v.flags {
			if !isGlobal(f.name) {
				fmt.Fprintf(&b, "complete -c cascadectl -n %s %s\n", cond, flagSpec(f))
			}
		}
		switch {
		case v.args.words != nil:
			fmt.Fprintf(&b, "complete -c cascadectl -n %s -a %s\n", cond, fishQuote(strings.Join(v.args.words, " ")))
		case v.args.file, v.args.dirs:
			fmt.Fprintf(&b, "complete -c cascadectl -n %s -F\n", cond)
		}
	}
	_, err := io.WriteString(out, b.String())
	return err
}
