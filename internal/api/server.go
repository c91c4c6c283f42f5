// Package api serves Cascade's gRPC services (cascade.v1 BreachService,
// NoticeService, TokenService, KeyService and DeliveryService) with health
// and reflection. Domain errors become gRPC
// status codes in one place: handlers return domain errors and the
// innermost interceptor (errors.go) maps them.
package api

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/cascadehq/cascade/internal/auth"
	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/delivery"
	"github.com/cascadehq/cascade/internal/message"
	"github.com/cascadehq/cascade/internal/store"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// MaxRequestBytes bounds one gRPC request.
const MaxRequestBytes = 2 << 20

// Server holds what the handlers need.
type Server struct {
	st      *store.Store
	js      jetstream.JetStream
	checker Checker
	tokens  *auth.Tokens
	keys    Keys
	now     func() time.Time
	log     *slog.Logger
	health  *health.Server
	// channels: webhook secrets and dead letters (DeliveryService).
	channels *store.Channels
	view     *store.View // nil: status reads go to the buckets
	pages    pages       // seals page tokens
	teller   Teller
	answers  Answerer
	feed     *store.NoticeFeed // the shared tail of notice changes, for the watches
}

// Teller tells an organisation of the tokens issued for it and revoked
// (implemented by delivery.Publisher).
type Teller interface {
	SendToken(ctx context.Context, t message.Token) (delivery.Result, error)
}

// Config is what the API needs besides the store.
type Config struct {
	Checker Checker
	Tokens  *auth.Tokens
	Keys    Keys
	View    *store.View                      // answers GetBreachSummary from memory when caught up; may be nil
	Guard   *auth.Guard                      // authentication and the access policy
	Creds   credentials.TransportCredentials // TLS; nil for plaintext
	Now     func() time.Time
	Log     *slog.Logger

	// Channels holds webhook secrets and dead letters (DeliveryService).
	Channels *store.Channels

	// PageKey (PageKeySize bytes, secret) seals the page tokens of every
	// List RPC (AES-256-GCM). Daemons that serve the same clients must
	// share it. nil: a random key per process, so page tokens do not
	// survive a restart (a client then starts its listing again).
	PageKey []byte
	// Teller tells organisations of their tokens; without it no token
	// that acts for an organisation can be issued.
	Teller Teller
	// Answerer delivers answers to organisations and tells the vendor of
	// questions; without it questions are stored but nobody is told.
	Answerer Answerer
	// Feed is the shared tail of notice changes the watches read; nil: one
	// of the API's own.
	Feed *store.NoticeFeed

	// Unary and Stream, if set, run outermost, before the guard (the
	// daemon's metrics, so refused calls are counted too).
	Unary  grpc.UnaryServerInterceptor
	Stream grpc.StreamServerInterceptor
}

// Answerer delivers questions' answers to organisations and tells the
// vendor of questions and answers (implemented by delivery.Publisher).
type Answerer interface {
	Send(ctx context.Context, out []delivery.Outgoing) ([]delivery.Result, error)
	SendQuestionEvent(ctx context.Context, event string, q *breach.Question, at time.Time) error
}

// callTimeout bounds a unary call whose caller set no deadline, so a
// request lost with a failing NATS node ends as Unavailable instead of
// hanging.
const callTimeout = 30 * time.Second

func defaultDeadline(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if _, ok := ctx.Deadline(); ok {
		return handler(ctx, req)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, callTimeout, errCallTimeout)
	defer cancel()
	return handler(ctx, req)
}

// New builds a gRPC server with Cascade's services, health and reflection,
// every call going through the guard's interceptors. The only error is a
// PageKey of the wrong length.
func New(st *store.Store, cfg Config) (*grpc.Server, *health.Server, error) {
	key := cfg.PageKey
	if key == nil {
		key = randomPageKey()
		cfg.Log.Debug("no page token key configured: using a random one; page tokens will not survive a restart")
	}
	pg, err := newPages(key)
	if err != nil {
		return nil, nil, err
	}
	s := &Server{st: st, js: st.JetStream(), checker: cfg.Checker, tokens: cfg.Tokens, keys: cfg.Keys, now: cfg.Now, log: cfg.Log, health: health.NewServer(),
		channels: cfg.Channels, view: cfg.View, pages: pg, teller: cfg.Teller, answers: cfg.Answerer, feed: cfg.Feed}
	if s.feed == nil {
		s.feed = store.NewNoticeFeed(st, 0, cfg.Log)
	}
	codec := newRequestCodec(cfg.Log)
	unary := []grpc.UnaryServerInterceptor{codec.checkDecoded, defaultDeadline, cfg.Guard.Unary(), statusUnary(cfg.Log)}
	stream := []grpc.StreamServerInterceptor{codec.checkDecodedStream, cfg.Guard.Stream(), statusStream(cfg.Log)}
	if cfg.Unary != nil {
		unary = append([]grpc.UnaryServerInterceptor{cfg.Unary}, unary...)
	}
	if cfg.Stream != nil {
		stream = append([]grpc.StreamServerInterceptor{cfg.Stream}, stream...)
	}
	opts := []grpc.ServerOption{grpc.MaxRecvMsgSize(MaxRequestBytes), grpc.ForceServerCodecV2(codec),
		grpc.ChainUnaryInterceptor(unary...), grpc.ChainStreamInterceptor(stream...)}
	if cfg.Creds != nil {
		opts = append(opts, grpc.Creds(cfg.Creds))
	}
	g := grpc.NewServer(opts...)
	cascadev1.RegisterBreachServiceServer(g, breachService{Server: s})
	cascadev1.RegisterNoticeServiceServer(g, noticeService{Server: s})
	cascadev1.RegisterTokenServiceServer(g, tokenService{Server: s})
	cascadev1.RegisterKeyServiceServer(g, keyService{Server: s})
	cascadev1.RegisterDeliveryServiceServer(g, deliveryService{Server: s})
	healthpb.RegisterHealthServer(g, s.health)
	reflection.Register(g)
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	for _, name := range []string{cascadev1.BreachService_ServiceDesc.ServiceName, cascadev1.NoticeService_ServiceDesc.ServiceName,
		cascadev1.TokenService_ServiceDesc.ServiceName, cascadev1.KeyService_ServiceDesc.ServiceName,
		cascadev1.DeliveryService_ServiceDesc.ServiceName} {
		s.health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	return g, s.health, nil
}

// principal is who is calling, as the guard authenticated them, for the
// records a call writes; nil outside a guarded call (never in service).
func principal(ctx context.Context) *breach.Principal {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return nil
	}
	return &p
}
