package protoconv

import (
	"slices"

	"github.com/cascadehq/cascade/internal/breach"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// Upstream converts a wire upstream notice; nil for none. What the
// message says is checked by the intake (internal/verify.Upstream).
func Upstream(u *cascadev1.UpstreamNotice) *breach.Upstream {
	if u == nil {
		return nil
	}
	id, _ := breach.ParseNoticeID(u.GetNoticeId())
	return &breach.Upstream{Notice: id, Processor: u.GetProcessor(), ProcessorID: breach.ProcessorID(u.GetProcessorId()),
		Revision: int(u.GetRevision()), KeyID: u.GetKeyId(), PublicKey: u.GetPublicKey(), Message: SignedMessage(u.GetMessage())}
}

// UpstreamProto converts an upstream notice to the wire type.
func UpstreamProto(u *breach.Upstream) *cascadev1.UpstreamNotice {
	if u == nil {
		return nil
	}
	out := &cascadev1.UpstreamNotice{Processor: u.Processor, ProcessorId: string(u.ProcessorID), Revision: int32(u.Revision),
		KeyId: u.KeyID, PublicKey: u.PublicKey, Message: SignedMessageProto(&u.Message)}
	if u.Notice.Breach != "" {
		out.NoticeId, out.BreachId = u.Notice.String(), string(u.Notice.Breach)
	}
	return out
}

// SignedMessage converts a wire message.
func SignedMessage(m *cascadev1.SignedMessage) breach.SignedMessage {
	out := breach.SignedMessage{Subject: m.GetSubject(), Data: m.GetData(), Headers: map[string][]string{}}
	for _, h := range m.GetHeaders() {
		out.Headers[h.GetName()] = append(out.Headers[h.GetName()], h.GetValues()...)
	}
	return out
}

// SignedMessageProto converts a message to the wire type, headers in name
// order.
func SignedMessageProto(m *breach.SignedMessage) *cascadev1.SignedMessage {
	out := &cascadev1.SignedMessage{Subject: m.Subject, Data: m.Data}
	names := make([]string, 0, len(m.Headers))
	for k := range m.Headers {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		out.Headers = append(out.Headers, &cascadev1.MessageHeader{Name: k, Values: m.Headers[k]})
	}
	return out
}
