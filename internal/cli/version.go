package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/cascadehq/cascade/internal/version"
)

func versionCmd() *command {
	return &command{
		name:    "version",
		summary: "Print the version and commit of cascadectl",
		details: "The version is the module version cascadectl was built from, with the commit, its time and\n" +
			"whether the work tree had changes: from the Go build information, or stamped by the\nMakefile when the build recorded none.",
		examples: `
# The version, as JSON
cascadectl version -o json`,
		setup: func(*flag.FlagSet) runFunc {
			return func(_ context.Context, a *app, args []string) error {
				if err := wantArgs("version", args, 0); err != nil {
					return err
				}
				v := version.Get()
				if a.g.output == outputJSON {
					return writeJSON(a.stdout, v)
				}
				_, err := fmt.Fprintf(a.stdout, "cascadectl %s\n", v)
				return err
			}
		},
	}
}
