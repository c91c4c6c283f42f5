package daemon_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/signing"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// TestNoticesAreSigned: what an organisation receives verifies against the
// published keys; a changed byte or a replay to another organisation does not.
func TestNoticesAreSigned(t *testing.T) {
	e := start(t, options(t))
	e.publish(report("SIG-1", "se-kommun-0180", "se-kommun-1480"))
	e.waitSummary("SIG-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 2 })
	ks, err := cascadev1.NewKeyServiceClient(grpcConn(t, e.d.GRPCAddr())).ListSigningKeys(ctx(t), &cascadev1.ListSigningKeysRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var set signing.KeySet
	for _, k := range ks.GetKeys() {
		set.Keys = append(set.Keys, signing.PublicKey{ID: k.GetKeyId(), Algorithm: k.GetAlgorithm(), Public: k.GetPublicKey(), CreatedAt: k.GetCreatedAt().AsTime(), Active: k.GetActive()})
	}
	notices, err := e.js.Stream(ctx(t), "CASCADE_NOTICES")
	if err != nil {
		t.Fatal(err)
	}
	m, err := notices.GetLastMsgForSubject(ctx(t), "cascade.notice.se-kommun-0180")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(m.Data), "se-kommun-1480") {
		t.Fatal("a notice names another affected organisation")
	}
	now := time.Now()
	if kid, err := signing.Verify(set, m.Subject, m.Header, m.Data, now); err != nil || kid != set.Keys[0].ID {
		t.Fatalf("genuine notice: %q, %v", kid, err)
	}
	tampered := append([]byte(nil), m.Data...)
	tampered[len(tampered)/2] ^= 1
	if _, err := signing.Verify(set, m.Subject, m.Header, tampered, now); !errors.Is(err, signing.ErrBadSignature) {
		t.Fatalf("tampered notice: %v", err)
	}
	if _, err := signing.Verify(set, "cascade.notice.se-kommun-1480", m.Header, m.Data, now); !errors.Is(err, signing.ErrBadSignature) {
		t.Fatalf("replayed to another organisation: %v", err)
	}
	// The key set is also published on cascade.keys.
	keys, err := e.js.Stream(ctx(t), "CASCADE_KEYS")
	if err != nil {
		t.Fatal(err)
	}
	km, err := keys.GetLastMsgForSubject(ctx(t), "cascade.keys")
	if err != nil {
		t.Fatal(err)
	}
	published, err := signing.ParseKeySet(km.Data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signing.Verify(published, m.Subject, m.Header, m.Data, now); err != nil {
		t.Fatalf("verify with the published set: %v", err)
	}
}
