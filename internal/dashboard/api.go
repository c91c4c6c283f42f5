package dashboard

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// callTimeout bounds one unary call made for a browser.
const callTimeout = 15 * time.Second

// maxBodyBytes bounds a request body from the browser.
const maxBodyBytes = 64 << 10

// outgoing carries the browser's credentials to the gRPC API: the
// Authorization header becomes the "authorization" metadata, unchanged
// and unlogged. Without one the call is anonymous, and the API decides.
func outgoing(ctx context.Context, r *http.Request) context.Context {
	if a := r.Header.Get("Authorization"); a != "" {
		return metadata.AppendToOutgoingContext(ctx, "authorization", a)
	}
	return ctx
}

// unary is the context of one unary call for r.
func unary(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
	return outgoing(ctx, r), cancel
}

// httpStatus is the one mapping from gRPC codes to HTTP statuses.
func httpStatus(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.InvalidArgument, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.FailedPrecondition, codes.Aborted:
		return http.StatusConflict
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Unavailable, codes.Canceled:
		return http.StatusServiceUnavailable
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// apiError is the JSON body of every error answer and error event.
type apiError struct {
	Code       string      `json:"code"`    // the gRPC code, e.g. NOT_FOUND
	Message    string      `json:"message"` // the gRPC message
	Violations []violation `json:"violations,omitempty"`
}

type violation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}

// errorOf turns a gRPC error into the HTTP status and body. Errors that
// are not a gRPC status (the in-process connection failed) are logged
// and answered as Unavailable.
func (d *Dashboard) errorOf(r *http.Request, err error) (int, apiError) {
	st, ok := status.FromError(err)
	switch {
	case !ok || st.Code() == codes.Unknown:
		d.log.Error("gRPC call failed", "path", r.URL.Path, "err", err)
		st = status.New(codes.Unavailable, "the service is not available; retry later")
	case st.Code() == codes.Unavailable:
		// The API's own messages say no more; the connection's may.
		d.log.Warn("gRPC API unavailable", "path", r.URL.Path, "err", err)
		st = status.New(codes.Unavailable, "the service is not available; retry later")
	}
	body := apiError{Code: codeName(st.Code()), Message: st.Message()}
	for _, det := range st.Details() {
		if br, ok := det.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				body.Violations = append(body.Violations, violation{Field: v.GetField(), Description: v.GetDescription()})
			}
		}
	}
	return httpStatus(st.Code()), body
}

// codeName is the canonical upper-case name, as in google.rpc.Code.
func codeName(c codes.Code) string {
	names := map[codes.Code]string{
		codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN", codes.InvalidArgument: "INVALID_ARGUMENT",
		codes.DeadlineExceeded: "DEADLINE_EXCEEDED", codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS",
		codes.PermissionDenied: "PERMISSION_DENIED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
		codes.FailedPrecondition: "FAILED_PRECONDITION", codes.Aborted: "ABORTED", codes.OutOfRange: "OUT_OF_RANGE",
		codes.Unimplemented: "UNIMPLEMENTED", codes.Internal: "INTERNAL", codes.Unavailable: "UNAVAILABLE",
		codes.DataLoss: "DATA_LOSS", codes.Unauthenticated: "UNAUTHENTICATED",
	}
	if n, ok := names[c]; ok {
		return n
	}
	return "UNKNOWN"
}

// writeError answers a failed gRPC call.
func (d *Dashboard) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code, body := d.errorOf(r, err)
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="cascade"`)
	}
	writeJSON(w, code, body)
}

func writeJSONError(w http.ResponseWriter, code int, name, msg string) {
	writeJSON(w, code, apiError{Code: name, Message: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "cannot encode the answer", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// jsonOf is a message as protojson with the proto field names, as the
// gRPC API documents them.
func jsonOf(m proto.Message) json.RawMessage {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil { // only for invalid UTF-8, which the store never holds
		return json.RawMessage("null")
	}
	return b
}

// sessionInfo is what the page needs to choose its view.
type sessionInfo struct {
	// Scope is "all" (vendor, global viewer, development mode),
	// "organisation" (a controller or an organisation's viewer), or empty
	// when the request carried no credentials and the API needs them.
	Scope string `json:"scope"`
	// Acknowledge: the caller may acknowledge notices.
	Acknowledge bool `json:"acknowledge"`
	// Auth: the API requires credentials.
	Auth bool `json:"auth"`
	// ServerTime lets the page correct its clock for the countdowns.
	ServerTime time.Time `json:"server_time"`
	// Who the caller is, as the API authenticated it (WhoAmI): role is
	// "controller", "vendor" or "viewer" ("" before sign-in and in the
	// development mode); org_id and org_name the organisation it acts for
	// (none for the vendor and viewers of every organisation); label and
	// token_id the token's ("cert:<serial>" for a client certificate).
	Role    string `json:"role"`
	OrgID   string `json:"org_id"`
	OrgName string `json:"org_name"`
	Label   string `json:"label"`
	TokenID string `json:"token_id"`
}

// roleNames are the session's role values.
var roleNames = map[cascadev1.Role]string{
	cascadev1.Role_ROLE_CONTROLLER: "controller",
	cascadev1.Role_ROLE_VENDOR:     "vendor",
	cascadev1.Role_ROLE_VIEWER:     "viewer",
}

// session tells the page who the caller is and what it may see and do,
// from one WhoAmI call: the vendor and viewers of every organisation see
// every organisation, controllers and an organisation's viewers their
// own; only controllers (and the development mode) acknowledge. Nothing is
// denied on the way, so a page load logs no warning.
func (d *Dashboard) session(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := unary(r)
	defer cancel()
	info := sessionInfo{Auth: !d.noAuth, ServerTime: d.now().UTC()}
	if !d.noAuth && r.Header.Get("Authorization") == "" {
		writeJSON(w, http.StatusOK, info) // not signed in yet: the page asks for a token
		return
	}
	who, err := cascadev1.NewTokenServiceClient(d.conn).WhoAmI(ctx, &cascadev1.WhoAmIRequest{})
	if err != nil {
		d.writeError(w, r, err)
		return
	}
	info.Role, info.OrgID, info.OrgName = roleNames[who.GetRole()], who.GetOrgId(), who.GetOrgName()
	info.Label, info.TokenID = who.GetLabel(), who.GetTokenId()
	switch {
	case who.GetInsecureNoAuth():
		info.Scope, info.Acknowledge = "all", true // only the development mode acts for every organisation
	case who.GetRole() == cascadev1.Role_ROLE_CONTROLLER:
		info.Scope, info.Acknowledge = "organisation", true
	case who.GetRole() == cascadev1.Role_ROLE_VIEWER && who.GetOrgId() != "":
		info.Scope = "organisation"
	case who.GetRole() == cascadev1.Role_ROLE_VENDOR || who.GetRole() == cascadev1.Role_ROLE_VIEWER:
		info.Scope = "all"
	default: // a role this dashboard does not know: the narrowest view
		info.Scope = "organisation"
	}
	writeJSON(w, http.StatusOK, info)
}

func (d *Dashboard) getBreach(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := unary(r)
	defer cancel()
	resp, err := d.breaches.GetBreach(ctx, &cascadev1.GetBreachRequest{BreachId: r.PathValue("breach")})
	if err != nil {
		d.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, jsonOf(resp))
}
