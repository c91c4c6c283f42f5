package api

import (
	"context"
	"errors"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cascadehq/cascade/internal/auth"
	"github.com/cascadehq/cascade/internal/breach"
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
		IssuedAt: timestamppb.New(t.IssuedAt)}
	if !t.RevokedAt.IsZero() {
		info.RevokedAt = timestamppb.New(t.RevokedAt)
	}
	return info
}

func (s tokenService) IssueToken(ctx context.Context, req *cascadev1.IssueTokenRequest) (*cascadev1.IssueTokenResponse, error) {
	const method = "IssueToken"
	var role auth.Role
	for r, p := range roles {
		if p == req.GetRole() {
			role = r
		}
	}
	if role == "" {
		return nil, toStatus(ctx, s.log, method, invalid("role", "role must be ROLE_CONTROLLER, ROLE_VENDOR or ROLE_VIEWER"))
	}
	secret, tok, err := s.tokens.Issue(ctx, breach.OrgID(req.GetOrgId()), role, req.GetLabel())
	if err != nil {
		return nil, toStatus(ctx, s.log, method, err)
	}
	caller, _ := auth.FromContext(ctx)
	s.log.Info("token issued", "token_id", tok.ID, "org_id", tok.Org, "role", tok.Role, "by", caller.String())
	return &cascadev1.IssueTokenResponse{Token: secret, Info: tokenInfo(tok)}, nil
}

func (s tokenService) RevokeToken(ctx context.Context, req *cascadev1.RevokeTokenRequest) (*cascadev1.RevokeTokenResponse, error) {
	const method = "RevokeToken"
	if len(req.GetTokenId()) != 16 {
		return nil, toStatus(ctx, s.log, method, invalid("token_id", "token_id is the 16-character id shown when the token was issued"))
	}
	tok, err := s.tokens.Revoke(ctx, req.GetTokenId())
	if err != nil {
		return nil, toStatus(ctx, s.log, method, err)
	}
	caller, _ := auth.FromContext(ctx)
	s.log.Info("token revoked", "token_id", tok.ID, "by", caller.String())
	return &cascadev1.RevokeTokenResponse{Info: tokenInfo(tok)}, nil
}

func (s tokenService) ListTokens(ctx context.Context, _ *cascadev1.ListTokensRequest) (*cascadev1.ListTokensResponse, error) {
	ts, err := s.st.ListTokens(ctx)
	if err != nil {
		return nil, toStatus(ctx, s.log, "ListTokens", err)
	}
	resp := &cascadev1.ListTokensResponse{}
	for i := range ts {
		resp.Tokens = append(resp.Tokens, tokenInfo(&ts[i]))
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
