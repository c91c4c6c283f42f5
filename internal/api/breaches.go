package api

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/protoconv"
	"github.com/cascadehq/cascade/internal/store"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// Checker verifies a report before it is enqueued (implemented by intake).
type Checker interface {
	Check(ctx context.Context, r *breach.Report) (*breach.Breach, error)
}

type breachService struct {
	cascadev1.UnimplementedBreachServiceServer
	*Server
}

func (s breachService) ReportBreach(ctx context.Context, req *cascadev1.ReportBreachRequest) (*cascadev1.ReportBreachResponse, error) {
	const method = "ReportBreach"
	if req.GetReport() == nil {
		return nil, toStatus(ctx, s.log, method, invalid("report", "report is required"))
	}
	r := protoconv.Report(req.GetReport())
	if r.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return nil, toStatus(ctx, s.log, method, err)
		}
		r.ID = breach.BreachID(id.String())
	}
	existing, err := s.checker.Check(ctx, &r)
	if err != nil {
		return nil, toStatus(ctx, s.log, method, err)
	}
	if existing != nil {
		return &cascadev1.ReportBreachResponse{Breach: protoconv.BreachProto(existing), AlreadyReported: true}, nil
	}
	// Enqueue on the same durable intake as a NATS publish, then wait for
	// the breach to be recorded.
	data, err := proto.Marshal(protoconv.ReportProto(&r))
	if err != nil {
		return nil, toStatus(ctx, s.log, method, err)
	}
	digest := r.Digest()
	msg := &nats.Msg{Subject: store.SubjectReport, Data: data, Header: nats.Header{}}
	msg.Header.Set("Content-Type", protoconv.ContentTypeProtobuf)
	ack, err := s.js.PublishMsg(ctx, msg, jetstream.WithMsgID("grpc/"+string(r.ID)+"/"+digest[:16]), jetstream.WithExpectStream(store.StreamIntake))
	if err != nil {
		return nil, toStatus(ctx, s.log, method, fmt.Errorf("enqueue report: %w", err))
	}
	wait := time.NewTimer(30 * time.Second)
	defer wait.Stop()
	for {
		b, err := s.st.GetBreach(ctx, r.ID)
		switch {
		case err == nil && b.Digest != digest: // another report with this id won the race
			return nil, toStatus(ctx, s.log, method, fmt.Errorf("%w: breach %s was reported meanwhile with different content", breach.ErrConflict, r.ID))
		case err == nil:
			return &cascadev1.ReportBreachResponse{Breach: protoconv.BreachProto(b)}, nil
		case !errors.Is(err, breach.ErrNotFound):
			return nil, toStatus(ctx, s.log, method, err)
		}
		select {
		case <-ctx.Done():
			return nil, toStatus(ctx, s.log, method, ctx.Err())
		case <-wait.C:
			return nil, status.Errorf(codes.Unavailable, "report %s is enqueued (intake sequence %d) but not recorded yet; check with GetBreach", r.ID, ack.Sequence)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s breachService) GetBreach(ctx context.Context, req *cascadev1.GetBreachRequest) (*cascadev1.GetBreachResponse, error) {
	const method = "GetBreach"
	id, err := breach.ParseBreachID(req.GetBreachId())
	if err != nil {
		return nil, toStatus(ctx, s.log, method, invalid("breach_id", err.Error()))
	}
	b, err := s.st.GetBreach(ctx, id)
	if err != nil {
		return nil, toStatus(ctx, s.log, method, err)
	}
	return &cascadev1.GetBreachResponse{Breach: protoconv.BreachProto(b)}, nil
}

func (s breachService) ListBreaches(ctx context.Context, req *cascadev1.ListBreachesRequest) (*cascadev1.ListBreachesResponse, error) {
	const method = "ListBreaches"
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, toStatus(ctx, s.log, method, err)
	}
	cur, err := parseToken(req.GetPageToken())
	if err != nil {
		return nil, toStatus(ctx, s.log, method, err)
	}
	bs, more, err := s.st.ListBreaches(ctx, cur.Breach, size)
	if err != nil {
		return nil, toStatus(ctx, s.log, method, err)
	}
	resp := &cascadev1.ListBreachesResponse{}
	for _, b := range bs {
		resp.Breaches = append(resp.Breaches, protoconv.BreachProto(b))
	}
	if more && len(bs) > 0 {
		resp.NextPageToken = cursor{Breach: bs[len(bs)-1].ID}.token()
	}
	return resp, nil
}

func (s breachService) GetBreachSummary(ctx context.Context, req *cascadev1.GetBreachSummaryRequest) (*cascadev1.GetBreachSummaryResponse, error) {
	const method = "GetBreachSummary"
	id, err := breach.ParseBreachID(req.GetBreachId())
	if err != nil {
		return nil, toStatus(ctx, s.log, method, invalid("breach_id", err.Error()))
	}
	v, err := s.st.GetSummary(ctx, id)
	if err != nil {
		return nil, toStatus(ctx, s.log, method, err)
	}
	if v.Applied == 0 { // nothing folded yet: tell an unknown breach from a new one
		if _, err := s.st.GetBreach(ctx, id); err != nil {
			return nil, toStatus(ctx, s.log, method, err)
		}
	}
	return &cascadev1.GetBreachSummaryResponse{Summary: protoconv.SummaryProto(&v.Summary, s.now())}, nil
}

func (s breachService) WatchBreach(req *cascadev1.WatchBreachRequest, stream cascadev1.BreachService_WatchBreachServer) error {
	const method = "WatchBreach"
	ctx := stream.Context()
	id, err := breach.ParseBreachID(req.GetBreachId())
	if err != nil {
		return toStatus(ctx, s.log, method, invalid("breach_id", err.Error()))
	}
	if _, err := s.st.GetBreach(ctx, id); err != nil {
		return toStatus(ctx, s.log, method, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sums, err := s.st.WatchSummary(ctx, id)
	if err != nil {
		return toStatus(ctx, s.log, method, err)
	}
	var notices <-chan *breach.Notice
	noticesCaughtUp := true
	if req.GetIncludeNotices() {
		if notices, err = s.st.WatchBreachNotices(ctx, id); err != nil {
			return toStatus(ctx, s.log, method, err)
		}
		noticesCaughtUp = false
	}
	summaryCaughtUp, sentCaughtUp, sentSummary := false, false, false
	send := func(r *cascadev1.WatchBreachResponse) error {
		if err := stream.Send(r); err != nil {
			return err
		}
		return nil
	}
	for {
		if summaryCaughtUp && noticesCaughtUp && !sentCaughtUp {
			if !sentSummary { // no summary stored yet: an empty one
				if err := send(&cascadev1.WatchBreachResponse{Event: &cascadev1.WatchBreachResponse_Summary{
					Summary: protoconv.SummaryProto(&breach.Summary{Breach: id}, s.now())}}); err != nil {
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
				return toStatus(ctx, s.log, method, fmt.Errorf("summary watch of %s ended", id))
			}
			if v == nil {
				summaryCaughtUp = true
				continue
			}
			sentSummary = true
			if err := send(&cascadev1.WatchBreachResponse{Event: &cascadev1.WatchBreachResponse_Summary{
				Summary: protoconv.SummaryProto(&v.Summary, s.now())}}); err != nil {
				return err
			}
		case n, ok := <-notices:
			if !ok {
				return toStatus(ctx, s.log, method, fmt.Errorf("notice watch of %s ended", id))
			}
			if n == nil {
				noticesCaughtUp = true
				continue
			}
			if err := send(&cascadev1.WatchBreachResponse{Event: &cascadev1.WatchBreachResponse_Notice{
				Notice: protoconv.NoticeProto(n, s.now())}}); err != nil {
				return err
			}
		}
	}
}
