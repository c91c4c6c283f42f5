package advisory

import (
	"html/template"
	"strings"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
)

// view is what the page shows. It is built from the processor's public
// text and contact only: nothing in it names an affected organisation.
type view struct {
	Lang, OtherLang string
	Style           template.CSS
	W               *words
	Processor       string
	Published       string
	Updated         string
	Text            *breach.SubjectNoticeText
	TextLang        string // the language of Text, when not Lang
	Contact         breach.Contact
	PhoneHref       template.URL // tel: and digits only
}

func (h *Handler) view(b *breach.Breach, published time.Time, lang string) view {
	f := b.Facts()
	v := view{Lang: lang, OtherLang: "en", Style: template.CSS(style), W: wordsFor(lang), Processor: f.Processor,
		Published: published.In(h.loc).Format(time.DateOnly), Contact: f.Contact}
	if lang == "en" {
		v.OtherLang = "sv"
	}
	updated := b.ReceivedAt
	for _, r := range b.Revisions {
		if r.Update.SubjectNotice != nil {
			updated = r.At
		}
	}
	if !updated.IsZero() && updated.After(published) {
		v.Updated = updated.In(h.loc).Format(time.DateOnly)
	}
	v.Text = f.SubjectNotice.Text(lang)
	if v.Text == nil {
		v.Text, v.TextLang = f.SubjectNotice.Text(v.OtherLang), v.OtherLang
	}
	if p := strings.Map(func(r rune) rune {
		if r == '+' || (r >= '0' && r <= '9') {
			return r
		}
		return -1
	}, f.Contact.Phone); len(p) >= 3 {
		v.PhoneHref = template.URL("tel:" + p) // #nosec: only + and digits
	}
	return v
}

// para is one paragraph of the processor's text: its lines, and its
// language when it is not the page's.
type para struct {
	Lang  string
	Lines []string
}

// paras splits a text into paragraphs (at blank lines) of lines.
func paras(lang, s string) []para {
	var out []para
	for _, p := range strings.Split(strings.ReplaceAll(strings.TrimSpace(s), "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, para{Lang: lang, Lines: strings.Split(p, "\n")})
		}
	}
	return out
}

var funcs = template.FuncMap{"paras": paras}

// style is the page's only style, allowed by its hash in the CSP.
const style = `
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--muted:#57606a;--accent:#0b5cad;--box:#f3f6fa}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9da7b3;--accent:#6cb6ff;--box:#161b22}}
*{box-sizing:border-box}
body{margin:0;font:1.05rem/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:42rem;margin:0 auto;padding:1rem 1.1rem 3rem}
header{display:flex;justify-content:space-between;align-items:baseline;gap:1rem;flex-wrap:wrap;color:var(--muted);font-size:.9rem}
h1{font-size:1.6rem;line-height:1.25;margin:.6rem 0 .3rem}
h2{font-size:1.2rem;margin:1.8rem 0 .4rem}
p,ul{margin:.5rem 0}
a{color:var(--accent)}
.meta{color:var(--muted);font-size:.9rem}
.box{background:var(--box);border-radius:.5rem;padding:.2rem 1rem;margin:1rem 0}
.note{color:var(--muted);font-style:italic}
`

var page = template.Must(template.New("page").Funcs(funcs).Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.W.Title}} – {{.Processor}}</title>
<style>{{.Style}}</style>
</head>
<body>
<main>
<header><span>{{.W.Kind}}</span><a href="?lang={{.OtherLang}}" hreflang="{{.OtherLang}}" lang="{{.OtherLang}}">{{.W.Switch}}</a></header>
<h1>{{.W.Title}}: {{.Processor}}</h1>
<p class="meta">{{.W.Published}} {{.Published}}{{if .Updated}}. {{.W.Updated}} {{.Updated}}{{end}}.</p>
<p>{{.W.Intro}}</p>
{{if .TextLang}}<p class="note">{{.W.OtherLanguage}}</p>
{{end}}{{with .Text}}<h2>{{$.W.What}}</h2>
{{template "text" (paras $.TextLang .WhatHappened)}}{{if .WhichData}}<h2>{{$.W.Which}}</h2>
{{template "text" (paras $.TextLang .WhichData)}}{{end}}{{end}}<h2>{{.W.ToDo}}</h2>
{{with .Text}}{{if .WhatToDo}}{{template "text" (paras $.TextLang .WhatToDo)}}{{end}}{{end}}<ul>
{{range .W.Advice}}<li>{{.}}</li>
{{end}}</ul>
{{with .Text}}{{if .RecognisePhishing}}<h2>{{$.W.Phishing}}</h2>
{{template "text" (paras $.TextLang .RecognisePhishing)}}{{end}}{{end}}<div class="box">
<h2>{{.W.Genuine}}</h2>
<ul>
{{range .W.GenuineItems}}<li>{{.}}</li>
{{end}}</ul>
</div>
<h2>{{.W.Contact}}</h2>
<p>{{.W.ContactIntro}}</p>
<ul>
{{with .Contact.Name}}<li>{{.}}</li>
{{end}}{{with .Contact.Email}}<li><a href="mailto:{{.}}">{{.}}</a></li>
{{end}}{{with .Contact.Phone}}<li>{{if $.PhoneHref}}<a href="{{$.PhoneHref}}">{{.}}</a>{{else}}{{.}}{{end}}</li>
{{end}}</ul>
<p class="meta">{{.W.Footer}}</p>
</main>
</body>
</html>
`))

// The processor's text, paragraph by paragraph, its line breaks kept.
var _ = template.Must(page.New("text").Parse(`{{range .}}<p{{with .Lang}} lang="{{.}}"{{end}}>{{range $i, $l := .Lines}}{{if $i}}<br>{{end}}{{$l}}{{end}}</p>
{{end}}`))

var notFoundPage = template.Must(template.New("404").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.W.NotFound}}</title>
<style>{{.Style}}</style>
</head>
<body>
<main>
<h1>{{.W.NotFound}}</h1>
<p>{{.W.NotFoundText}}</p>
</main>
</body>
</html>
`))
