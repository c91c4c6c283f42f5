package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/cascadehq/cascade/internal/natsauth"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// The adversarial suite: one daemon in its default mode (authentication on,
// the embedded server with its own users), one breach delivered to two
// organisations, then one hostile input per row, over NATS, gRPC or HTTP.
// Each row says what it sends, the clear error it must get (a substring of
// the error, the gRPC code or the HTTP status), and after each row the
// suite checks that nothing stored before it changed: no stream or bucket
// lost or gained a message, except the intake stream and the rejections
// (where a hostile report is kept and answered) and what the row declares.
//
// Rows live beside the surface they attack (adversarial_*_test.go) and
// register themselves in init functions.

// hostile is one row.
type hostile struct {
	name    string
	surface string // nats, grpc, http
	// do sends the hostile input and returns the error it got (nil if it
	// was accepted, which fails the row).
	do func(a *adversary) error
	// want is a substring of the error's text; for gRPC, a code name
	// ("PermissionDenied") matches the status code; for HTTP, "HTTP 401".
	want string
	// mayAppend names streams the row may add messages to besides
	// CASCADE_INTAKE and CASCADE_REJECTED; a bucket's stream (KV_<bucket>)
	// named here may also have values replaced.
	mayAppend []string
}

var (
	hostileMu   sync.Mutex
	hostileRows []hostile
)

func addHostile(rows ...hostile) {
	hostileMu.Lock()
	defer hostileMu.Unlock()
	hostileRows = append(hostileRows, rows...)
}

// adversary is the target and the attacker's means.
type adversary struct {
	t        *testing.T
	e        *env
	dir      string // the daemon's NATS credentials
	daemonJS jetstream.JetStream
	vendorNC *nats.Conn
	vendorJS jetstream.JetStream
	orgNC    *nats.Conn // organisation A's user
	cc       *grpc.ClientConn
	http     string // http://host:port

	vendor, controllerA, controllerB, viewerA, viewerAll, revoked string

	rejections chan rejection
	// refusals are the servers' asynchronous errors on vendorNC and orgNC
	// (a denied publish is answered only that way).
	refusals map[*nats.Conn]chan error
}

const (
	advBreach = "ADV-1"
	advOrgA   = "se-kommun-0180"
	advOrgB   = "se-kommun-1480"
	advNotA   = advBreach + "/" + advOrgA
	advNotB   = advBreach + "/" + advOrgB
)

type rejection struct {
	Reason    string `json:"reason"`
	Detail    string `json:"detail"`
	Field     string `json:"field"`
	StreamSeq uint64 `json:"stream_seq"`
	raw       string
}

func TestAdversarial(t *testing.T) {
	if testing.Short() {
		t.Skip("adversarial suite")
	}
	opts := options(t)
	opts.InsecureNoAuth = false
	opts.HTTPAddr = "127.0.0.1:0"
	e := start(t, opts)
	a := &adversary{t: t, e: e, dir: e.d.NATSAuthDir(), daemonJS: e.js, http: "http://" + e.d.HTTPAddr(),
		rejections: make(chan rejection, 64)}
	raw, err := os.ReadFile(filepath.Join(opts.DataDir, "vendor.token"))
	if err != nil {
		t.Fatal(err)
	}
	a.vendor = strings.TrimSpace(string(raw))
	e.useToken(a.vendor)
	a.refusals = map[*nats.Conn]chan error{}
	refusals := make(chan error, 64)
	quiet := nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case refusals <- err:
		default:
		}
	})
	a.vendorNC = connectNC(t, e.d, natsauth.VendorSeedFile, quiet, nats.PermissionErrOnSubscribe(true))
	a.refusals[a.vendorNC] = refusals
	if a.vendorJS, err = jetstream.New(a.vendorNC); err != nil {
		t.Fatal(err)
	}
	orgRefusals := make(chan error, 64)
	a.orgNC = connectNC(t, e.d, filepath.Join(natsauth.OrgsDir, advOrgA+".nk"), nats.PermissionErrOnSubscribe(true),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case orgRefusals <- err:
			default:
			}
		}))
	a.refusals[a.orgNC] = orgRefusals
	if a.cc, err = grpc.NewClient(e.d.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.cc.Close() })
	tokens := cascadev1.NewTokenServiceClient(a.cc)
	issue := func(org string, role cascadev1.Role) string {
		r, err := tokens.IssueToken(withToken(ctx(t), a.vendor), &cascadev1.IssueTokenRequest{OrgId: org, Role: role, Label: "adversarial"})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetToken()
	}
	a.controllerA = issue(advOrgA, cascadev1.Role_ROLE_CONTROLLER)
	a.controllerB = issue(advOrgB, cascadev1.Role_ROLE_CONTROLLER)
	a.viewerA = issue(advOrgA, cascadev1.Role_ROLE_VIEWER)
	a.viewerAll = issue("", cascadev1.Role_ROLE_VIEWER)
	a.revoked = issue(advOrgA, cascadev1.Role_ROLE_CONTROLLER)
	if _, err := tokens.RevokeToken(withToken(ctx(t), a.vendor), &cascadev1.RevokeTokenRequest{TokenId: hashID(a.revoked)}); err != nil {
		t.Fatal(err)
	}

	// Rejections arrive on cascade.breach.rejected; the daemon's user may read them.
	sub, err := e.js.Conn().Subscribe("cascade.breach.rejected", func(m *nats.Msg) {
		var r rejection
		if json.Unmarshal(m.Data, &r) == nil {
			r.raw = string(m.Data)
			a.rejections <- r
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })

	e.publish(report(advBreach, advOrgA, advOrgB))
	e.waitSummary(advBreach, 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 2 })
	// B's notice is resolved, so outcomes on it are illegal transitions.
	ns := cascadev1.NewNoticeServiceClient(a.cc)
	if _, err := ns.RecordNotReportable(withToken(ctx(t), a.controllerB), &cascadev1.RecordNotReportableRequest{NoticeId: advNotB,
		Justification: "only encrypted data", RecordedBy: "dpo@b"}); err != nil {
		t.Fatal(err)
	}
	a.settle()

	hostileMu.Lock()
	rows := slices.Clone(hostileRows)
	hostileMu.Unlock()
	if len(rows) < 80 {
		t.Errorf("the adversarial suite has %d rows, want at least 80", len(rows))
	}
	names := map[string]bool{}
	for _, r := range rows {
		if names[r.surface+"/"+r.name] {
			t.Fatalf("two rows named %s/%s", r.surface, r.name)
		}
		names[r.surface+"/"+r.name] = true
	}
	for _, r := range rows {
		t.Run(r.surface+"/"+r.name, func(t *testing.T) {
			a.t = t
			before := a.snapshot()
			err := r.do(a)
			if err == nil {
				t.Fatalf("accepted; want an error with %q", r.want)
			}
			if !matches(err, r.want) {
				t.Fatalf("error %q; want %q", err, r.want)
			}
			a.settle()
			a.unchanged(before, a.snapshot(), r.mayAppend)
		})
	}
}

// matches reports whether err is what want describes.
func matches(err error, want string) bool {
	if s, ok := status.FromError(err); ok && s.Code().String() == want {
		return true
	}
	return strings.Contains(err.Error(), want)
}

// streamState is what the suite compares per stream.
type streamState struct {
	first, last, msgs, deleted uint64
}

func (a *adversary) snapshot() map[string]streamState {
	a.t.Helper()
	out := map[string]streamState{}
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l := a.daemonJS.ListStreams(c)
	for info := range l.Info() {
		s := info.State
		out[info.Config.Name] = streamState{s.FirstSeq, s.LastSeq, s.Msgs, uint64(s.NumDeleted)}
	}
	if err := l.Err(); err != nil {
		a.t.Fatal(err)
	}
	return out
}

// settle waits until no stream changes for a moment: what the daemon does
// in answer to a row (a rejection, a log) is stored before the next row.
func (a *adversary) settle() {
	a.t.Helper()
	prev := a.snapshot()
	stable := 0
	deadline := time.Now().Add(15 * time.Second)
	for stable < 3 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond) // polling interval of a condition, not pacing
		cur := a.snapshot()
		if equalStates(prev, cur) {
			stable++
		} else {
			stable = 0
		}
		prev = cur
	}
}

func equalStates(x, y map[string]streamState) bool {
	if len(x) != len(y) {
		return false
	}
	for k, v := range x {
		if y[k] != v {
			return false
		}
	}
	return true
}

func (a *adversary) unchanged(before, after map[string]streamState, mayAppend []string) {
	a.t.Helper()
	for name, b := range before {
		x, ok := after[name]
		switch {
		case !ok:
			a.t.Errorf("stream %s was deleted", name)
		case strings.HasPrefix(name, "KV_") && slices.Contains(mayAppend, name):
		case (b.msgs > 0 && x.first != b.first) || x.deleted != b.deleted || x.msgs < b.msgs:
			a.t.Errorf("stream %s lost messages: %+v -> %+v", name, b, x)
		case x.last != b.last && name != "CASCADE_INTAKE" && name != "CASCADE_REJECTED" && !slices.Contains(mayAppend, name):
			a.t.Errorf("stream %s changed: %+v -> %+v", name, b, x)
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			a.t.Errorf("stream %s was created", name)
		}
	}
}

func short() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 3*time.Second)
}

// --- NATS helpers ---

// natsConnect connects with extra options only (no credentials of the daemon's).
func (a *adversary) natsConnect(opts ...nats.Option) error {
	nc, err := nats.Connect(a.e.d.NATSURL(), append(opts, nats.Timeout(3*time.Second), nats.NoReconnect())...)
	if err == nil {
		nc.Close()
	}
	return err
}

// refused runs send (a publish or request as nc) and returns the first of
// its own error and the server's asynchronous refusal; when send succeeds
// and the server says nothing within 2 s, nil.
func (a *adversary) refused(nc *nats.Conn, send func() error) error {
	errs := a.refusals[nc]
	for len(errs) > 0 {
		<-errs
	}
	done := make(chan error, 1)
	go func() { done <- send() }()
	select {
	case err := <-errs:
		return err
	case err := <-done:
		if err != nil {
			return err
		}
	}
	if err := nc.FlushTimeout(3 * time.Second); err != nil {
		return err
	}
	select {
	case err := <-errs:
		return err
	case <-time.After(2 * time.Second):
		return nil
	}
}

// pubAs publishes as nc and waits for the JetStream acknowledgement.
func (a *adversary) pubAs(nc *nats.Conn, subject string, data []byte) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	return a.refused(nc, func() error {
		c, cancel := short()
		defer cancel()
		_, err = js.Publish(c, subject, data)
		return err
	})
}

// requestAs sends a request as nc (e.g. a JetStream API call) and returns
// the server's refusal.
func (a *adversary) requestAs(nc *nats.Conn, subject string, data []byte) error {
	return a.refused(nc, func() error {
		m, err := nc.Request(subject, data, 3*time.Second)
		if err != nil {
			return err
		}
		var r struct {
			Error *struct {
				Description string `json:"description"`
			} `json:"error"`
		}
		if json.Unmarshal(m.Data, &r) == nil && r.Error != nil {
			return errors.New(r.Error.Description)
		}
		return nil
	})
}

// subscribeAs subscribes as nc and returns the server's refusal.
func subscribeAs(nc *nats.Conn, subject string) error {
	sub, err := nc.SubscribeSync(subject)
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	_, err = sub.NextMsg(3 * time.Second)
	if errors.Is(err, nats.ErrTimeout) {
		return nil // no refusal: the subscription stands
	}
	return err
}

// report publishes body on subject as the vendor and returns the
// rejection it got as an error.
func (a *adversary) reportAs(subject string, body []byte, hdr nats.Header) error {
	for len(a.rejections) > 0 {
		<-a.rejections
	}
	c, cancel := short()
	defer cancel()
	ack, err := a.vendorJS.PublishMsg(c, &nats.Msg{Subject: subject, Data: body, Header: hdr})
	if err != nil {
		return err
	}
	timeout := time.After(20 * time.Second)
	for {
		select {
		case r := <-a.rejections:
			if r.StreamSeq == ack.Sequence {
				return fmt.Errorf("rejected: %s: %s (field %s)", r.Reason, r.Detail, r.Field)
			}
		case <-timeout:
			return nil // no rejection: it was accepted
		}
	}
}

func (a *adversary) report(body string) error {
	return a.reportAs("cascade.breach.report", []byte(body), nil)
}

// validReport is a valid report for advOrgA under id, with fields changed by edit.
func validReport(id string, edit func(m map[string]any)) string {
	m := map[string]any{}
	if err := json.Unmarshal(report(id, advOrgA), &m); err != nil {
		panic(err)
	}
	if edit != nil {
		edit(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// --- gRPC and HTTP helpers ---

func (a *adversary) as(token string) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	a.t.Cleanup(cancel)
	return withToken(c, token)
}

func (a *adversary) breaches() cascadev1.BreachServiceClient {
	return cascadev1.NewBreachServiceClient(a.cc)
}
func (a *adversary) notices() cascadev1.NoticeServiceClient {
	return cascadev1.NewNoticeServiceClient(a.cc)
}

// httpDo sends a request to the daemon's HTTP server and returns an error
// "HTTP <status>: <body>" unless the status is 2xx.
func (a *adversary) httpDo(method, path, token string, body io.Reader, hdr ...string) error {
	req, err := http.NewRequest(method, a.http+path, body)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c, cancel := short()
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(c))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(b))
}

// strangerSeed is an NKey user the server does not know.
func strangerSeed() []byte {
	kp, err := nkeys.CreateUser()
	if err != nil {
		panic(err)
	}
	seed, _ := kp.Seed()
	return seed
}
