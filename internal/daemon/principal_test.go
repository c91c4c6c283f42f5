package daemon_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/status"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/message"
	"github.com/cascadehq/cascade/internal/signing"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// keySet is the daemon's published signing keys.
func keySet(t *testing.T, e *env, token string) signing.KeySet {
	t.Helper()
	ks, err := cascadev1.NewKeyServiceClient(grpcConn(t, e.d.GRPCAddr())).ListSigningKeys(withToken(ctx(t), token), &cascadev1.ListSigningKeysRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var set signing.KeySet
	for _, k := range ks.GetKeys() {
		set.Keys = append(set.Keys, signing.PublicKey{ID: k.GetKeyId(), Algorithm: k.GetAlgorithm(), Public: k.GetPublicKey(),
			CreatedAt: k.GetCreatedAt().AsTime(), Active: k.GetActive()})
	}
	return set
}

// lastTokenMessage is the last message on org's subject, which must be a
// token message that verifies against the published keys.
func lastTokenMessage(t *testing.T, e *env, org string, set signing.KeySet) (*jetstream.RawStreamMsg, message.Token) {
	t.Helper()
	notices, err := e.js.Stream(ctx(t), "CASCADE_NOTICES")
	if err != nil {
		t.Fatal(err)
	}
	m, err := notices.GetLastMsgForSubject(ctx(t), "cascade.notice."+org)
	if err != nil {
		t.Fatalf("no message to %s: %v", org, err)
	}
	if _, err := signing.Verify(set, m.Subject, m.Header, m.Data, time.Now()); err != nil {
		t.Fatalf("token message to %s does not verify: %v", org, err)
	}
	if _, err := signing.Verify(set, "cascade.notice.se-kommun-1480", m.Header, m.Data, time.Now()); !errors.Is(err, signing.ErrBadSignature) {
		t.Fatalf("replayed to another organisation: %v", err)
	}
	var tm message.Token
	if err := json.Unmarshal(m.Data, &tm); err != nil {
		t.Fatal(err)
	}
	if got := m.Header.Get("Cascade-Notice-Id"); got != "_token/"+org {
		t.Errorf("Cascade-Notice-Id = %q", got)
	}
	return m, tm
}

// TestPrincipalRecorded: changes made over gRPC with a controller token
// record that token (id, label, role, organisation) beside the typed name,
// in the history, the evidence export and the token list; a token acting
// for an organisation is issued only for one in the registry, and the
// organisation is told of it, and of its revocation, by a signed message
// that holds no secret.
func TestPrincipalRecorded(t *testing.T) {
	opts := options(t)
	opts.InsecureNoAuth = false
	e := start(t, opts)
	raw, err := os.ReadFile(filepath.Join(opts.DataDir, "vendor.token"))
	if err != nil {
		t.Fatal(err)
	}
	vendor := strings.TrimSpace(string(raw))
	e.useToken(vendor)
	cc := grpcConn(t, e.d.GRPCAddr())
	tokens, ns := cascadev1.NewTokenServiceClient(cc), cascadev1.NewNoticeServiceClient(cc)
	asVendor := withToken(ctx(t), vendor)
	const org = "se-kommun-0180"
	set := keySet(t, e, vendor)

	// Unknown organisations get no token, and nothing is published to them.
	for _, role := range []cascadev1.Role{cascadev1.Role_ROLE_CONTROLLER, cascadev1.Role_ROLE_VIEWER} {
		_, err := tokens.IssueToken(asVendor, &cascadev1.IssueTokenRequest{OrgId: "se-kommun-9999", Role: role, Label: "x"})
		if s := status.Convert(err); s.Code().String() != "NotFound" || !strings.Contains(s.Message(), "organisation se-kommun-9999 is not in the registry") {
			t.Errorf("%s token for an unknown organisation: %v", role, err)
		}
	}
	notices, err := e.js.Stream(ctx(t), "CASCADE_NOTICES")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := notices.GetLastMsgForSubject(ctx(t), "cascade.notice.se-kommun-9999"); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Errorf("a message to an unknown organisation: %v", err)
	}

	issued, err := tokens.IssueToken(asVendor, &cascadev1.IssueTokenRequest{OrgId: org, Role: cascadev1.Role_ROLE_CONTROLLER, Label: "DPO laptop"})
	if err != nil {
		t.Fatal(err)
	}
	ctrl, tokID := issued.GetToken(), issued.GetInfo().GetTokenId()
	var vendorID string
	list, err := tokens.ListTokens(asVendor, &cascadev1.ListTokensRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range list.GetTokens() {
		if ti.GetLabel() == "bootstrap" {
			vendorID = ti.GetTokenId()
		}
		if ti.GetTokenId() == tokID {
			if by := ti.GetIssuedBy(); by.GetKind() != "token" || by.GetRole() != "vendor" || by.GetId() == "" {
				t.Errorf("issued_by = %v", by)
			}
		}
	}

	// The organisation is told, signed, without the secret.
	m, tm := lastTokenMessage(t, e, org, set)
	if m.Header.Get("Cascade-Event") != "token_issued" || tm.Event != "token_issued" || tm.TokenID != tokID || tm.Label != "DPO laptop" ||
		tm.Role != "controller" || tm.OrgID != org || tm.By.Kind != breach.PrincipalToken || tm.By.ID != vendorID || tm.By.Role != "vendor" ||
		tm.IssuedAt.IsZero() || tm.SentAt.IsZero() {
		t.Errorf("token_issued message: %s %+v (vendor token %s)", m.Header.Get("Cascade-Event"), tm, vendorID)
	}
	if strings.Contains(string(m.Data), ctrl) || strings.Contains(string(m.Data), strings.TrimPrefix(ctrl, "cas_")) ||
		strings.Contains(string(m.Data), vendor) {
		t.Fatal("the token message holds a secret")
	}

	// A notice, acknowledged and resolved with the controller token.
	e.publish(report("PRIN-1", org))
	e.waitSummary("PRIN-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 1 })
	asCtrl := withToken(ctx(t), ctrl)
	id := "PRIN-1/" + org
	if _, err := ns.AcknowledgeNotice(asCtrl, &cascadev1.AcknowledgeNoticeRequest{NoticeId: id, AcknowledgedBy: "Anyone At All"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ns.RecordNotReportable(asCtrl, &cascadev1.RecordNotReportableRequest{NoticeId: id, RecordedBy: "Someone Else",
		Justification: "Encrypted at rest; the key was not taken."}); err != nil {
		t.Fatal(err)
	}
	h, err := ns.GetNoticeHistory(asCtrl, &cascadev1.GetNoticeHistoryRequest{NoticeId: id})
	if err != nil {
		t.Fatal(err)
	}
	byEvent := map[string]*cascadev1.NoticeEvent{}
	for _, ev := range h.GetEvents() {
		byEvent[ev.GetEvent()] = ev
	}
	for _, name := range []string{"acknowledged", "outcome_recorded"} {
		p := byEvent[name].GetPrincipal()
		if p.GetKind() != "token" || p.GetId() != tokID || p.GetLabel() != "DPO laptop" || p.GetRole() != "controller" || p.GetOrgId() != org ||
			p.GetSubject() != "" || p.GetDisplay() != `token `+tokID+` "DPO laptop" (controller@`+org+`)` {
			t.Errorf("%s: principal %v", name, p)
		}
	}
	if byEvent["acknowledged"].GetActor() != "Anyone At All" {
		t.Errorf("the typed name is not kept: %q", byEvent["acknowledged"].GetActor())
	}
	if p := byEvent["delivered"].GetPrincipal(); p != nil {
		t.Errorf("Cascade's own delivery has a principal: %v", p)
	}

	// The evidence export has it, in JSON and CSV.
	ex, err := ns.ExportEvidence(asCtrl, &cascadev1.ExportEvidenceRequest{OrgId: org})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ex.GetJson()), `"id": "`+tokID+`"`) || !strings.Contains(string(ex.GetJson()), `"label": "DPO laptop"`) {
		t.Errorf("the JSON export lacks the principal:\n%s", ex.GetJson())
	}
	if !strings.Contains(string(ex.GetCsv()), `token `+tokID+` ""DPO laptop"" (controller@`+org+`)`) {
		t.Errorf("the CSV export lacks the principal:\n%s", ex.GetCsv())
	}

	// Revoking it is told the same way.
	if _, err := tokens.RevokeToken(asVendor, &cascadev1.RevokeTokenRequest{TokenId: tokID}); err != nil {
		t.Fatal(err)
	}
	m, tm = lastTokenMessage(t, e, org, set)
	if m.Header.Get("Cascade-Event") != "token_revoked" || tm.TokenID != tokID || tm.RevokedAt.IsZero() || tm.By.ID != vendorID {
		t.Errorf("token_revoked message: %s %+v", m.Header.Get("Cascade-Event"), tm)
	}
	list, err = tokens.ListTokens(asVendor, &cascadev1.ListTokensRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range list.GetTokens() {
		if ti.GetTokenId() == tokID && ti.GetRevokedBy().GetId() != vendorID {
			t.Errorf("revoked_by = %v", ti.GetRevokedBy())
		}
	}
	// Tokens that act for no organisation tell nobody.
	before, err := notices.Info(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.IssueToken(asVendor, &cascadev1.IssueTokenRequest{Role: cascadev1.Role_ROLE_VIEWER, Label: "auditor"}); err != nil {
		t.Fatal(err)
	}
	if after, err := notices.Info(ctx(t)); err != nil || after.State.Msgs != before.State.Msgs {
		t.Errorf("a global viewer's token was told to someone: %d -> %d messages (%v)", before.State.Msgs, after.State.Msgs, err)
	}
}

// TestPrincipalWithoutAuthentication: with --insecure-no-auth nobody is
// authenticated, and the history says so.
func TestPrincipalWithoutAuthentication(t *testing.T) {
	e := start(t, options(t))
	e.publish(report("ANON-1", "se-kommun-0180"))
	e.waitSummary("ANON-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 1 })
	id := "ANON-1/se-kommun-0180"
	if _, err := e.noticeC.AcknowledgeNotice(ctx(t), &cascadev1.AcknowledgeNoticeRequest{NoticeId: id, AcknowledgedBy: "dpo"}); err != nil {
		t.Fatal(err)
	}
	h, err := e.noticeC.GetNoticeHistory(ctx(t), &cascadev1.GetNoticeHistoryRequest{NoticeId: id})
	if err != nil {
		t.Fatal(err)
	}
	last := h.GetEvents()[len(h.GetEvents())-1]
	if p := last.GetPrincipal(); last.GetEvent() != "acknowledged" || p.GetKind() != "anonymous" || p.GetDisplay() != "anonymous (insecure-no-auth)" ||
		p.GetId() != "" || p.GetRole() != "" {
		t.Errorf("%s: principal %v", last.GetEvent(), p)
	}
}
