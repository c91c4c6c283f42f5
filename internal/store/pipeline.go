package store

import (
	"context"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// pipelineWindow bounds the asynchronous publishes in flight per call, well
// under the client's limit, so that concurrent fan-outs never stall it.
const pipelineWindow = 512

// Ack is the outcome of one message of PublishAll: its PubAck or its error.
type Ack struct {
	*jetstream.PubAck
	Err error
}

// PublishAll publishes msgs with up to pipelineWindow acknowledgements
// outstanding and returns each message's outcome once all are acknowledged
// (that is, persisted by JetStream). Expectations (expected last subject
// sequence, message id, expected stream) are headers on msgs. The error is
// only for the call as a whole (ctx ended, client refused to publish);
// per-message errors such as failed expectations are in the Acks.
func PublishAll(ctx context.Context, js jetstream.JetStream, msgs []*nats.Msg) ([]Ack, error) {
	acks := make([]Ack, len(msgs))
	futs := make([]jetstream.PubAckFuture, len(msgs))
	wait := func(i int) error {
		select {
		case a := <-futs[i].Ok():
			acks[i].PubAck = a
		case err := <-futs[i].Err():
			acks[i].Err = err
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}
	done := 0
	for i, m := range msgs {
		if i-done >= pipelineWindow {
			if err := wait(done); err != nil {
				return nil, err
			}
			done++
		}
		f, err := js.PublishMsgAsync(m)
		if err != nil {
			return nil, err
		}
		futs[i] = f
	}
	for ; done < len(msgs); done++ {
		if err := wait(done); err != nil {
			return nil, err
		}
	}
	return acks, nil
}
