package daemon_test

import (
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/natstest"
	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// TestLogsTellTheStory: on a short clock the INFO log has one line per
// reminder, overdue and redelivery round, per outcome recorded and per
// revision; normal operation, a clean Stop included, logs no warning or
// error.
func TestLogsTellTheStory(t *testing.T) {
	var buf natstest.Buffer
	opts := options(t)
	opts.Log = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	opts.Deadline = 5 * time.Second
	opts.Remind = []time.Duration{3 * time.Second, time.Second}
	opts.Redeliver = []time.Duration{1500 * time.Millisecond}
	t.Cleanup(func() {
		if t.Failed() || testing.Verbose() {
			t.Logf("log:\n%s", buf.String())
		}
	})
	e := start(t, opts)
	e.publish(report("LOG-1", "se-kommun-0180", "se-kommun-1480"))
	e.waitSummary("LOG-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 2 })
	if _, err := e.noticeC.RecordNotReportable(ctx(t), &cascadev1.RecordNotReportableRequest{
		NoticeId: "LOG-1/se-kommun-0180", Justification: "no personal data of ours", RecordedBy: "dpo"}); err != nil {
		t.Fatal(err)
	}
	e.publishUpdate("LOG-1", "the copied files are identified", time.Time{})
	testkit.Eventually(t, 20*time.Second, func() error {
		if n := getNotice(t, e.noticeC, "LOG-1/se-kommun-1480"); n.GetOverdueNotifiedAt() == nil {
			return fmt.Errorf("not escalated yet")
		}
		return nil
	})
	want := []string{
		`level=INFO msg="breach recorded" component=intake breach_id=LOG-1 notices=2`,
		`level=INFO msg="reminders sent" component=timers breach_id=LOG-1 kind=reminder organisations=1 remaining=3s`,
		`level=INFO msg="reminders sent" component=timers breach_id=LOG-1 kind=reminder organisations=1 remaining=1s`,
		`level=INFO msg="notices overdue" component=timers breach_id=LOG-1 kind=overdue organisations=1`,
		`level=INFO msg="notices redelivered" component=timers breach_id=LOG-1 kind=redeliver organisations=`,
		`level=INFO msg="outcome recorded" component=api kind=not_reportable notice_id=LOG-1/se-kommun-0180`,
		`level=INFO msg="revision recorded" component=intake breach_id=LOG-1 revision=2`,
	}
	testkit.Eventually(t, 10*time.Second, func() error { // the log line follows the recorded state
		for _, w := range want {
			if !strings.Contains(buf.String(), w) {
				return fmt.Errorf("no %q", w)
			}
		}
		return nil
	})
	e.d.Stop()
	// The development mode these tests run in is rightly a warning.
	bad := slices.DeleteFunc(regexp.MustCompile(`(?m)^.*level=(WARN|ERROR).*$`).FindAllString(buf.String(), -1),
		func(l string) bool { return strings.Contains(l, "(--insecure-no-auth)") })
	if len(bad) > 0 {
		t.Errorf("normal operation and a clean stop logged:\n%s", strings.Join(bad, "\n"))
	}
}
