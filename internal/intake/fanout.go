package intake

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/store"
)

// actorSystem is the actor of changes Cascade makes itself.
const actorSystem = "cascade"

// members turns the known affected organisations into fan-out members, in
// org id order. With all_customers, known is the whole registry and the
// affected list only adds approximate numbers.
func members(r *breach.Report, known map[breach.OrgID]breach.Org) []store.Member {
	byOrg := make(map[breach.OrgID]store.Member, len(known))
	if r.AllCustomers {
		for _, o := range known {
			byOrg[o.ID] = store.Member{Org: o.ID, Name: o.Name}
		}
	}
	for _, a := range r.Affected {
		if o, ok := known[a.Org]; ok {
			byOrg[a.Org] = store.Member{Org: o.ID, Name: o.Name, ApproxSubjects: a.ApproxSubjects, ApproxRecords: a.ApproxRecords}
		}
	}
	out := slices.Collect(maps.Values(byOrg))
	slices.SortFunc(out, func(a, b store.Member) int { return compare(a.Org, b.Org) })
	return out
}

func compare(a, b breach.OrgID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// fanoutChunk records and delivers the notices of one membership chunk:
// create (PENDING) → deliver on cascade.notice.<org> → record DELIVERED.
// Every step is idempotent, so a chunk interrupted anywhere is completed by
// running it again: existing notices are not created twice, delivered ones
// are not delivered again.
func (in *Intake) fanoutChunk(ctx context.Context, b *breach.Breach, ms []store.Member) error {
	now := in.now()
	changes := make([]store.Change, len(ms))
	expect := make([]uint64, len(ms))
	for i, m := range ms {
		changes[i] = store.Change{Event: breach.EventCreated, At: now, Actor: actorSystem, Notice: breach.Notice{
			ID:             breach.NewNoticeID(b.ID, m.Org),
			OrgName:        m.Name,
			State:          breach.StatePending,
			CreatedAt:      now,
			ApproxSubjects: m.ApproxSubjects,
			ApproxRecords:  m.ApproxRecords,
			DiscoveredAt:   b.Report.DiscoveredAt,
		}}
	}
	res, err := in.st.AppendChanges(ctx, changes, expect)
	if err != nil {
		return err
	}
	// Notices to deliver, with the ledger sequence their next change expects.
	var pending []*breach.Notice
	var seqs []uint64
	var existing []breach.NoticeID
	for i, r := range res {
		if r.Conflict {
			existing = append(existing, changes[i].Notice.ID)
			continue
		}
		n := changes[i].Notice
		pending = append(pending, &n)
		seqs = append(seqs, r.Seq)
	}
	if len(existing) > 0 { // resumed fan-out: pick up notices recorded but not delivered
		vs, err := in.st.GetNotices(ctx, existing)
		if err != nil {
			return err
		}
		for i, v := range vs {
			if v.Notice == nil {
				// The create conflicted, yet the notice reads as missing: a
				// concurrent write not yet visible. Retry the report later
				// rather than skip the organisation.
				return fmt.Errorf("notice %s: creation conflicted but it is not readable yet", existing[i])
			}
			if v.Notice.State == breach.StatePending {
				pending = append(pending, v.Notice)
				seqs = append(seqs, v.Seq)
			}
		}
	}
	if len(pending) == 0 {
		return nil
	}
	return in.deliver(ctx, b, pending, seqs)
}

// deliver publishes notices to their organisations, then records delivery.
func (in *Intake) deliver(ctx context.Context, b *breach.Breach, ns []*breach.Notice, seqs []uint64) error {
	results, err := in.pub.PublishNotices(ctx, b, ns, in.now(), in.window)
	if err != nil {
		return err
	}
	changes := make([]store.Change, len(ns))
	for i, n := range ns {
		prev := n.State
		ev := n.Deliver(results[i].DeliveredAt, in.window)
		changes[i] = store.Change{Event: ev, At: results[i].DeliveredAt, Actor: actorSystem, Prev: prev, Notice: *n}
	}
	res, err := in.st.AppendChanges(ctx, changes, seqs)
	if err != nil {
		return err
	}
	for i, r := range res {
		if !r.Conflict {
			continue
		}
		// Someone changed the notice meanwhile (another daemon resuming the
		// same fan-out): record delivery only if it is still pending.
		at := results[i].DeliveredAt
		if _, err := in.st.UpdateNotice(ctx, ns[i].ID, actorSystem, at, func(n *breach.Notice) (breach.Event, error) {
			if n.State != breach.StatePending {
				return "", nil
			}
			return n.Deliver(at, in.window), nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// fanout runs every chunk of b's membership, reporting progress after each.
func (in *Intake) fanout(ctx context.Context, b *breach.Breach, progress func()) error {
	start := time.Now()
	for c := 0; c < b.Chunks; c++ {
		ms, err := in.st.Members(ctx, b.ID, b.Digest, c)
		if err != nil {
			return err
		}
		if err := in.fanoutChunk(ctx, b, ms); err != nil {
			return fmt.Errorf("fan-out chunk %d/%d of %s: %w", c+1, b.Chunks, b.ID, err)
		}
		progress()
		in.log.Debug("fan-out chunk done", "breach_id", b.ID, "chunk", c+1, "chunks", b.Chunks)
	}
	if _, err := in.st.UpdateBreach(ctx, b.ID, func(b *breach.Breach) error {
		b.FanoutComplete = true
		return nil
	}); err != nil {
		return err
	}
	in.log.Info("fan-out complete", "breach_id", b.ID, "notices", b.NoticeCount, "took", time.Since(start).Round(time.Millisecond))
	return nil
}
