package cli

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/cascadehq/cascade/internal/daemon"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// TestQuestionsCLI: a controller asks with cascadectl notice ask, the
// vendor lists and answers, the controller sees the answer; the
// documented examples' command lines work.
func TestQuestionsCLI(t *testing.T) {
	c, vendor := startAuthDaemon(t, func(*daemon.Options) {})
	asVendor := func(args ...string) []string { return with(args, "--token", vendor) }
	c.must(asVendor("breach", "publish", exampleBreach)...)
	controller := strings.TrimSuffix(c.must(asVendor("tokens", "issue", "--org", "se-kommun-0180", "--role", "controller", "-q")...).stdout, "\n")
	asController := func(args ...string) []string { return with(args, "--token", controller) }

	r := c.must(asController("notice", "ask", exampleNotice, "Were the salary files encrypted at rest?", "-o", "json")...)
	var q cascadev1.Question
	if err := protojson.Unmarshal([]byte(r.stdout), &q); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if q.GetId() != exampleNotice+"/1" || q.GetAskedBy().GetOrgId() != "se-kommun-0180" {
		t.Fatalf("asked %v", &q)
	}
	wantFail(t, c.run(asVendor("notice", "ask", exampleNotice, "May the vendor ask?")...), "PermissionDenied")
	if r := c.run(asController("notice", "ask", exampleNotice, " ")...); r.code != 2 || !strings.Contains(r.stderr, "TEXT is empty") {
		t.Fatalf("empty question: exit %d\n%s", r.code, r.stderr)
	}

	r = c.must(asVendor("notice", "questions", "--unanswered")...)
	if tableRows(r.stdout) != 1 || !strings.Contains(r.stdout, q.GetId()) || !strings.Contains(r.stdout, "Were the salary files") {
		t.Fatalf("unanswered questions:\n%s", r.stdout)
	}
	wantFail(t, c.run(asController("notice", "answer", q.GetId(), "I answer myself.")...), "PermissionDenied")
	r = c.must(asVendor("notice", "answer", q.GetId(), "Yes: AES-256 at rest.", "--share-with-all")...)
	if !strings.Contains(r.stdout, "with all") {
		t.Fatalf("answer:\n%s", r.stdout)
	}
	wantFail(t, c.run(asVendor("notice", "answer", q.GetId(), "No.")...), "FailedPrecondition", "never changed")

	r = c.must(asController("notice", "questions", "--breach", exampleID)...)
	if tableRows(r.stdout) != 1 || !strings.Contains(r.stdout, "Yes: AES-256 at rest.") {
		t.Fatalf("controller's questions:\n%s", r.stdout)
	}
	if r := c.must(asVendor("notice", "questions", "--unanswered")...); tableRows(r.stdout) != 0 {
		t.Fatalf("still unanswered:\n%s", r.stdout)
	}
	wantFail(t, c.run(asController("notice", "questions", "--org", "se-kommun-1480")...), "PermissionDenied")
	r = c.must(asVendor("notice", "history", exampleNotice)...)
	for _, ev := range []string{"question_asked", "question_answered", "answer_shared"} {
		if !strings.Contains(r.stdout, ev) {
			t.Errorf("history lacks %s:\n%s", ev, r.stdout)
		}
	}
}
