package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cascadehq/cascade/internal/breach"
)

func TestHandlerStatus(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	ctx := context.Background()
	made := status.Error(codes.FailedPrecondition, "made by the handler")
	raw := errors.New("raw")
	for _, tc := range []struct {
		name, method string
		err          error
		code         codes.Code
		same         bool
	}{
		{"domain", "/cascade.v1.BreachService/GetBreach", fmt.Errorf("breach b: %w", breach.ErrNotFound), codes.NotFound, false},
		{"invalid", "/cascade.v1.BreachService/GetBreach", invalid("breach_id", "bad"), codes.InvalidArgument, false},
		{"status", "/cascade.v1.BreachService/GetBreach", made, codes.FailedPrecondition, true},
		{"not ours", "/grpc.health.v1.Health/Check", raw, codes.Unknown, true},
		{"store", "/cascade.v1.TokenService/WhoAmI", raw, codes.Unavailable, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := handlerStatus(ctx, log, tc.method, tc.err)
			if status.Code(got) != tc.code {
				t.Fatalf("code %v, want %v (%v)", status.Code(got), tc.code, got)
			}
			if tc.same && got != tc.err {
				t.Fatalf("%v changed to %v", tc.err, got)
			}
		})
	}
	if out := buf.String(); strings.Count(out, "request failed") != 1 || !strings.Contains(out, "method=WhoAmI") {
		t.Fatalf("log: %s", out)
	}
}

func TestHandlerStatusCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	log := slog.New(slog.DiscardHandler)
	if got := handlerStatus(ctx, log, "/cascade.v1.BreachService/GetBreach", breach.ErrNotFound); status.Code(got) != codes.Canceled {
		t.Fatalf("got %v, want Canceled", got)
	}
}
