package intake

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/store"
)

// Rejection is what Cascade publishes on cascade.breach.rejected when a
// published report cannot be processed, in whole (Partial=false: nothing was
// recorded) or in part (Partial=true: the breach was recorded, but some
// affected organisations are unknown and got no notice).
type Rejection struct {
	Reason        string                  `json:"reason"` // malformed, invalid, unknown_organisations, conflict, unsupported
	Detail        string                  `json:"detail"`
	Field         string                  `json:"field,omitempty"`
	Violations    []breach.FieldViolation `json:"violations,omitempty"`
	BreachID      breach.BreachID         `json:"breach_id,omitempty"`
	UnknownOrgIDs []breach.OrgID          `json:"unknown_org_ids,omitempty"`
	Partial       bool                    `json:"partial,omitempty"`
	Subject       string                  `json:"subject"`
	StreamSeq     uint64                  `json:"stream_seq"`
	At            time.Time               `json:"at"`
}

// publishRejection stores r durably on cascade.breach.rejected. The message
// id makes a rejection repeated after a crash stored once.
func publishRejection(ctx context.Context, js jetstream.JetStream, r Rejection, msgID string) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := js.Publish(ctx, store.SubjectRejected, data, jetstream.WithMsgID(msgID)); err != nil {
		return fmt.Errorf("publish rejection: %w", err)
	}
	return nil
}
