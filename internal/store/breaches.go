package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
)

// Large breach records. A breach record is one KV value, at most the
// server's max_payload (1 MiB by default), yet a report of up to 1 MiB with
// 20,000 affected organisations becomes a larger record in JSON (field
// names, and the unknown ids once more). A record whose encoding exceeds
// inlineRecordBytes therefore keeps its affected list and its unknown ids in
// chunks of listChunk entries on the ledger, written before the record, and
// counts them in the record; reading reassembles them. Records written
// before this change (lists inline) read as they are.
const (
	inlineRecordBytes = 256 << 10
	listChunk         = 4000                    // ≤ 4,000 × ~140 bytes per affected entry: well under 1 MiB
	ledgerBreach      = "cascade.ledger.breach" // + ".<breach>.<digest>.affected|unknown.<chunk>"
)

// breachRecord is a breach as stored: the lists it keeps in chunks are
// counted here and left out of the embedded breach.
type breachRecord struct {
	*breach.Breach
	AffectedChunks int `json:"affected_chunks,omitempty"`
	UnknownChunks  int `json:"unknown_chunks,omitempty"`
}

func breachListSubject(b *breach.Breach, kind string, chunk int) string {
	return ledgerBreach + "." + string(b.ID) + "." + b.Digest[:min(16, len(b.Digest))] + "." + kind + "." + strconv.Itoa(chunk)
}

// maxRecordBytes is the largest breach record the server takes, with room
// for the KV headers.
func (s *Store) maxRecordBytes() int {
	return int(min(s.nc.MaxPayload(), MaxReportBytes)) - 4<<10
}

// encodeBreach encodes b for the breaches bucket. chunks are the list
// chunks b's record already has (nil for a new record): they are kept, and
// a new record moves its lists to chunks when it would be large. A record
// that still does not fit is a *breach.InvalidError: it can never be stored.
func (s *Store) encodeBreach(ctx context.Context, b *breach.Breach, chunks *breachRecord) ([]byte, *breachRecord, error) {
	rec := &breachRecord{Breach: b}
	if chunks != nil {
		rec.AffectedChunks, rec.UnknownChunks = chunks.AffectedChunks, chunks.UnknownChunks
	}
	data, err := marshalRecord(rec)
	if err != nil {
		return nil, nil, err
	}
	if chunks == nil && len(data) > inlineRecordBytes && (len(b.Report.Affected) > 0 || len(b.UnknownOrgs) > 0) {
		if rec.AffectedChunks, err = putList(ctx, s, b, "affected", b.Report.Affected); err != nil {
			return nil, nil, err
		}
		if rec.UnknownChunks, err = putList(ctx, s, b, "unknown", b.UnknownOrgs); err != nil {
			return nil, nil, err
		}
		if data, err = marshalRecord(rec); err != nil {
			return nil, nil, err
		}
	}
	if max := s.maxRecordBytes(); len(data) > max {
		return nil, nil, breach.Invalid("report", "too_large",
			"breach %s would be stored as %d bytes, more than the %d the server takes (its texts and revisions together are too long); nothing more was recorded",
			b.ID, len(data), max)
	}
	return data, rec, nil
}

// marshalRecord encodes rec without the lists it keeps in chunks.
func marshalRecord(rec *breachRecord) ([]byte, error) {
	if rec.AffectedChunks == 0 && rec.UnknownChunks == 0 {
		return json.Marshal(rec)
	}
	b := *rec.Breach
	if rec.AffectedChunks > 0 {
		b.Report.Affected = nil
	}
	if rec.UnknownChunks > 0 {
		b.UnknownOrgs = nil
	}
	return json.Marshal(breachRecord{Breach: &b, AffectedChunks: rec.AffectedChunks, UnknownChunks: rec.UnknownChunks})
}

// putList stores vs in chunks of listChunk and returns how many. A chunk
// written again (a retried intake) is written whole: its last message is
// what reads see.
func putList[T any](ctx context.Context, s *Store, b *breach.Breach, kind string, vs []T) (int, error) {
	n := 0
	for lo := 0; lo < len(vs); lo += listChunk {
		data, err := json.Marshal(vs[lo:min(lo+listChunk, len(vs))])
		if err != nil {
			return 0, err
		}
		if _, err := s.js.Publish(ctx, breachListSubject(b, kind, n), data, jetstream.WithExpectStream(StreamLedger)); err != nil {
			return 0, fmt.Errorf("store %s chunk %d of breach %s: %w", kind, n, b.ID, err)
		}
		n++
	}
	return n, nil
}

// getList reads the n chunks of one of b's lists.
func getList[T any](ctx context.Context, s *Store, b *breach.Breach, kind string, n int) ([]T, error) {
	var out []T
	for c := range n {
		m, err := s.ledger.GetLastMsgForSubject(ctx, breachListSubject(b, kind, c))
		if err != nil {
			return nil, fmt.Errorf("read %s chunk %d of breach %s: %w", kind, c, b.ID, err)
		}
		var vs []T
		if err := json.Unmarshal(m.Data, &vs); err != nil {
			return nil, fmt.Errorf("decode %s chunk %d of breach %s: %w", kind, c, b.ID, err)
		}
		out = append(out, vs...)
	}
	return out, nil
}

// CreateBreach stores a new breach. If one with the same id exists it is
// returned with existed=true and nothing is written. A breach that cannot
// be stored whatever the retries (too large) is a *breach.InvalidError.
func (s *Store) CreateBreach(ctx context.Context, b *breach.Breach) (cur *breach.Breach, existed bool, err error) {
	data, _, err := s.encodeBreach(ctx, b, nil)
	if err != nil {
		return nil, false, err
	}
	if _, err := s.breaches.Create(ctx, string(b.ID), data); err != nil {
		if !isConflict(err) {
			return nil, false, fmt.Errorf("create breach %s: %w", b.ID, err)
		}
		cur, _, _, err := s.getBreach(ctx, b.ID)
		return cur, true, err
	}
	return b, false, nil
}

// GetBreach returns a breach or breach.ErrNotFound.
func (s *Store) GetBreach(ctx context.Context, id breach.BreachID) (*breach.Breach, error) {
	b, _, _, err := s.getBreach(ctx, id)
	return b, err
}

func (s *Store) getBreach(ctx context.Context, id breach.BreachID) (*breach.Breach, *breachRecord, uint64, error) {
	e, err := s.breaches.Get(ctx, string(id))
	if err != nil {
		if isNotFound(err) {
			return nil, nil, 0, fmt.Errorf("breach %s: %w", id, breach.ErrNotFound)
		}
		return nil, nil, 0, fmt.Errorf("read breach %s: %w", id, err)
	}
	rec := &breachRecord{}
	if err := json.Unmarshal(e.Value(), rec); err != nil || rec.Breach == nil {
		return nil, nil, 0, fmt.Errorf("decode breach %s: %w", id, cmp.Or(err, errors.New("empty record")))
	}
	b := rec.Breach
	if rec.AffectedChunks > 0 {
		if b.Report.Affected, err = getList[breach.Affected](ctx, s, b, "affected", rec.AffectedChunks); err != nil {
			return nil, nil, 0, err
		}
	}
	if rec.UnknownChunks > 0 {
		if b.UnknownOrgs, err = getList[breach.OrgID](ctx, s, b, "unknown", rec.UnknownChunks); err != nil {
			return nil, nil, 0, err
		}
	}
	return b, rec, e.Revision(), nil
}

// UpdateBreach is the read-modify-write helper for breaches: fn changes the
// breach; it is stored if nobody changed it meanwhile, retrying on conflict.
// A change that would make the record too large to store is a
// *breach.InvalidError (fn is never retried for it).
func (s *Store) UpdateBreach(ctx context.Context, id breach.BreachID, fn func(*breach.Breach) error) (*breach.Breach, error) {
	for attempt := 0; ; attempt++ {
		b, rec, rev, err := s.getBreach(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := fn(b); err != nil {
			return nil, err
		}
		data, _, err := s.encodeBreach(ctx, b, rec)
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
// order, and whether more follow; keep (nil: all) selects by id.
func (s *Store) ListBreaches(ctx context.Context, after breach.BreachID, limit int, keep func(breach.BreachID) bool) ([]*breach.Breach, bool, error) {
	lister, err := s.breaches.ListKeys(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("list breaches: %w", err)
	}
	var ids []string
	for k := range lister.Keys() {
		if k > string(after) && (keep == nil || keep(breach.BreachID(k))) {
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
	// Status is what the report says of the organisation (empty: CONFIRMED).
	Status breach.AffectedStatus `json:"status,omitempty"`
	// ClockOnChannel: the organisation takes no notices over NATS; its
	// clock starts at its first webhook or e-mail delivery. Fixed when the
	// membership is written, so a registry change mid fan-out changes
	// nothing.
	ClockOnChannel bool `json:"clock_on_channel,omitempty"`
	// NIS2: the organisation is under NIS2 (registry column regimes); its
	// notice carries NIS2's obligations besides GDPR's. Fixed when the
	// membership is written, like ClockOnChannel.
	NIS2 bool `json:"nis2,omitempty"`
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
