package api

import (
	"cmp"
	"errors"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/protoconv"
	"github.com/cascadehq/cascade/internal/store"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// watchFilter is what a WatchNoticesRequest selects. The guard has set a
// scoped caller's org_id.
func watchFilter(req *cascadev1.WatchNoticesRequest) (store.NoticeFilter, error) {
	var f store.NoticeFilter
	if req.GetOrgId() != "" {
		org, err := breach.ParseOrgID(req.GetOrgId())
		if err != nil {
			return f, invalid("org_id", err.Error())
		}
		f.Org = org
	}
	if req.GetBreachId() != "" {
		b, err := breach.ParseBreachID(req.GetBreachId())
		if err != nil {
			return f, invalid("breach_id", err.Error())
		}
		f.Breach = b
	}
	if req.GetNoticeId() != "" {
		id, err := parseNoticeID(req.GetNoticeId())
		if err != nil {
			return f, err
		}
		if (f.Org != "" && f.Org != id.Org) || (f.Breach != "" && f.Breach != id.Breach) {
			return f, invalid("notice_id", "notice_id names another breach or organisation than breach_id or org_id")
		}
		f.Org, f.Breach = id.Org, id.Breach
	}
	if f.Org == "" && f.Breach == "" {
		return f, invalid("org_id", "name org_id, breach_id or notice_id")
	}
	keep, err := processorFilter(req.GetProcessorId())
	if err != nil {
		return f, err
	}
	f.Keep = keep
	return f, nil
}

// WatchNotices streams the snapshot of the notices the request selects,
// caught_up, then every later state of them, from the daemon's shared
// tail of the ledger.
func (s noticeService) WatchNotices(req *cascadev1.WatchNoticesRequest, stream cascadev1.NoticeService_WatchNoticesServer) error {
	ctx := stream.Context()
	f, err := watchFilter(req)
	if err != nil {
		return err
	}
	w, snap, err := s.feed.Watch(ctx, f, !req.GetChangesOnly())
	if err != nil {
		return err
	}
	defer w.Close()
	send := func(r *cascadev1.WatchNoticesResponse) error {
		if err := stream.Send(r); err != nil {
			return status.Convert(err).Err() // the stream's own error, final as it is
		}
		return nil
	}
	slices.SortFunc(snap, func(a, b *breach.Notice) int {
		return cmp.Or(cmp.Compare(a.ID.Breach, b.ID.Breach), cmp.Compare(a.ID.Org, b.ID.Org))
	})
	now := s.now()
	for _, n := range snap {
		if err := send(&cascadev1.WatchNoticesResponse{Event: &cascadev1.WatchNoticesResponse_Notice{Notice: protoconv.NoticeProto(n, now)}}); err != nil {
			return err
		}
	}
	if err := send(&cascadev1.WatchNoticesResponse{Event: &cascadev1.WatchNoticesResponse_CaughtUp{CaughtUp: &cascadev1.CaughtUp{}}}); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.Ready():
		}
		ns, err := w.Next()
		switch {
		case errors.Is(err, store.ErrWatchBehind):
			return status.Error(codes.ResourceExhausted, err.Error())
		case err != nil:
			return status.Error(codes.Unavailable, err.Error())
		}
		now := s.now()
		for _, n := range ns {
			if err := send(&cascadev1.WatchNoticesResponse{Event: &cascadev1.WatchNoticesResponse_Notice{Notice: protoconv.NoticeProto(n, now)}}); err != nil {
				return err
			}
		}
	}
}
