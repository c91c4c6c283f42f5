package daemon_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/protoconv"
	"github.com/cascadehq/cascade/internal/signing"
	"github.com/cascadehq/cascade/internal/testkit"
	"github.com/cascadehq/cascade/internal/verify"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// The chain of these tests: a hosting provider (the sub-processor) serves
// Alfa Lön, which is, as organisation alfaOrg, its customer; Alfa Lön
// serves 20 municipalities.
const (
	subProc = "drift-hosting"
	alfaOrg = "se-foretag-alfa-lon"
)

// chainRegistry writes the example registry plus alfaOrg, and a processor
// registry of the two processors; it returns the two files.
func chainRegistry(t *testing.T, munis []string) (orgs, procs string) {
	t.Helper()
	dir := t.TempDir()
	ex, err := os.ReadFile(exampleOrgs)
	if err != nil {
		t.Fatal(err)
	}
	header := strings.SplitN(string(ex), "\n", 2)[0]
	row := make([]string, len(strings.Split(header, ",")))
	row[0], row[1] = alfaOrg, "Alfa Lön AB (as a customer)"
	orgs = filepath.Join(dir, "orgs.csv")
	if err := os.WriteFile(orgs, append(ex, []byte(strings.Join(row, ",")+"\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	procs = filepath.Join(dir, "processors.csv")
	csv := "id,name,contact_email,customers,org_id\n" +
		subProc + ",Drift Hosting AB,soc@drift.example," + alfaOrg + ",\n" +
		procA + ",Alfa Lön AB,security@alfa.example," + strings.Join(munis, " ") + "," + alfaOrg + "\n" +
		procB + ",Beta Skolsystem AB,incident@beta.example," + shared + ",\n"
	if err := os.WriteFile(procs, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	return orgs, procs
}

// twentyMunicipalities are 20 organisations of the example registry.
func twentyMunicipalities(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(exampleOrgs)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n")[1:] {
		if id, _, ok := strings.Cut(line, ","); ok && strings.HasPrefix(id, "se-kommun-") && len(out) < 20 {
			out = append(out, id)
		}
	}
	return out
}

func startChain(t *testing.T, munis []string, upstreamKeys ...string) *processorEnv {
	t.Helper()
	opts := options(t)
	opts.InsecureNoAuth = false
	opts.OrgsFile, opts.ProcessorsFile = chainRegistry(t, munis)
	opts.UpstreamKeys = upstreamKeys
	e := start(t, opts)
	return processorsOf(t, e)
}

// processorsOf issues the tokens of a started daemon with processors.
func processorsOf(t *testing.T, e *env) *processorEnv {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(e.opts.DataDir, "vendor.token"))
	if err != nil {
		t.Fatal(err)
	}
	p := &processorEnv{env: e, operator: strings.TrimSpace(string(raw)), cc: grpcConn(t, e.d.GRPCAddr())}
	p.vendorA = p.issue(p.operator, &cascadev1.IssueTokenRequest{Role: cascadev1.Role_ROLE_VENDOR, ProcessorId: procA})
	p.vendorB = p.issue(p.operator, &cascadev1.IssueTokenRequest{Role: cascadev1.Role_ROLE_VENDOR, ProcessorId: procB})
	return p
}

// lastNotice is the last message stored on org's subject, as the
// organisation received it.
func lastNotice(t *testing.T, e *env, org string) breach.SignedMessage {
	t.Helper()
	st, err := e.js.Stream(ctx(t), "CASCADE_NOTICES")
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.GetLastMsgForSubject(ctx(t), "cascade.notice."+org)
	if err != nil {
		t.Fatal(err)
	}
	out := breach.SignedMessage{Subject: m.Subject, Data: m.Data, Headers: map[string][]string{}}
	for k, vs := range m.Header {
		if !strings.HasPrefix(k, "Nats-") {
			out.Headers[k] = vs
		}
	}
	return out
}

// verifyChain checks, offline, what a municipality received from a
// forwarded breach: its own message verifies against its Cascade's keys,
// the upstream message inside it verifies against upstreamKeys and was
// sent to the forwarding processor's organisation, and names the upstream
// notice the forwarded breach says it forwards. It returns the upstream.
func verifyChain(t *testing.T, msg breach.SignedMessage, keys, upstreamKeys signing.KeySet) *breach.Upstream {
	t.Helper()
	res := verify.CheckMessage(signing.SavedMessage{Subject: msg.Subject, Headers: msg.Headers, Data: msg.Data}, verify.FormatSaved, keys, time.Now())
	if !res.Verified {
		t.Fatalf("the municipality's message does not verify: %s %v", res.Reason, res.Err)
	}
	var body struct {
		Breach breach.Report `json:"breach"`
	}
	if err := json.Unmarshal(msg.Data, &body); err != nil {
		t.Fatal(err)
	}
	up := body.Breach.Upstream
	if up == nil {
		t.Fatalf("the forwarded notice carries no upstream: %s", msg.Data)
	}
	claimed := *up
	facts, err := verify.Upstream(up, upstreamKeys, alfaOrg, time.Now())
	if err != nil {
		t.Fatalf("the upstream message does not verify: %v", err)
	}
	if up.Notice != claimed.Notice || up.Revision != claimed.Revision || up.KeyID != claimed.KeyID {
		t.Fatalf("the forwarded breach says it forwards %s rev %d (key %s); its message is %s rev %d (key %s)",
			claimed.Notice, claimed.Revision, claimed.KeyID, up.Notice, up.Revision, up.KeyID)
	}
	if facts.Nature != body.Breach.Nature && !strings.Contains(body.Breach.Nature, facts.Nature) {
		t.Fatalf("the forwarded facts (%q) are not the upstream's (%q)", body.Breach.Nature, facts.Nature)
	}
	return up
}

// TestForwardNotice: a two-step chain in one deployment. The hosting
// provider reports a breach to its customer Alfa Lön; Alfa Lön forwards
// the notice in one step to its 20 municipalities, whose clocks start at
// their own delivery; each municipality's message verifies offline, the
// upstream message inside it too; the hosting provider's update is
// forwarded as a revision; and nobody forwards what is not theirs.
func TestForwardNotice(t *testing.T) {
	munis := twentyMunicipalities(t)
	p := startChain(t, munis)
	vendorS := p.issue(p.operator, &cascadev1.IssueTokenRequest{Role: cascadev1.Role_ROLE_VENDOR, ProcessorId: subProc})
	bs := cascadev1.NewBreachServiceClient(p.cc)
	ns := cascadev1.NewNoticeServiceClient(p.cc)

	// Step 1: the hosting provider tells its customer.
	_, err := bs.ReportBreach(withToken(ctx(t), vendorS), &cascadev1.ReportBreachRequest{Report: &cascadev1.BreachReport{
		Id: "DH-7", Processor: "Drift Hosting AB", Title: "Hypervisor compromise", Nature: "an attacker read virtual machine disks",
		DiscoveredAt: timestamppb.New(time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)), MeasuresTaken: "hosts isolated",
		Affected: []*cascadev1.AffectedOrganisation{{OrgId: alfaOrg}}, Contact: &cascadev1.Contact{Email: "soc@drift.example"}}})
	if err != nil {
		t.Fatal(err)
	}
	p.waitDelivered(vendorS, "DH-7", 1)
	upstreamID := subProc + "__DH-7/" + alfaOrg

	// Nobody else forwards it: B (no org_id), the default vendor, S itself.
	for name, tok := range map[string]string{"B": p.vendorB, "operator": p.operator, "S": vendorS} {
		_, err := bs.ForwardNotice(withToken(ctx(t), tok), &cascadev1.ForwardNoticeRequest{NoticeId: upstreamID, AllCustomers: true})
		if c := status.Code(err); c != codes.FailedPrecondition && c != codes.NotFound {
			t.Fatalf("%s forwards S's notice to Alfa Lön: %v", name, err)
		}
	}

	// Step 2: Alfa Lön forwards it to its municipalities in one call.
	before := time.Now()
	fw, err := bs.ForwardNotice(withToken(ctx(t), p.vendorA), &cascadev1.ForwardNoticeRequest{NoticeId: upstreamID, AllCustomers: true})
	if err != nil {
		t.Fatal(err)
	}
	b := fw.GetBreach()
	if b.GetId() != procA+"__DH-7" || b.GetReport().GetUpstream().GetNoticeId() != upstreamID || b.GetReport().GetProcessor() != "Alfa Lön AB" {
		t.Fatalf("forwarded breach: %s upstream %q processor %q", b.GetId(), b.GetReport().GetUpstream().GetNoticeId(), b.GetReport().GetProcessor())
	}
	if b.GetReport().GetUpstream().GetProcessor() != "Drift Hosting AB" || b.GetReport().GetUpstream().GetProcessorId() != subProc {
		t.Fatalf("upstream processor %q (%q)", b.GetReport().GetUpstream().GetProcessor(), b.GetReport().GetUpstream().GetProcessorId())
	}
	p.waitDelivered(p.vendorA, "DH-7", int64(len(munis)))
	again, err := bs.ForwardNotice(withToken(ctx(t), p.vendorA), &cascadev1.ForwardNoticeRequest{NoticeId: upstreamID, AllCustomers: true})
	if err != nil || !again.GetAlreadyForwarded() {
		t.Fatalf("forwarding again: %v, %v", again, err)
	}

	// Downstream clocks start at downstream delivery.
	n, err := ns.GetNotice(withToken(ctx(t), p.operator), &cascadev1.GetNoticeRequest{NoticeId: procA + "__DH-7/" + munis[0]})
	if err != nil {
		t.Fatal(err)
	}
	if d := n.GetNotice().GetDeliveredAt().AsTime(); d.Before(before.Add(-time.Second)) || !n.GetNotice().GetDeadline().AsTime().Equal(d.Add(72*time.Hour)) {
		t.Fatalf("downstream notice delivered %s deadline %s (forwarded at %s)", d, n.GetNotice().GetDeadline().AsTime(), before)
	}

	// Offline, for every municipality.
	keys := keySet(t, p.env, p.operator)
	for _, m := range munis {
		up := verifyChain(t, lastNotice(t, p.env, m), keys, keys)
		if up.Revision != 1 {
			t.Fatalf("%s: upstream revision %d", m, up.Revision)
		}
	}

	// The hosting provider updates; Alfa Lön forwards the update as a revision.
	if _, err := bs.UpdateBreach(withToken(ctx(t), vendorS), &cascadev1.UpdateBreachRequest{Update: &cascadev1.BreachUpdate{
		BreachId: "DH-7", Summary: "Disks were encrypted at rest; keys were not read.", MeasuresTaken: "hosts rebuilt, keys rotated"}}); err != nil {
		t.Fatal(err)
	}
	p.waitRevision(p.operator, subProc+"__DH-7", 2)
	rev, err := bs.ForwardNotice(withToken(ctx(t), p.vendorA), &cascadev1.ForwardNoticeRequest{NoticeId: upstreamID})
	if err != nil {
		t.Fatal(err)
	}
	if rev.GetRevision() != 2 || rev.GetAlreadyForwarded() {
		t.Fatalf("forwarded update: revision %d already %v", rev.GetRevision(), rev.GetAlreadyForwarded())
	}
	p.waitRevision(p.operator, procA+"__DH-7", 2)
	var up *breach.Upstream
	testkit.Eventually(t, 30*time.Second, func() error {
		msg := lastNotice(t, p.env, munis[3])
		if msg.Headers["Cascade-Event"][0] != "revision" {
			return fmt.Errorf("last message to %s is a %s", munis[3], msg.Headers["Cascade-Event"])
		}
		up = verifyChain(t, msg, keys, keys)
		return nil
	})
	if up.Revision != 2 {
		t.Fatalf("forwarded revision carries upstream revision %d", up.Revision)
	}

	// A tampered upstream message is refused before anything is recorded.
	msg := lastNotice(t, p.env, alfaOrg)
	msg.Data = []byte(strings.Replace(string(msg.Data), "hosts rebuilt", "nothing happened", 1))
	_, err = bs.ForwardNotice(withToken(ctx(t), p.vendorA), &cascadev1.ForwardNoticeRequest{Message: protoconv.SignedMessageProto(&msg), Id: "TAMPERED", AllCustomers: true})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("tampered upstream: %v", err)
	}
	// A notice to another organisation is not Alfa Lön's to forward.
	_, err = bs.ForwardNotice(withToken(ctx(t), p.vendorA), &cascadev1.ForwardNoticeRequest{NoticeId: procA + "__DH-7/" + munis[0], AllCustomers: true})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("forwarding a municipality's notice: %v", err)
	}
	// Nor is a genuine message to another organisation, given as received.
	other := lastNotice(t, p.env, munis[1])
	_, err = bs.ForwardNotice(withToken(ctx(t), p.vendorA), &cascadev1.ForwardNoticeRequest{Message: protoconv.SignedMessageProto(&other), Id: "OTHER", AllCustomers: true})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "not to the forwarding processor's organisation") {
		t.Fatalf("forwarding another organisation's message: %v", err)
	}
}

// TestForwardNoticeAcrossDeployments: the upstream is another Cascade.
// Its message, as its customer received it, is forwarded to this one,
// which trusts the upstream's keys (--upstream-keys) and no others.
func TestForwardNoticeAcrossDeployments(t *testing.T) {
	munis := twentyMunicipalities(t)[:3]
	// Upstream: a deployment whose default processor serves alfaOrg.
	uopts := options(t)
	uopts.InsecureNoAuth = false
	uopts.OrgsFile, _ = chainRegistry(t, munis)
	up := start(t, uopts)
	raw, err := os.ReadFile(filepath.Join(uopts.DataDir, "vendor.token"))
	if err != nil {
		t.Fatal(err)
	}
	upVendor := strings.TrimSpace(string(raw))
	_, err = cascadev1.NewBreachServiceClient(grpcConn(t, up.d.GRPCAddr())).ReportBreach(withToken(ctx(t), upVendor), &cascadev1.ReportBreachRequest{Report: &cascadev1.BreachReport{
		Id: "HOST-1", Processor: "Moln AB", Title: "Storage breach", Nature: "backups exposed",
		DiscoveredAt: timestamppb.New(time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)),
		Affected:     []*cascadev1.AffectedOrganisation{{OrgId: alfaOrg}}, Contact: &cascadev1.Contact{Email: "soc@moln.example"}}})
	if err != nil {
		t.Fatal(err)
	}
	var received breach.SignedMessage
	testkit.Eventually(t, 30*time.Second, func() error {
		received = lastNotice(t, up, alfaOrg)
		if len(received.Data) == 0 {
			return fmt.Errorf("nothing for %s yet", alfaOrg)
		}
		return nil
	})
	upKeys := keySet(t, up, upVendor)
	keysFile := filepath.Join(t.TempDir(), "upstream-keys.json")
	data, err := json.Marshal(upKeys)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keysFile, data, 0o600); err != nil {
		t.Fatal(err)
	}

	// Downstream, without trusting the upstream: refused.
	plain := startChain(t, munis)
	_, err = cascadev1.NewBreachServiceClient(plain.cc).ForwardNotice(withToken(ctx(t), plain.vendorA), &cascadev1.ForwardNoticeRequest{
		Message: protoconv.SignedMessageProto(&received), AllCustomers: true})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "unknown_key") {
		t.Fatalf("forwarding an untrusted deployment's notice: %v", err)
	}

	// Downstream, trusting it: forwarded, and verifiable offline with the
	// two deployments' keys.
	down := startChain(t, munis, keysFile)
	fw, err := cascadev1.NewBreachServiceClient(down.cc).ForwardNotice(withToken(ctx(t), down.vendorA), &cascadev1.ForwardNoticeRequest{
		Message: protoconv.SignedMessageProto(&received), AllCustomers: true})
	if err != nil {
		t.Fatal(err)
	}
	if fw.GetBreach().GetId() != procA+"__HOST-1" {
		t.Fatalf("forwarded breach %s", fw.GetBreach().GetId())
	}
	down.waitDelivered(down.vendorA, "HOST-1", int64(len(munis)))
	got := verifyChain(t, lastNotice(t, down.env, munis[0]), keySet(t, down.env, down.operator), upKeys)
	if got.Notice.String() != "HOST-1/"+alfaOrg || got.Processor != "Moln AB" {
		t.Fatalf("upstream %s of %q", got.Notice, got.Processor)
	}
}

// waitRevision waits until revision rev of breach id is delivered to
// every organisation.
func (p *processorEnv) waitRevision(as, id string, rev int32) {
	p.t.Helper()
	bs := cascadev1.NewBreachServiceClient(p.cc)
	testkit.Eventually(p.t, 30*time.Second, func() error {
		r, err := bs.GetBreach(withToken(ctx(p.t), as), &cascadev1.GetBreachRequest{BreachId: id})
		if err != nil {
			return err
		}
		for _, x := range r.GetBreach().GetRevisions() {
			if x.GetNumber() == rev && x.GetFanoutComplete() {
				return nil
			}
		}
		return fmt.Errorf("%s: revision %d not delivered yet", id, rev)
	})
}
