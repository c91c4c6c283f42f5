package cli

import (
	"fmt"
	"strings"
	"testing"
)

// TestEveryVerbHasExamples walks the verb table: every verb has a summary,
// help text and examples, and every example is a command line cascadectl
// accepts (the verb it documents, flags that exist), so examples cannot
// drift from the flags.
func TestEveryVerbHasExamples(t *testing.T) {
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			if strings.TrimSpace(c.summary) == "" || strings.TrimSpace(c.details) == "" {
				t.Errorf("%s has no summary or no help text (details)", c.name)
			}
			ex := strings.TrimSpace(c.examples)
			if ex == "" {
				t.Fatalf("%s has no examples", c.name)
			}
			commented := false
			for line := range strings.Lines(ex) {
				line = strings.TrimSpace(line)
				if strings.HasPrefix(line, "# ") {
					commented = true
					continue
				}
				if !commented {
					t.Errorf("example %q has no comment line before it", line)
				}
				commented = false
				if err := checkExample(c, line); err != nil {
					t.Errorf("example %q: %v", line, err)
				}
			}
			r := runCLI(t.Context(), append(strings.Fields(c.name), "--help")...)
			if r.code != 0 || !strings.Contains(r.stdout, "\nExamples:\n  # ") {
				t.Errorf("%s --help: exit %d, no examples:\n%s%s", c.name, r.code, r.stdout, r.stderr)
			}
		})
	}
}

// checkExample parses an example command line as run does, without running it.
func checkExample(want *command, line string) error {
	words := shellWords(line)
	if len(words) == 0 || words[0] != "cascadectl" {
		return fmt.Errorf("does not run cascadectl: %q", words)
	}
	a := &app{g: staticGlobals()}
	top := a.newFlagSet("cascadectl")
	if err := top.Parse(words[1:]); err != nil {
		return err
	}
	cmd, rest := lookup(top.Args())
	if cmd == nil || cmd.name != want.name {
		return fmt.Errorf("runs %v, not %s", cmd, want.name)
	}
	fs := a.newFlagSet("cascadectl " + cmd.name)
	cmd.setup(fs)
	_, err := parseInterspersed(fs, rest)
	return err
}

// shellWords splits the cascadectl part of a shell command line into
// words: quotes are removed, a pipe's other side and redirections dropped.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	inWord, quote := false, rune(0)
	for _, r := range line + " " {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ':
			if inWord {
				words = append(words, cur.String())
			}
			cur.Reset()
			inWord = false
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	var cmd []string
	for i := 0; i < len(words); i++ {
		switch words[i] {
		case "|":
			if len(cmd) > 0 && cmd[0] == "cascadectl" {
				return cmd
			}
			cmd = nil
		case "<", ">", ">>":
			i++ // and the file
		default:
			cmd = append(cmd, words[i])
		}
	}
	return cmd
}

func TestShellWords(t *testing.T) {
	for line, want := range map[string]string{
		`cascadectl notice ack B/o --by x --note "received, assessing"`: "cascadectl|notice|ack|B/o|--by|x|--note|received, assessing",
		`gen | cascadectl breach publish -`:                             "cascadectl|breach|publish|-",
		`cascadectl breach update - < update.json`:                      "cascadectl|breach|update|-",
		`cascadectl tokens issue -q > t.token`:                          "cascadectl|tokens|issue|-q",
		`cascadectl x --a 'b c' | less`:                                 "cascadectl|x|--a|b c",
	} {
		if got := strings.Join(shellWords(line), "|"); got != want {
			t.Errorf("shellWords(%q) = %q, want %q", line, got, want)
		}
	}
}
