package daemon_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/natstest"
	"github.com/cascadehq/cascade/internal/secret"
	"github.com/cascadehq/cascade/internal/signing"
	"github.com/cascadehq/cascade/internal/store"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

var sharedSecrets sync.Map // *testing.T -> path

// sharedSecret is a deployment secret file shared by every daemon that the
// test t starts (daemons on one NATS store need the same secret).
func sharedSecret(t *testing.T) string {
	t.Helper()
	if p, ok := sharedSecrets.Load(t); ok {
		return p.(string)
	}
	return newSecret(t, &sharedSecrets)
}

// newSecret creates a secret file; with m, remembered as t's shared one.
func newSecret(t *testing.T, m *sync.Map) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret.key")
	if _, err := secret.Load(p, true); err != nil {
		t.Fatal(err)
	}
	if m != nil {
		if prev, loaded := m.LoadOrStore(t, p); loaded {
			return prev.(string)
		}
		t.Cleanup(func() { m.Delete(t) })
	}
	return p
}

// externalOptions are a daemon's options on srv with the secret file sf,
// authentication on.
func externalOptions(t *testing.T, srv *natstest.Server, sf string, log *slog.Logger) daemon.Options {
	return daemon.Options{NATSURL: srv.ClientURL(), InsecureNATSNoAuth: true, SecretFile: sf, GRPCAddr: "127.0.0.1:0", Deadline: 72 * time.Hour,
		OrgsFile: exampleOrgs, Log: log, BootstrapTokenFile: filepath.Join(t.TempDir(), "vendor.token")}
}

// tokenClients are gRPC clients of d.
func tokenClients(t *testing.T, d *daemon.Daemon) (cascadev1.TokenServiceClient, cascadev1.KeyServiceClient) {
	t.Helper()
	cc, err := grpc.NewClient(d.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cascadev1.NewTokenServiceClient(cc), cascadev1.NewKeyServiceClient(cc)
}

// vendorToken is the bootstrap vendor token of a daemon with a data dir.
func vendorToken(t *testing.T, opts daemon.Options) string {
	t.Helper()
	return strings.TrimSpace(string(readFile(t, filepath.Join(opts.DataDir, "vendor.token"))))
}

// allKVRecords is every stored message of every KV bucket, raw, as any
// reader of the buckets gets them.
func allKVRecords(t *testing.T, js jetstream.JetStream) [][]byte {
	t.Helper()
	var out [][]byte
	names := js.StreamNames(ctx(t))
	for name := range names.Name() {
		if !strings.HasPrefix(name, "KV_") {
			continue
		}
		s, err := js.Stream(ctx(t), name)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
			m, err := s.GetMsg(ctx(t), seq)
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, m.Data)
		}
	}
	if err := names.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// decodedStrings returns every JSON string in data decoded from base64 or
// hex, and whether data is JSON at all.
func decodedStrings(data []byte) (blobs [][]byte, isJSON bool) {
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		case string:
			for _, dec := range []func(string) ([]byte, error){base64.StdEncoding.DecodeString, base64.RawURLEncoding.DecodeString, hex.DecodeString} {
				if b, err := dec(v); err == nil {
					blobs = append(blobs, b)
				}
			}
		}
	}
	v := any(nil)
	if json.Unmarshal(data, &v) != nil {
		return nil, false
	}
	walk(v)
	return blobs, true
}

// privateKeysIn returns the Ed25519 private keys in data whose public key
// is one of pub: any 32 bytes at any offset taken as a seed, of every JSON
// string in data decoded from base64 or hex, or of data itself if it is
// not JSON.
func privateKeysIn(data []byte, pub map[string]bool) []ed25519.PrivateKey {
	blobs, isJSON := decodedStrings(data)
	if !isJSON {
		blobs = append(blobs, data)
	}
	var found []ed25519.PrivateKey
	for _, b := range blobs {
		for i := 0; i+ed25519.SeedSize <= len(b); i++ {
			k := ed25519.NewKeyFromSeed(b[i : i+ed25519.SeedSize])
			if pub[string(k.Public().(ed25519.PublicKey))] {
				found = append(found, k)
			}
		}
	}
	return found
}

// TestBucketReadersCannotSign: a reader of every KV bucket (the private
// keys' included) finds no private key of the published key set, so
// cannot sign a message that verifies; the detector itself finds a key
// stored as older versions did.
func TestBucketReadersCannotSign(t *testing.T) {
	e := start(t, options(t))
	keys, err := cascadev1.NewKeyServiceClient(mustClient(t, e.d)).ListSigningKeys(ctx(t), &cascadev1.ListSigningKeysRequest{})
	if err != nil {
		t.Fatal(err)
	}
	set, err := signing.ParseKeySet(must(protoKeySetJSON(keys)))
	if err != nil {
		t.Fatal(err)
	}
	pub := map[string]bool{}
	for _, k := range set.Keys {
		pub[string(k.Public)] = true
	}
	records := allKVRecords(t, e.js)
	var sawKeys bool
	for _, r := range records {
		sawKeys = sawKeys || bytes.Contains(r, []byte(`"sealed_private_key"`))
		for _, k := range privateKeysIn(r, pub) {
			// It would sign a message that verifies:
			t.Fatalf("a private key of the published set (public %x) is readable in a bucket record", k.Public())
		}
	}
	if !sawKeys {
		t.Fatalf("the %d records read hold no signing key record at all: the test reads the wrong thing", len(records))
	}
	// The detector finds a key stored in clear.
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	plain, _ := json.Marshal(map[string]any{"keys": []any{map[string]any{"private_key": priv.Seed()}}})
	if got := privateKeysIn(plain, map[string]bool{string(priv.Public().(ed25519.PublicKey)): true}); len(got) != 1 {
		t.Fatalf("the detector misses a private key in clear: %d found", len(got))
	}
	// The secret is created owner-only in the data dir.
	fi, err := os.Stat(filepath.Join(e.opts.DataDir, "secret.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret.key: %v, %v; want mode 0600", fi, err)
	}
}

func mustClient(t *testing.T, d *daemon.Daemon) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(d.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// protoKeySetJSON is the key set of ListSigningKeys in its published form.
func protoKeySetJSON(r *cascadev1.ListSigningKeysResponse) ([]byte, error) {
	var ks signing.KeySet
	for _, k := range r.GetKeys() {
		p := signing.PublicKey{ID: k.GetKeyId(), Algorithm: k.GetAlgorithm(), Public: k.GetPublicKey(), CreatedAt: k.GetCreatedAt().AsTime(), Active: k.GetActive()}
		if k.GetExpiresAt() != nil {
			p.ExpiresAt = k.GetExpiresAt().AsTime()
		}
		ks.Keys = append(ks.Keys, p)
	}
	return json.Marshal(ks)
}

// chosenToken is a token secret an attacker picks, with its id and hash.
func chosenToken() (secret, id, hash string) {
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	secret = "cas_" + base64.RawURLEncoding.EncodeToString(raw[:])
	h := sha256.Sum256([]byte(secret))
	hash = hex.EncodeToString(h[:])
	return secret, hash[:16], hash
}

// TestWrittenTokenRecordDoesNotAuthenticate: a writer of cascade-tokens
// who puts a record for a secret of their choosing (with the right
// SHA-256) gets Unauthenticated over gRPC, whatever MAC it carries, and
// the daemon warns naming the token id, never the secret.
func TestWrittenTokenRecordDoesNotAuthenticate(t *testing.T) {
	logs := &syncBuffer{}
	opts := options(t)
	opts.InsecureNoAuth = false
	opts.Log = slog.New(slog.NewTextHandler(io.MultiWriter(logs, testWriter(t)), nil))
	e := start(t, opts)
	vendor := vendorToken(t, opts)
	tokens, _ := tokenClients(t, e.d)
	if _, err := tokens.ListTokens(withToken(ctx(t), vendor), &cascadev1.ListTokensRequest{}); err != nil {
		t.Fatalf("the genuine vendor token: %v", err)
	}
	kv, err := e.js.KeyValue(ctx(t), store.BucketTokens)
	if err != nil {
		t.Fatal(err)
	}
	// A genuine record, to copy its MAC from.
	var genuine store.Token
	names, _ := kv.ListKeys(ctx(t))
	for k := range names.Keys() {
		en, err := kv.Get(ctx(t), k)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(en.Value(), &genuine); err != nil {
			t.Fatal(err)
		}
	}
	if genuine.MAC == "" {
		t.Fatal("the genuine record has no MAC")
	}
	for name, mac := range map[string]string{"no MAC": "", "made-up MAC": strings.Repeat("ab", 32), "another record's MAC": genuine.MAC,
		"not hex": "zz"} {
		t.Run(name, func(t *testing.T) {
			sec, id, hash := chosenToken()
			rec := store.Token{ID: id, Hash: hash, Role: "vendor", Label: "planted", IssuedAt: time.Now(), Rev: genuine.Rev, MAC: mac}
			data, _ := json.Marshal(rec)
			if _, err := kv.Put(ctx(t), id, data); err != nil {
				t.Fatal(err)
			}
			_, err := tokens.ListTokens(withToken(ctx(t), sec), &cascadev1.ListTokensRequest{})
			wantCode(t, err, "Unauthenticated")
			_, err = tokens.IssueToken(withToken(ctx(t), sec), &cascadev1.IssueTokenRequest{Role: cascadev1.Role_ROLE_VENDOR})
			wantCode(t, err, "Unauthenticated")
			out := logs.String()
			if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "token record refused") || !strings.Contains(out, "token_id="+id) {
				t.Errorf("no warning naming token %s:\n%s", id, out)
			}
			if strings.Contains(out, sec) || strings.Contains(out, hash) {
				t.Fatal("the log shows the token's secret or hash")
			}
		})
	}
	// The genuine token is unaffected.
	if _, err := tokens.ListTokens(withToken(ctx(t), vendor), &cascadev1.ListTokensRequest{}); err != nil {
		t.Fatalf("the genuine vendor token after the attempts: %v", err)
	}
}

// TestRevokedTokenStaysRevoked: rewriting a revoked token's record as not
// revoked, or putting back its record from before the revocation (whose
// MAC was genuine), does not make it authenticate again.
func TestRevokedTokenStaysRevoked(t *testing.T) {
	opts := options(t)
	opts.InsecureNoAuth = false
	e := start(t, opts)
	vendor := vendorToken(t, opts)
	tokens, _ := tokenClients(t, e.d)
	issued, err := tokens.IssueToken(withToken(ctx(t), vendor), &cascadev1.IssueTokenRequest{Role: cascadev1.Role_ROLE_VIEWER, Label: "to revoke"})
	if err != nil {
		t.Fatal(err)
	}
	tok, id := issued.GetToken(), issued.GetInfo().GetTokenId()
	bs := cascadev1.NewBreachServiceClient(mustClient(t, e.d))
	if _, err := bs.ListBreaches(withToken(ctx(t), tok), &cascadev1.ListBreachesRequest{}); err != nil {
		t.Fatalf("before revocation: %v", err)
	}
	kv, err := e.js.KeyValue(ctx(t), store.BucketTokens)
	if err != nil {
		t.Fatal(err)
	}
	before, err := kv.Get(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.RevokeToken(withToken(ctx(t), vendor), &cascadev1.RevokeTokenRequest{TokenId: id}); err != nil {
		t.Fatal(err)
	}
	revoked, err := kv.Get(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(revoked.Value(), &rec); err != nil {
		t.Fatal(err)
	}
	if _, ok := rec["revoked_at"]; !ok {
		t.Fatalf("revoked record without revoked_at: %s", revoked.Value())
	}
	delete(rec, "revoked_at")
	unrevoked, _ := json.Marshal(rec)
	for name, data := range map[string][]byte{"revoked_at removed": unrevoked, "record from before the revocation": before.Value(),
		"revoked record put again": revoked.Value()} {
		if _, err := kv.Put(ctx(t), id, data); err != nil {
			t.Fatal(err)
		}
		_, err := bs.ListBreaches(withToken(ctx(t), tok), &cascadev1.ListBreachesRequest{})
		if err == nil {
			t.Fatalf("%s: the revoked token authenticates", name)
		}
		wantCode(t, err, "Unauthenticated")
	}
	// Revoking again repairs the record; the token stays revoked.
	if _, err := tokens.RevokeToken(withToken(ctx(t), vendor), &cascadev1.RevokeTokenRequest{TokenId: id}); err != nil {
		t.Fatal(err)
	}
	_, err = bs.ListBreaches(withToken(ctx(t), tok), &cascadev1.ListBreachesRequest{})
	wantCode(t, err, "Unauthenticated")
}

// oldStore fills srv as a version before the deployment secret left it: a
// signing key in clear and two token records without a MAC (a vendor
// token and a revoked one). It returns the key and the vendor secret.
func oldStore(t *testing.T, srv *natstest.Server) (ed25519.PrivateKey, string) {
	t.Helper()
	js, err := jetstream.New(srv.Connect())
	if err != nil {
		t.Fatal(err)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	pub := priv.Public().(ed25519.PublicKey)
	keyRec, _ := json.Marshal(map[string]any{"keys": []any{map[string]any{"key_id": signing.KeyID(pub), "algorithm": "ed25519",
		"public_key": []byte(pub), "created_at": time.Now().UTC().Truncate(time.Second), "active": true, "private_key": priv.Seed()}}})
	kvKeys, err := js.CreateKeyValue(ctx(t), jetstream.KeyValueConfig{Bucket: signing.BucketKeys, History: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kvKeys.Put(ctx(t), "active", keyRec); err != nil {
		t.Fatal(err)
	}
	kvTok, err := js.CreateKeyValue(ctx(t), jetstream.KeyValueConfig{Bucket: store.BucketTokens, History: 1})
	if err != nil {
		t.Fatal(err)
	}
	vendor, id, hash := chosenToken()
	_, rid, rhash := chosenToken()
	for _, tok := range []store.Token{
		{ID: id, Hash: hash, Role: "vendor", Label: "old", IssuedAt: time.Now()},
		{ID: rid, Hash: rhash, Role: "vendor", Label: "old revoked", IssuedAt: time.Now(), RevokedAt: time.Now()},
	} {
		data, _ := json.Marshal(tok)
		if _, err := kvTok.Put(ctx(t), tok.ID, data); err != nil {
			t.Fatal(err)
		}
	}
	return priv, vendor
}

// TestSecretMigration: the first start with a secret seals the signing key
// an older version stored in clear and gives the token records a MAC,
// logging each once; the same key signs on and the same tokens work. Then
// a key in clear or a token record without a MAC written later is refused.
func TestSecretMigration(t *testing.T) {
	srv := natstest.Start(t)
	priv, vendor := oldStore(t, srv)
	sf := newSecret(t, nil)
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(logs, testWriter(t)), nil))
	// An upgrade with a given secret file migrates when told to.
	first := externalOptions(t, srv, sf, log)
	first.MigrateUnsealed = true
	d, err := daemon.Start(ctx(t), first)
	if err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "sealed the private signing keys") || !strings.Contains(out, "keys=1") ||
		!strings.Contains(out, "gave a MAC to the token records") || !strings.Contains(out, "tokens=2") {
		t.Errorf("migration not logged with its counts:\n%s", out)
	}
	tokens, keys := tokenClients(t, d)
	if _, err := tokens.ListTokens(withToken(ctx(t), vendor), &cascadev1.ListTokensRequest{}); err != nil {
		t.Fatalf("the old vendor token after the migration: %v", err)
	}
	ks, err := keys.ListSigningKeys(withToken(ctx(t), vendor), &cascadev1.ListSigningKeysRequest{})
	if err != nil {
		t.Fatal(err)
	}
	pubID := signing.KeyID(priv.Public().(ed25519.PublicKey))
	if len(ks.GetKeys()) != 1 || ks.GetKeys()[0].GetKeyId() != pubID || !ks.GetKeys()[0].GetActive() {
		t.Fatalf("keys after the migration: %v; want the old key %s active", ks.GetKeys(), pubID)
	}
	js, err := jetstream.New(srv.Connect())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range allKVRecords(t, js) {
		if len(privateKeysIn(r, map[string]bool{string(priv.Public().(ed25519.PublicKey)): true})) > 0 {
			t.Fatal("the old private key is still readable after the migration")
		}
	}
	d.Stop()

	// A second start migrates nothing.
	logs2 := &syncBuffer{}
	d, err = daemon.Start(ctx(t), externalOptions(t, srv, sf, slog.New(slog.NewTextHandler(io.MultiWriter(logs2, testWriter(t)), nil))))
	if err != nil {
		t.Fatal(err)
	}
	if out := logs2.String(); strings.Contains(out, "sealed the private") || strings.Contains(out, "gave a MAC") {
		t.Errorf("the second start migrated again:\n%s", out)
	}
	// A token record without a MAC, written now, is refused.
	kvTok, err := js.KeyValue(ctx(t), store.BucketTokens)
	if err != nil {
		t.Fatal(err)
	}
	sec, id, hash := chosenToken()
	data, _ := json.Marshal(store.Token{ID: id, Hash: hash, Role: "vendor", IssuedAt: time.Now()})
	if _, err := kvTok.Put(ctx(t), id, data); err != nil {
		t.Fatal(err)
	}
	tokens, _ = tokenClients(t, d)
	_, err = tokens.ListTokens(withToken(ctx(t), sec), &cascadev1.ListTokensRequest{})
	wantCode(t, err, "Unauthenticated")
	d.Stop()
	// So is a signing key in clear: the daemon does not start.
	_, planted, _ := ed25519.GenerateKey(rand.Reader)
	pp := planted.Public().(ed25519.PublicKey)
	keyRec, _ := json.Marshal(map[string]any{"keys": []any{map[string]any{"key_id": signing.KeyID(pp), "algorithm": "ed25519",
		"public_key": []byte(pp), "created_at": time.Now().UTC().Truncate(time.Second), "active": true, "private_key": planted.Seed()}}})
	kvKeys, err := js.KeyValue(ctx(t), signing.BucketKeys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kvKeys.Put(ctx(t), "active", keyRec); err != nil {
		t.Fatal(err)
	}
	_, err = startErr(externalOptions(t, srv, sf, testLogger(t)))
	if err == nil || !strings.Contains(err.Error(), "private key in clear, refused") {
		t.Fatalf("start over a planted key in clear: %v; want refused", err)
	}
}

// TestClaimTamperingMigratesNothing: a writer of the store who deletes the
// secret's claim, or rewrites it as not migrated, and plants a token record
// without a MAC gets no MAC for it at the next start: the deleted claim
// is made again without migrating, the rewritten one is refused.
func TestClaimTamperingMigratesNothing(t *testing.T) {
	srv := natstest.Start(t)
	sf := newSecret(t, nil)
	opts := externalOptions(t, srv, sf, testLogger(t))
	d, err := daemon.Start(ctx(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	d.Stop()
	js, err := jetstream.New(srv.Connect())
	if err != nil {
		t.Fatal(err)
	}
	claims, err := js.KeyValue(ctx(t), daemon.BucketSecret)
	if err != nil {
		t.Fatal(err)
	}
	kvTok, err := js.KeyValue(ctx(t), store.BucketTokens)
	if err != nil {
		t.Fatal(err)
	}
	sec, id, hash := chosenToken()
	data, _ := json.Marshal(store.Token{ID: id, Hash: hash, Role: "vendor", IssuedAt: time.Now()})
	if _, err := kvTok.Put(ctx(t), id, data); err != nil {
		t.Fatal(err)
	}
	// Deleted: made again, nothing migrated.
	if err := claims.Delete(ctx(t), "fingerprint"); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	opts.Log = slog.New(slog.NewTextHandler(io.MultiWriter(logs, testWriter(t)), nil))
	d, err = daemon.Start(ctx(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "gave a MAC") {
		t.Fatalf("a deleted claim made the daemon migrate:\n%s", logs.String())
	}
	tokens, _ := tokenClients(t, d)
	_, err = tokens.ListTokens(withToken(ctx(t), sec), &cascadev1.ListTokensRequest{})
	wantCode(t, err, "Unauthenticated")
	d.Stop()
	// Rewritten as not migrated (the fingerprint is no secret): refused.
	e, err := claims.Get(ctx(t), "fingerprint")
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(e.Value(), &c); err != nil {
		t.Fatal(err)
	}
	c["migrated"] = false
	forged, _ := json.Marshal(c)
	if _, err := claims.Put(ctx(t), "fingerprint", forged); err != nil {
		t.Fatal(err)
	}
	if _, err := startErr(opts); err == nil || !strings.Contains(err.Error(), "changed by someone other than Cascade") {
		t.Fatalf("start over a rewritten claim: %v; want refused", err)
	}
}

// TestAnotherSecretRefused: a daemon whose deployment secret is not the
// store's refuses to start, whether given as --secret-file or created in
// its data dir, and so does a daemon whose secret file is missing or open
// to others; a daemon with the same secret joins.
func TestAnotherSecretRefused(t *testing.T) {
	srv := natstest.Start(t)
	sf := newSecret(t, nil)
	first, err := daemon.Start(ctx(t), externalOptions(t, srv, sf, testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(first.Stop)
	const mismatch = "is not the one this NATS store was set up with"
	_, err = startErr(externalOptions(t, srv, newSecret(t, nil), testLogger(t)))
	if err == nil || !strings.Contains(err.Error(), mismatch) || !strings.Contains(err.Error(), "--secret-file") {
		t.Fatalf("a second daemon with another secret file: %v; want refused", err)
	}
	withDir := externalOptions(t, srv, "", testLogger(t))
	withDir.DataDir = t.TempDir()
	if _, err := startErr(withDir); err == nil || !strings.Contains(err.Error(), mismatch) {
		t.Fatalf("a second daemon with a secret created in its data dir: %v; want refused", err)
	}
	if _, err := os.Stat(filepath.Join(withDir.DataDir, "secret.key")); err != nil {
		t.Errorf("--nats-url without --secret-file: no secret.key in the data dir: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "none.key")
	if _, err := startErr(externalOptions(t, srv, missing, testLogger(t))); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing --secret-file: %v", err)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("a missing --secret-file was created")
	}
	open := newSecret(t, nil)
	if err := os.Chmod(open, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := startErr(externalOptions(t, srv, open, testLogger(t))); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("--secret-file of mode 0644: %v", err)
	}
	noSecret := externalOptions(t, srv, "", testLogger(t))
	if _, err := startErr(noSecret); err == nil || !strings.Contains(err.Error(), "--secret-file") {
		t.Fatalf("--nats-url without --data-dir or --secret-file: %v", err)
	}
	second, err := daemon.Start(ctx(t), externalOptions(t, srv, sf, testLogger(t)))
	if err != nil {
		t.Fatalf("a second daemon with the same secret: %v", err)
	}
	second.Stop()
}

// TestLostSecretRefused: an embedded daemon whose secret.key was lost (a
// new one is created) refuses the data it can no longer vouch for.
func TestLostSecretRefused(t *testing.T) {
	opts := options(t)
	d, err := daemon.Start(ctx(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	d.Stop()
	if err := os.Remove(filepath.Join(opts.DataDir, "secret.key")); err != nil {
		t.Fatal(err)
	}
	if _, err := startErr(opts); err == nil || !strings.Contains(err.Error(), "is not the one this NATS store was set up with") {
		t.Fatalf("restart with a new secret.key: %v; want refused", err)
	}
}
