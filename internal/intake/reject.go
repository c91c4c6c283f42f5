package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/store"
)

// Rejection is what Cascade publishes on cascade.breach.rejected when a
// published report cannot be processed, in whole (Partial=false: nothing was
// recorded) or in part (Partial=true: the breach was recorded, but some
// affected organisations are unknown and got no notice).
type Rejection struct {
	Reason     string                  `json:"reason"` // malformed, invalid, unknown_organisations, unknown_breach, conflict, too_large, dead_lettered
	Detail     string                  `json:"detail"`
	Field      string                  `json:"field,omitempty"`
	Violations []breach.FieldViolation `json:"violations,omitempty"`
	// ViolationsTotal counts every violation when Violations lists only
	// the first MaxListed.
	ViolationsTotal int             `json:"violations_total,omitempty"`
	BreachID        breach.BreachID `json:"breach_id,omitempty"`
	UnknownOrgIDs   []breach.OrgID  `json:"unknown_org_ids,omitempty"`
	// UnknownOrgIDsTotal counts every unknown id when UnknownOrgIDs lists
	// only the first MaxListed (GetBreach lists them all).
	UnknownOrgIDsTotal int  `json:"unknown_org_ids_total,omitempty"`
	Partial            bool `json:"partial,omitempty"`
	// Attempts is how often a dead-lettered message was tried.
	Attempts  int       `json:"attempts,omitempty"`
	Subject   string    `json:"subject"`
	StreamSeq uint64    `json:"stream_seq"`
	At        time.Time `json:"at"`
}

// Bounds of one rejection, so that it always fits in a NATS message.
const (
	// MaxListed is how many violations and unknown ids a rejection lists;
	// the *_total fields count them all.
	MaxListed = 100
	// MaxDetail is the most characters of a rejection's detail (and of
	// each listed violation's).
	MaxDetail = 2000
	// maxRejectionBytes is the most a rejection takes once encoded; one
	// still larger loses its lists (the totals stay).
	maxRejectionBytes = 256 << 10
)

// capped returns r with its lists and texts bounded.
func (r Rejection) capped() Rejection {
	r.Detail = clip(r.Detail, MaxDetail)
	r.Field = clip(r.Field, breach.MaxShortText)
	if n := len(r.Violations); n > MaxListed {
		r.Violations, r.ViolationsTotal = r.Violations[:MaxListed], n
	}
	if len(r.Violations) > 0 {
		vs := make([]breach.FieldViolation, len(r.Violations))
		for i, v := range r.Violations {
			vs[i] = breach.FieldViolation{Field: clip(v.Field, breach.MaxShortText), Reason: clip(v.Reason, breach.MaxShortText), Detail: clip(v.Detail, MaxDetail)}
		}
		r.Violations = vs
	}
	if n := len(r.UnknownOrgIDs); n > MaxListed {
		r.UnknownOrgIDs, r.UnknownOrgIDsTotal = r.UnknownOrgIDs[:MaxListed], n
	}
	return r
}

// clip bounds s to max characters, marking a cut with "…".
func clip(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max]) + "…"
}

// encodeRejection encodes r capped, and without its lists if it is still
// too large, so every rejection can be published.
func encodeRejection(r Rejection) ([]byte, error) {
	r = r.capped()
	data, err := json.Marshal(r)
	if err != nil || len(data) <= maxRejectionBytes {
		return data, err
	}
	if r.ViolationsTotal == 0 {
		r.ViolationsTotal = len(r.Violations)
	}
	if r.UnknownOrgIDsTotal == 0 {
		r.UnknownOrgIDsTotal = len(r.UnknownOrgIDs)
	}
	r.Violations, r.UnknownOrgIDs = nil, nil
	return json.Marshal(r)
}

// publishRejection stores r durably on cascade.breach.rejected, capped so
// that it fits. The message id makes a rejection repeated after a crash
// stored once.
func publishRejection(ctx context.Context, js jetstream.JetStream, r Rejection, msgID string) error {
	data, err := encodeRejection(r)
	if err != nil {
		return err
	}
	p, _, _ := store.IntakeSubject(r.Subject) // a processor's rejections are its own
	if _, err := js.Publish(ctx, store.RejectedSubject(p), data, jetstream.WithMsgID(msgID)); err != nil {
		return fmt.Errorf("publish rejection: %w", err)
	}
	return nil
}

// permanent reports an error that no retry can cure: a message or record
// larger than the server takes, or input the store refused as invalid.
// Such an error rejects the message instead of retrying it.
func permanent(err error) (Rejection, bool) {
	var inv *breach.InvalidError
	var apiErr *jetstream.APIError
	switch {
	case errors.As(err, &inv):
		rej := Rejection{Reason: "invalid", Detail: err.Error(), Violations: inv.Violations}
		if len(inv.Violations) > 0 {
			rej.Field = inv.Violations[0].Field
			if inv.Violations[0].Reason == "too_large" {
				rej.Reason = "too_large"
			}
		}
		return rej, true
	case errors.Is(err, nats.ErrMaxPayload),
		errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum:
		return Rejection{Reason: "too_large", Detail: "a record of this report is larger than the NATS server takes: " + err.Error()}, true
	}
	return Rejection{}, false
}
