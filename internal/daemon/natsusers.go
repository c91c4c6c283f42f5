package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/natsauth"
)

// NATSAuthSubdir is where, under --data-dir, the daemon keeps the NATS
// credentials of the embedded server when --nats-auth is not given.
const NATSAuthSubdir = "nats-auth"

// natsUsers returns the NATS users of the embedded server and where their
// seeds are. The embedded server always authenticates: without
// --nats-auth the daemon manages <data-dir>/nats-auth itself, in the
// layout of `cascadectl nats-auth generate`, creating it on the first
// start and adding a user for every organisation of the registry that has
// none (existing seeds are never changed, so credentials handed out stay
// valid), and for every registered processor of the processor registry
// (--processors) a vendor user of its own (processors/<id>.nk). With
// --nats-auth the operator manages the directory and it is only read.
func natsUsers(opts Options, orgs []breach.Org, procs []breach.Processor) (natsauth.Set, string, error) {
	if opts.NATSAuthDir != "" {
		set, err := natsauth.LoadDir(opts.NATSAuthDir)
		if err != nil {
			return natsauth.Set{}, "", fmt.Errorf("--nats-auth: %w", err)
		}
		return set, opts.NATSAuthDir, nil
	}
	dir := filepath.Join(opts.DataDir, NATSAuthSubdir)
	set, err := natsauth.LoadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		set, err = natsauth.Generate(orgs)
	case err == nil:
		set, err = set.Update(orgs)
	}
	if err == nil {
		set, err = set.UpdateProcessors(processorIDs(procs))
	}
	if err != nil {
		return natsauth.Set{}, "", fmt.Errorf("NATS credentials in %s: %w", dir, err)
	}
	if err := set.WriteDir(dir); err != nil {
		return natsauth.Set{}, "", fmt.Errorf("NATS credentials in %s: %w", dir, err)
	}
	return set, dir, nil
}

func processorIDs(procs []breach.Processor) []breach.ProcessorID {
	ids := make([]breach.ProcessorID, len(procs))
	for i, p := range procs {
		ids[i] = p.ID
	}
	return ids
}
