package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// UnaryServerInterceptor counts and times unary calls by method and code.
// It belongs outermost, so calls the guard refuses are counted too.
func (m *Metrics) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		t := prometheus.NewTimer(m.grpcTime.WithLabelValues(info.FullMethod))
		resp, err := handler(ctx, req)
		t.ObserveDuration()
		m.grpcCalls.WithLabelValues(info.FullMethod, status.Code(err).String()).Inc()
		return resp, err
	}
}

// StreamServerInterceptor counts and times streams by method and code.
func (m *Metrics) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		t := prometheus.NewTimer(m.grpcTime.WithLabelValues(info.FullMethod))
		err := handler(srv, ss)
		t.ObserveDuration()
		m.grpcCalls.WithLabelValues(info.FullMethod, status.Code(err).String()).Inc()
		return err
	}
}
