package protoconv

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cascadehq/cascade/internal/breach"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// breachEvents returns every constant of type breach.Event declared in
// package breach, read from its source so that a new event cannot be
// forgotten here: name to value.
func breachEvents(t *testing.T) map[string]breach.Event {
	t.Helper()
	files, err := filepath.Glob("../breach/*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]breach.Event{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Event" {
					continue
				}
				for i, name := range vs.Names {
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Fatalf("%s: breach.%s is not a string literal", f, name.Name)
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					out[name.Name] = breach.Event(v)
				}
			}
		}
	}
	return out
}

// TestEveryEventHasAKind checks that every breach.Event maps to its own
// NoticeEventKind, named as the event is, and that every kind is used.
func TestEveryEventHasAKind(t *testing.T) {
	events := breachEvents(t)
	if len(events) < 20 {
		t.Fatalf("found %d breach.Event constants, want at least 20: is the parse wrong?", len(events))
	}
	seen := map[cascadev1.NoticeEventKind]breach.Event{}
	for name, e := range events {
		k := EventKindProto(e)
		if k == cascadev1.NoticeEventKind_NOTICE_EVENT_KIND_UNSPECIFIED {
			t.Errorf("breach.%s (%q) has no NoticeEventKind: add one to eventKinds and to NoticeEventKind in types.proto", name, e)
			continue
		}
		if want := "NOTICE_EVENT_KIND_" + strings.ToUpper(string(e)); k.String() != want {
			t.Errorf("breach.%s (%q) maps to %s, want %s", name, e, k, want)
		}
		if other, dup := seen[k]; dup {
			t.Errorf("%s is the kind of both %q and %q", k, other, e)
		}
		seen[k] = e
		if got := EventProto(&breach.Change{Event: e}, 1); got.GetKind() != k || got.GetEvent() != string(e) {
			t.Errorf("EventProto(%q) = kind %s, event %q", e, got.GetKind(), got.GetEvent())
		}
	}
	for v, name := range cascadev1.NoticeEventKind_name {
		if k := cascadev1.NoticeEventKind(v); k != cascadev1.NoticeEventKind_NOTICE_EVENT_KIND_UNSPECIFIED && seen[k] == "" {
			t.Errorf("%s is no breach.Event's kind", name)
		}
	}
	if k := EventKindProto("no_such_event"); k != cascadev1.NoticeEventKind_NOTICE_EVENT_KIND_UNSPECIFIED {
		t.Errorf("an unknown event maps to %s", k)
	}
}
