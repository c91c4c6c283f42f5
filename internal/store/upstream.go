package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
)

// NoticeMessage returns the latest notice or revision message Cascade
// sent for notice id (as stored in CASCADE_NOTICES on the organisation's
// subject, without the NATS-internal headers): what its organisation
// received and may forward (ForwardNotice). breach.ErrNotFound if none
// was sent.
func (s *Store) NoticeMessage(ctx context.Context, id breach.NoticeID) (*breach.SignedMessage, error) {
	st, err := s.js.Stream(ctx, StreamNotices)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", StreamNotices, err)
	}
	subject := SubjectNotice + "." + string(id.Org)
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}, InactiveThreshold: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", subject, err)
	}
	info := cons.CachedInfo()
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = st.DeleteConsumer(dctx, info.Name)
	}()
	var best *breach.SignedMessage
	bestRev := -1
	for left := info.NumPending; left > 0; {
		batch, err := cons.Fetch(int(min(left, 256)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", subject, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			h := m.Headers()
			if h.Get("Cascade-Notice-Id") != id.String() {
				continue
			}
			if ev := h.Get("Cascade-Event"); ev != "notice" && ev != "revision" {
				continue
			}
			rev, _ := strconv.Atoi(h.Get("Cascade-Revision"))
			if rev < bestRev {
				continue
			}
			out := &breach.SignedMessage{Subject: m.Subject(), Data: m.Data(), Headers: map[string][]string{}}
			for k, vs := range h {
				if len(k) >= 5 && k[:5] == "Nats-" {
					continue
				}
				out.Headers[k] = append([]string(nil), vs...)
			}
			best, bestRev = out, rev
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, fmt.Errorf("read %s: %w", subject, err)
		}
		if n == 0 {
			break
		}
		left -= uint64(n)
	}
	if best == nil {
		return nil, fmt.Errorf("no notice message of %s: %w", id, breach.ErrNotFound)
	}
	return best, nil
}
