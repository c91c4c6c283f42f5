package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
)

// CreateBreach stores a new breach. If one with the same id exists it is
// returned with existed=true and nothing is written.
func (s *Store) CreateBreach(ctx context.Context, b *breach.Breach) (cur *breach.Breach, existed bool, err error) {
	data, err := json.Marshal(b)
	if err != nil {
		return nil, false, err
	}
	if _, err := s.breaches.Create(ctx, string(b.ID), data); err != nil {
		if !isConflict(err) {
			return nil, false, fmt.Errorf("create breach %s: %w", b.ID, err)
		}
		cur, _, err := s.getBreach(ctx, b.ID)
		return cur, true, err
	}
	return b, false, nil
}

// GetBreach returns a breach or breach.ErrNotFound.
func (s *Store) GetBreach(ctx context.Context, id breach.BreachID) (*breach.Breach, error) {
	b, _, err := s.getBreach(ctx, id)
	return b, err
}

func (s *Store) getBreach(ctx context.Context, id breach.BreachID) (*breach.Breach, uint64, error) {
	e, err := s.breaches.Get(ctx, string(id))
	if err != nil {
		if isNotFound(err) {
			return nil, 0, fmt.Errorf("breach %s: %w", id, breach.ErrNotFound)
		}
		return nil, 0, fmt.Errorf("read breach %s: %w", id, err)
	}
	var b breach.Breach
	if err := json.Unmarshal(e.Value(), &b); err != nil {
		return nil, 0, fmt.Errorf("decode breach %s: %w", id, err)
	}
	return &b, e.Revision(), nil
}

// UpdateBreach is the read-modify-write helper for breaches: fn changes the
// breach; it is stored if nobody changed it meanwhile, retrying on conflict.
func (s *Store) UpdateBreach(ctx context.Context, id breach.BreachID, fn func(*breach.Breach) error) (*breach.Breach, error) {
	for attempt := 0; ; attempt++ {
		b, rev, err := s.getBreach(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := fn(b); err != nil {
			return nil, err
		}
		data, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		if _, err = s.breaches.Update(ctx, string(id), data, rev); err == nil {
			return b, nil
		}
		if !isConflict(err) || attempt >= 50 {
			return nil, fmt.Errorf("update breach %s: %w", id, err)
		}
	}
}

// ListBreaches returns up to limit breaches with ids after `after`, in id
// order, and whether more follow.
func (s *Store) ListBreaches(ctx context.Context, after breach.BreachID, limit int) ([]*breach.Breach, bool, error) {
	lister, err := s.breaches.ListKeys(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("list breaches: %w", err)
	}
	var ids []string
	for k := range lister.Keys() {
		if k > string(after) {
			ids = append(ids, k)
		}
	}
	slices.Sort(ids)
	more := len(ids) > limit
	if more {
		ids = ids[:limit]
	}
	out := make([]*breach.Breach, 0, len(ids))
	for _, id := range ids {
		b, err := s.GetBreach(ctx, breach.BreachID(id))
		if isDomainNotFound(err) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		out = append(out, b)
	}
	return out, more, nil
}

// Member is one organisation in a breach's fan-out, with what its notice needs.
type Member struct {
	Org            breach.OrgID `json:"org_id"`
	Name           string       `json:"name"`
	ApproxSubjects int64        `json:"approx_subjects,omitempty"`
	ApproxRecords  int64        `json:"approx_records,omitempty"`
	// ClockOnChannel: the organisation takes no notices over NATS; its
	// clock starts at its first webhook or e-mail delivery. Fixed when the
	// membership is written, so a registry change mid fan-out changes
	// nothing.
	ClockOnChannel bool `json:"clock_on_channel,omitempty"`
}

// MembersChunk is the largest number of members in one chunk record.
const MembersChunk = 1000

// membersSubject names one membership chunk. The report digest is part of
// it, so chunks written by an attempt that crashed before recording its
// breach can never be mistaken for those of a different report with the
// same id.
func membersSubject(b breach.BreachID, digest string, chunk int) string {
	return ledgerMembers + "." + string(b) + "." + digest[:min(16, len(digest))] + "." + strconv.Itoa(chunk)
}

// PutMembers stores chunk number `chunk` of a breach's fan-out membership.
// A chunk is written once: if it exists, the stored one is returned, so a
// fan-out resumed after a crash uses exactly the membership it started with.
func (s *Store) PutMembers(ctx context.Context, b breach.BreachID, digest string, chunk int, members []Member) ([]Member, error) {
	data, err := json.Marshal(members)
	if err != nil {
		return nil, err
	}
	_, err = s.js.PublishMsg(ctx, &nats.Msg{Subject: membersSubject(b, digest, chunk), Data: data},
		jetstream.WithExpectLastSequencePerSubject(0), jetstream.WithExpectStream(StreamLedger))
	if err == nil {
		return members, nil
	}
	if !isConflict(err) {
		return nil, fmt.Errorf("store fan-out chunk %d of %s: %w", chunk, b, err)
	}
	return s.Members(ctx, b, digest, chunk)
}

// Members returns chunk number `chunk` of a breach's membership, or breach.ErrNotFound.
func (s *Store) Members(ctx context.Context, b breach.BreachID, digest string, chunk int) ([]Member, error) {
	m, err := s.ledger.GetLastMsgForSubject(ctx, membersSubject(b, digest, chunk))
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("fan-out chunk %d of %s: %w", chunk, b, breach.ErrNotFound)
		}
		return nil, fmt.Errorf("read fan-out chunk %d of %s: %w", chunk, b, err)
	}
	var out []Member
	if err := json.Unmarshal(m.Data, &out); err != nil {
		return nil, fmt.Errorf("decode fan-out chunk %d of %s: %w", chunk, b, err)
	}
	return out, nil
}
