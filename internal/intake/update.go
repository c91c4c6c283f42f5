package intake

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/store"
)

// errBusy: the breach is still being fanned out (an earlier revision); the
// update is retried shortly, so revisions are delivered in order.
var errBusy = errors.New("an earlier revision of the breach is still being delivered")

// CheckUpdate is what UpdateBreach verifies before it enqueues an update:
// the update is valid and its breach exists. It returns the existing
// revision when the same update was applied before.
func (in *Intake) CheckUpdate(ctx context.Context, u *breach.Update) (*breach.Breach, *breach.Revision, error) {
	if err := withPromise(u.Validate(), u.NextUpdateBy, in.now()); err != nil {
		return nil, nil, capViolations(err)
	}
	b, err := in.st.GetBreach(ctx, u.Breach)
	if err != nil {
		return nil, nil, err
	}
	if err := in.checkUpstreamUpdate(ctx, b, u); err != nil {
		return nil, nil, invalidUpstream(err)
	}
	if r := b.RevisionByDigest(u.Digest()); r != nil {
		return b, r, nil
	}
	if err := upstreamOrder(b, u); err != nil {
		return nil, nil, invalidUpstream(err)
	}
	if _, _, _, err := in.targets(ctx, b, u); err != nil {
		return nil, nil, err
	}
	return b, nil, nil
}

// acceptUpdate turns an update into the breach's next revision and
// delivers it: to every organisation notified before (a revision) and to
// every newly affected one (a notice with its own clock). Like accept, it
// is idempotent and resumable.
// received is when the update reached the intake: it keeps or misses the
// promise open then (see settlePromise).
func (in *Intake) acceptUpdate(ctx context.Context, u *breach.Update, seq uint64, received time.Time, progress func()) (*breach.Breach, int, error) {
	if err := u.Validate(); err != nil {
		var inv *breach.InvalidError
		errors.As(err, &inv)
		return nil, 0, &rejectErr{Rejection{Reason: "invalid", Detail: err.Error(), BreachID: u.Breach, Violations: inv.Violations, Field: inv.Violations[0].Field}}
	}
	b, err := in.st.GetBreach(ctx, u.Breach)
	if errors.Is(err, breach.ErrNotFound) {
		return nil, 0, &rejectErr{Rejection{Reason: "unknown_breach", BreachID: u.Breach, Field: "breach_id",
			Detail: fmt.Sprintf("breach %s does not exist; report it on %s first", u.Breach, store.ReportSubject(u.Breach.Processor()))}}
	}
	if err != nil {
		return nil, 0, err
	}
	if err := in.checkUpstreamUpdate(ctx, b, u); err != nil {
		return nil, 0, err
	}
	digest := u.Digest()
	if r := b.RevisionByDigest(digest); r != nil {
		if err := in.promised(ctx, b); err != nil { // armed again: a crash may have come first
			return nil, 0, err
		}
		if !r.FanoutComplete {
			in.log.Info("resuming revision", "breach_id", b.ID, "revision", r.Number)
			if err := in.fanoutRevision(ctx, b, r.Number, progress); err != nil {
				return nil, 0, err
			}
		}
		return b, r.Number, nil
	}
	if err := upstreamOrder(b, u); err != nil {
		return nil, 0, err
	}
	if !b.FanoutComplete || slices.ContainsFunc(b.Revisions, func(r breach.Revision) bool { return !r.FanoutComplete }) {
		return nil, 0, errBusy
	}
	corrected, withdrawn, renotified, err := in.targets(ctx, b, u) // targets.go
	if err != nil {
		var inv *breach.InvalidError
		if errors.As(err, &inv) {
			return nil, 0, &rejectErr{Rejection{Reason: "invalid", Detail: err.Error(), BreachID: u.Breach, Violations: inv.Violations, Field: inv.Violations[0].Field}}
		}
		return nil, 0, err
	}
	// Newly affected organisations: known, and not notified before.
	known, unknown, err := in.resolve(ctx, &breach.Report{ID: b.ID, Affected: u.AddAffected})
	if err != nil {
		return nil, 0, err
	}
	ids := make([]breach.NoticeID, 0, len(known))
	for id := range known {
		ids = append(ids, breach.NewNoticeID(b.ID, id))
	}
	vs, err := in.st.GetNotices(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	for _, v := range vs {
		if v.Notice != nil {
			delete(known, v.Notice.ID.Org)
		}
	}
	first := b.TotalChunks()
	chunks, added, err := in.writeMembership(ctx, b.ID, b.Digest, first, members(&breach.Report{Affected: u.AddAffected}, known))
	if err != nil {
		return nil, 0, err
	}
	rev := b.Latest() + 1
	var promiseEvents []breach.PromiseEvent
	b, err = in.st.UpdateBreach(ctx, b.ID, func(cur *breach.Breach) error {
		promiseEvents = nil
		if cur.RevisionByDigest(digest) != nil {
			return nil // recorded by a concurrent attempt
		}
		if cur.Latest()+1 != rev || cur.TotalChunks() != first {
			return fmt.Errorf("breach %s changed while recording revision %d; retrying", b.ID, rev)
		}
		now := in.now()
		cur.NoticeCount += added
		outcome, evs := settlePromise(&cur.Promise, u, rev, received, now)
		promiseEvents = evs
		cur.Revisions = append(cur.Revisions, breach.Revision{Number: rev, At: now, Update: *u, Digest: digest,
			FirstChunk: first, Chunks: chunks, Added: added, UnknownOrgs: unknown, PromiseOutcome: outcome,
			Corrected: corrected, Withdrawn: withdrawn, Renotified: renotified})
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	in.log.Info("revision recorded", "breach_id", b.ID, "revision", rev, "added_orgs", added, "unknown_orgs", len(unknown),
		"corrected_orgs", corrected, "withdrawn_orgs", withdrawn, "renotified_orgs", renotified)
	if err := in.promised(ctx, b, promiseEvents...); err != nil {
		return nil, 0, err
	}
	if len(unknown) > 0 {
		if err := publishRejection(ctx, in.st.JetStream(), Rejection{
			Reason: "unknown_organisations", Partial: true, BreachID: b.ID, UnknownOrgIDs: unknown, Field: "add_affected",
			Detail:  fmt.Sprintf("%d organisations added by revision %d are not in the registry%s and got no notice", len(unknown), rev, customersOf(b.ID)),
			Subject: store.SubjectUpdate, StreamSeq: seq, At: in.now(),
		}, fmt.Sprintf("unknown/%s/%d", b.ID, rev)); err != nil {
			return nil, 0, err
		}
	}
	if err := in.fanoutRevision(ctx, b, rev, progress); err != nil {
		return nil, 0, err
	}
	return b, rev, nil
}

// checkUpstreamUpdate verifies the upstream notice an update of forwarded
// breach b carries (checkUpstream), filling in its fields.
func (in *Intake) checkUpstreamUpdate(ctx context.Context, b *breach.Breach, u *breach.Update) error {
	if u.Upstream == nil {
		return nil
	}
	if b.Report.Upstream == nil {
		return &rejectErr{Rejection{Reason: "invalid_upstream", BreachID: b.ID, Field: "upstream",
			Detail: fmt.Sprintf("breach %s forwards no upstream notice; forward one with a new breach", b.ID)}}
	}
	return in.checkUpstream(ctx, &breach.Report{ID: b.ID, Upstream: u.Upstream})
}

// upstreamOrder checks that an update's upstream notice is a later
// revision of the notice breach b forwards.
func upstreamOrder(b *breach.Breach, u *breach.Update) error {
	if u.Upstream == nil {
		return nil
	}
	cur := b.Facts().Upstream
	reject := func(format string, args ...any) error {
		return &rejectErr{Rejection{Reason: "invalid_upstream", BreachID: b.ID, Field: "upstream", Detail: fmt.Sprintf(format, args...)}}
	}
	switch {
	case u.Upstream.Notice != cur.Notice:
		return reject("breach %s forwards notice %s, not %s", b.ID, cur.Notice, u.Upstream.Notice)
	case u.Upstream.Revision <= cur.Revision:
		return reject("breach %s carries revision %d of notice %s already; revision %d is not later", b.ID, cur.Revision, cur.Notice, u.Upstream.Revision)
	}
	return nil
}

// invalidUpstream turns a rejection of an upstream notice into the domain
// error the API answers with (InvalidArgument on field upstream).
func invalidUpstream(err error) error {
	var rej *rejectErr
	if errors.As(err, &rej) {
		return breach.Invalid("upstream", rej.r.Reason, "%s", rej.r.Detail)
	}
	return err
}
