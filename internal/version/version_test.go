package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFrom(t *testing.T) {
	stamp := func(v, r, tm, m string) func() {
		old := [4]string{Version, Revision, Time, Modified}
		Version, Revision, Time, Modified = v, r, tm, m
		return func() { Version, Revision, Time, Modified = old[0], old[1], old[2], old[3] }
	}
	vcs := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-12-07T21:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	tests := []struct {
		name                 string
		v, r, tm, m          string
		bi                   *debug.BuildInfo
		want                 string
		wantRev              string
		wantModified, noInfo bool
	}{
		{name: "vcs info", bi: vcs, want: "(devel) commit 0123456789ab (2026-12-07T21:00:00Z, modified)", wantRev: vcs.Settings[0].Value, wantModified: true},
		{name: "stamped, no vcs info", v: "v0.9.0-3-gabc", r: "abcdef0123456789", tm: "2026-12-01T10:00:00Z", m: "false",
			bi: &debug.BuildInfo{}, want: "v0.9.0-3-gabc commit abcdef012345 (2026-12-01T10:00:00Z)", wantRev: "abcdef0123456789"},
		{name: "vcs info wins over the stamp", v: "v0.9.0", r: "ffff", bi: vcs, want: "v0.9.0 commit 0123456789ab (2026-12-07T21:00:00Z, modified)", wantRev: vcs.Settings[0].Value, wantModified: true},
		{name: "module version", bi: &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, want: "v1.2.3 commit unknown"},
		{name: "nothing", noInfo: true, want: "(devel) commit unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer stamp(tt.v, tt.r, tt.tm, tt.m)()
			in := from(tt.bi, !tt.noInfo)
			if s := in.String(); !strings.HasPrefix(s, tt.want+" go") {
				t.Errorf("String() = %q, want prefix %q", s, tt.want+" go")
			}
			if in.Revision != tt.wantRev || in.Modified != tt.wantModified {
				t.Errorf("revision %q modified %v, want %q %v", in.Revision, in.Modified, tt.wantRev, tt.wantModified)
			}
		})
	}
}
