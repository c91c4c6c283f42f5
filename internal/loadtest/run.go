package loadtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Run measures the selected scenarios, writes progress to progress, the
// table to out and, with cfg.JSONPath, the JSON report, and returns the
// report. A scenario that fails is recorded in the report's errors and
// the others still run; the error returned says whether any failed.
func Run(ctx context.Context, cfg Config, out, progress io.Writer) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.MaxTime)
	defer cancel()
	tmp, err := os.MkdirTemp("", "cascade-load-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	logger := slog.New(slog.DiscardHandler)
	if cfg.Verbose {
		logger = slog.New(slog.NewTextHandler(progress, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	r := &runner{cfg: cfg, tmp: tmp, progress: progress, start: time.Now(), log: logger, registries: map[int]string{}, templates: map[int]string{}}
	defer r.stopAll()
	r.rep = &Report{
		Tool:      "cascade-load",
		StartedAt: r.start.UTC(),
		Machine:   machine(),
		Config:    configJSON(cfg),
		Figures:   []*Figure{},
		Targets:   []Target{},
		Notes:     []string{},
		Errors:    []string{},
		Server: ServerInfo{
			Mode:                "embedded",
			NATSServerVersion:   server.VERSION,
			Fsync:               "every write (sync_always: fsync before JetStream acknowledges), the daemon's default",
			NoFsyncBaseline:     "a second embedded server with sync_interval 2m (JetStream's default: no fsync per write), same process and disk",
			DaemonInProcess:     true,
			ServerInProcess:     true,
			ClientsOutOfProcess: true,
			Clients:             clientsNote,
		},
	}
	if cfg.DaemonSyncInterval > 0 {
		r.rep.Server.Fsync = fmt.Sprintf("DIAGNOSTIC: the daemons' server fsyncs every %s, not every write (--daemon-sync-interval); the raw fsync baselines on those servers too", cfg.DaemonSyncInterval)
		r.rep.notef("--daemon-sync-interval %s: the daemons ran WITHOUT per-write fsync; these are not the durable figures", cfg.DaemonSyncInterval)
	}
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	if cfg.BlockProfile != "" {
		r.blockRate = int(100 * time.Microsecond)
		r.afterServerStart()
		defer func() {
			if err := writeProfile("block", cfg.BlockProfile); err != nil {
				r.progressf("block profile: %v", err)
			}
			runtime.SetBlockProfileRate(0)
		}()
	}
	if cfg.NATSURL != "" {
		v, err := r.checkExternal(ctx)
		if err != nil {
			return r.rep, err
		}
		r.rep.Server = ServerInfo{Mode: "external", URL: cfg.NATSURL, NATSServerVersion: v,
			Fsync: "the external server's configuration (not visible to clients)", NoFsyncBaseline: "not measured (external server)", DaemonInProcess: true,
			ClientsOutOfProcess: true, Clients: clientsNote}
	}
	r.progressf("%d cores (%s), GOMAXPROCS %d; scenarios %v, reps %d; data in %s", r.rep.Machine.Cores, r.rep.Machine.CPUModel, r.rep.Machine.GOMAXPROCS, cfg.Scenarios, cfg.Reps, tmp)

	fail := func(scenario string, err error) {
		if err != nil {
			r.rep.Errors = append(r.rep.Errors, fmt.Sprintf("%s: %v", scenario, err))
			r.progressf("%s FAILED: %v", scenario, err)
		}
	}
	if cfg.Has(ScenarioRaw) || cfg.Has(ScenarioFanout) {
		fail(ScenarioRaw, r.runRaw(ctx))
	}
	if cfg.Has(ScenarioFanout) && ctx.Err() == nil {
		fail(ScenarioFanout, r.runFanout(ctx))
	}
	if (cfg.Has(ScenarioAcks) || cfg.Has(ScenarioStatus)) && ctx.Err() == nil {
		fail("acks/status", r.runAcksStatus(ctx))
	}
	if cfg.Has(ScenarioWatch) && ctx.Err() == nil {
		fail(ScenarioWatch, r.runWatch(ctx))
	}
	if (cfg.Has(ScenarioRestart) || cfg.Has(ScenarioTimers)) && ctx.Err() == nil {
		b, err := r.setupBig(ctx)
		fail("restart/timers setup", err)
		if err == nil {
			r.big = b
			if cfg.Has(ScenarioRestart) {
				fail(ScenarioRestart, r.runRestart(ctx, b))
			}
			if cfg.Has(ScenarioTimers) && ctx.Err() == nil {
				fail(ScenarioTimers, r.runTimers(ctx, b)) // replaces r.big for each repetition after the first
			}
			r.big.in.discard()
		}
	}
	r.stopAll()
	r.registryFigures()
	r.rep.Figures = r.rep.sortedFigures()
	r.rep.checkTargets()
	r.rep.Seconds = time.Since(r.start).Seconds()
	if err := r.rep.WriteTable(out); err != nil {
		return r.rep, err
	}
	if cfg.JSONPath != "" {
		if err := r.rep.WriteJSON(cfg.JSONPath); err != nil {
			return r.rep, err
		}
		r.progressf("wrote %s", cfg.JSONPath)
	}
	if len(r.rep.Errors) > 0 {
		return r.rep, fmt.Errorf("%d error(s): %s", len(r.rep.Errors), r.rep.Errors[0])
	}
	return r.rep, ctx.Err()
}

func writeProfile(name, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// registryFigures records how fast registries were loaded (the daemon's
// --orgs path), which bounds the registry a daemon can load within its
// 30-second start-up.
func (r *runner) registryFigures() {
	byN := map[int][]float64{}
	var sizes []int
	for _, l := range r.registryLoads {
		if _, ok := byN[l.n]; !ok {
			sizes = append(sizes, l.n)
		}
		byN[l.n] = append(byN[l.n], rate(l.n, l.d))
	}
	slices.Sort(sizes)
	for _, n := range sizes {
		r.rep.add("setup", fmt.Sprintf("setup.registry_orgs_per_s.n=%d", n), fmt.Sprintf("registry upsert of %d organisations (store.PutOrgs, as --orgs)", n), "orgs/s", byN[n])
	}
}
