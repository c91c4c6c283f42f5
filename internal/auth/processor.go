package auth

import (
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/cascadehq/cascade/internal/breach"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// deploymentWide are the methods that change the whole deployment, not one
// processor's breaches: only the default processor's vendors call them.
var deploymentWide = map[string]bool{
	cascadev1.KeyService_RotateSigningKey_FullMethodName:         true,
	cascadev1.DeliveryService_RotateWebhookSecret_FullMethodName: true,
}

// idFields are the request fields that name a breach, first thing in
// them: a breach id, a notice id "<breach>/<org>", a question id
// "<breach>/<org>/<n>".
var idFields = []protoreflect.Name{"breach_id", "notice_id", "question_id"}

// confine applies a registered processor's scope to a request from a
// caller that acts for it, before the policy table: every breach the
// request names is taken as the processor's own (an id without its
// processor part is qualified with it, in the request), one of another
// processor's is NotFound (as one that does not exist), and a request
// that lists or watches across breaches gets processor_id set to the
// caller's (another's is PermissionDenied). The handlers of
// ReportBreach, UpdateBreach and the token methods apply the caller's
// processor themselves.
func confine(id Identity, method string, req any) error {
	if !id.ProcessorScoped() {
		return nil
	}
	if deploymentWide[method] {
		return status.Errorf(codes.PermissionDenied, "%s may not call %s: it changes the whole deployment (the default processor's vendors do)", id, method)
	}
	if method == cascadev1.BreachService_ForwardNotice_FullMethodName {
		// Its notice_id is the upstream's, sent to the processor as a
		// customer: the handler checks that it is.
		return nil
	}
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	r := m.ProtoReflect()
	fields := r.Descriptor().Fields()
	for _, name := range idFields {
		f := fields.ByName(name)
		if f == nil || f.Kind() != protoreflect.StringKind || f.IsList() {
			continue
		}
		v := r.Get(f).String()
		if v == "" {
			continue
		}
		head, rest, more := strings.Cut(v, "/")
		q, mine := breach.Qualify(id.Processor, breach.BreachID(head))
		if !mine {
			return status.Error(codes.NotFound, "not found")
		}
		if more {
			q += breach.BreachID("/" + rest)
		}
		r.Set(f, protoreflect.ValueOfString(string(q)))
	}
	if f := fields.ByName("processor_id"); f != nil && f.Kind() == protoreflect.StringKind && !f.IsList() {
		switch v := r.Get(f).String(); v {
		case "":
			r.Set(f, protoreflect.ValueOfString(string(id.Processor)))
		case string(id.Processor):
		default:
			return status.Errorf(codes.PermissionDenied, "%s sees processor %s's breaches only", id, id.Processor)
		}
	}
	// An evidence export without a breach covers every processor's
	// breaches of an organisation.
	if x, ok := req.(*cascadev1.ExportEvidenceRequest); ok && x.GetBreachId() == "" {
		return status.Errorf(codes.PermissionDenied, "%s may export evidence of its processor's breaches only: give breach_id", id)
	}
	return nil
}
