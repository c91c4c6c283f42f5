package api

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/cascadehq/cascade/internal/breach"
)

// requestCodec is the server's codec: protobuf, except that a request that
// cannot be decoded (not protobuf, or a string that is not UTF-8) is the
// caller's mistake, InvalidArgument, not the server's.
//
// grpc-go (v1.85, rpc_util.go recv) turns any error of the codec's
// Unmarshal into codes.Internal "grpc: failed to unmarshal the received
// message", and serverStream.RecvMsg writes that status to the client
// itself, before the handler or any interceptor could change it. So
// Unmarshal never fails for a message: it leaves the message empty and
// records why, keyed by the message, and the first interceptor
// (checkDecoded, or RecvMsg of the stream wrapper) answers InvalidArgument
// with that reason before anything reads the request.
type requestCodec struct {
	proto   encoding.CodecV2
	log     *slog.Logger
	pending sync.Map // request message (a pointer) -> *breach.InvalidError
}

func newRequestCodec(log *slog.Logger) *requestCodec {
	return &requestCodec{proto: encoding.GetCodecV2("proto"), log: log}
}

func (c *requestCodec) Name() string { return "proto" }

func (c *requestCodec) Marshal(v any) (mem.BufferSlice, error) { return c.proto.Marshal(v) }

func (c *requestCodec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.proto.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	m, ok := v.(proto.Message)
	if !ok {
		return err
	}
	buf := data.Materialize()
	proto.Reset(m)
	c.pending.Store(v, undecodable(m.ProtoReflect().Descriptor(), buf, err))
	return nil
}

// failed returns, and forgets, why request m could not be decoded.
func (c *requestCodec) failed(m any) error {
	if err, ok := c.pending.LoadAndDelete(m); ok {
		return err.(error)
	}
	return nil
}

// checkDecoded is the first unary interceptor: a request the codec could
// not decode ends here as InvalidArgument.
func (c *requestCodec) checkDecoded(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := c.failed(req); err != nil {
		return nil, toStatus(ctx, c.log, info.FullMethod, err)
	}
	return handler(ctx, req)
}

// checkDecodedStream is the first stream interceptor: every message the
// stream receives is checked as checkDecoded checks a unary request.
func (c *requestCodec) checkDecodedStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, &decodedStream{ServerStream: ss, codec: c, method: info.FullMethod})
}

type decodedStream struct {
	grpc.ServerStream
	codec  *requestCodec
	method string
}

func (s *decodedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if err := s.codec.failed(m); err != nil {
		return toStatus(s.Context(), s.codec.log, s.method, err)
	}
	return nil
}

// undecodable describes why data is not a valid md: for a string that is
// not UTF-8, the field's path (e.g. "report.title", "report.affected[2].org_id").
func undecodable(md protoreflect.MessageDescriptor, data []byte, err error) error {
	if path, ok := badUTF8Field(md, data); ok {
		return breach.Invalid(path, "encoding", "%s is not valid UTF-8 (request %s)", path, md.FullName())
	}
	return breach.Invalid("request", "malformed", "the request is not a valid %s message: %v", md.FullName(), err)
}

// maxPathDepth bounds the recursion of badUTF8Field (protobuf itself
// refuses messages nested deeper than 10,000).
const maxPathDepth = 100

// badUTF8Field finds the first string field in data (a message md) that is
// not valid UTF-8, and its path.
func badUTF8Field(md protoreflect.MessageDescriptor, data []byte) (string, bool) {
	return badUTF8In(md, data, "", 0)
}

func badUTF8In(md protoreflect.MessageDescriptor, data []byte, prefix string, depth int) (string, bool) {
	if depth > maxPathDepth {
		return "", false
	}
	seen := map[protowire.Number]int{}
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return "", false
		}
		data = data[n:]
		fd := md.Fields().ByNumber(num)
		if typ != protowire.BytesType || fd == nil {
			if n = protowire.ConsumeFieldValue(num, typ, data); n < 0 {
				return "", false
			}
			data = data[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(data)
		if n < 0 {
			return "", false
		}
		data = data[n:]
		path := prefix + string(fd.Name())
		if fd.IsList() {
			path += "[" + strconv.Itoa(seen[num]) + "]"
			seen[num]++
		}
		switch {
		case fd.Kind() == protoreflect.StringKind && !utf8.Valid(v):
			return path, true
		case fd.Kind() == protoreflect.MessageKind:
			if p, ok := badUTF8In(fd.Message(), v, path+".", depth+1); ok {
				return p, true
			}
		}
	}
	return "", false
}
