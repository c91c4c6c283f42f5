// Package auth says who is calling the gRPC API and what they may do: it
// authenticates bearer tokens (stored as hashes) and client certificates,
// and enforces one policy table, per RPC, in a pair of interceptors. No
// handler checks permissions itself.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/store"
)

// Role is what a caller may do.
type Role string

// Roles.
const (
	RoleController Role = "controller" // its own organisation's notices only
	RoleVendor     Role = "vendor"     // publishes, reads everything; never acts for a controller
	RoleViewer     Role = "viewer"     // reads: its organisation's notices, or everything without one
	roleDev        Role = "dev"        // --insecure-no-auth on loopback: everything
)

// ParseRole parses a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case RoleController, RoleVendor, RoleViewer:
		return r, nil
	}
	return "", fmt.Errorf("role %q: want controller, vendor or viewer", s)
}

// Identity is an authenticated caller.
type Identity struct {
	Org breach.OrgID // empty for the vendor and for global viewers
	// Processor is the registered processor a vendor or viewer acts for:
	// it then sees that processor's breaches only. Empty: the default
	// processor, whose vendors and global viewers see every breach.
	Processor breach.ProcessorID
	Role      Role
	TokenID   string // for tokens; "cert:<serial>" for certificates
	Label     string // a token's label
	Subject   string // a certificate's subject
}

// Principal is who a caller is, as recorded in what it changes (see
// breach.Principal): the handlers get it from the context with
// PrincipalFrom.
type Principal = breach.Principal

// Principal is the identity as recorded: never a secret.
func (id Identity) Principal() Principal {
	switch {
	case id.Role == roleDev:
		return breach.AnonymousPrincipal
	case strings.HasPrefix(id.TokenID, certPrefix):
		return Principal{Kind: breach.PrincipalCertificate, ID: id.TokenID, Role: string(id.Role), Org: id.Org, Subject: id.Subject}
	}
	return Principal{Kind: breach.PrincipalToken, ID: id.TokenID, Label: id.Label, Role: string(id.Role), Org: id.Org, Processor: id.Processor}
}

// PrincipalFrom returns the principal of the caller whose call ctx is,
// set by the guard's interceptors; ok is false outside a guarded call.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	id, ok := FromContext(ctx)
	if !ok {
		return Principal{}, false
	}
	return id.Principal(), true
}

// String is safe to log: it never contains a secret.
func (id Identity) String() string {
	s := string(id.Role)
	if id.Org != "" {
		s += "@" + string(id.Org)
	}
	if id.Processor != "" {
		s += " of processor " + string(id.Processor)
	}
	if id.TokenID != "" {
		s += " (" + id.TokenID + ")"
	}
	return s
}

// InsecureNoAuth reports whether the identity is that of every call when
// authentication is off (--insecure-no-auth): nobody was authenticated.
func (id Identity) InsecureNoAuth() bool { return id.Role == roleDev }

// Scoped reports whether the caller sees one organisation only (a
// controller, or a viewer with an organisation).
func (id Identity) Scoped() bool { return scoped(id) }

// ProcessorScoped reports whether the caller acts for one registered
// processor (a vendor or viewer token of it) and sees its breaches only.
func (id Identity) ProcessorScoped() bool { return id.Processor != "" }

type ctxKey struct{}

// FromContext returns the caller's identity, set by the interceptors.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(Identity)
	return id, ok
}

func withIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// Tokens issues and checks bearer tokens; only their SHA-256 is stored,
// in a record that carries a MAC under a key derived from the deployment
// secret (store.Token): a record Cascade did not write never authenticates.
type Tokens struct {
	st  *store.Store
	now func() time.Time
	mac []byte
	log *slog.Logger
}

// NewTokens returns the token manager over st. macKey (32 bytes) is
// derived from the deployment secret for store.TokenMACPurpose; log (nil:
// none) gets a warning for every record that fails its MAC.
func NewTokens(st *store.Store, now func() time.Time, macKey []byte, log *slog.Logger) (*Tokens, error) {
	if len(macKey) != 32 {
		return nil, fmt.Errorf("auth: token MAC key of %d bytes, want 32 (derived from the deployment secret)", len(macKey))
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Tokens{st: st, now: now, mac: macKey, log: log}, nil
}

// tokenPrefix marks Cascade tokens (so secret scanners can find leaked ones).
const tokenPrefix = "cas_"

func hashOf(secret string) (id, hash string) {
	h := sha256.Sum256([]byte(secret))
	full := hex.EncodeToString(h[:])
	return full[:16], full
}

// Issue creates a token for org and role and returns the secret (shown
// once). It records no issuer: it is for the bootstrap token.
func (t *Tokens) Issue(ctx context.Context, org breach.OrgID, role Role, label string) (string, *store.Token, error) {
	return t.IssueBy(ctx, Grant{Org: org, Role: role, Label: label}, nil, nil)
}

// Grant is what a token is issued for.
type Grant struct {
	Org       breach.OrgID       // the organisation it acts for (controllers, scoped viewers)
	Processor breach.ProcessorID // the registered processor it acts for (vendors, unscoped viewers)
	Role      Role
	Label     string
}

// IssueBy is Issue for a token issued by principal by. A token that acts
// for an organisation (a controller's, or a viewer's of one organisation)
// can be issued only for an organisation in the registry (else an error
// wrapping breach.ErrNotFound). tell, if not nil, is called with the token
// (never the secret) before it is stored, so that the token works only
// once it has been told (to its organisation); its error is returned and
// the token is not stored. A token for a processor is a vendor's or a
// viewer's without an organisation, of a processor in the processor
// registry: a controller's token, and a viewer's of one organisation,
// see what every processor sent that organisation, so they belong to none.
func (t *Tokens) IssueBy(ctx context.Context, g Grant, by *Principal,
	tell func(context.Context, store.Token) error) (string, *store.Token, error) {
	org, role, label := g.Org, g.Role, g.Label
	if g.Processor != "" {
		if !g.Processor.Valid() {
			return "", nil, breach.Invalid("processor_id", "pattern", "processor id %q does not match %s", g.Processor, breach.ProcessorIDPattern)
		}
		if role == RoleController || org != "" && role != RoleVendor {
			return "", nil, breach.Invalid("processor_id", "not_for_role",
				"a controller's token, or a viewer's of one organisation, sees what every processor sent it, so it belongs to no processor")
		}
		if _, err := t.st.GetProcessor(ctx, g.Processor); errors.Is(err, breach.ErrNotFound) {
			return "", nil, fmt.Errorf("processor %s is not in the processor registry: %w", g.Processor, breach.ErrNotFound)
		} else if err != nil {
			return "", nil, err
		}
	}
	if role == RoleController && org == "" {
		return "", nil, breach.Invalid("org_id", "required", "a controller token needs org_id")
	}
	if org != "" && !org.Valid() {
		return "", nil, breach.Invalid("org_id", "pattern", "organisation id %q does not match %s", org, breach.OrgIDPattern)
	}
	if len(label) > breach.MaxShortText {
		return "", nil, breach.Invalid("label", "too_long", "label has more than %d characters", breach.MaxShortText)
	}
	if err := breach.CheckText("label", label, false); err != nil {
		return "", nil, err
	}
	if role == RoleVendor {
		org = ""
	}
	if org != "" {
		if _, err := t.st.GetOrg(ctx, org); errors.Is(err, breach.ErrNotFound) {
			return "", nil, fmt.Errorf("organisation %s is not in the registry: a token can act only for an organisation in the registry: %w",
				org, breach.ErrNotFound)
		} else if err != nil {
			return "", nil, err
		}
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, err
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	id, hash := hashOf(secret)
	tok := store.Token{ID: id, Hash: hash, Org: org, Processor: g.Processor, Role: string(role), Label: label, IssuedAt: t.now(), IssuedBy: by}
	if tell != nil {
		if err := tell(ctx, tok); err != nil {
			return "", nil, err
		}
	}
	if err := t.st.PutToken(ctx, &tok, t.mac); err != nil {
		return "", nil, err
	}
	return secret, &tok, nil
}

// errUnauthenticated is what every failed authentication says: it never
// tells a wrong token from a revoked one, and never echoes the token.
var errUnauthenticated = errors.New("invalid or revoked token")

// Check returns the identity of a bearer token.
func (t *Tokens) Check(ctx context.Context, secret string) (Identity, error) {
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 100 {
		return Identity{}, errUnauthenticated
	}
	id, hash := hashOf(secret)
	tok, rev, err := t.st.GetToken(ctx, id)
	if errors.Is(err, breach.ErrNotFound) {
		return Identity{}, errUnauthenticated
	}
	if err != nil {
		return Identity{}, err
	}
	if err := tok.CheckMAC(t.mac, rev); err != nil || tok.ID != id {
		if err == nil {
			err = fmt.Errorf("record under id %s says id %q", id, tok.ID)
		}
		t.log.Warn("token record refused: written or changed outside Cascade (or by a daemon with another deployment secret)",
			"token_id", id, "reason", err.Error())
		return Identity{}, errUnauthenticated
	}
	if subtle.ConstantTimeCompare([]byte(tok.Hash), []byte(hash)) != 1 || !tok.RevokedAt.IsZero() {
		return Identity{}, errUnauthenticated
	}
	return Identity{Org: tok.Org, Processor: tok.Processor, Role: Role(tok.Role), TokenID: tok.ID, Label: tok.Label}, nil
}

// Revoke marks the token revoked (idempotent); later checks of it fail.
func (t *Tokens) Revoke(ctx context.Context, id string, by *Principal) (*store.Token, error) {
	return t.st.RevokeToken(ctx, id, t.now(), by, t.mac)
}

// SignUnsigned gives a MAC to the token records of versions before the
// deployment secret (run at the first start with one) and returns how
// many it signed.
func (t *Tokens) SignUnsigned(ctx context.Context) (int, error) {
	return t.st.SignUnsignedTokens(ctx, t.mac)
}

// Any reports whether any token exists (to bootstrap the first one).
func (t *Tokens) Any(ctx context.Context) (bool, error) {
	ts, err := t.st.ListTokens(ctx)
	return len(ts) > 0, err
}
