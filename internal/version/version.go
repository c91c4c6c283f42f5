// Package version says which build of Cascade is running: the module
// version and the VCS commit, its time and whether the work tree had
// changes, from the Go build information, or from the values the Makefile
// stamps with -ldflags -X when the build recorded none (a build outside
// git, from a source archive).
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
)

// Stamped by the Makefile (-ldflags "-X github.com/cascadehq/cascade/internal/version.Version=...");
// the build information wins where it has a value.
var (
	Version  = "" // the module version, e.g. v0.4.0 or a git describe
	Revision = "" // the commit
	Time     = "" // the commit time, RFC 3339
	Modified = "" // "true" when the work tree had uncommitted changes
)

// Info is one build's identity.
type Info struct {
	Version  string `json:"version"`            // module version, "(devel)" when unknown
	Revision string `json:"revision,omitempty"` // full commit hash
	Time     string `json:"time,omitempty"`     // commit time
	Modified bool   `json:"modified,omitempty"` // built from a work tree with changes
	Go       string `json:"go"`                 // Go version
}

// Get reads the running binary's build information and the stamped values.
func Get() Info {
	return from(debug.ReadBuildInfo())
}

func from(bi *debug.BuildInfo, ok bool) Info {
	in := Info{Version: Version, Revision: Revision, Time: Time, Go: runtime.Version()}
	in.Modified, _ = strconv.ParseBool(Modified)
	if ok && bi != nil {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			in.Version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				in.Revision = s.Value
			case "vcs.time":
				in.Time = s.Value
			case "vcs.modified":
				in.Modified = s.Value == "true"
			}
		}
	}
	if in.Version == "" {
		in.Version = "(devel)"
	}
	return in
}

// String is the one-line form: "v0.4.0 commit 0123456789ab (2026-12-07T21:00:00Z, modified) go1.26".
func (in Info) String() string {
	s := in.Version
	if in.Revision != "" {
		r := in.Revision
		if len(r) > 12 {
			r = r[:12]
		}
		s += " commit " + r
		switch {
		case in.Time != "" && in.Modified:
			s += " (" + in.Time + ", modified)"
		case in.Time != "":
			s += " (" + in.Time + ")"
		case in.Modified:
			s += " (modified)"
		}
	} else {
		s += " commit unknown"
	}
	return fmt.Sprintf("%s %s %s/%s", s, in.Go, runtime.GOOS, runtime.GOARCH)
}
