package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// MaxBatch is the most messages one atomic batch carries: the server's
// default limit (max_batch_size).
const MaxBatch = 1000

// Headers of JetStream's atomic batch publish (server 2.12 and later).
const (
	hdrBatchID     = "Nats-Batch-Id"
	hdrBatchSeq    = "Nats-Batch-Sequence"
	hdrBatchCommit = "Nats-Batch-Commit"
)

// errBatchRefused is a batch the server refused as a whole: nothing of it
// was stored.
var errBatchRefused = errors.New("atomic batch refused")

// PublishBatched persists msgs, all on stream, and returns each message's
// outcome once all are persisted. Per-message expectations (expected last
// subject sequence, message id) are headers on msgs; PublishBatched sets
// each message's expected stream to stream, so that a subject another
// stream owns is refused rather than stored there.
//
// Messages go in atomic batches of up to MaxBatch: the server stores a batch
// all or nothing and, with sync_always, with one fsync instead of one per
// message, which is what makes a fan-out of many notices cheap. A batch the
// server refuses as a whole (one failed expectation, a duplicate message id
// after a crash, a server without atomic batches, too many batches in
// flight) or whose outcome is unknown (a lost reply) is published again
// message by message, so that every message gets its own outcome; the
// expectations and message ids make that replay safe.
func (s *Store) PublishBatched(ctx context.Context, stream string, msgs []*nats.Msg) ([]Ack, error) {
	for _, m := range msgs {
		if m.Header == nil {
			m.Header = nats.Header{}
		}
		m.Header.Set(jetstream.ExpectedStreamHeader, stream)
	}
	acks := make([]Ack, 0, len(msgs))
	for from := 0; from < len(msgs); from += MaxBatch {
		part := msgs[from:min(from+MaxBatch, len(msgs))]
		seqs, err := s.publishAtomic(ctx, stream, part)
		if err == nil {
			for _, q := range seqs {
				acks = append(acks, Ack{PubAck: &jetstream.PubAck{Stream: stream, Sequence: q}})
			}
			continue
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s.log.Debug("atomic batch not stored, publishing one by one", "stream", stream, "messages", len(part), "reason", err)
		one, err := PublishAll(ctx, s.js, part)
		if err != nil {
			return nil, err
		}
		acks = append(acks, one...)
	}
	return acks, nil
}

// batchAck is the server's reply to a batch commit.
type batchAck struct {
	Stream   string `json:"stream"`
	Sequence uint64 `json:"seq"`
	BatchID  string `json:"batch"`
	Count    uint64 `json:"count"`
	Error    *struct {
		Code        int    `json:"code"`
		ErrCode     int    `json:"err_code"`
		Description string `json:"description"`
	} `json:"error"`
}

// publishAtomic stores msgs as one atomic batch and returns their stream
// sequences. The messages are copied, never changed. The staged messages
// are published without replies (the server reports a gap in the batch at
// the commit); only the commit waits for the server.
func (s *Store) publishAtomic(ctx context.Context, stream string, msgs []*nats.Msg) ([]uint64, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	id := uuid.NewString()
	var a batchAck
	for i, m := range msgs {
		c := &nats.Msg{Subject: m.Subject, Data: m.Data, Header: make(nats.Header, len(m.Header)+4)}
		for k, v := range m.Header {
			c.Header[k] = v
		}
		c.Header.Set(hdrBatchID, id)
		c.Header.Set(hdrBatchSeq, strconv.Itoa(i+1))
		if i < len(msgs)-1 {
			if err := s.nc.PublishMsg(c); err != nil {
				return nil, fmt.Errorf("%w: %v", errBatchRefused, err)
			}
			continue
		}
		c.Header.Set(hdrBatchCommit, "1")
		resp, err := s.nc.RequestMsgWithContext(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("%w: commit: %v", errBatchRefused, err)
		}
		if err := json.Unmarshal(resp.Data, &a); err != nil {
			return nil, fmt.Errorf("%w: commit reply: %v", errBatchRefused, err)
		}
		if a.Error != nil {
			return nil, fmt.Errorf("%w: %s (%d)", errBatchRefused, a.Error.Description, a.Error.ErrCode)
		}
		if a.Count != uint64(len(msgs)) || a.Sequence < a.Count {
			return nil, fmt.Errorf("%w: commit acknowledged %d of %d messages", errBatchRefused, a.Count, len(msgs))
		}
	}
	// A committed batch is stored contiguously: the server isolates the
	// stream while it commits.
	seqs := make([]uint64, len(msgs))
	for i := range seqs {
		seqs[i] = a.Sequence - a.Count + 1 + uint64(i)
	}
	return seqs, nil
}
