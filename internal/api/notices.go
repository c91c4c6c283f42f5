package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/protoconv"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

type noticeService struct {
	cascadev1.UnimplementedNoticeServiceServer
	*Server
}

func parseNoticeID(s string) (breach.NoticeID, error) {
	id, err := breach.ParseNoticeID(s)
	if err != nil {
		return id, invalid("notice_id", err.Error())
	}
	return id, nil
}

func (s noticeService) GetNotice(ctx context.Context, req *cascadev1.GetNoticeRequest) (*cascadev1.GetNoticeResponse, error) {
	id, err := parseNoticeID(req.GetNoticeId())
	if err != nil {
		return nil, err
	}
	v, err := s.st.GetNotice(ctx, id)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := protoconv.NoticeProto(v.Notice, now)
	// The processor's promise of its next update, for the controller.
	b, err := s.st.GetBreach(ctx, id.Breach)
	if err != nil {
		return nil, err
	}
	out.NextUpdate = protoconv.PromiseProto(&b.Promise, now)
	return &cascadev1.GetNoticeResponse{Notice: out}, nil
}

func (s noticeService) AcknowledgeNotice(ctx context.Context, req *cascadev1.AcknowledgeNoticeRequest) (*cascadev1.AcknowledgeNoticeResponse, error) {
	id, err := parseNoticeID(req.GetNoticeId())
	if err != nil {
		return nil, err
	}
	if err := breach.ValidateAck(req.GetAcknowledgedBy(), req.GetNote()); err != nil {
		return nil, err
	}
	now := s.now()
	n, err := s.st.UpdateNoticeBy(ctx, id, req.GetAcknowledgedBy(), principal(ctx), now, "", func(n *breach.Notice) (breach.Event, error) {
		return n.Acknowledge(now, req.GetAcknowledgedBy(), req.GetNote(), int(req.GetRevision()))
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("notice acknowledged", "notice_id", id, "breach_id", id.Breach, "org_id", id.Org)
	return &cascadev1.AcknowledgeNoticeResponse{Notice: protoconv.NoticeProto(n, now)}, nil
}

// noticeFilter is what ListNotices keeps.
type noticeFilter struct {
	state   breach.State
	overdue bool
	breach  func(breach.BreachID) bool // nil: every breach (processorFilter)
}

func (f noticeFilter) keep(n *breach.Notice, s *Server) bool {
	if f.breach != nil && !f.breach(n.ID.Breach) {
		return false
	}
	if f.state != breach.StateUnspecified && n.State != f.state {
		return false
	}
	return !f.overdue || n.Overdue(s.now())
}

// maxScan bounds the notices one ListNotices call reads, so a selective
// filter over a large breach returns a short page with a token instead of
// holding the call.
const maxScan = 10_000

func (s noticeService) ListNotices(ctx context.Context, req *cascadev1.ListNoticesRequest) (*cascadev1.ListNoticesResponse, error) {
	const method = "ListNotices"
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	// The guard has set a scoped caller's org_id, so it is bound too.
	ad := binding(ctx, method, req.GetOrgId(), req.GetBreachId(), strconv.Itoa(int(req.GetState())), strconv.FormatBool(req.GetOverdueOnly()), req.GetProcessorId())
	cur, err := s.pages.open(req.GetPageToken(), ad)
	if err != nil {
		return nil, err
	}
	keep, err := processorFilter(req.GetProcessorId())
	if err != nil {
		return nil, err
	}
	f := noticeFilter{state: protoconv.State(req.GetState()), overdue: req.GetOverdueOnly(), breach: keep}
	if _, ok := cascadev1.NoticeState_name[int32(req.GetState())]; !ok {
		return nil, invalid("state", "unknown notice state")
	}
	var bid breach.BreachID
	if req.GetBreachId() != "" {
		if bid, err = breach.ParseBreachID(req.GetBreachId()); err != nil {
			return nil, invalid("breach_id", err.Error())
		}
	}
	var page []*breach.Notice
	var next *cursor
	if req.GetOrgId() != "" {
		org, err := breach.ParseOrgID(req.GetOrgId())
		if err != nil {
			return nil, invalid("org_id", err.Error())
		}
		page, next, err = s.listOrg(ctx, org, bid, f, cur, size)
		if err != nil {
			return nil, err
		}
	} else {
		page, next, err = s.listBreaches(ctx, bid, f, cur, size)
		if err != nil {
			return nil, err
		}
	}
	resp := &cascadev1.ListNoticesResponse{}
	now := s.now()
	for _, n := range page {
		resp.Notices = append(resp.Notices, protoconv.NoticeProto(n, now))
	}
	if next != nil {
		resp.NextPageToken = s.pages.token(*next, ad)
	}
	return resp, nil
}

// listOrg lists one organisation's notices (few: one per breach), by breach id.
func (s noticeService) listOrg(ctx context.Context, org breach.OrgID, only breach.BreachID, f noticeFilter, cur cursor, size int) ([]*breach.Notice, *cursor, error) {
	var all []*breach.Notice
	if only != "" {
		v, err := s.st.GetNotice(ctx, breach.NewNoticeID(only, org))
		if err != nil && !errors.Is(err, breach.ErrNotFound) {
			return nil, nil, err
		}
		if v.Notice != nil {
			all = append(all, v.Notice)
		}
	} else {
		var err error
		if all, err = s.st.OrgNotices(ctx, org); err != nil {
			return nil, nil, err
		}
	}
	slices.SortFunc(all, func(a, b *breach.Notice) int { return strings.Compare(string(a.ID.Breach), string(b.ID.Breach)) })
	var page []*breach.Notice
	for _, n := range all {
		if n.ID.Breach <= cur.Breach || !f.keep(n, s.Server) {
			continue
		}
		if len(page) == size {
			return page, &cursor{Breach: page[len(page)-1].ID.Breach}, nil
		}
		page = append(page, n)
	}
	return page, nil, nil
}

// listBreaches walks breaches in id order (or only one), each through its
// fan-out membership in organisation order, reading notices a batch at a time.
func (s noticeService) listBreaches(ctx context.Context, only breach.BreachID, f noticeFilter, cur cursor, size int) ([]*breach.Notice, *cursor, error) {
	var page []*breach.Notice
	scanned := 0
	pos := cur
	if only != "" {
		if _, err := s.st.GetBreach(ctx, only); err != nil {
			return nil, nil, err
		}
		if pos.Breach == "" {
			pos = cursor{Breach: only}
		} else if pos.Breach != only {
			return nil, nil, invalid("page_token", "page_token belongs to another listing")
		}
	}
	for {
		if pos.Breach == "" { // first breach after cur.Breach
			bs, _, err := s.st.ListBreaches(ctx, cur.Breach, 1, f.breach)
			if err != nil || len(bs) == 0 {
				return page, nil, err
			}
			pos = cursor{Breach: bs[0].ID}
		}
		b, err := s.st.GetBreach(ctx, pos.Breach)
		if err != nil {
			return nil, nil, err
		}
		for ; pos.Chunk < b.Chunks; pos.Chunk, pos.Index = pos.Chunk+1, 0 {
			ms, err := s.st.Members(ctx, b.ID, b.Digest, pos.Chunk)
			if err != nil {
				// Membership is written before the breach becomes visible,
				// so a missing chunk is damage, not a fan-out in progress.
				return nil, nil, fmt.Errorf("breach %s: fan-out membership chunk %d unreadable: %v", b.ID, pos.Chunk, err)
			}
			for pos.Index < len(ms) {
				batch := ms[pos.Index:min(len(ms), pos.Index+max(64, size-len(page)+1))]
				ids := make([]breach.NoticeID, len(batch))
				for i, m := range batch {
					ids[i] = breach.NewNoticeID(b.ID, m.Org)
				}
				vs, err := s.st.GetNotices(ctx, ids)
				if err != nil {
					return nil, nil, err
				}
				for _, v := range vs {
					if v.Notice != nil && f.keep(v.Notice, s.Server) {
						if len(page) == size {
							return page, &pos, nil
						}
						page = append(page, v.Notice)
					}
					pos.Index++
					scanned++
				}
				if scanned >= maxScan {
					return page, &pos, nil
				}
			}
		}
		if only != "" {
			return page, nil, nil
		}
		cur = cursor{Breach: b.ID}
		pos = cursor{}
	}
}
