package dashboard

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cascadehq/cascade/internal/signing"
	"github.com/cascadehq/cascade/internal/verify"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// verifyPath is the check page's backend: the one POST that ServeHTTP
// lets through without credentials (the check needs only public keys and
// reveals only what the message itself says; the facts come from the API
// with the caller's own credentials).
const verifyPath = "/api/verify"

// maxVerifyBytes bounds a message dropped into the check page: Cascade's
// messages are a few KiB, an e-mail with its attachment a few times that.
const maxVerifyBytes = 1 << 20

// Keys are the deployment's public signing keys, those that verify
// messages now (implemented by signing.Ring's Public; what
// KeyService.ListSigningKeys answers and cascade.keys carries).
type Keys func() []signing.PublicKey

// verifyAnswer is the JSON answer of POST /api/verify.
type verifyAnswer struct {
	Verified bool `json:"verified"`
	// Reason (when not verified): unsupported_format, no_signature,
	// malformed, unknown_key, key_expired, tampered.
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"` // the check's own words
	Advice string `json:"advice,omitempty"` // what to do, in English
	Format string `json:"format,omitempty"` // the form the input was read in
	KeyID  string `json:"key_id,omitempty"` // the key that signed it, or that it names
	// KeyCreatedAt, KeyActive and KeyExpiresAt describe the signing key
	// (verified only): a replaced key verifies until it expires.
	KeyCreatedAt *time.Time `json:"key_created_at,omitempty"`
	KeyActive    bool       `json:"key_active,omitempty"`
	KeyExpiresAt *time.Time `json:"key_expires_at,omitempty"`
	// What the message claims: trustworthy only when verified.
	Subject  string          `json:"subject,omitempty"`
	OrgID    string          `json:"org_id,omitempty"`
	NoticeID string          `json:"notice_id,omitempty"`
	BreachID string          `json:"breach_id,omitempty"`
	Event    string          `json:"event,omitempty"`
	Message  json.RawMessage `json:"message,omitempty"` // the body, when a JSON object
	// Facts as Cascade holds them (verified, and the caller may see the
	// notice): GetNotice and GetBreach answers.
	Notice json.RawMessage `json:"notice,omitempty"`
	Breach json.RawMessage `json:"breach,omitempty"`
	// FactsNote says why there are no facts: sign_in (no credentials),
	// not_yours (the caller may not see this notice: another
	// organisation's, or none), not_verified, no_notice (the message is
	// about no notice, e.g. a token issued), unavailable.
	FactsNote string `json:"facts_note,omitempty"`
}

// verifyMessage answers POST /api/verify: the body is the received
// message in any form package verify reads.
func (d *Dashboard) verifyMessage(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(r.Body) // capped by ServeHTTP at maxVerifyBytes
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			w.Header().Set("Connection", "close")
			writeJSONError(w, http.StatusRequestEntityTooLarge, "INVALID_ARGUMENT",
				"the message is larger than 1 MiB: give the attachment cascade-message.json or the message alone, not a mailbox or a log")
			return
		}
		writeJSONError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "could not read the message")
		return
	}
	if d.keys == nil {
		writeJSONError(w, http.StatusServiceUnavailable, "UNAVAILABLE", "this dashboard has no signing keys to check with")
		return
	}
	res := verify.Check(data, signing.KeySet{Keys: d.keys()}, d.now())
	out := verifyAnswer{Verified: res.Verified, Reason: string(res.Reason), Advice: verify.Advice[res.Reason],
		Format: string(res.Format), KeyID: res.KeyID, Subject: res.Subject, OrgID: res.OrgID, NoticeID: res.NoticeID,
		BreachID: res.BreachID, Event: res.Event, Message: res.Body}
	if res.Err != nil {
		out.Detail = res.Err.Error()
	}
	if !res.Verified {
		out.FactsNote = "not_verified"
		writeJSON(w, http.StatusOK, out)
		return
	}
	out.KeyCreatedAt, out.KeyActive, out.KeyExpiresAt = utcTime(res.Key.CreatedAt), res.Key.Active, utcTime(res.Key.ExpiresAt)
	d.addFacts(r, &out)
	writeJSON(w, http.StatusOK, out)
}

// addFacts adds the notice and breach as the API shows them to the
// caller, asked with the caller's own credentials.
func (d *Dashboard) addFacts(r *http.Request, out *verifyAnswer) {
	if out.BreachID == "" {
		out.FactsNote = "no_notice" // e.g. a token issued for the organisation
		return
	}
	if d.gate != nil && r.Header.Get("Authorization") == "" {
		out.FactsNote = "sign_in"
		return
	}
	ctx, cancel := unary(r)
	defer cancel()
	n, err := d.notices.GetNotice(ctx, &cascadev1.GetNoticeRequest{NoticeId: out.NoticeID})
	if err == nil {
		var b *cascadev1.GetBreachResponse
		if b, err = d.breaches.GetBreach(ctx, &cascadev1.GetBreachRequest{BreachId: out.BreachID}); err == nil {
			out.Notice, out.Breach = jsonOf(n), jsonOf(b)
			return
		}
	}
	switch status.Code(err) {
	case codes.Unauthenticated:
		out.FactsNote = "sign_in"
	case codes.NotFound, codes.PermissionDenied, codes.InvalidArgument:
		out.FactsNote = "not_yours"
	default:
		d.errorOf(r, err) // logs what the caller is not told
		out.FactsNote = "unavailable"
	}
}

// utcTime is t in UTC, or nil when zero.
func utcTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
