// Command cascade-load measures Cascade under load beside the raw limits of
// the same JetStream server, in one run: fan-out, acknowledgements, status
// under load, live views and watch streams, restart and timers (see
// internal/loadtest). It embeds the daemon and its NATS server, or runs the
// daemon against --nats-url; its clients run in a second process, this
// binary started again with CASCADE_LOAD_CLIENT=1 (not for use by hand).
//
//	cascade-load --json bench.json             # every scenario, the defaults (make bench)
//	cascade-load --smoke                       # tiny sizes, well under a minute (make bench-smoke)
//	cascade-load --scenarios raw,fanout --orgs-list 1000,10000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/cascadehq/cascade/internal/loadtest"
)

func main() {
	if loadtest.IsClientMode() { // the clients of a run, started by cascade-load itself
		os.Exit(loadtest.ClientMain(os.Stdin, os.Stdout, os.Stderr))
	}
	cfg, err := loadtest.ParseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cascade-load:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := loadtest.Run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "cascade-load:", err)
		stop()
		os.Exit(1)
	}
}
