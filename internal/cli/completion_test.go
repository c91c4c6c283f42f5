package cli

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompletionHasEveryVerb: each script names every command word and
// every flag of the verb table.
func TestCompletionHasEveryVerb(t *testing.T) {
	for _, sh := range shells {
		t.Run(sh, func(t *testing.T) {
			r := runCLI(t.Context(), "completion", sh)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			for _, c := range commands() {
				for _, w := range strings.Fields(c.name) {
					if !strings.Contains(r.stdout, w) {
						t.Errorf("%s: no %q (of %q)", sh, w, c.name)
					}
				}
				fs := globalFlagSet()
				c.setup(fs)
				fs.VisitAll(func(f *flag.Flag) {
					if !strings.Contains(r.stdout, f.Name) {
						t.Errorf("%s: no flag %s of %q", sh, f.Name, c.name)
					}
				})
			}
		})
	}
	if r := runCLI(t.Context(), "completion", "tcsh"); r.code != 2 || !strings.Contains(r.stderr, `unknown shell "tcsh"`) {
		t.Errorf("tcsh: exit %d, stderr %q", r.code, r.stderr)
	}
}

// completionCases are command lines (the last word being completed) and
// the candidates each shell must offer (among others, for zsh, whose
// _describe filters by prefix itself).
var completionCases = []struct {
	line string
	want string
}{
	{"cascadectl ", "breach notice evidence tokens keys nats-auth verify version completion help"},
	{"cascadectl breach ", "publish update status list"},
	{"cascadectl --grpc-addr x breach st", "status"},
	{"cascadectl breach status ID --wa", "--watch"},
	{"cascadectl notice list --state ", "pending delivered acknowledged resolved"},
	{"cascadectl notice list -o j", "json"},
	{"cascadectl help notice record-r", "record-report"},
	{"cascadectl completion ", "bash zsh fish"},
	{"cascadectl tokens issue --role con", "controller"},
}

// TestCompletionScripts runs each script in its shell, where installed.
func TestCompletionScripts(t *testing.T) {
	dir := t.TempDir()
	drivers := map[string]string{
		// COMP_WORDS as bash splits the line; compopt only works inside
		// a real completion.
		"bash": `source "$1"; shift
compopt() { :; }
for line in "$@"; do
    read -ra COMP_WORDS <<< "$line"
    [[ $line == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
    _cascadectl
    echo "${COMPREPLY[*]}"
done`,
		// Stubs print what _cascadectl offers.
		"zsh": `compdef() { : }
_describe() { local -a a; a=("${(@P)${@[-1]}}"); print -r -- "${(j: :)${a[@]%%:*}}" }
compadd() { shift; print -r -- "$*" }
source "$1"; shift
for line in "$@"; do
    words=(${(z)line}); [[ $line == *" " ]] && words+=("")
    CURRENT=${#words}
    _cascadectl
done`,
		"fish": `source $argv[1]
for line in $argv[2..-1]
    complete -C"$line" | string split -f1 \t | string join " "
end
true`,
	}
	for _, sh := range shells {
		t.Run(sh, func(t *testing.T) {
			path, err := exec.LookPath(sh)
			if err != nil {
				t.Skipf("%s not installed", sh)
			}
			r := runCLI(t.Context(), "completion", sh)
			script := filepath.Join(dir, "cascadectl."+sh)
			if err := os.WriteFile(script, []byte(r.stdout), 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"-c", drivers[sh], "driver", script}
			if sh == "zsh" {
				args = []string{"-f", "-c", drivers[sh], "driver", script}
			} else if sh == "fish" {
				args = []string{"-c", drivers[sh], script}
			}
			for _, tc := range completionCases {
				args = append(args, tc.line)
			}
			cmd := exec.CommandContext(t.Context(), path, args...)
			cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", sh, err, out)
			}
			got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
			if len(got) != len(completionCases) {
				t.Fatalf("%d lines for %d cases:\n%s", len(got), len(completionCases), out)
			}
			for i, tc := range completionCases {
				offered := strings.Fields(got[i])
				for _, w := range strings.Fields(tc.want) {
					if !strings.Contains(" "+strings.Join(offered, " ")+" ", " "+w+" ") {
						t.Errorf("%q: %s offers %q, want %s among them", tc.line, sh, got[i], w)
					}
				}
			}
		})
	}
}
