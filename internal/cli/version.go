package cli

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
)

func versionCmd() *command {
	return &command{
		name:    "version",
		summary: "Print the version of cascadectl",
		details: "The version is the module version cascadectl was built from, with the VCS\nrevision when the build recorded one.",
		examples: `
# The version, as JSON
cascadectl version -o json`,
		setup: func(*flag.FlagSet) runFunc {
			return func(_ context.Context, a *app, args []string) error {
				if err := wantArgs("version", args, 0); err != nil {
					return err
				}
				v := buildVersion()
				if a.g.output == outputJSON {
					return writeJSON(a.stdout, map[string]string{"version": v, "go": runtime.Version()})
				}
				_, err := fmt.Fprintf(a.stdout, "cascadectl %s (%s %s/%s)\n", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
				return err
			}
		},
	}
}

// buildVersion is the main module's version from the build information.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}
