package intake

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/delivery"
	"github.com/cascadehq/cascade/internal/store"
)

// actorSystem is the actor of changes Cascade makes itself.
const actorSystem = "cascade"

// members turns the known affected organisations into fan-out members, in
// org id order. With all_customers, known is the whole registry and the
// affected list only adds approximate numbers.
func members(r *breach.Report, known map[breach.OrgID]breach.Org) []store.Member {
	member := func(o breach.Org) store.Member {
		return store.Member{Org: o.ID, Name: o.Name, ClockOnChannel: !o.ClockOnNATS(), NIS2: o.UnderNIS2()}
	}
	var out []store.Member
	if r.AllCustomers {
		approx := make(map[breach.OrgID]breach.Affected, len(r.Affected))
		for _, a := range r.Affected {
			approx[a.Org] = a
		}
		out = make([]store.Member, 0, len(known))
		for _, o := range known {
			m := member(o)
			if a, ok := approx[o.ID]; ok {
				m.ApproxSubjects, m.ApproxRecords, m.Status = a.ApproxSubjects, a.ApproxRecords, a.Status
			}
			out = append(out, m)
		}
	} else {
		seen := make(map[breach.OrgID]int, len(r.Affected)) // index in out
		for _, a := range r.Affected {
			o, ok := known[a.Org]
			if !ok {
				continue
			}
			m := member(o)
			m.ApproxSubjects, m.ApproxRecords, m.Status = a.ApproxSubjects, a.ApproxRecords, a.Status
			if i, dup := seen[a.Org]; dup {
				out[i] = m // the last mention wins
				continue
			}
			seen[a.Org] = len(out)
			out = append(out, m)
		}
	}
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

// fanoutChunk brings the notices of one membership chunk to revision rev:
// an organisation without a notice gets its first delivery of rev, which
// starts its clock; one delivered an older revision gets rev. Then the
// chunk's timer is armed.
//
// A new notice reached over NATS is stored as one ledger record, created
// and delivered at once (breach.Change.Created), written after its message
// is stored: one record per notice instead of two. For an organisation
// without the NATS channel the message is published all the same (the
// webhook and e-mail dispatcher takes it from there) but the notice is
// created PENDING before it, and the dispatcher records the delivery that
// starts its clock.
//
// Every step is idempotent, so a chunk interrupted anywhere is completed
// by running it again: a message stored before a crash is not stored twice
// (stable message ids; the first copy's time is recorded), notices are not
// created twice (a record expects the notice not to exist), and recorded
// deliveries are not recorded again.
//
// fresh says that no notice of b can exist yet (this attempt recorded the
// breach): the chunk's notices are not read first, and one created
// meanwhile by another daemon is found by its record's failed expectation.
func (in *Intake) fanoutChunk(ctx context.Context, b *breach.Breach, chunk int, ms []store.Member, rev int, fresh bool) error {
	now := in.now()
	vs := make([]store.Version, len(ms))
	if !fresh {
		ids := make([]breach.NoticeID, len(ms))
		for i, m := range ms {
			ids[i] = breach.NewNoticeID(b.ID, m.Org)
		}
		var err error
		if vs, err = in.st.GetNotices(ctx, ids); err != nil {
			return err
		}
	}
	var (
		all         = make([]*breach.Notice, 0, len(ms)) // every notice of the chunk, for its timer
		todo        []*breach.Notice                     // notices to deliver rev to
		seqs        []uint64                             // their ledger sequences; 0: not stored yet
		withdrawals []*breach.Notice
		creates     []store.Change // PENDING notices stored before their first message
	)
	planExisting := func(v store.Version) error {
		p, v, err := in.plan(ctx, b, rev, v) // targets.go
		if err != nil {
			return err
		}
		all = append(all, v.Notice)
		switch p {
		case planDeliver:
			todo, seqs = append(todo, v.Notice), append(seqs, v.Seq)
		case planWithdraw:
			withdrawals = append(withdrawals, v.Notice)
		}
		return nil
	}
	for i, v := range vs {
		if v.Notice != nil { // resumed fan-out, or a later revision
			if err := planExisting(v); err != nil {
				return err
			}
			continue
		}
		n := newNotice(b, ms[i], chunk, now, in.nis2)
		if n.ClockOnChannel {
			creates = append(creates, store.Change{Event: breach.EventCreated, At: now, Actor: actorSystem, Notice: *n})
			continue
		}
		all, todo, seqs = append(all, n), append(todo, n), append(seqs, 0)
	}
	if len(creates) > 0 {
		res, err := in.st.AppendChanges(ctx, creates, make([]uint64, len(creates)))
		if err != nil {
			return err
		}
		var existing []breach.NoticeID
		for i, r := range res {
			if r.Conflict {
				existing = append(existing, creates[i].Notice.ID)
				continue
			}
			n := creates[i].Notice
			all, todo, seqs = append(all, &n), append(todo, &n), append(seqs, r.Seq)
		}
		if err := in.planCreated(ctx, existing, planExisting); err != nil {
			return err
		}
	}
	if err := in.withdraw(ctx, b, rev, withdrawals); err != nil {
		return err
	}
	if len(todo) > 0 {
		if err := in.deliver(ctx, b, todo, seqs, rev); err != nil {
			return err
		}
	}
	return in.timers.Arm(ctx, b.ID, chunk, in.timers.Next(all))
}

// newNotice is member m's notice of b before its first delivery.
func newNotice(b *breach.Breach, m store.Member, chunk int, now time.Time, nis2 breach.NIS2Clocks) *breach.Notice {
	var obligations []breach.Obligation
	if m.NIS2 {
		obligations = breach.NewObligations([]breach.Regime{breach.RegimeGDPR, breach.RegimeNIS2}, nis2)
	}
	return &breach.Notice{
		Obligations:    obligations,
		ID:             breach.NewNoticeID(b.ID, m.Org),
		OrgName:        m.Name,
		State:          breach.StatePending,
		CreatedAt:      now,
		ApproxSubjects: m.ApproxSubjects,
		ApproxRecords:  m.ApproxRecords,
		AffectedStatus: m.Status,
		DiscoveredAt:   b.Report.DiscoveredAt,
		Chunk:          chunk,
		ClockOnChannel: m.ClockOnChannel,
	}
}

// planCreated plans the notices another writer created meanwhile (their
// creation here conflicted).
func (in *Intake) planCreated(ctx context.Context, ids []breach.NoticeID, plan func(store.Version) error) error {
	if len(ids) == 0 {
		return nil
	}
	vs, err := in.st.GetNotices(ctx, ids)
	if err != nil {
		return err
	}
	for i, v := range vs {
		if v.Notice == nil {
			// The create conflicted, yet the notice reads as missing: a
			// concurrent write not yet visible. Retry the report later
			// rather than skip the organisation.
			return fmt.Errorf("notice %s: creation conflicted but it is not readable yet", ids[i])
		}
		if err := plan(v); err != nil {
			return err
		}
	}
	return nil
}

// deliver publishes revision rev to each notice's organisation, then
// records the delivery: a notice not stored yet (seqs[i] == 0) is created
// delivered in the same record. ns are updated in place to their stored
// state.
func (in *Intake) deliver(ctx context.Context, b *breach.Breach, ns []*breach.Notice, seqs []uint64, rev int) error {
	at := in.now()
	out := make([]delivery.Outgoing, len(ns))
	for i, n := range ns {
		if n.State == breach.StatePending {
			out[i] = delivery.NoticeMessage(b, n, rev, at, in.window)
		} else {
			out[i] = delivery.RevisionMessage(b, n, rev, at)
		}
	}
	results, err := in.pub.Send(ctx, out)
	if err != nil {
		return err
	}
	var changes []store.Change
	var expect []uint64
	var idx []int // changes[j] records ns[idx[j]]
	for i, n := range ns {
		if n.State == breach.StatePending && n.ClockOnChannel {
			continue // the dispatcher records the delivery
		}
		prev, prevAcked := n.State, n.RevisionAcked
		ev := n.Deliver(results[i].SentAt, in.window, rev)
		c := store.Change{Event: ev, At: results[i].SentAt, Actor: actorSystem, Prev: prev, PrevRevisionAcked: prevAcked,
			Detail: fmt.Sprintf("revision %d", rev), Notice: *n}
		if seqs[i] == 0 {
			c.Prev, c.Created = breach.StateUnspecified, true
		}
		changes = append(changes, c)
		expect, idx = append(expect, seqs[i]), append(idx, i)
	}
	res, err := in.st.AppendChanges(ctx, changes, expect)
	if err != nil {
		return err
	}
	for j, r := range res {
		i := idx[j]
		if !r.Conflict {
			continue
		}
		// Someone changed the notice meanwhile (an acknowledgement, or another
		// daemon on the same fan-out, which created it): record the delivery
		// only if still needed.
		sent := results[i].SentAt
		cur, err := in.st.UpdateNoticeDetail(ctx, ns[i].ID, actorSystem, sent, fmt.Sprintf("revision %d", rev), func(n *breach.Notice) (breach.Event, error) {
			if (n.State != breach.StatePending && n.Revision >= rev) || n.State == breach.StateWithdrawn {
				return "", nil
			}
			return n.Deliver(sent, in.window, rev), nil
		})
		if err != nil {
			return err
		}
		*ns[i] = *cur
	}
	return nil
}

// fanoutWorkers is how many chunks of one fan-out run at once: enough to
// overlap signing and encoding on one core with JetStream storing the
// previous batch on the other.
const fanoutWorkers = 4

// fanoutChunks runs chunks [from, to) of b's membership for revision rev,
// up to fanoutWorkers at a time, reporting progress after each.
func (in *Intake) fanoutChunks(ctx context.Context, b *breach.Breach, from, to, rev int, fresh bool, progress func()) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(fanoutWorkers)
	var mu sync.Mutex
	for c := from; c < to; c++ {
		g.Go(func() error {
			ms, err := in.st.Members(gctx, b.ID, b.Digest, c)
			if err != nil {
				return err
			}
			if err := in.fanoutChunk(gctx, b, c, ms, rev, fresh); err != nil {
				return fmt.Errorf("fan-out chunk %d/%d of %s revision %d: %w", c+1, to, b.ID, rev, err)
			}
			mu.Lock()
			progress()
			mu.Unlock()
			in.log.Debug("fan-out chunk done", "breach_id", b.ID, "revision", rev, "chunk", c+1, "chunks", to)
			return nil
		})
	}
	return g.Wait()
}

// fanout delivers revision 1 to every member and marks the breach
// complete; fresh: this attempt recorded the breach (see fanoutChunk).
func (in *Intake) fanout(ctx context.Context, b *breach.Breach, fresh bool, progress func()) error {
	start := time.Now()
	if err := in.fanoutChunks(ctx, b, 0, b.Chunks, 1, fresh, progress); err != nil {
		return err
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

// fanoutRevision delivers revision rev to every member (older ones and the
// ones it adds) and marks the revision complete.
func (in *Intake) fanoutRevision(ctx context.Context, b *breach.Breach, rev int, progress func()) error {
	start := time.Now()
	if err := in.fanoutChunks(ctx, b, 0, b.TotalChunks(), rev, false, progress); err != nil {
		return err
	}
	if _, err := in.st.UpdateBreach(ctx, b.ID, func(b *breach.Breach) error {
		for i := range b.Revisions {
			if b.Revisions[i].Number == rev {
				b.Revisions[i].FanoutComplete = true
			}
		}
		return nil
	}); err != nil {
		return err
	}
	in.log.Info("revision delivered", "breach_id", b.ID, "revision", rev, "took", time.Since(start).Round(time.Millisecond))
	return nil
}
