// Command cascadectl is the command-line client of Cascade: it publishes
// breach reports and updates and follows, lists and acknowledges the
// notices Cascade tracks for every affected organisation, records their
// outcomes, drafts their reports to the authority and exports and verifies
// evidence. See internal/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/cascadehq/cascade/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
