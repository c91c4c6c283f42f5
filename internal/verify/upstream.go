package verify

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/signing"
)

// UpstreamBody is what a notice or revision message says of itself.
type UpstreamBody struct {
	Event           string          `json:"event"`
	NoticeID        breach.NoticeID `json:"notice_id"`
	OrgID           breach.OrgID    `json:"org_id"`
	Revision        int             `json:"revision"`
	RevisionSummary string          `json:"revision_summary"`
	Breach          *breach.Report  `json:"breach"`
}

// ParseUpstream reads what a notice or revision message says, without
// checking its signature (Upstream does).
func ParseUpstream(m *breach.SignedMessage) (*UpstreamBody, error) {
	if len(m.Data) > breach.MaxUpstreamBytes {
		return nil, fmt.Errorf("upstream message of %d bytes, more than %d", len(m.Data), breach.MaxUpstreamBytes)
	}
	var body UpstreamBody
	if err := json.Unmarshal(m.Data, &body); err != nil {
		return nil, fmt.Errorf("upstream message body: %w", err)
	}
	if body.Event != "notice" && body.Event != "revision" {
		return nil, fmt.Errorf("upstream message is a %q message, not a notice or revision", body.Event)
	}
	if body.Breach == nil || body.NoticeID.Breach == "" {
		return nil, errors.New("upstream message carries no breach facts or notice id")
	}
	return &body, nil
}

// Upstream checks the upstream notice a forwarded breach carries: its
// message verifies against keys at now (a key of u's own, PublicKey, is
// used only if keys has it too: it says which key, keys say whether to
// trust it), it was sent to organisation org (subject
// cascade.notice.<org>), and it is a notice or revision message whose
// body names the notice its signed header names. It fills in u what the
// message says (notice, revision, upstream processor, key) and returns
// the upstream facts the message carries.
func Upstream(u *breach.Upstream, keys signing.KeySet, org breach.OrgID, now time.Time) (*breach.Report, error) {
	m := &u.Message
	body, err := ParseUpstream(m)
	if err != nil {
		return nil, err
	}
	if want := "cascade.notice." + string(org); m.Subject != want {
		return nil, fmt.Errorf("upstream message was sent on %q, not to the forwarding processor's organisation (%s)", m.Subject, want)
	}
	res := CheckMessage(signing.SavedMessage{Subject: m.Subject, Headers: nats.Header(m.Headers), Data: m.Data}, FormatSaved, keys, now)
	if !res.Verified {
		return nil, fmt.Errorf("upstream message does not verify (%s): %v", res.Reason, res.Err)
	}
	if body.NoticeID.String() != res.NoticeID || body.OrgID != org {
		return nil, fmt.Errorf("upstream message body names notice %s of %s, its signed header %s", body.NoticeID, body.OrgID, res.NoticeID)
	}
	u.Notice, u.Revision, u.Processor = body.NoticeID, body.Revision, body.Breach.Processor
	u.ProcessorID = body.NoticeID.Breach.Processor() // in the upstream deployment
	u.KeyID, u.PublicKey = res.KeyID, res.Key.Public
	return body.Breach, nil
}
