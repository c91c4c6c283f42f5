package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/cascadehq/cascade/internal/breach"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func bytesField(num protowire.Number, v []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), v)
}

// TestRequestCodec: an undecodable request is left empty and remembered
// until the interceptor answers InvalidArgument for it (once: the record
// is forgotten); a valid one decodes as the proto codec does.
func TestRequestCodec(t *testing.T) {
	c := newRequestCodec(slog.New(slog.NewTextHandler(io.Discard, nil)))
	bad := []byte{0xc3, 0x28}
	tests := []struct {
		name          string
		data          []byte
		msg           proto.Message
		field, reason string
	}{
		{"nested string", bytesField(1, bytesField(3, bad)), &cascadev1.ReportBreachRequest{}, "report.title", "encoding"},
		{"repeated string", bytesField(1, append(bytesField(8, []byte("ok")), bytesField(8, bad)...)), &cascadev1.ReportBreachRequest{}, "report.data_categories[1]", "encoding"},
		{"repeated message", bytesField(1, append(bytesField(10, bytesField(1, []byte("a"))), bytesField(10, bytesField(1, bad))...)),
			&cascadev1.ReportBreachRequest{}, "report.affected[1].org_id", "encoding"},
		{"top-level string after a valid one", append(bytesField(1, []byte("B/a")), bytesField(3, bad)...), &cascadev1.AcknowledgeNoticeRequest{}, "note", "encoding"},
		{"truncated", []byte{0x0a, 0x05, 0x01}, &cascadev1.GetBreachRequest{}, "request", "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(tc.data)}, tc.msg); err != nil {
				t.Fatalf("Unmarshal = %v; want nil (the error is kept for the interceptor)", err)
			}
			if !proto.Equal(tc.msg, tc.msg.ProtoReflect().Type().New().Interface()) {
				t.Errorf("message not left empty: %v", tc.msg)
			}
			called := false
			_, err := c.checkDecoded(context.Background(), tc.msg, &grpc.UnaryServerInfo{FullMethod: "/m"},
				func(context.Context, any) (any, error) { called = true; return nil, nil })
			if called || status.Code(err) != codes.InvalidArgument {
				t.Fatalf("checkDecoded = %v (handler called: %v); want InvalidArgument", err, called)
			}
			if got := status.Convert(err).Message(); got == "" {
				t.Error("no message")
			}
			var inv *breach.InvalidError
			if e := c.failed(tc.msg); e != nil {
				t.Errorf("record kept after the interceptor: %v", e)
			}
			_ = errors.As(undecodable(tc.msg.ProtoReflect().Descriptor(), tc.data, errors.New("x")), &inv)
			if inv == nil || inv.Violations[0].Field != tc.field || inv.Violations[0].Reason != tc.reason {
				t.Errorf("violation = %+v; want %s/%s", inv, tc.field, tc.reason)
			}
		})
	}
	// A valid request passes through.
	var ok cascadev1.GetBreachRequest
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(bytesField(1, []byte("B1")))}, &ok); err != nil || ok.GetBreachId() != "B1" {
		t.Fatalf("valid request: %v, %v", err, &ok)
	}
	called := false
	if _, err := c.checkDecoded(context.Background(), &ok, &grpc.UnaryServerInfo{FullMethod: "/m"},
		func(context.Context, any) (any, error) { called = true; return nil, nil }); err != nil || !called {
		t.Fatalf("valid request: %v, handler called %v", err, called)
	}
}
