package message

import (
	"time"

	"github.com/cascadehq/cascade/internal/breach"
)

// Events of the messages that tell an organisation of the API tokens
// issued for it and revoked (Cascade-Event).
const (
	EventTokenIssued  = "token_issued"
	EventTokenRevoked = "token_revoked"
)

// HeaderTokenID names the token a token message is about.
const HeaderTokenID = "Cascade-Token-Id"

// Token is the body of a token_issued or token_revoked message: an
// organisation is told, on its own subject and so by webhook and e-mail
// too, of every token that can act for it (a controller token, or a viewer
// token of the organisation) when it is issued and when it is revoked. It
// never holds the token's secret.
type Token struct {
	Event     string       `json:"event"` // token_issued or token_revoked
	OrgID     breach.OrgID `json:"org_id"`
	OrgName   string       `json:"org_name,omitempty"`
	TokenID   string       `json:"token_id"`
	Label     string       `json:"label,omitempty"`
	Role      string       `json:"role"`
	IssuedAt  time.Time    `json:"issued_at"`
	RevokedAt time.Time    `json:"revoked_at,omitzero"`
	// By is who issued (token_issued) or revoked (token_revoked) it.
	By     breach.Principal `json:"by"`
	SentAt time.Time        `json:"sent_at"`
}

// TokenNoticeID is the Cascade-Notice-Id of token messages to org,
// "_token/<org_id>": signed like a notice id, so the message is bound to
// the organisation, and never a notice's (no breach id starts with "_").
func TokenNoticeID(org breach.OrgID) string { return "_token/" + string(org) }

// IsTokenEvent reports whether event is that of a token message.
func IsTokenEvent(event string) bool { return event == EventTokenIssued || event == EventTokenRevoked }
