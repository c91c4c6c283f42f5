package auth

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/cascadehq/cascade/internal/breach"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// access is a rule of the policy table.
type access int

const (
	vendorOnly     access = iota + 1 // publish, tokens, key rotation
	anyone                           // any authenticated caller (public keys, WhoAmI)
	readBreach                       // vendor, global viewer; others if they have a notice in the breach (else NotFound)
	readBreachWide                   // vendor, global viewer: progress of every organisation
	listBreaches                     // everyone; scoped callers see breaches with a notice of theirs
	readNotice                       // vendor, global viewer; scoped callers their organisation's (else NotFound)
	listNotices                      // vendor, global viewer; scoped callers only with their org_id (default): ListNotices, ListQuestions
	actNotice                        // controllers, on their organisation's notices only (else NotFound)
	exportEvidence                   // vendor, global viewer; scoped callers by their org_id only
	watchNotices                     // vendor, global viewer; scoped callers their organisation's only (org_id set; another's notice_id: NotFound)
)

// Policy is the one table of who may call what. Every RPC of the public
// API has a rule; a method without one is denied.
var Policy = map[string]access{
	cascadev1.BreachService_ReportBreach_FullMethodName:               vendorOnly,
	cascadev1.BreachService_UpdateBreach_FullMethodName:               vendorOnly,
	cascadev1.BreachService_ForwardNotice_FullMethodName:              vendorOnly, // a registered processor's, for a notice to its org_id (the handler checks)
	cascadev1.BreachService_GetBreach_FullMethodName:                  readBreach,
	cascadev1.BreachService_ListBreaches_FullMethodName:               listBreaches,
	cascadev1.BreachService_GetBreachSummary_FullMethodName:           readBreachWide,
	cascadev1.BreachService_WatchBreach_FullMethodName:                readBreachWide,
	cascadev1.NoticeService_GetNotice_FullMethodName:                  readNotice,
	cascadev1.NoticeService_ListNotices_FullMethodName:                listNotices,
	cascadev1.NoticeService_AcknowledgeNotice_FullMethodName:          actNotice,
	cascadev1.NoticeService_RecordAuthorityReport_FullMethodName:      actNotice,
	cascadev1.NoticeService_RecordNotReportable_FullMethodName:        actNotice,
	cascadev1.NoticeService_RecordSubjectCommunication_FullMethodName: actNotice,
	cascadev1.NoticeService_GetNoticeHistory_FullMethodName:           readNotice,
	cascadev1.NoticeService_ExportEvidence_FullMethodName:             exportEvidence,
	cascadev1.NoticeService_DraftAuthorityReport_FullMethodName:       readNotice,
	cascadev1.NoticeService_AskQuestion_FullMethodName:                actNotice,
	cascadev1.NoticeService_AnswerQuestion_FullMethodName:             vendorOnly,
	cascadev1.NoticeService_ListQuestions_FullMethodName:              listNotices,
	cascadev1.NoticeService_WatchNotices_FullMethodName:               watchNotices,
	cascadev1.TokenService_IssueToken_FullMethodName:                  vendorOnly,
	cascadev1.TokenService_RevokeToken_FullMethodName:                 vendorOnly,
	cascadev1.TokenService_ListTokens_FullMethodName:                  vendorOnly,
	cascadev1.TokenService_WhoAmI_FullMethodName:                      anyone,
	cascadev1.KeyService_ListSigningKeys_FullMethodName:               anyone,
	cascadev1.KeyService_RotateSigningKey_FullMethodName:              vendorOnly,
	cascadev1.DeliveryService_RotateWebhookSecret_FullMethodName:      vendorOnly,
	cascadev1.DeliveryService_ListDeadLetters_FullMethodName:          readBreachWide,
	// Words for the data subjects (Art. 34) and the public advisory page.
	cascadev1.NoticeService_DraftSubjectCommunication_FullMethodName: readNotice,
	cascadev1.BreachService_PublishAdvisory_FullMethodName:           vendorOnly,
	cascadev1.BreachService_UnpublishAdvisory_FullMethodName:         vendorOnly,
}

// VendorOnlyMethod reports whether only vendors may call method.
func VendorOnlyMethod(method string) bool { return Policy[method] == vendorOnly }

// open are the methods that need no identity: health checks and reflection.
func open(method string) bool {
	return strings.HasPrefix(method, "/grpc.health.v1.") || strings.HasPrefix(method, "/grpc.reflection.")
}

// NoticeExists says whether a notice exists (implemented by the store).
type NoticeExists func(ctx context.Context, id breach.NoticeID) (bool, error)

// Guard authenticates and authorises every call.
type Guard struct {
	tokens       *Tokens
	exists       NoticeExists
	dev          bool
	log          *slog.Logger
	streams      streams
	recheckEvery time.Duration
}

// NewGuard returns a guard. With dev set every call is allowed without
// credentials: only for --insecure-no-auth on loopback.
func NewGuard(tokens *Tokens, exists NoticeExists, dev bool, log *slog.Logger) *Guard {
	return &Guard{tokens: tokens, exists: exists, dev: dev, log: log, recheckEvery: RecheckInterval}
}

var errNoCredentials = status.Error(codes.Unauthenticated,
	"missing credentials: send \"authorization: Bearer <token>\" or a client certificate")

// identify authenticates the caller.
func (g *Guard) identify(ctx context.Context) (Identity, error) {
	if g.dev {
		return Identity{Role: roleDev}, nil
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if vs := md.Get("authorization"); len(vs) > 0 {
			return g.bearer(ctx, vs[0])
		}
	}
	if p, ok := peer.FromContext(ctx); ok {
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.VerifiedChains) > 0 {
			return certIdentity(ti.State.VerifiedChains[0][0])
		}
	}
	return Identity{}, errNoCredentials
}

// bearer authenticates an authorization value "Bearer <token>".
func (g *Guard) bearer(ctx context.Context, authorization string) (Identity, error) {
	scheme, tok, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return Identity{}, status.Error(codes.Unauthenticated, "authorization must be \"Bearer <token>\"")
	}
	id, err := g.tokens.Check(ctx, strings.TrimSpace(tok))
	if errors.Is(err, errUnauthenticated) {
		return Identity{}, status.Error(codes.Unauthenticated, err.Error())
	}
	if err != nil {
		g.log.Error("token check failed", "err", err)
		return Identity{}, status.Error(codes.Unavailable, "cannot check credentials now; retry later")
	}
	return id, nil
}

// httpIdentity authenticates an HTTP request's Authorization header (the
// dashboard's), as identify does gRPC metadata.
func (g *Guard) httpIdentity(ctx context.Context, authorization string) (Identity, error) {
	if g.dev {
		return Identity{Role: roleDev}, nil
	}
	if authorization == "" {
		return Identity{}, errNoCredentials
	}
	return g.bearer(ctx, authorization)
}

// Authenticate checks an HTTP Authorization header before the dashboard
// reads a request body; the error is a gRPC status (Unauthenticated).
func (g *Guard) Authenticate(ctx context.Context, authorization string) error {
	id, err := g.httpIdentity(ctx, authorization)
	if err != nil {
		return g.deny("HTTP", id, err)
	}
	return nil
}

// OpenStream admits one live view of the dashboard for the caller of an
// HTTP Authorization header, counted with its gRPC streams: an error is
// Unauthenticated or ResourceExhausted. The context ends, with
// ErrTokenRevoked as its cause, when the token is revoked; release frees
// the place.
func (g *Guard) OpenStream(ctx context.Context, authorization string) (context.Context, func(), error) {
	id, err := g.httpIdentity(ctx, authorization)
	if err != nil {
		return nil, nil, g.deny("HTTP", id, err)
	}
	return g.openStream(ctx, id)
}

// certPrefix starts the id of a certificate's identity.
const certPrefix = "cert:"

// certIdentity reads a verified client certificate: the organisation id in
// the subject's CommonName, the role in its first OrganizationalUnit.
func certIdentity(c *x509.Certificate) (Identity, error) {
	if len(c.Subject.OrganizationalUnit) == 0 {
		return Identity{}, status.Error(codes.Unauthenticated, "client certificate has no role (OU=controller|vendor|viewer)")
	}
	role, err := ParseRole(c.Subject.OrganizationalUnit[0])
	if err != nil {
		return Identity{}, status.Error(codes.Unauthenticated, "client certificate: "+err.Error())
	}
	id := Identity{Role: role, TokenID: certPrefix + c.SerialNumber.Text(16), Subject: c.Subject.String()}
	if role != RoleVendor && c.Subject.CommonName != "" {
		org, err := breach.ParseOrgID(c.Subject.CommonName)
		if err != nil {
			return Identity{}, status.Error(codes.Unauthenticated, "client certificate: CN "+err.Error())
		}
		id.Org = org
	}
	if role == RoleController && id.Org == "" {
		return Identity{}, status.Error(codes.Unauthenticated, "client certificate for a controller needs CN=<org id>")
	}
	return id, nil
}

// scoped callers see one organisation only.
func scoped(id Identity) bool {
	return id.Role == RoleController || (id.Role == RoleViewer && id.Org != "")
}

func global(id Identity) bool {
	return id.Role == roleDev || id.Role == RoleVendor || (id.Role == RoleViewer && id.Org == "")
}

type (
	noticeReq interface{ GetNoticeId() string }
	breachReq interface{ GetBreachId() string }
	orgReq    interface{ GetOrgId() string }
)

// authorize applies the policy to one request; it may narrow the request
// (a scoped ListNotices gets the caller's org_id).
func (g *Guard) authorize(ctx context.Context, id Identity, method string, req any) error {
	rule, ok := Policy[method]
	if !ok {
		return status.Errorf(codes.PermissionDenied, "%s is not available", method)
	}
	if id.Role == roleDev {
		return nil
	}
	if err := confine(id, method, req); err != nil {
		return err
	}
	denied := status.Errorf(codes.PermissionDenied, "%s may not call %s", id, method)
	notFound := status.Error(codes.NotFound, "not found")
	switch rule {
	case anyone, listBreaches:
		return nil
	case vendorOnly:
		if id.Role != RoleVendor {
			return denied
		}
	case readBreachWide:
		if !global(id) {
			return denied
		}
	case readBreach:
		if global(id) {
			return nil
		}
		r, _ := req.(breachReq)
		if r == nil || !breach.BreachID(r.GetBreachId()).Valid() {
			return nil // the handler rejects the malformed id
		}
		has, err := g.exists(ctx, breach.NewNoticeID(breach.BreachID(r.GetBreachId()), id.Org))
		if err != nil {
			return status.Error(codes.Unavailable, "cannot check access now; retry later")
		}
		if !has {
			return notFound
		}
	case readNotice, actNotice:
		if rule == actNotice && id.Role != RoleController {
			return denied
		}
		if global(id) {
			return nil
		}
		r, _ := req.(noticeReq)
		if r == nil {
			return denied
		}
		nid, err := breach.ParseNoticeID(r.GetNoticeId())
		if err != nil {
			return nil // the handler rejects the malformed id
		}
		if nid.Org != id.Org {
			return notFound // do not reveal other organisations' notices
		}
	case listNotices:
		if global(id) {
			return nil
		}
		var org *string
		switch r := req.(type) {
		case *cascadev1.ListNoticesRequest:
			org = &r.OrgId
		case *cascadev1.ListQuestionsRequest:
			org = &r.OrgId
		default:
			return denied
		}
		switch *org {
		case "":
			*org = string(id.Org)
		case string(id.Org):
		default:
			return denied
		}
	case watchNotices:
		if global(id) {
			return nil
		}
		r, _ := req.(*cascadev1.WatchNoticesRequest)
		if r == nil {
			return denied
		}
		switch r.OrgId {
		case "":
			r.OrgId = string(id.Org)
		case string(id.Org):
		default:
			return denied
		}
		if nid, err := breach.ParseNoticeID(r.GetNoticeId()); err == nil && nid.Org != id.Org {
			return notFound // do not reveal other organisations' notices
		}
	case exportEvidence:
		if global(id) {
			return nil
		}
		r, _ := req.(orgReq)
		if r == nil || r.GetOrgId() != string(id.Org) {
			return denied
		}
		if b, _ := req.(breachReq); b != nil && b.GetBreachId() != "" {
			return denied
		}
	default:
		return denied
	}
	return nil
}

// redact removes from a breach what one organisation may not see: which
// other organisations are affected, corrected or withdrawn, their numbers,
// and how many there are (as breach.Breach.For does for evidence).
func redact(b *cascadev1.Breach, org breach.OrgID) {
	keep := func(as []*cascadev1.AffectedOrganisation) []*cascadev1.AffectedOrganisation {
		var out []*cascadev1.AffectedOrganisation
		for _, a := range as {
			if a.GetOrgId() == string(org) {
				out = append(out, a)
			}
		}
		return out
	}
	if r := b.GetReport(); r != nil {
		r.Affected = keep(r.Affected)
	}
	b.UnknownOrgIds = nil
	b.NoticeCount = 0
	for _, rev := range b.GetRevisions() {
		if u := rev.GetUpdate(); u != nil {
			u.AddAffected = keep(u.AddAffected)
			u.CorrectAffected = keep(u.CorrectAffected)
			var ws []*cascadev1.WithdrawOrganisation
			for _, w := range u.GetWithdraw() {
				if w.GetOrgId() == string(org) {
					ws = append(ws, w)
				}
			}
			u.Withdraw = ws
		}
		rev.UnknownOrgIds, rev.Added = nil, 0
		rev.Corrected, rev.Withdrawn, rev.Renotified = 0, 0, 0
	}
}

// filter narrows a response for scoped callers: ListBreaches shows only
// breaches with a notice of theirs, and no breach names the other
// affected organisations.
func (g *Guard) filter(ctx context.Context, id Identity, method string, resp any) (any, error) {
	if !scoped(id) {
		return resp, nil
	}
	if r, ok := resp.(*cascadev1.GetBreachResponse); ok {
		redact(r.GetBreach(), id.Org)
		return r, nil
	}
	r, ok := resp.(*cascadev1.ListBreachesResponse)
	if !ok {
		return resp, nil
	}
	kept := r.Breaches[:0]
	for _, b := range r.GetBreaches() {
		has, err := g.exists(ctx, breach.NewNoticeID(breach.BreachID(b.GetId()), id.Org))
		if err != nil {
			return nil, status.Error(codes.Unavailable, "cannot check access now; retry later")
		}
		if has {
			redact(b, id.Org)
			kept = append(kept, b)
		}
	}
	r.Breaches = kept
	return r, nil
}

func (g *Guard) deny(method string, id Identity, err error) error {
	if c := status.Code(err); c == codes.PermissionDenied || c == codes.NotFound || c == codes.Unauthenticated {
		g.log.Warn("access denied", "method", method, "caller", id.String(), "code", c.String())
	}
	return err
}

// Unary is the unary interceptor.
func (g *Guard) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if open(info.FullMethod) {
			return handler(ctx, req)
		}
		id, err := g.identify(ctx)
		if err != nil {
			return nil, g.deny(info.FullMethod, id, err)
		}
		if err := g.authorize(ctx, id, info.FullMethod, req); err != nil {
			return nil, g.deny(info.FullMethod, id, err)
		}
		resp, err := handler(withIdentity(ctx, id), req)
		if err != nil {
			return resp, err
		}
		return g.filter(ctx, id, info.FullMethod, resp)
	}
}

// Stream is the streaming interceptor: it authorises on the first
// request, admits the stream within the stream limits, and ends it with
// Unauthenticated "token revoked" when its token is revoked.
func (g *Guard) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if open(info.FullMethod) {
			return handler(srv, ss)
		}
		id, err := g.identify(ss.Context())
		if err != nil {
			return g.deny(info.FullMethod, id, err)
		}
		ctx, release, err := g.openStream(ss.Context(), id)
		if err != nil {
			return err
		}
		defer release()
		err = handler(srv, &guardedStream{ServerStream: ss, ctx: ctx, g: g, id: id, method: info.FullMethod})
		if errors.Is(context.Cause(ctx), ErrTokenRevoked) {
			return ErrTokenRevoked
		}
		return err
	}
}

type guardedStream struct {
	grpc.ServerStream
	ctx     context.Context // ends when the token is revoked
	g       *Guard
	id      Identity
	method  string
	checked bool
}

func (s *guardedStream) Context() context.Context {
	return withIdentity(s.ctx, s.id)
}

func (s *guardedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if !s.checked {
		s.checked = true
		if err := s.g.authorize(s.ServerStream.Context(), s.id, s.method, m); err != nil {
			return s.g.deny(s.method, s.id, err)
		}
	}
	return nil
}

// Describe is the policy in words, for documentation and errors.
func Describe(method string) string {
	switch Policy[method] {
	case vendorOnly:
		return "vendor"
	case anyone:
		return "any authenticated caller"
	case readBreach:
		return "vendor, viewer; controller if it has a notice in the breach"
	case readBreachWide:
		return "vendor, viewer without organisation"
	case listBreaches:
		return "everyone; controllers see breaches with a notice of theirs"
	case readNotice:
		return "vendor, viewer; controller for its own notices"
	case listNotices:
		return "vendor, viewer; controller for its own organisation"
	case actNotice:
		return "controller, own notices only"
	case exportEvidence:
		return "vendor, viewer; controller for its own organisation"
	case watchNotices:
		return "vendor, viewer; controller for its own organisation's notices"
	}
	return fmt.Sprintf("no rule: denied (%s)", method)
}
