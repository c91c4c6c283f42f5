package store

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// groupCommit gathers the single writes that callers make at the same time
// (acknowledgements and outcomes from many organisations) and stores them
// together, in one atomic batch: one fsync for all of them instead of one
// each. Nothing waits for company: a write that finds no other in flight
// goes out at once, and the writes that arrive while a batch is being stored
// form the next batch. Each write keeps its own expectation (the notice's
// last ledger sequence), so a conflict on one notice makes the batch fall
// back to one-by-one publishing (see PublishBatched) and fails only that
// write.
type groupCommit struct {
	s      *Store
	stream string

	mu       sync.Mutex
	pending  []*commitReq
	flushing bool
}

type commitReq struct {
	msg  *nats.Msg
	ack  Ack
	err  error
	done chan struct{}
}

// commitTimeout bounds one batch's round trip.
const commitTimeout = 30 * time.Second

// publish stores m on the group's stream (its headers carry the
// expectations; the expected stream is set here) and returns its outcome. A ctx that ends while m waits in a batch leaves the write's
// outcome unknown, as with a lost reply.
func (g *groupCommit) publish(ctx context.Context, m *nats.Msg) (Ack, error) {
	m.Header.Set(jetstream.ExpectedStreamHeader, g.stream)
	r := &commitReq{msg: m, done: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, r)
	if !g.flushing {
		g.flushing = true
		go g.drain()
	}
	g.mu.Unlock()
	select {
	case <-r.done:
		return r.ack, r.err
	case <-ctx.Done():
		return Ack{}, ctx.Err()
	}
}

// drain stores the pending writes, a batch at a time, until none is left.
func (g *groupCommit) drain() {
	for {
		g.mu.Lock()
		batch := g.pending[:min(len(g.pending), MaxBatch)]
		g.pending = g.pending[len(batch):]
		if len(batch) == 0 {
			g.flushing = false
			g.pending = nil
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		g.flush(batch)
	}
}

func (g *groupCommit) flush(batch []*commitReq) {
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	if len(batch) == 1 {
		r := batch[0]
		r.ack.PubAck, r.ack.Err = g.s.js.PublishMsg(ctx, r.msg)
		close(r.done)
		return
	}
	msgs := make([]*nats.Msg, len(batch))
	for i, r := range batch {
		msgs[i] = r.msg
	}
	acks, err := g.s.PublishBatched(ctx, g.stream, msgs)
	for i, r := range batch {
		if err != nil {
			r.err = err
		} else {
			r.ack = acks[i]
		}
		close(r.done)
	}
}
