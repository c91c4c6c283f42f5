package api

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cascadehq/cascade/internal/auth"
	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/message"
	"github.com/cascadehq/cascade/internal/protoconv"
	"github.com/cascadehq/cascade/internal/store"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

type tokenService struct {
	cascadev1.UnimplementedTokenServiceServer
	*Server
}

var roles = map[auth.Role]cascadev1.Role{
	auth.RoleController: cascadev1.Role_ROLE_CONTROLLER,
	auth.RoleVendor:     cascadev1.Role_ROLE_VENDOR,
	auth.RoleViewer:     cascadev1.Role_ROLE_VIEWER,
}

func tokenInfo(t *store.Token) *cascadev1.TokenInfo {
	info := &cascadev1.TokenInfo{TokenId: t.ID, OrgId: string(t.Org), Role: roles[auth.Role(t.Role)], Label: t.Label,
		IssuedAt: timestamppb.New(t.IssuedAt), ProcessorId: string(t.Processor)}
	if !t.RevokedAt.IsZero() {
		info.RevokedAt = timestamppb.New(t.RevokedAt)
	}
	info.IssuedBy, info.RevokedBy = protoconv.PrincipalProto(t.IssuedBy), protoconv.PrincipalProto(t.RevokedBy)
	return info
}

func (s tokenService) IssueToken(ctx context.Context, req *cascadev1.IssueTokenRequest) (*cascadev1.IssueTokenResponse, error) {
	var role auth.Role
	for r, p := range roles {
		if p == req.GetRole() {
			role = r
		}
	}
	if role == "" {
		return nil, invalid("role", "role must be ROLE_CONTROLLER, ROLE_VENDOR or ROLE_VIEWER")
	}
	// A registered processor's vendor issues tokens for its own processor
	// only (the guard sets processor_id to its own, or refuses another);
	// controller tokens, and viewers of one organisation, see every
	// processor's notices to it, so only the default processor's vendors
	// issue them.
	caller, _ := auth.FromContext(ctx)
	if caller.ProcessorScoped() && (role == auth.RoleController || req.GetOrgId() != "" && role != auth.RoleVendor) {
		return nil, status.Errorf(codes.PermissionDenied,
			"%s may not issue a token that acts for an organisation: it would see every processor's notices to it (the default processor's vendors issue those)", caller)
	}
	by := principal(ctx)
	grant := auth.Grant{Org: breach.OrgID(req.GetOrgId()), Processor: breach.ProcessorID(req.GetProcessorId()), Role: role, Label: req.GetLabel()}
	secret, tok, err := s.tokens.IssueBy(ctx, grant, by,
		func(ctx context.Context, t store.Token) error { return s.tell(ctx, message.EventTokenIssued, &t) })
	if err != nil {
		return nil, err
	}
	s.log.Info("token issued", "token_id", tok.ID, "org_id", tok.Org, "processor_id", tok.Processor, "role", tok.Role, "by", fmt.Sprint(by))
	return &cascadev1.IssueTokenResponse{Token: secret, Info: tokenInfo(tok)}, nil
}

// tell tells the organisation a token acts for (if any) that it was
// issued or revoked, durably: the message is stored before this returns.
func (s tokenService) tell(ctx context.Context, event string, t *store.Token) error {
	if t.Org == "" {
		return nil // the vendor's and global viewers' tokens act for no organisation
	}
	if s.teller == nil {
		return status.Errorf(codes.FailedPrecondition, "cannot tell organisation %s of token %s: no publisher configured", t.Org, t.ID)
	}
	m := message.Token{Event: event, OrgID: t.Org, TokenID: t.ID, Label: t.Label, Role: t.Role,
		IssuedAt: t.IssuedAt, RevokedAt: t.RevokedAt, SentAt: s.now()}
	if event == message.EventTokenRevoked && t.RevokedBy != nil {
		m.By = *t.RevokedBy
	} else if event == message.EventTokenIssued && t.IssuedBy != nil {
		m.By = *t.IssuedBy
	}
	if o, err := s.st.GetOrg(ctx, t.Org); err == nil {
		m.OrgName = o.Name
	} else if !errors.Is(err, breach.ErrNotFound) { // revoking a token of an organisation since removed: still told
		return err
	}
	if _, err := s.teller.SendToken(ctx, m); err != nil {
		return fmt.Errorf("%s of %s not told to it, so not done: %w", event, t.ID, err)
	}
	return nil
}

func (s tokenService) RevokeToken(ctx context.Context, req *cascadev1.RevokeTokenRequest) (*cascadev1.RevokeTokenResponse, error) {
	if len(req.GetTokenId()) != 16 {
		return nil, invalid("token_id", "token_id is the 16-character id shown when the token was issued")
	}
	// A registered processor's vendor revokes its own processor's tokens
	// only; another's is not found.
	if caller, _ := auth.FromContext(ctx); caller.ProcessorScoped() {
		t, _, err := s.st.GetToken(ctx, req.GetTokenId())
		if err != nil {
			return nil, err
		}
		if t.Processor != caller.Processor {
			return nil, fmt.Errorf("token %s: %w", req.GetTokenId(), breach.ErrNotFound)
		}
	}
	by := principal(ctx)
	tok, err := s.tokens.Revoke(ctx, req.GetTokenId(), by)
	if err != nil {
		return nil, err
	}
	// Told after the revocation (which holds whatever happens next); a
	// repeated RevokeToken tells again if this fails, stored once.
	if err := s.tell(ctx, message.EventTokenRevoked, tok); err != nil {
		return nil, err
	}
	s.log.Info("token revoked", "token_id", tok.ID, "org_id", tok.Org, "by", fmt.Sprint(by))
	return &cascadev1.RevokeTokenResponse{Info: tokenInfo(tok)}, nil
}

func (s tokenService) ListTokens(ctx context.Context, req *cascadev1.ListTokensRequest) (*cascadev1.ListTokensResponse, error) {
	const method = "ListTokens"
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	ad := binding(ctx, method)
	cur, err := s.pages.open(req.GetPageToken(), ad)
	if err != nil {
		return nil, err
	}
	ts, err := s.st.ListTokens(ctx)
	if err != nil {
		return nil, err
	}
	after := time.Unix(0, cur.At)
	resp := &cascadev1.ListTokensResponse{}
	var last *store.Token
	caller, _ := auth.FromContext(ctx)
	for i := range ts {
		t := &ts[i]
		if caller.ProcessorScoped() && t.Processor != caller.Processor {
			continue // a registered processor lists its own tokens only
		}
		if req.GetPageToken() != "" && store.CompareTokens(t.IssuedAt, t.ID, after, cur.Key) <= 0 {
			continue
		}
		if len(resp.Tokens) == size {
			resp.NextPageToken = s.pages.token(cursor{Key: last.ID, At: last.IssuedAt.UnixNano()}, ad)
			break
		}
		resp.Tokens = append(resp.Tokens, tokenInfo(t))
		last = t
	}
	return resp, nil
}

// WhoAmI answers who the caller is, as the guard authenticated it.
func (s tokenService) WhoAmI(ctx context.Context, _ *cascadev1.WhoAmIRequest) (*cascadev1.WhoAmIResponse, error) {
	id, ok := auth.FromContext(ctx)
	if !ok { // never in service: the guard sets the identity of every call
		return nil, status.Error(codes.Unauthenticated, "no authenticated caller")
	}
	p := id.Principal()
	resp := &cascadev1.WhoAmIResponse{Role: roles[id.Role], OrgId: string(id.Org), TokenId: id.TokenID, Label: id.Label,
		Principal: protoconv.PrincipalProto(&p), InsecureNoAuth: id.InsecureNoAuth(), ProcessorId: string(id.Processor)}
	if id.Processor != "" {
		pr, err := s.st.GetProcessor(ctx, id.Processor)
		switch {
		case err == nil:
			resp.ProcessorName = pr.Name
		case !errors.Is(err, breach.ErrNotFound):
			return nil, err
		}
	}
	if id.Org != "" {
		o, err := s.st.GetOrg(ctx, id.Org)
		switch {
		case err == nil:
			resp.OrgName = o.Name
		case !errors.Is(err, breach.ErrNotFound): // an organisation since removed has no name
			return nil, err
		}
	}
	return resp, nil
}

// NoticeExists reports whether a notice exists (for the access policy).
func NoticeExists(st *store.Store) auth.NoticeExists {
	return func(ctx context.Context, id breach.NoticeID) (bool, error) {
		_, err := st.GetNotice(ctx, id)
		if errors.Is(err, breach.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
}
