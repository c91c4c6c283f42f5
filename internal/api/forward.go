package api

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cascadehq/cascade/internal/auth"
	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/protoconv"
	"github.com/cascadehq/cascade/internal/verify"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// ForwardNotice forwards a notice the calling processor received, as the
// organisation its processor registry row names (org_id), as its own
// breach to its own customers; a later revision of a notice forwarded
// before becomes a revision of the forwarded breach. The intake verifies
// the upstream message (its signature, its recipient) before anything is
// recorded.
func (s breachService) ForwardNotice(ctx context.Context, req *cascadev1.ForwardNoticeRequest) (*cascadev1.ForwardNoticeResponse, error) {
	caller, _ := auth.FromContext(ctx)
	if !caller.ProcessorScoped() {
		return nil, status.Error(codes.FailedPrecondition,
			"only a registered processor's vendor forwards a notice it received as a customer (the default processor receives none)")
	}
	proc, err := s.st.GetProcessor(ctx, caller.Processor)
	if err != nil {
		return nil, err
	}
	if proc.OrgID == "" {
		return nil, status.Errorf(codes.FailedPrecondition,
			"processor %s has no org_id in the processor registry: it receives no notices it could forward", proc.ID)
	}
	var msg breach.SignedMessage
	switch {
	case req.GetNoticeId() != "" && req.GetMessage() != nil:
		return nil, invalid("notice_id", "give the upstream notice's id (this deployment) or its message (another deployment), not both")
	case req.GetNoticeId() != "":
		id, err := breach.ParseNoticeID(req.GetNoticeId())
		if err != nil {
			return nil, invalid("notice_id", err.Error())
		}
		if id.Org != proc.OrgID {
			return nil, fmt.Errorf("notice %s is not one of organisation %s's: %w", id, proc.OrgID, breach.ErrNotFound)
		}
		m, err := s.st.NoticeMessage(ctx, id)
		if err != nil {
			return nil, err
		}
		msg = *m
	case req.GetMessage() != nil:
		msg = protoconv.SignedMessage(req.GetMessage())
	default:
		return nil, invalid("notice_id", "name the upstream notice (notice_id) or give the message you received (message)")
	}
	body, err := verify.ParseUpstream(&msg)
	if err != nil {
		return nil, invalid("message", err.Error())
	}
	up := &breach.Upstream{Message: msg} // the intake checks and completes it
	local := breach.BreachID(req.GetId())
	if local == "" {
		local = body.NoticeID.Breach.Local()
	}
	id, mine := breach.Qualify(proc.ID, local)
	if !mine {
		return nil, invalid("id", fmt.Sprintf("breach id %q may not contain %q", local, breach.ProcessorSeparator))
	}
	cur, err := s.st.GetBreach(ctx, id)
	switch {
	case errors.Is(err, breach.ErrNotFound):
		return s.forwardNew(ctx, proc, id, body, up, req)
	case err != nil:
		return nil, err
	}
	// Forwarded before: the same upstream revision again, or a later one
	// as a revision.
	facts := cur.Facts()
	if facts.Upstream == nil {
		return nil, status.Errorf(codes.AlreadyExists, "breach %s exists and forwards no notice; give the forwarded breach another id", id)
	}
	if facts.Upstream.Notice != body.NoticeID {
		return nil, status.Errorf(codes.AlreadyExists, "breach %s forwards notice %s, not %s; give this one another id", id, facts.Upstream.Notice, body.NoticeID)
	}
	if body.Revision <= facts.Upstream.Revision {
		return &cascadev1.ForwardNoticeResponse{Breach: protoconv.BreachProtoAt(cur, s.now()), AlreadyForwarded: true,
			Revision: int32(revisionCarrying(cur, body.Revision))}, nil
	}
	u := breach.Update{Breach: id, Upstream: up,
		Summary: fmt.Sprintf("%s updated its notice (revision %d): %s", body.Breach.Processor, body.Revision, body.RevisionSummary),
		Nature:  changed(facts.Nature, body.Breach.Nature), LikelyConsequences: changed(facts.LikelyConsequences, body.Breach.LikelyConsequences),
		MeasuresTaken: changed(facts.MeasuresTaken, body.Breach.MeasuresTaken), MeasuresProposed: changed(facts.MeasuresProposed, body.Breach.MeasuresProposed),
		AdviceToControllers: req.GetAdviceToControllers()}
	if body.RevisionSummary == "" {
		u.Summary = fmt.Sprintf("%s updated its notice (revision %d).", body.Breach.Processor, body.Revision)
	}
	if !body.Breach.OccurredFrom.Equal(facts.OccurredFrom) {
		u.OccurredFrom = body.Breach.OccurredFrom
	}
	if !body.Breach.OccurredTo.Equal(facts.OccurredTo) {
		u.OccurredTo = body.Breach.OccurredTo
	}
	resp, err := s.update(ctx, proc.ID, &u)
	if err != nil {
		return nil, err
	}
	return &cascadev1.ForwardNoticeResponse{Breach: resp.GetBreach(), AlreadyForwarded: resp.GetAlreadyApplied(), Revision: resp.GetRevision()}, nil
}

// forwardNew records the first forward of an upstream notice: the
// upstream facts as the processor's own breach id, to the customers
// named.
func (s breachService) forwardNew(ctx context.Context, proc *breach.Processor, id breach.BreachID, body *verify.UpstreamBody,
	up *breach.Upstream, req *cascadev1.ForwardNoticeRequest) (*cascadev1.ForwardNoticeResponse, error) {
	r := *body.Breach
	r.ID, r.Processor, r.Upstream = id, proc.Name, up
	r.NextUpdateBy = time.Time{} // the upstream's promise is the upstream's; this processor makes its own with an update
	r.Contact = breach.Contact{Name: proc.Name, Email: proc.ContactEmail, Phone: proc.ContactPhone}
	if c := req.GetContact(); c != nil {
		r.Contact = breach.Contact{Name: c.GetName(), Email: c.GetEmail(), Phone: c.GetPhone()}
	}
	if a := req.GetAdviceToControllers(); a != "" {
		r.AdviceToControllers = a
	}
	r.AllCustomers = req.GetAllCustomers()
	r.Affected = protoconv.Report(&cascadev1.BreachReport{Affected: req.GetAffected()}).Affected
	if !r.AllCustomers && len(r.Affected) == 0 {
		return nil, invalid("affected", "name the customers it affects (affected) or all_customers")
	}
	resp, err := s.report(ctx, proc.ID, &r)
	if err != nil {
		return nil, err
	}
	return &cascadev1.ForwardNoticeResponse{Breach: resp.GetBreach(), AlreadyForwarded: resp.GetAlreadyReported(), Revision: 1}, nil
}

// changed is v if it differs from cur, else "" (an update field left as it is).
func changed(cur, v string) string {
	if v == cur {
		return ""
	}
	return v
}

// revisionCarrying is the revision of forwarded breach b that carries
// upstream revision rev (1: the report).
func revisionCarrying(b *breach.Breach, rev int) int {
	n := 1
	for _, r := range b.Revisions {
		if r.Update.Upstream != nil && r.Update.Upstream.Revision <= rev {
			n = r.Number
		}
	}
	return n
}
