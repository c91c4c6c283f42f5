package api

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cascadehq/cascade/internal/breach"
)

// errCallTimeout is the cause of the server's default call deadline.
var errCallTimeout = errors.New("call timed out in the server")

// servicePrefix marks Cascade's own services; health and reflection
// answer with their own statuses.
const servicePrefix = "/cascade.v1."

// statusUnary is the innermost unary interceptor: the error a handler
// returns becomes the caller's status here, once, through toStatus.
func statusUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err != nil {
			return resp, handlerStatus(ctx, log, info.FullMethod, err)
		}
		return resp, nil
	}
}

// statusStream is statusUnary for streams.
func statusStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := handler(srv, ss); err != nil {
			return handlerStatus(ss.Context(), log, info.FullMethod, err)
		}
		return nil
	}
}

// handlerStatus maps what a handler of fullMethod returned: a status the
// handler made passes unchanged, anything else goes through toStatus
// under the method's short name.
func handlerStatus(ctx context.Context, log *slog.Logger, fullMethod string, err error) error {
	if !strings.HasPrefix(fullMethod, servicePrefix) {
		return err
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return toStatus(ctx, log, fullMethod[strings.LastIndex(fullMethod, "/")+1:], err)
}

// toStatus is the one mapping from domain errors to gRPC status. Errors
// that are not the caller's are logged here and reach the caller only as a
// generic Internal/Unavailable message, never as a raw storage error.
func toStatus(ctx context.Context, log *slog.Logger, method string, err error) error {
	if err == nil {
		return nil
	}
	// The caller's own deadline or cancellation; a timeout inside the store
	// (the caller's context still live) is the store's fault: Unavailable,
	// and so is the server's own default deadline.
	if errors.Is(context.Cause(ctx), errCallTimeout) {
		return status.Error(codes.Unavailable, "the store did not answer in time; retry later")
	}
	switch ctx.Err() {
	case context.DeadlineExceeded:
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	case context.Canceled:
		return status.Error(codes.Canceled, "canceled")
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		return err // already a status made for the caller
	}
	var inv *breach.InvalidError
	switch {
	case errors.As(err, &inv):
		st := status.New(codes.InvalidArgument, err.Error())
		br := &errdetails.BadRequest{}
		for _, v := range inv.Violations {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field: v.Field, Description: v.Detail, Reason: v.Reason,
			})
		}
		if d, derr := st.WithDetails(br); derr == nil {
			st = d
		}
		return st.Err()
	case errors.Is(err, breach.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, breach.ErrIllegalTransition):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, breach.ErrConflict):
		return status.Error(codes.AlreadyExists, err.Error())
	case errors.Is(err, breach.ErrLimit):
		return status.Error(codes.ResourceExhausted, err.Error())
	}
	log.Error("request failed", "method", method, "err", err)
	return status.Error(codes.Unavailable, "the store is not available; retry later")
}

// invalid is a single-field InvalidArgument as a domain error.
func invalid(field, detail string) error {
	return breach.Invalid(field, "invalid", "%s", detail)
}
