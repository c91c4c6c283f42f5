package draft

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
)

// hostileValues are field values that would be markup if copied into
// Markdown as they are: HTML, links, images, autolinks, emphasis, tables,
// and, on lines of their own, headings, lists, quotes and link definitions.
var hostileValues = []string{
	`<script>alert(1)</script>`,
	`<img src=x onerror=alert(1)>`,
	`[click](http://evil.example)`,
	`![pixel](http://evil.example/p.png)`,
	`<http://evil.example>`,
	"**bold** _em_ `code` ~~gone~~",
	`| a | b |`,
	`\<script>`,
	`&lt;b&gt;`,
}

// hostileLines are lines of a multi-line text that Markdown would read as
// block structure.
var hostileLines = []string{
	"# Owned heading", "  ## indented heading", "- list item", "+ plus item", "* star item", "1. ordered", "2) ordered",
	"> quote", "===", "---", "<div onclick=x>block html</div>", "[ref]: http://evil.example", "```", "<!-- comment -->",
}

// hostileDraft fills every supplied text of the fixture with v (the
// multi-line ones with lines) and records a late authority report whose
// authority, reference and delay reason are v too.
func hostileDraft(t *testing.T, v string, lines []string, lang Lang) string {
	t.Helper()
	b, n, org := fixture(t)
	multi := strings.Join(lines, "\n")
	r := &b.Report
	r.Processor, r.Title, r.Nature = v, v, multi
	r.LikelyConsequences, r.MeasuresTaken, r.MeasuresProposed, r.AdviceToControllers = multi, multi, multi, multi
	r.DataCategories, r.SubjectCategories = []string{v, v}, []string{v}
	r.Contact = breach.Contact{Name: v, Email: v, Phone: v}
	b.Revisions[0].Update.Summary = v
	b.Revisions[0].Update.LikelyConsequences = multi
	b.Revisions[0].Update.DataCategories = []string{v}
	org.Name, org.DPOEmail = v, v
	n.SubjectComm.How = v
	n.SubjectComm.Justification = v
	late := n.Deadline.Add(time.Hour)
	if _, err := n.RecordAuthorityReport(late, "dpo", v, v, late, multi); err != nil {
		t.Fatal(err)
	}
	return Build(b, n, org, lang, late.Add(time.Hour)).Markdown()
}

// structure is a draft's shape: each line's block marker (heading level,
// list item, quote, blank, text), which supplied text must not change.
func structure(md string) []string {
	marker := regexp.MustCompile(`^(#+ |- \[ \] |- |> |>$|\d+[.)] |[+*] |=+$|-+$|\x60\x60\x60|<|\[[^\]]*\]:)`)
	var out []string
	for _, l := range strings.Split(md, "\n") {
		out = append(out, marker.FindString(l))
	}
	return out
}

// TestMarkdownEscapesHostileValues: whatever the processor, the controller
// or the registry supplied renders as the text it is: no HTML, link, image
// or autolink appears, and the draft keeps the shape it has with harmless
// values.
func TestMarkdownEscapesHostileValues(t *testing.T) {
	benignLines := make([]string, len(hostileLines))
	for i := range benignLines {
		benignLines[i] = "plain line"
	}
	for _, lang := range []Lang{Swedish, English} {
		base := hostileDraft(t, "plain", benignLines, lang)
		if strings.ContainsAny(base, "<") || strings.Contains(base, "](") {
			t.Fatalf("the draft's own text holds < or ](, which the checks below assume it does not:\n%s", base)
		}
		want := structure(base)
		for _, v := range hostileValues {
			md := hostileDraft(t, v, hostileLines, lang)
			t.Run(string(lang)+"/"+v, func(t *testing.T) {
				if strings.Contains(md, "<") {
					t.Errorf("raw < in the draft (HTML or autolink):\n%s", md)
				}
				if strings.Contains(md, "](") && !strings.Contains(md, `\](`) {
					t.Errorf("a link or image in the draft:\n%s", md)
				}
				if strings.Contains(md, v) && strings.ContainsAny(v, "<[*_`|~") {
					t.Errorf("value %q copied unescaped", v)
				}
				got := structure(md)
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					for i := range min(len(got), len(want)) {
						if got[i] != want[i] {
							t.Fatalf("line %d is %q, with harmless values %q: supplied text changed the draft's structure:\n%s",
								i+1, got[i], want[i], md)
						}
					}
					t.Fatalf("%d lines, with harmless values %d:\n%s", len(got), len(want), md)
				}
			})
		}
	}
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, inline, line string }{
		{`<script>alert(1)</script>`, `&lt;script&gt;alert(1)&lt;/script&gt;`, `&lt;script&gt;alert(1)&lt;/script&gt;`},
		{`[click](http://evil)`, `\[click\](http://evil)`, `\[click\](http://evil)`},
		{`![x](y)`, `\!\[x\](y)`, `\!\[x\](y)`},
		{`a_b*c` + "`d`", `a\_b\*c` + "\\`d\\`", `a\_b\*c` + "\\`d\\`"},
		{`C:\path`, `C:\\path`, `C:\\path`},
		{"# title", "# title", `\# title`},
		{"  - item", "  - item", `  \- item`},
		{"+46 8 123", "+46 8 123", `\+46 8 123`},
		{"12. point", "12. point", `12\. point`},
		{"3) point", "3) point", `3\) point`},
		{"2025-08-23 är datumet", "2025-08-23 är datumet", "2025-08-23 är datumet"},
		{"> quoted", "&gt; quoted", "&gt; quoted"},
		{"Åsa & Co.", "Åsa & Co.", "Åsa & Co."},
	}
	for _, tc := range tests {
		if got := escape(tc.in); got != tc.inline {
			t.Errorf("escape(%q) = %q, want %q", tc.in, got, tc.inline)
		}
		if got := escapeLine(tc.in); got != tc.line {
			t.Errorf("escapeLine(%q) = %q, want %q", tc.in, got, tc.line)
		}
	}
}
