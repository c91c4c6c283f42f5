// Package verify checks a message that Cascade sent to an organisation, in
// whatever form its recipient saved it (the e-mail's attachment or the
// whole e-mail, a webhook request with its headers, a message saved with
// the nats CLI, or cascadectl's own form; see Parse), against the
// deployment's public signing keys. cascadectl verify and the dashboard's
// check page (POST /api/verify) share it, so they read the same forms and
// give the same reasons.
package verify

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/signing"
)

// Reason says why a message did not verify, for people and for programs.
type Reason string

// The reasons, from the first step that failed.
const (
	ReasonUnsupported Reason = "unsupported_format" // the input could not be read
	ReasonNoSignature Reason = "no_signature"       // no Cascade-Signature, or a signed header is missing
	ReasonMalformed   Reason = "malformed"          // the signature header cannot be read
	ReasonUnknownKey  Reason = "unknown_key"        // signed with a key that is not Cascade's
	ReasonKeyExpired  Reason = "key_expired"        // signed with a key that no longer verifies
	ReasonTampered    Reason = "tampered"           // the signature does not match what the message says
)

// Advice is what to do about each reason, in English; the dashboard says
// the same in Swedish and English.
var Advice = map[Reason]string{
	ReasonUnsupported: "Give the file cascade-message.json attached to Cascade's e-mail (or the whole e-mail), the webhook request saved with its headers, or the message saved with nats stream get --json or nats sub --dump.",
	ReasonNoSignature: "Cascade signs every message it sends. If you saved the message without its headers, save it again with them; otherwise do not act on it, and call the processor on a number you know from your contract, not one from the message.",
	ReasonMalformed:   "The signature is damaged or not Cascade's. Do not act on the message; call the processor on a number you know from your contract, not one from the message.",
	ReasonUnknownKey:  "It was not signed with any of Cascade's keys: treat it as forged. Do not act on it; call the processor on a number you know from your contract, not one from the message.",
	ReasonKeyExpired:  "It was signed with a key Cascade no longer uses, so it can no longer be checked. Look the notice up in Cascade itself (the dashboard or cascadectl notice show) before you act.",
	ReasonTampered:    "The message was changed after Cascade signed it, or was never signed by Cascade. Do not act on it; call the processor on a number you know from your contract, not one from the message.",
}

// Result is the outcome of Check: what the message claims, and whether
// Cascade's signature backs the claim.
type Result struct {
	Verified bool
	Reason   Reason // empty when verified
	Err      error  // the detail, when not verified
	Format   Format
	KeyID    string            // the key that signed it (verified), or the key id it names
	Key      signing.PublicKey // the signing key, when verified
	// What the message says; trustworthy only when Verified.
	Subject  string
	NoticeID string
	BreachID string
	OrgID    string
	Event    string
	Body     json.RawMessage // the message body when it is a JSON object, else nil
}

// Check parses data (Parse) and verifies it against keys at now.
func Check(data []byte, keys signing.KeySet, now time.Time) Result {
	msg, format, err := Parse(data)
	if err != nil {
		return Result{Reason: ReasonUnsupported, Err: err, Format: format}
	}
	return CheckMessage(msg, format, keys, now)
}

// CheckMessage verifies a parsed message against keys at now.
func CheckMessage(msg signing.SavedMessage, format Format, keys signing.KeySet, now time.Time) Result {
	// Any letter case, as Verify reads them (and never nats.Header.Get,
	// which panics on a header with an empty list of values).
	r := Result{Format: format, Subject: msg.Subject, NoticeID: headerValue(msg.Headers, signing.HeaderNoticeID),
		Event: headerValue(msg.Headers, signing.HeaderEvent)}
	if json.Valid(msg.Data) && len(msg.Data) > 0 && msg.Data[0] == '{' {
		r.Body = json.RawMessage(msg.Data)
	}
	if format == FormatBodyOnly && r.Body != nil {
		var v struct {
			NoticeID string `json:"notice_id"`
			Event    string `json:"event"`
		}
		_ = json.Unmarshal(r.Body, &v)
		r.NoticeID, r.Event = v.NoticeID, v.Event
	}
	if id, err := breach.ParseNoticeID(r.NoticeID); err == nil {
		r.BreachID, r.OrgID = string(id.Breach), string(id.Org)
	} else if org, ok := strings.CutPrefix(signing.SignedSubject(r.Subject, r.NoticeID), "cascade.notice."); ok {
		r.OrgID = org // a message about no notice (a token issued for the organisation)
	}
	r.KeyID = keyIDOf(msg.Headers)
	kid, err := msg.Verify(keys, now)
	if err != nil {
		r.Err, r.Reason = err, reasonOf(err)
		return r
	}
	r.Verified, r.KeyID = true, kid
	r.Key, _ = keys.Lookup(kid)
	return r
}

// reasonOf maps an error of signing.Verify to its Reason.
func reasonOf(err error) Reason {
	switch {
	case errors.Is(err, signing.ErrMissingHeader):
		return ReasonNoSignature
	case errors.Is(err, signing.ErrUnknownKey):
		return ReasonUnknownKey
	case errors.Is(err, signing.ErrKeyExpired):
		return ReasonKeyExpired
	case errors.Is(err, signing.ErrBadSignature):
		return ReasonTampered
	}
	return ReasonMalformed
}

// keyIDOf is the kid= of a Cascade-Signature header, or "".
func keyIDOf(h map[string][]string) string {
	for k, vs := range h {
		if !strings.EqualFold(k, signing.HeaderSignature) || len(vs) == 0 {
			continue
		}
		for _, part := range strings.Split(vs[0], ";") {
			if id, ok := strings.CutPrefix(part, "kid="); ok && len(id) <= 64 {
				return id
			}
		}
	}
	return ""
}
