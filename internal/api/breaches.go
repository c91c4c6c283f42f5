package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/cascadehq/cascade/internal/auth"
	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/protoconv"
	"github.com/cascadehq/cascade/internal/store"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// Checker verifies reports and updates before they are enqueued
// (implemented by intake).
type Checker interface {
	Check(ctx context.Context, r *breach.Report) (*breach.Breach, error)
	CheckUpdate(ctx context.Context, u *breach.Update) (*breach.Breach, *breach.Revision, error)
}

type breachService struct {
	cascadev1.UnimplementedBreachServiceServer
	*Server
}

func (s breachService) ReportBreach(ctx context.Context, req *cascadev1.ReportBreachRequest) (*cascadev1.ReportBreachResponse, error) {
	if req.GetReport() == nil {
		return nil, invalid("report", "report is required")
	}
	r := protoconv.Report(req.GetReport())
	if r.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return nil, err
		}
		r.ID = breach.BreachID(id.String())
	}
	// The caller's processor is its token's, never the report's: the
	// report goes on that processor's intake subject, under its id.
	return s.report(ctx, callerProcessor(ctx), &r)
}

// report checks processor p's report r, enqueues it on p's intake subject
// and waits until the breach is recorded.
func (s breachService) report(ctx context.Context, p breach.ProcessorID, r *breach.Report) (*cascadev1.ReportBreachResponse, error) {
	if err := r.Qualify(p); err != nil {
		return nil, err
	}
	existing, err := s.checker.Check(ctx, r)
	if err != nil {
		return nil, err
	}
	if existing != nil {
		return &cascadev1.ReportBreachResponse{Breach: protoconv.BreachProtoAt(existing, s.now()), AlreadyReported: true}, nil
	}
	// Enqueue on the same durable intake as a NATS publish, then wait for
	// the breach to be recorded.
	digest := r.Digest()
	var resp *cascadev1.ReportBreachResponse
	err = s.enqueue(ctx, store.ReportSubject(p), "grpc/"+string(r.ID)+"/"+digest[:16], protoconv.ReportProto(r), 30*time.Second,
		func() (bool, error) {
			b, err := s.st.GetBreach(ctx, r.ID)
			switch {
			case errors.Is(err, breach.ErrNotFound):
				return false, nil
			case err != nil:
				return false, err
			case b.Digest != digest: // another report with this id won the race
				return false, fmt.Errorf("%w: breach %s was reported meanwhile with different content", breach.ErrConflict, r.ID)
			}
			resp = &cascadev1.ReportBreachResponse{Breach: protoconv.BreachProtoAt(b, s.now())}
			return true, nil
		})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// processorFilter selects the breaches of processor id (a request's
// processor_id); nil (all) for an empty id.
func processorFilter(id string) (func(breach.BreachID) bool, error) {
	if id == "" {
		return nil, nil
	}
	p, err := breach.ParseProcessorID(id)
	if err != nil {
		return nil, invalid("processor_id", err.Error())
	}
	return func(b breach.BreachID) bool { return b.Processor() == p }, nil
}

// callerProcessor is the registered processor the caller acts for (empty:
// the default processor).
func callerProcessor(ctx context.Context) breach.ProcessorID {
	id, _ := auth.FromContext(ctx)
	return id.Processor
}

// enqueue publishes m (protobuf) on the durable intake with a stable
// message id, then polls done until it reports the effect, the caller's
// context ends, or wait passes (Unavailable, naming the intake sequence).
func (s *Server) enqueue(ctx context.Context, subject, msgID string, m proto.Message, wait time.Duration, done func() (bool, error)) error {
	data, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	msg.Header.Set("Content-Type", protoconv.ContentTypeProtobuf)
	ack, err := s.js.PublishMsg(ctx, msg, jetstream.WithMsgID(msgID), jetstream.WithExpectStream(store.StreamIntake))
	if err != nil {
		return fmt.Errorf("enqueue on %s: %w", subject, err)
	}
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	for {
		ok, err := done()
		if ok || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout.C:
			return status.Errorf(codes.Unavailable, "enqueued on %s (intake sequence %d) but not recorded yet; check again shortly", subject, ack.Sequence)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s breachService) UpdateBreach(ctx context.Context, req *cascadev1.UpdateBreachRequest) (*cascadev1.UpdateBreachResponse, error) {
	if req.GetUpdate() == nil {
		return nil, invalid("update", "update is required")
	}
	u := protoconv.Update(req.GetUpdate())
	return s.update(ctx, callerProcessor(ctx), &u)
}

// update checks processor p's update u, enqueues it on p's intake subject
// and waits until the revision is recorded.
func (s breachService) update(ctx context.Context, p breach.ProcessorID, u *breach.Update) (*cascadev1.UpdateBreachResponse, error) {
	q, mine := breach.Qualify(p, u.Breach)
	if !mine {
		return nil, fmt.Errorf("breach %s: %w", u.Breach, breach.ErrNotFound)
	}
	u.Breach = q
	b, rev, err := s.checker.CheckUpdate(ctx, u)
	if err != nil {
		return nil, err
	}
	if rev != nil {
		return &cascadev1.UpdateBreachResponse{Breach: protoconv.BreachProtoAt(b, s.now()), Revision: int32(rev.Number), AlreadyApplied: true}, nil
	}
	digest := u.Digest()
	var resp *cascadev1.UpdateBreachResponse
	err = s.enqueue(ctx, store.UpdateSubject(p), "grpc-update/"+string(u.Breach)+"/"+digest[:16], protoconv.UpdateProto(u), 60*time.Second,
		func() (bool, error) {
			b, err := s.st.GetBreach(ctx, u.Breach)
			if err != nil {
				return false, err
			}
			r := b.RevisionByDigest(digest)
			if r == nil {
				return false, nil // not yet (an earlier revision may still be in delivery)
			}
			resp = &cascadev1.UpdateBreachResponse{Breach: protoconv.BreachProtoAt(b, s.now()), Revision: int32(r.Number)}
			return true, nil
		})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func (s breachService) GetBreach(ctx context.Context, req *cascadev1.GetBreachRequest) (*cascadev1.GetBreachResponse, error) {
	id, err := breach.ParseBreachID(req.GetBreachId())
	if err != nil {
		return nil, invalid("breach_id", err.Error())
	}
	b, err := s.st.GetBreach(ctx, id)
	if err != nil {
		return nil, err
	}
	shared, err := s.st.SharedAnswers(ctx, id)
	if err != nil {
		return nil, err
	}
	history, err := s.st.PromiseHistory(ctx, id)
	if err != nil {
		return nil, err
	}
	out := protoconv.BreachProtoAt(b, s.now())
	out.SharedAnswers = protoconv.SharedAnswersProto(shared)
	out.PromiseHistory = protoconv.PromiseHistoryProto(history)
	return &cascadev1.GetBreachResponse{Breach: out}, nil
}

func (s breachService) ListBreaches(ctx context.Context, req *cascadev1.ListBreachesRequest) (*cascadev1.ListBreachesResponse, error) {
	const method = "ListBreaches"
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	ad := binding(ctx, method, req.GetProcessorId())
	cur, err := s.pages.open(req.GetPageToken(), ad)
	if err != nil {
		return nil, err
	}
	keep, err := processorFilter(req.GetProcessorId())
	if err != nil {
		return nil, err
	}
	var bs []*breach.Breach
	var next breach.BreachID
	if id, _ := auth.FromContext(ctx); id.Scoped() {
		// Only the breaches the caller may see are listed, counted and
		// paged through: a token never holds a position it could not see.
		bs, next, err = s.orgBreaches(ctx, id.Org, cur.Breach, size, keep)
	} else {
		var more bool
		bs, more, err = s.st.ListBreaches(ctx, cur.Breach, size, keep)
		if more && len(bs) > 0 {
			next = bs[len(bs)-1].ID
		}
	}
	if err != nil {
		return nil, err
	}
	resp := &cascadev1.ListBreachesResponse{}
	for _, b := range bs {
		resp.Breaches = append(resp.Breaches, protoconv.BreachProtoAt(b, s.now()))
	}
	if next != "" {
		resp.NextPageToken = s.pages.token(cursor{Breach: next}, ad)
	}
	return resp, nil
}

// orgBreaches returns up to size breaches with a notice of org, with ids
// after `after`, in id order, and the id to continue after ("" at the end).
func (s breachService) orgBreaches(ctx context.Context, org breach.OrgID, after breach.BreachID, size int, keep func(breach.BreachID) bool) ([]*breach.Breach, breach.BreachID, error) {
	ns, err := s.st.OrgNotices(ctx, org)
	if err != nil {
		return nil, "", err
	}
	var ids []breach.BreachID
	for _, n := range ns {
		if n.ID.Breach > after && (keep == nil || keep(n.ID.Breach)) {
			ids = append(ids, n.ID.Breach)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var next breach.BreachID
	if len(ids) > size {
		ids = ids[:size]
		next = ids[size-1]
	}
	out := make([]*breach.Breach, 0, len(ids))
	for _, id := range ids {
		b, err := s.st.GetBreach(ctx, id)
		if errors.Is(err, breach.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		out = append(out, b)
	}
	return out, next, nil
}

func (s breachService) GetBreachSummary(ctx context.Context, req *cascadev1.GetBreachSummaryRequest) (*cascadev1.GetBreachSummaryResponse, error) {
	id, err := breach.ParseBreachID(req.GetBreachId())
	if err != nil {
		return nil, invalid("breach_id", err.Error())
	}
	if s.view != nil {
		if b, sum, ok := s.view.Summary(id); ok {
			return &cascadev1.GetBreachSummaryResponse{Summary: protoconv.SummaryPromise(protoconv.BreachSummaryProto(&sum, b, s.now()), &b.Promise, s.now())}, nil
		}
	}
	b, err := s.st.GetBreach(ctx, id)
	if err != nil {
		return nil, err
	}
	v, err := s.st.GetSummary(ctx, id)
	if err != nil {
		return nil, err
	}
	return &cascadev1.GetBreachSummaryResponse{Summary: protoconv.SummaryPromise(protoconv.BreachSummaryProto(&v.Summary, b, s.now()), &b.Promise, s.now())}, nil
}

func (s breachService) WatchBreach(req *cascadev1.WatchBreachRequest, stream cascadev1.BreachService_WatchBreachServer) error {
	ctx := stream.Context()
	id, err := breach.ParseBreachID(req.GetBreachId())
	if err != nil {
		return invalid("breach_id", err.Error())
	}
	b, err := s.st.GetBreach(ctx, id)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sums, err := s.st.WatchSummary(ctx, id)
	if err != nil {
		return err
	}
	// The notices come from the daemon's shared tail of the ledger: the
	// snapshot first, then their changes (the latest state of each).
	var noticesReady <-chan struct{} // nil: no notices watched
	var nw *store.NoticeWatch
	var snap []*breach.Notice
	if req.GetIncludeNotices() {
		if nw, snap, err = s.feed.Watch(ctx, store.NoticeFilter{Breach: id}, true); err != nil {
			return err
		}
		defer nw.Close()
		noticesReady = nw.Ready()
		slices.SortFunc(snap, func(a, b *breach.Notice) int { return cmp.Compare(a.ID.Org, b.ID.Org) })
	}
	summaryCaughtUp, sentCaughtUp, sentSummary := false, false, false
	send := func(r *cascadev1.WatchBreachResponse) error {
		if err := stream.Send(r); err != nil {
			return status.Convert(err).Err() // the stream's own error, final as it is
		}
		return nil
	}
	sendNotices := func(ns []*breach.Notice) error {
		now := s.now()
		for _, n := range ns {
			if err := send(&cascadev1.WatchBreachResponse{Event: &cascadev1.WatchBreachResponse_Notice{
				Notice: protoconv.NoticeProto(n, now)}}); err != nil {
				return err
			}
		}
		return nil
	}
	if err := sendNotices(snap); err != nil {
		return err
	}
	snap = nil
	for {
		if summaryCaughtUp && !sentCaughtUp {
			if !sentSummary { // no summary stored yet: an empty one
				if err := send(&cascadev1.WatchBreachResponse{Event: &cascadev1.WatchBreachResponse_Summary{
					Summary: protoconv.SummaryPromise(protoconv.BreachSummaryProto(&breach.Summary{Breach: id}, b, s.now()), &b.Promise, s.now())}}); err != nil {
					return err
				}
			}
			if err := send(&cascadev1.WatchBreachResponse{Event: &cascadev1.WatchBreachResponse_CaughtUp{CaughtUp: &cascadev1.CaughtUp{}}}); err != nil {
				return err
			}
			sentCaughtUp = true
		}
		select {
		case <-ctx.Done():
			return nil
		case v, ok := <-sums:
			if !ok {
				return fmt.Errorf("summary watch of %s ended", id)
			}
			if v == nil {
				summaryCaughtUp = true
				continue
			}
			sentSummary = true
			if cur, err := s.st.GetBreach(ctx, id); err == nil { // a revision may have been added
				b = cur
			}
			if err := send(&cascadev1.WatchBreachResponse{Event: &cascadev1.WatchBreachResponse_Summary{
				Summary: protoconv.SummaryPromise(protoconv.BreachSummaryProto(&v.Summary, b, s.now()), &b.Promise, s.now())}}); err != nil {
				return err
			}
		case <-noticesReady:
			ns, err := nw.Next()
			switch {
			case errors.Is(err, store.ErrWatchBehind):
				return status.Error(codes.ResourceExhausted, err.Error())
			case err != nil:
				return status.Error(codes.Unavailable, err.Error())
			}
			if err := sendNotices(ns); err != nil {
				return err
			}
		}
	}
}
