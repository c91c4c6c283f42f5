// Package api serves Cascade's gRPC services (cascade.v1 BreachService and
// NoticeService) with health and reflection. Domain errors become gRPC
// status codes in one place (errors.go).
package api

import (
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

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
	now     func() time.Time
	log     *slog.Logger
	health  *health.Server
}

// New builds a gRPC server with Cascade's services, health and reflection.
func New(st *store.Store, checker Checker, now func() time.Time, log *slog.Logger) (*grpc.Server, *health.Server) {
	s := &Server{st: st, js: st.JetStream(), checker: checker, now: now, log: log, health: health.NewServer()}
	g := grpc.NewServer(grpc.MaxRecvMsgSize(MaxRequestBytes))
	cascadev1.RegisterBreachServiceServer(g, breachService{Server: s})
	cascadev1.RegisterNoticeServiceServer(g, noticeService{Server: s})
	healthpb.RegisterHealthServer(g, s.health)
	reflection.Register(g)
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	for _, name := range []string{cascadev1.BreachService_ServiceDesc.ServiceName, cascadev1.NoticeService_ServiceDesc.ServiceName} {
		s.health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	return g, s.health
}
