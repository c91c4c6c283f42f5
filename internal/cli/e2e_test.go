package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/natsauth"
	"github.com/cascadehq/cascade/internal/natstest"
	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

const (
	exampleBreach = "../../deploy/examples/breach.json"
	exampleID     = "EXAMPLE-2025-08-23"
	exampleNotice = exampleID + "/se-kommun-0180"
)

// cluster is a real daemon, in process, with cascadectl pointed at it.
type cluster struct {
	t *testing.T
	d *daemon.Daemon
}

func startDaemon(t *testing.T) *cluster {
	t.Helper()
	return startDaemonWith(t, func(*daemon.Options) {})
}

// startDaemonWith starts a daemon with options changed by set.
func startDaemonWith(t *testing.T, set func(*daemon.Options)) *cluster {
	t.Helper()
	opts := daemon.Options{
		DataDir:    t.TempDir(),
		NATSListen: "127.0.0.1:-1",
		GRPCAddr:   "127.0.0.1:0",
		HTTPAddr:   "",
		Deadline:   72 * time.Hour,
		OrgsFile:   "../../deploy/examples/orgs.csv",
		Log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		// These tests are about the CLI; authentication is tested by the
		// daemon's tests and TestTokens here.
		InsecureNoAuth: true,
	}
	set(&opts)
	d, err := daemon.Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("start daemon: %v", err)
	}
	t.Cleanup(d.Stop)
	return &cluster{t: t, d: d}
}

// args prefixes the connection flags (after the verb, as users may).
func (c *cluster) args(args []string) []string {
	// The embedded server always authenticates: cascadectl publishes as
	// the vendor's NATS user, as the README tells vendors to.
	args = append(args, "--grpc-addr", c.d.GRPCAddr(), "--nats-url", c.d.NATSURL())
	if dir := c.d.NATSAuthDir(); dir != "" {
		args = append(args, "--nats-nkey", filepath.Join(dir, natsauth.VendorSeedFile))
	}
	return args
}

func (c *cluster) run(args ...string) result {
	c.t.Helper()
	return runCLI(c.t.Context(), c.args(args)...)
}

func (c *cluster) runStdin(stdin string, args ...string) result {
	c.t.Helper()
	return runCLIStdin(c.t.Context(), stdin, c.args(args)...)
}

// must runs cascadectl and fails the test unless it exits 0.
func (c *cluster) must(args ...string) result {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("cascadectl %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// notice decodes the -o json output of notice show / ack.
func decodeNotice(t *testing.T, out string) *cascadev1.Notice {
	t.Helper()
	var n cascadev1.Notice
	if err := protojson.Unmarshal([]byte(out), &n); err != nil {
		t.Fatalf("decode notice: %v\n%s", err, out)
	}
	return &n
}

// decodeStatus decodes the -o json output of breach status / publish.
func decodeStatus(t *testing.T, out string) (*cascadev1.Breach, *cascadev1.BreachSummary, map[string]json.RawMessage) {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("decode status: %v\n%s", err, out)
	}
	var b cascadev1.Breach
	var s cascadev1.BreachSummary
	if raw["breach"] != nil {
		if err := protojson.Unmarshal(raw["breach"], &b); err != nil {
			t.Fatalf("decode breach: %v", err)
		}
	}
	if raw["summary"] != nil {
		if err := protojson.Unmarshal(raw["summary"], &s); err != nil {
			t.Fatalf("decode summary: %v", err)
		}
	}
	return &b, &s, raw
}

// field is the value of the "Label:   value" line of a key-value table
// (the first such line), or "" if there is none.
func field(out, label string) string {
	for line := range strings.Lines(out) {
		if v, ok := strings.CutPrefix(line, label+":"); ok && (v == "" || v[0] == ' ' || v[0] == '\n') {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// wantFields checks label, value-prefix pairs of a key-value table.
func wantFields(t *testing.T, out string, pairs ...string) {
	t.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		if got := field(out, pairs[i]); !strings.HasPrefix(got, pairs[i+1]) {
			t.Errorf("%s: %q, want %q...\n%s", pairs[i], got, pairs[i+1], out)
		}
	}
}

// tableRows counts the data rows of a table (all lines but the header).
func tableRows(out string) int {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	return len(lines) - 1
}

func TestEndToEnd(t *testing.T) {
	c := startDaemon(t)

	t.Run("publish example", func(t *testing.T) {
		r := c.must("breach", "publish", exampleBreach)
		for _, want := range []string{"stream CASCADE_INTAKE, sequence 1", "Breach " + exampleID + " recorded: 12 notices"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
			}
		}
		wantFields(t, r.stdout, "Fan-out complete", "yes", "Delivered", "12/12")
		if !strings.Contains(r.stderr, "WARNING: affected organisation se-kommun-9999 is not in the registry, got no notice") {
			t.Errorf("no warning about se-kommun-9999 on stderr:\n%s", r.stderr)
		}
		if !strings.Contains(r.stderr, "12/12 delivered") {
			t.Errorf("no progress on stderr:\n%s", r.stderr)
		}
	})

	t.Run("status json", func(t *testing.T) {
		r := c.must("breach", "status", exampleID, "-o", "json")
		b, s, _ := decodeStatus(t, r.stdout)
		if s.GetTotal() != 12 || s.GetDelivered() != 12 || s.GetAcknowledged() != 0 {
			t.Errorf("summary %v, want total 12 delivered 12", s)
		}
		if b.GetNoticeCount() != 12 || !b.GetFanoutComplete() || strings.Join(b.GetUnknownOrgIds(), ",") != "se-kommun-9999" {
			t.Errorf("breach %v", b)
		}
	})

	t.Run("status table", func(t *testing.T) {
		r := c.must("breach", "status", exampleID)
		wantFields(t, r.stdout, "ID", exampleID, "Notices", "12", "Unknown orgs", "1 (se-kommun-9999)", "Next deadline", "20",
			"Latest revision", "1", "Acknowledged latest", "0/12")
	})

	t.Run("notice list", func(t *testing.T) {
		r := c.must("notice", "list", "--breach", exampleID)
		if n := tableRows(r.stdout); n != 12 {
			t.Errorf("%d rows, want 12:\n%s", n, r.stdout)
		}
		if !strings.HasPrefix(r.stdout, "NOTICE ") || !strings.Contains(r.stdout, exampleNotice) {
			t.Errorf("table:\n%s", r.stdout)
		}
		// Paging: 5 per page, all pages followed.
		r = c.must("notice", "list", "--breach", exampleID, "--page-size", "5", "-o", "json")
		var list []json.RawMessage
		if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 12 {
			t.Errorf("json list of %d (%v), want 12", len(list), err)
		}
		r = c.must("notice", "list", "--limit", "3")
		if n := tableRows(r.stdout); n != 3 {
			t.Errorf("--limit 3: %d rows", n)
		}
		r = c.must("notice", "list", "--org", "se-kommun-1480")
		if n := tableRows(r.stdout); n != 1 {
			t.Errorf("--org: %d rows", n)
		}
	})

	t.Run("notice ack", func(t *testing.T) {
		first := decodeNotice(t, c.must("notice", "ack", exampleNotice, "--by", "dpo@x", "--note", "received", "-o", "json").stdout)
		if first.GetState() != cascadev1.NoticeState_NOTICE_STATE_ACKNOWLEDGED || first.GetAcknowledgedBy() != "dpo@x" || first.GetAcknowledgedAt() == nil {
			t.Fatalf("after ack: %v", first)
		}
		r := c.must("notice", "ack", exampleNotice, "--by", "someone-else@x")
		if field(r.stdout, "State") != "ACKNOWLEDGED" || !strings.Contains(r.stdout, "dpo@x") {
			t.Errorf("second ack printed:\n%s", r.stdout)
		}
		again := decodeNotice(t, c.must("notice", "show", exampleNotice, "-o", "json").stdout)
		if again.GetState() != cascadev1.NoticeState_NOTICE_STATE_ACKNOWLEDGED || !again.GetAcknowledgedAt().AsTime().Equal(first.GetAcknowledgedAt().AsTime()) ||
			again.GetAcknowledgedBy() != "dpo@x" || !again.GetDeadline().AsTime().Equal(first.GetDeadline().AsTime()) {
			t.Errorf("a second ack changed the notice:\nfirst %v\nnow   %v", first, again)
		}
		r = c.must("notice", "list", "--state", "acknowledged")
		if n := tableRows(r.stdout); n != 1 || !strings.Contains(r.stdout, "dpo@x") {
			t.Errorf("--state acknowledged:\n%s", r.stdout)
		}
		testkit.Eventually(t, 10*time.Second, func() error {
			_, s, _ := decodeStatus(t, c.must("breach", "status", exampleID, "-o", "json").stdout)
			if s.GetAcknowledged() != 1 {
				return fmt.Errorf("summary acknowledged %d, want 1", s.GetAcknowledged())
			}
			return nil
		})
	})

	t.Run("ack unknown notice", func(t *testing.T) {
		r := c.run("notice", "ack", exampleID+"/se-kommun-0114", "--by", "dpo@x")
		if r.code != 1 || !strings.Contains(r.stderr, "cascadectl: NotFound:") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("ack without --by", func(t *testing.T) {
		r := c.run("notice", "ack", exampleNotice)
		if r.code == 0 || !strings.Contains(r.stderr, "--by is required") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("show invalid id", func(t *testing.T) {
		r := c.run("notice", "show", "no-slash")
		if r.code != 1 || !strings.Contains(r.stderr, "InvalidArgument") || !strings.Contains(r.stderr, "\n  notice_id: ") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("publish malformed", func(t *testing.T) {
		r := c.runStdin(`{"title": 5}`, "breach", "publish", "-")
		if r.code != 1 || !strings.Contains(r.stderr, "rejected the breach report") || !strings.Contains(r.stderr, ": malformed") ||
			!strings.Contains(r.stderr, "title") {
			t.Errorf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("publish invalid", func(t *testing.T) {
		r := c.runStdin(`{"processor": "p"}`, "breach", "publish", "-", "-o", "json")
		if r.code != 1 || !strings.Contains(r.stderr, ": invalid") || !strings.Contains(r.stderr, "\n  nature: nature is required") {
			t.Errorf("exit %d\nstderr %s", r.code, r.stderr)
		}
		var out struct {
			Rejection rejection `json:"rejection"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Rejection.Reason != "invalid" || len(out.Rejection.Violations) == 0 {
			t.Errorf("json %v: %s", err, r.stdout)
		}
	})

	t.Run("publish not an object", func(t *testing.T) {
		r := c.runStdin(`["x"]`, "breach", "publish", "-")
		if r.code != 1 || !strings.Contains(r.stderr, "not a JSON object") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("republish identical", func(t *testing.T) {
		r := c.must("breach", "publish", exampleBreach)
		if !strings.Contains(r.stdout, "sequence 1") || field(r.stdout, "Fan-out complete") != "yes" {
			t.Errorf("stdout:\n%s", r.stdout)
		}
		if n := tableRows(c.must("breach", "list").stdout); n != 1 {
			t.Errorf("%d breaches after a re-publish, want 1", n)
		}
	})

	t.Run("republish changed", func(t *testing.T) {
		data, err := os.ReadFile(exampleBreach)
		if err != nil {
			t.Fatal(err)
		}
		changed := strings.Replace(string(data), `"title": "Intrusion`, `"title": "Changed: intrusion`, 1)
		r := c.runStdin(changed, "breach", "publish", "-")
		if r.code != 1 || !strings.Contains(r.stderr, "conflict") || !strings.Contains(r.stderr, "Nothing was recorded") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("publish conflicting with a breach reported over gRPC", func(t *testing.T) {
		conn, err := grpc.NewClient(c.d.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		report := minimalReport("CONFLICT-1", "Original title")
		var rep cascadev1.BreachReport
		if err := protojson.Unmarshal([]byte(report), &rep); err != nil {
			t.Fatal(err)
		}
		if _, err := cascadev1.NewBreachServiceClient(conn).ReportBreach(t.Context(), &cascadev1.ReportBreachRequest{Report: &rep}); err != nil {
			t.Fatal(err)
		}
		r := c.runStdin(minimalReport("CONFLICT-1", "Another title"), "breach", "publish", "-")
		if r.code != 1 || !strings.Contains(r.stderr, ": conflict") || !strings.Contains(r.stderr, "already reported with different content") {
			t.Errorf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("publish all unknown", func(t *testing.T) {
		r := c.runStdin(strings.Replace(minimalReport("UNKNOWN-1", "t"), "se-kommun-0114", "se-kommun-9998", 1), "breach", "publish", "-")
		if r.code != 1 || !strings.Contains(r.stderr, "unknown_organisations") || !strings.Contains(r.stderr, "not in the registry: se-kommun-9998") {
			t.Errorf("exit %d\nstderr %s", r.code, r.stderr)
		}
	})

	t.Run("publish without id", func(t *testing.T) {
		report := strings.Replace(minimalReport("", "No id"), `"id": "",`, "", 1)
		path := filepath.Join(t.TempDir(), "report.json")
		if err := os.WriteFile(path, []byte(report), 0o600); err != nil {
			t.Fatal(err)
		}
		r := c.must("-o", "json", "breach", "publish", path)
		b, s, raw := decodeStatus(t, r.stdout)
		var pub publishedJSON
		if err := json.Unmarshal(raw["published"], &pub); err != nil {
			t.Fatal(err)
		}
		if pub.BreachID == "" || b.GetId() != pub.BreachID || s.GetDelivered() != 1 || !b.GetFanoutComplete() {
			t.Errorf("published %+v, breach %v, summary %v", pub, b, s)
		}
	})

	t.Run("publish no-wait", func(t *testing.T) {
		r := c.runStdin(minimalReport("NO-WAIT-1", "t"), "breach", "publish", "--no-wait", "-")
		if r.code != 0 || !strings.Contains(r.stdout, "Published breach NO-WAIT-1") || strings.Contains(r.stdout, "Fan-out") {
			t.Fatalf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
		}
		testkit.Eventually(t, 10*time.Second, func() error {
			if r := c.run("breach", "status", "NO-WAIT-1"); r.code != 0 || field(r.stdout, "Fan-out complete") != "yes" {
				return fmt.Errorf("exit %d: %s%s", r.code, r.stdout, r.stderr)
			}
			return nil
		})
	})

	t.Run("breach list", func(t *testing.T) {
		r := c.must("breach", "list", "--page-size", "1")
		if !strings.Contains(r.stdout, exampleID) || !strings.Contains(r.stdout, "CONFLICT-1") || !strings.Contains(r.stdout, "NO-WAIT-1") {
			t.Errorf("stdout:\n%s", r.stdout)
		}
		r = c.must("breach", "list", "--limit", "2", "-o", "json")
		var list []json.RawMessage
		if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 2 {
			t.Errorf("--limit 2: %d (%v)", len(list), err)
		}
	})

	t.Run("status unknown breach", func(t *testing.T) {
		r := c.run("breach", "status", "NOPE")
		if r.code != 1 || !strings.Contains(r.stderr, "cascadectl: NotFound:") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("watch", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var stdout, stderr syncBuffer
		done := make(chan int, 1)
		go func() {
			done <- Main(ctx, c.args([]string{"breach", "status", exampleID, "--watch"}), strings.NewReader(""), &stdout, &stderr)
		}()
		testkit.Eventually(t, 10*time.Second, func() error {
			if !strings.Contains(stdout.String(), " total=12 delivered=12 acknowledged=1 ") {
				return fmt.Errorf("stdout %q stderr %q", stdout.String(), stderr.String())
			}
			return nil
		})
		// A change while watching is printed as a new line.
		c.must("notice", "ack", exampleID+"/se-kommun-1480", "--by", "dpo@y")
		testkit.Eventually(t, 10*time.Second, func() error {
			if !strings.Contains(stdout.String(), " total=12 delivered=12 acknowledged=2 ") {
				return fmt.Errorf("stdout %q", stdout.String())
			}
			return nil
		})
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("watch ended with exit %d: %s", code, stderr.String())
		}
	})

	t.Run("daemon unreachable", func(t *testing.T) {
		r := runCLI(t.Context(), "breach", "list", "--grpc-addr", "127.0.0.1:1", "--timeout", "5s")
		if r.code != 1 || !strings.Contains(r.stderr, "Unavailable") || !strings.Contains(r.stderr, "(is cascaded running at 127.0.0.1:1? Start it with 'make run', or pass its address with --grpc-addr") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

// minimalReport is a valid report for one known organisation.
func minimalReport(id, title string) string {
	return fmt.Sprintf(`{
  "id": %q,
  "processor": "Test AB",
  "title": %q,
  "nature": "test",
  "discovered_at": "2025-08-23T14:00:00Z",
  "affected": [{"org_id": "se-kommun-0114"}],
  "contact": {"email": "incident@example.org"}
}`, id, title)
}

// syncBuffer is a bytes.Buffer safe for a writer and a poller.
type syncBuffer = natstest.Buffer
