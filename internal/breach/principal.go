package breach

import (
	"fmt"
	"strings"
)

// PrincipalKind is how a caller was authenticated.
type PrincipalKind string

// Principal kinds.
const (
	PrincipalToken       PrincipalKind = "token"       // a bearer token
	PrincipalCertificate PrincipalKind = "certificate" // a client certificate (mutual TLS)
	PrincipalAnonymous   PrincipalKind = "anonymous"   // --insecure-no-auth: nobody was authenticated
)

// Principal is who made a change as authenticated by the API, recorded
// beside the name the caller typed (acknowledged_by, recorded_by), which is
// not checked. It never holds a secret. Its JSON form is stored; records
// written before principals were recorded have none.
type Principal struct {
	Kind PrincipalKind `json:"kind"`
	// ID: a token's id, or "cert:<serial in hex>" for a certificate.
	ID string `json:"id,omitempty"`
	// Label: a token's label, given when it was issued.
	Label string `json:"label,omitempty"`
	Role  string `json:"role,omitempty"`
	Org   OrgID  `json:"org_id,omitempty"`
	// Processor: the registered processor a vendor's or viewer's token
	// acts for (empty: the default processor).
	Processor ProcessorID `json:"processor_id,omitempty"`
	// Subject: a certificate's subject distinguished name.
	Subject string `json:"subject,omitempty"`
}

// AnonymousPrincipal is the principal of every call with --insecure-no-auth.
var AnonymousPrincipal = Principal{Kind: PrincipalAnonymous}

// String is the principal in one line, fit for a history or a log:
// `token 3f2a9c0d1e2b4a5f "Acme DPO" (controller@se-kommun-0180)`,
// `certificate "CN=se-kommun-0180,OU=controller" (controller@se-kommun-0180)`
// or `anonymous (insecure-no-auth)`.
func (p Principal) String() string {
	if p.Kind == PrincipalAnonymous {
		return "anonymous (insecure-no-auth)"
	}
	var b strings.Builder
	b.WriteString(string(p.Kind))
	switch p.Kind {
	case PrincipalCertificate:
		if p.Subject != "" {
			fmt.Fprintf(&b, " %q", p.Subject)
		} else if p.ID != "" {
			b.WriteString(" " + p.ID)
		}
	default:
		if p.ID != "" {
			b.WriteString(" " + p.ID)
		}
		if p.Label != "" {
			fmt.Fprintf(&b, " %q", p.Label)
		}
	}
	if p.Role != "" {
		role := p.Role
		if p.Org != "" {
			role += "@" + string(p.Org)
		}
		if p.Processor != "" {
			role += " of processor " + string(p.Processor)
		}
		b.WriteString(" (" + role + ")")
	}
	return b.String()
}
