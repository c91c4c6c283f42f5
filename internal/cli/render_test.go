package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"

	"github.com/cascadehq/cascade/internal/testkit"
)

// Fixed values, so the rendered output is the same on every run.
var (
	tDiscovered = time.Date(2025, 8, 23, 14, 0, 0, 0, time.UTC)
	tDelivered  = time.Date(2025, 8, 23, 16, 30, 5, 123456789, time.UTC)
	tNow        = tDelivered.Add(20*time.Hour + 1*time.Minute)
)

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

func fixtureBreach() *cascadev1.Breach {
	return &cascadev1.Breach{
		Id:       "EXAMPLE-2025-08-23",
		Revision: 1,
		Report: &cascadev1.BreachReport{
			Id:           "EXAMPLE-2025-08-23",
			Processor:    "Exempel HR-system AB",
			Title:        "Intrusion in the hosted HR and payroll system; personnel data copied",
			DiscoveredAt: ts(tDiscovered),
		},
		ReceivedAt:     ts(tDelivered.Add(-time.Second)),
		NoticeCount:    3,
		UnknownOrgIds:  []string{"se-kommun-9999"},
		FanoutComplete: true,
	}
}

func fixtureNotices() []*cascadev1.Notice {
	deadline := tDelivered.Add(72 * time.Hour)
	return []*cascadev1.Notice{
		{
			Id: "EXAMPLE-2025-08-23/se-kommun-0180", BreachId: "EXAMPLE-2025-08-23", OrgId: "se-kommun-0180",
			OrgName: "Stockholms kommun", State: cascadev1.NoticeState_NOTICE_STATE_ACKNOWLEDGED,
			CreatedAt: ts(tDelivered.Add(-time.Millisecond)), DeliveredAt: ts(tDelivered), Deadline: ts(deadline),
			AcknowledgedAt: ts(tDelivered.Add(2 * time.Hour)), AcknowledgedBy: "dpo@stockholm.example.org",
			AcknowledgementNote: "Forwarded to the security team.\tTab and\nnewline stay in one cell.",
			ApproxSubjects:      52000, ApproxRecords: 410000,
			ProcessorDelay: durationpb.New(tDelivered.Sub(tDiscovered)), DeliveryCount: 1,
		},
		{
			Id: "EXAMPLE-2025-08-23/se-kommun-0380", BreachId: "EXAMPLE-2025-08-23", OrgId: "se-kommun-0380",
			OrgName: "Uppsala kommun", State: cascadev1.NoticeState_NOTICE_STATE_DELIVERED,
			CreatedAt: ts(tDelivered), DeliveredAt: ts(tDelivered), Deadline: ts(tNow.Add(-time.Minute)), Overdue: true,
			DeliveryCount: 2,
		},
		{
			Id: "EXAMPLE-2025-08-23/se-kommun-0580", BreachId: "EXAMPLE-2025-08-23", OrgId: "se-kommun-0580",
			State: cascadev1.NoticeState_NOTICE_STATE_PENDING, CreatedAt: ts(tDelivered),
		},
	}
}

// fixtureResolved is a notice reported late to the authority, with
// reminders, revisions and an Art. 34 exemption.
func fixtureResolved() *cascadev1.Notice {
	n := fixtureNotices()[0]
	deadline := n.GetDeadline().AsTime()
	n.State = cascadev1.NoticeState_NOTICE_STATE_RESOLVED
	n.RevisionDelivered, n.RevisionAcknowledged = 3, 2
	n.Reminders = []*cascadev1.Reminder{
		{Remaining: durationpb.New(48 * time.Hour), DueAt: ts(deadline.Add(-48 * time.Hour)), SentAt: ts(deadline.Add(-48*time.Hour + time.Second))},
		{Remaining: durationpb.New(24 * time.Hour), DueAt: ts(deadline.Add(-24 * time.Hour)), SentAt: ts(deadline.Add(-20 * time.Hour)), Late: true},
	}
	n.OverdueNotifiedAt = ts(deadline.Add(time.Second))
	n.EscalatedTo = []*cascadev1.Escalation{
		{Email: "kommundirektor@se-kommun-0180.example.org", Phone: "+46 8 508 00 000", Event: "reminder", Remaining: durationpb.New(time.Hour),
			MessageId: n.GetId() + "/reminder/1h0m0s", SentAt: ts(deadline.Add(-time.Hour + 2*time.Second))},
		{Email: "kommundirektor@se-kommun-0180.example.org", Event: "overdue", MessageId: n.GetId() + "/overdue", SentAt: ts(deadline.Add(2 * time.Second))},
	}
	n.ResolvedAt = ts(deadline.Add(3 * time.Hour))
	n.Outcome = &cascadev1.Outcome{Kind: cascadev1.OutcomeKind_OUTCOME_KIND_REPORTED_TO_AUTHORITY, Authority: "IMY", Reference: "IMY-2025-1234",
		ReportedAt: ts(deadline.Add(2 * time.Hour)), DelayReason: "The supplier's extract arrived late.", Late: true,
		RecordedAt: ts(deadline.Add(3 * time.Hour)), RecordedBy: "dpo@stockholm.example.org"}
	n.SubjectCommunication = &cascadev1.SubjectCommunication{Kind: cascadev1.SubjectCommunicationKind_SUBJECT_COMMUNICATION_KIND_EXEMPT,
		Exemption: cascadev1.Art34Exemption_ART34_EXEMPTION_C_DISPROPORTIONATE, PublicCommunication: "Press release and notice on stockholm.se",
		RecordedAt: ts(deadline.Add(4 * time.Hour)), RecordedBy: "dpo@stockholm.example.org"}
	return n
}

func fixtureHistory() []*cascadev1.NoticeEvent {
	return []*cascadev1.NoticeEvent{
		{Sequence: 11, Event: "created", At: ts(tDelivered), Actor: "cascade", State: cascadev1.NoticeState_NOTICE_STATE_PENDING},
		{Sequence: 24, Event: "delivered", At: ts(tDelivered), Actor: "cascade", State: cascadev1.NoticeState_NOTICE_STATE_DELIVERED, Detail: "revision 1"},
		{Sequence: 97, Event: "outcome_recorded", At: ts(tNow), Actor: "dpo@stockholm.example.org", State: cascadev1.NoticeState_NOTICE_STATE_RESOLVED,
			Detail: "reported to IMY, reference IMY-2025-1234", Principal: &cascadev1.Principal{Kind: "token", Id: "3f2a9c0d1e2b4a5f",
				Label: "DPO\tlaptop", Role: "controller", OrgId: "se-stockholm", Display: "token 3f2a9c0d1e2b4a5f \"DPO\tlaptop\" (controller@se-stockholm)"}},
	}
}

func fixtureSummary() *cascadev1.BreachSummary {
	return &cascadev1.BreachSummary{
		BreachId: "EXAMPLE-2025-08-23", Total: 3, Delivered: 2, Acknowledged: 1, Overdue: 1,
		NextDeadline: ts(tDelivered.Add(72 * time.Hour)),
	}
}

func TestRenderGolden(t *testing.T) {
	var b bytes.Buffer
	section := func(name string, render func() error) {
		b.WriteString("== " + name + "\n")
		if err := render(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	ns := fixtureNotices()
	section("notice list", func() error { return renderNotices(&b, ns) })
	section("notice list (empty)", func() error { return renderNotices(&b, nil) })
	section("notice show (acknowledged)", func() error { return renderNotice(&b, ns[0], tNow) })
	section("notice show (overdue)", func() error { return renderNotice(&b, ns[1], tNow) })
	section("notice show (pending)", func() error { return renderNotice(&b, ns[2], tNow) })
	section("breach status", func() error { return renderBreachStatus(&b, fixtureBreach(), fixtureSummary(), tNow) })
	section("notice show (resolved, revisions, reminders)", func() error { return renderNotice(&b, fixtureResolved(), tNow) })
	section("notice show (not reportable, subjects informed)", func() error {
		n := fixtureResolved()
		n.Reminders, n.OverdueNotifiedAt, n.EscalatedTo = nil, nil, nil
		n.Outcome = &cascadev1.Outcome{Kind: cascadev1.OutcomeKind_OUTCOME_KIND_NOT_REPORTABLE,
			Justification: "Only encrypted backups were copied.", RecordedAt: ts(tNow), RecordedBy: "dpo@x"}
		n.SubjectCommunication = &cascadev1.SubjectCommunication{Kind: cascadev1.SubjectCommunicationKind_SUBJECT_COMMUNICATION_KIND_COMMUNICATED,
			CommunicatedAt: ts(tNow.Add(-time.Hour)), How: "letter to every employee", RecordedAt: ts(tNow), RecordedBy: "dpo@x"}
		return renderNotice(&b, n, tNow)
	})
	section("notice history", func() error { return renderHistory(&b, fixtureHistory()) })
	section("notice history (empty)", func() error { return renderHistory(&b, nil) })
	section("breach status (revisions)", func() error {
		br := fixtureBreach()
		br.LatestRevision = 3
		br.Revisions = []*cascadev1.BreachRevision{
			{Number: 2, ReceivedAt: ts(tNow.Add(-2 * time.Hour)), Added: 1, UnknownOrgIds: []string{"se-kommun-9998"}, FanoutComplete: true,
				Update: &cascadev1.BreachUpdate{BreachId: br.Id, Summary: "Malmö is affected too."}},
			{Number: 3, ReceivedAt: ts(tNow.Add(-time.Minute)), Update: &cascadev1.BreachUpdate{BreachId: br.Id, Summary: "The copied files were published on 2025-08-30."}},
		}
		s := fixtureSummary()
		s.Total, s.LatestRevision, s.AcknowledgedLatest = 4, 3, 1
		return renderBreachStatus(&b, br, s, tNow)
	})
	section("breach status (corrections and withdrawals)", func() error {
		br := fixtureBreach()
		br.LatestRevision = 2
		br.Revisions = []*cascadev1.BreachRevision{{Number: 2, ReceivedAt: ts(tNow.Add(-time.Hour)), Corrected: 1, Withdrawn: 1, FanoutComplete: true,
			Update: &cascadev1.BreachUpdate{BreachId: br.Id, Summary: "Uppsala is not affected; Stockholm's counts corrected."}}}
		s := fixtureSummary()
		s.Withdrawn, s.LatestRevision = 1, 2
		return renderBreachStatus(&b, br, s, tNow)
	})
	section("notice show (withdrawn, outcome recorded)", func() error {
		n := fixtureNotices()[0]
		n.State = cascadev1.NoticeState_NOTICE_STATE_WITHDRAWN
		n.AffectedStatus = cascadev1.AffectedStatus_AFFECTED_STATUS_NOT_AFFECTED
		n.WithdrawnAt, n.WithdrawalStatement = ts(tNow.Add(-time.Hour)), "The export job never read\x1b[2J this tenant."
		n.Outcome = &cascadev1.Outcome{Kind: cascadev1.OutcomeKind_OUTCOME_KIND_NOT_REPORTABLE, Justification: "Not affected.", RecordedAt: ts(tNow), RecordedBy: "dpo@x"}
		return renderNotice(&b, n, tNow)
	})
	section("breach list", func() error {
		running := fixtureBreach()
		running.Id, running.FanoutComplete, running.UnknownOrgIds = "B-2", false, nil
		return renderBreaches(&b, []*cascadev1.Breach{fixtureBreach(), running})
	})
	section("breach status (processor's promise late, one kept)", func() error {
		br := fixtureBreach()
		br.Revisions = []*cascadev1.BreachRevision{{Number: 2, ReceivedAt: ts(tNow.Add(-5 * time.Hour)), FanoutComplete: true,
			PromiseOutcome: cascadev1.PromiseOutcome_PROMISE_OUTCOME_KEPT, Update: &cascadev1.BreachUpdate{BreachId: br.Id, Summary: "Scope confirmed."}}}
		br.NextUpdate = &cascadev1.UpdatePromise{NextUpdateBy: ts(tNow.Add(-90 * time.Minute)), PromisedRevision: 2, Kept: 1, Missed: 1, Overdue: true}
		return renderBreachStatus(&b, br, fixtureSummary(), tNow)
	})
	testkit.Golden(t, "render.golden", b.String())
}

func TestJSONGolden(t *testing.T) {
	var b bytes.Buffer
	if err := writeProto(&b, fixtureNotices()[0]); err != nil {
		t.Fatal(err)
	}
	if err := writeProtoList(&b, fixtureNotices()[1:]); err != nil {
		t.Fatal(err)
	}
	if err := writeProtoList(&b, []*cascadev1.Notice{}); err != nil {
		t.Fatal(err)
	}
	if err := writeProtoLine(&b, fixtureSummary()); err != nil {
		t.Fatal(err)
	}
	testkit.Golden(t, "json.golden", b.String())
}

func TestProgressLine(t *testing.T) {
	for _, tc := range []struct {
		s     *cascadev1.BreachSummary
		total int64
		want  string
	}{
		{&cascadev1.BreachSummary{}, 0, "[----------] 0/0 delivered  0 acknowledged"},
		{&cascadev1.BreachSummary{Total: 3000, Delivered: 1234, Acknowledged: 12}, 3000,
			"[####------] 1234/3000 delivered  12 acknowledged"},
		{&cascadev1.BreachSummary{Total: 12, Delivered: 12, Acknowledged: 12, Resolved: 2, Overdue: 1}, 12,
			"[##########] 12/12 delivered  12 acknowledged  2 resolved  1 OVERDUE"},
		{&cascadev1.BreachSummary{Total: 20, Delivered: 15}, 10, // more recorded than expected: count them
			"[#######---] 15/20 delivered  0 acknowledged"},
	} {
		if got := progressLine(tc.s, tc.total, 10); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}

func TestProgressNotTerminal(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, 12, 0)
	p.update(&cascadev1.BreachSummary{Total: 12, Delivered: 6})
	p.update(&cascadev1.BreachSummary{Total: 12, Delivered: 6}) // unchanged: not drawn again
	p.update(&cascadev1.BreachSummary{Total: 12, Delivered: 12})
	p.finish()
	want := "[##########----------] 6/12 delivered  0 acknowledged\n[####################] 12/12 delivered  0 acknowledged\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
	if strings.Contains(b.String(), "\r") {
		t.Error("redraws with \\r on a non-terminal")
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                           "0m",
		59 * time.Second:                            "0m",
		5 * time.Minute:                             "5m",
		71*time.Hour + 59*time.Minute:               "71h59m",
		3*time.Hour + 2*time.Minute:                 "3h02m",
		-(3*time.Hour + 2*time.Minute):              "-3h02m",
		500*time.Hour + 30*time.Second:              "500h00m",
		72*time.Hour - time.Nanosecond:              "71h59m",
		time.Duration(1<<63 - 1):                    "2562047h47m",
		-time.Duration(1<<63 - 1):                   "-2562047h47m",
		time.Hour + 59*time.Minute + 59*time.Second: "1h59m",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
