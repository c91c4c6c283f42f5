package natsauth

import (
	"runtime"

	"golang.org/x/sync/errgroup"
)

// A registry of 100,000 organisations means as many key pairs and seed
// files. Deriving keys is CPU work (Ed25519) and writing a seed file waits
// for its fsync, so both run in parallel: the file system's journal
// commits concurrent fsyncs together.
const ioWorkers = 32

func cpuWorkers() int { return runtime.GOMAXPROCS(0) }

// forEach runs fn(i) for i in [0, n) on up to workers goroutines and
// returns the first error (the others may still have run).
func forEach(n, workers int, fn func(i int) error) error {
	var g errgroup.Group
	g.SetLimit(workers)
	for i := range n {
		g.Go(func() error { return fn(i) })
	}
	return g.Wait()
}
