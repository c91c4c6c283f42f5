package message

import (
	"net/http"
	"strings"
)

// natsPrefix starts the headers NATS and JetStream use themselves
// (Nats-Msg-Id, Nats-Expected-Stream, Nats-Batch-Id, ...).
const natsPrefix = "Nats-"

// ForOrganisation is h without the NATS-internal headers (every Nats-*
// header, in any letter case): what a message's copy keeps when it leaves
// NATS for an organisation's webhook or e-mail. The Cascade-* headers,
// among them the Ed25519 Cascade-Signature and the headers it covers
// (Cascade-Notice-Id, Cascade-Event; see internal/signing), are kept, so
// the copy verifies as the original does. h is not changed. It takes and
// returns the plain map that nats.Header and http.Header both are.
func ForOrganisation(h map[string][]string) map[string][]string {
	out := make(map[string][]string, len(h))
	for k, vs := range h {
		if IsNATSInternal(k) {
			continue
		}
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// IsNATSInternal reports whether header name k is one of NATS's own.
func IsNATSInternal(k string) bool {
	return strings.HasPrefix(http.CanonicalHeaderKey(k), natsPrefix) || strings.HasPrefix(strings.ToLower(k), strings.ToLower(natsPrefix))
}
