package store

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/testkit"
)

// Fixed times for the golden records. They must never change: the golden
// files are what old ledgers hold.
var (
	goldenCreated      = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	goldenDiscovered   = time.Date(2024, 2, 29, 8, 30, 0, 0, time.UTC)
	goldenDelivered    = time.Date(2024, 3, 1, 10, 0, 1, 250_000_000, time.UTC)
	goldenDeadline     = goldenDelivered.Add(72 * time.Hour)
	goldenAcknowledged = time.Date(2024, 3, 2, 14, 15, 16, 123_456_789, time.UTC)
)

// fullChange is an acknowledgement with every Notice field set.
func fullChange() Change {
	return Change{
		Event: breach.EventAcknowledged,
		At:    goldenAcknowledged,
		Actor: "dpo@acme.example",
		Prev:  breach.StateDelivered,
		Notice: breach.Notice{
			ID:             breach.NewNoticeID("INC-2024-0042", "acme"),
			OrgName:        "Acme AB",
			State:          breach.StateAcknowledged,
			CreatedAt:      goldenCreated,
			DeliveredAt:    goldenDelivered,
			Deadline:       goldenDeadline,
			AcknowledgedAt: goldenAcknowledged,
			AcknowledgedBy: "dpo@acme.example",
			AckNote:        "Received; informing employees. \"Quoted\" & <escaped>, åäö.",
			ApproxSubjects: 1200,
			ApproxRecords:  3400,
			DiscoveredAt:   goldenDiscovered,
			DeliveryCount:  2,
		},
	}
}

// createdChange is the first change of a notice: Prev is UNSPECIFIED and
// only the fields known at creation are set.
func createdChange() Change {
	return Change{
		Event: breach.EventCreated,
		At:    goldenCreated,
		Actor: "cascade",
		Prev:  breach.StateUnspecified,
		Notice: breach.Notice{
			ID:             breach.NewNoticeID("INC-2024-0042", "globex"),
			OrgName:        "Globex",
			State:          breach.StatePending,
			CreatedAt:      goldenCreated,
			ApproxSubjects: 5,
			DiscoveredAt:   goldenDiscovered,
		},
	}
}

// principalChange is an acknowledgement recorded with the authenticated
// principal beside the typed name (records before principals have none:
// change_v1.golden).
func principalChange() Change {
	c := fullChange()
	c.Principal = &breach.Principal{Kind: breach.PrincipalToken, ID: "3f2a9c0d1e2b4a5f", Label: "Acme DPO laptop",
		Role: "controller", Org: "acme"}
	return c
}

// normalise puts every time of c in UTC so DeepEqual compares instants.
func normalise(c Change) Change {
	c.At = c.At.UTC()
	n := &c.Notice
	for _, tm := range []*time.Time{&n.CreatedAt, &n.DeliveredAt, &n.Deadline, &n.AcknowledgedAt, &n.DiscoveredAt} {
		*tm = tm.UTC()
	}
	return c
}

func TestChangeGolden(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		change Change
	}{
		{"acknowledged, every field", "change_v1.golden", fullChange()},
		{"created", "change_created_v1.golden", createdChange()},
		{"acknowledged through the API, with its principal", "change_principal_v1.golden", principalChange()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			got, err := EncodeChange(tc.change)
			if err != nil {
				t.Fatalf("EncodeChange: %v", err)
			}
			// A difference means stored records would change.
			testkit.Golden(t, tc.file, got)
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}

			// Old records keep decoding to the same change.
			dec, err := DecodeChange(want)
			if err != nil {
				t.Fatalf("DecodeChange(%s): %v", path, err)
			}
			if !reflect.DeepEqual(normalise(dec), normalise(tc.change)) {
				t.Errorf("DecodeChange(%s):\n got %+v\nwant %+v", path, dec, tc.change)
			}
		})
	}
}

// TestChangeGoldenFields pins the field names of the stored form, so a
// renamed JSON tag is caught even if the golden file is regenerated.
func TestChangeGoldenFields(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "change_v1.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"v":1`, `"event":"acknowledged"`, `"at":"2024-03-02T14:15:16.123456789Z"`, `"actor":"dpo@acme.example"`,
		`"prev_state":"DELIVERED"`, `"id":"INC-2024-0042/acme"`, `"org_name":"Acme AB"`, `"state":"ACKNOWLEDGED"`,
		`"created_at":"2024-03-01T10:00:00Z"`, `"delivered_at":"2024-03-01T10:00:01.25Z"`, `"deadline":"2024-03-04T10:00:01.25Z"`,
		`"acknowledged_at":"2024-03-02T14:15:16.123456789Z"`, `"acknowledged_by":"dpo@acme.example"`, `"ack_note":`,
		`"approx_subjects":1200`, `"approx_records":3400`, `"discovered_at":"2024-02-29T08:30:00Z"`, `"delivery_count":2`,
	} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("change_v1.golden lacks %s", want)
		}
	}
	withPrincipal, err := os.ReadFile(filepath.Join("testdata", "change_principal_v1.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `"principal":{"kind":"token","id":"3f2a9c0d1e2b4a5f","label":"Acme DPO laptop","role":"controller","org_id":"acme"}`; !bytes.Contains(withPrincipal, []byte(want)) {
		t.Errorf("change_principal_v1.golden lacks %s", want)
	}
	if bytes.Contains(data, []byte(`"principal"`)) {
		t.Error("change_v1.golden has a principal; want it omitted when there is none")
	}
	created, err := os.ReadFile(filepath.Join("testdata", "change_created_v1.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"prev_state":"UNSPECIFIED"`, `"state":"PENDING"`, `"event":"created"`} {
		if !bytes.Contains(created, []byte(want)) {
			t.Errorf("change_created_v1.golden lacks %s", want)
		}
	}
	for _, absent := range []string{"delivered_at", "deadline", "acknowledged_at", "acknowledged_by", "ack_note", "approx_records", "delivery_count"} {
		if bytes.Contains(created, []byte(`"`+absent+`"`)) {
			t.Errorf("change_created_v1.golden has zero field %q; want it omitted", absent)
		}
	}
}

func TestEncodeChangeNonUTC(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	c := fullChange()
	c.At = c.At.In(cet)
	c.Notice.Deadline = c.Notice.Deadline.In(cet)
	data, err := EncodeChange(c)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := DecodeChange(data)
	if err != nil {
		t.Fatal(err)
	}
	if !dec.At.Equal(c.At) || !dec.Notice.Deadline.Equal(c.Notice.Deadline) {
		t.Errorf("times changed instant: at %v → %v, deadline %v → %v", c.At, dec.At, c.Notice.Deadline, dec.Notice.Deadline)
	}
	if !reflect.DeepEqual(normalise(dec), normalise(fullChange())) {
		t.Errorf("DecodeChange = %+v, want %+v", dec, fullChange())
	}
}

func TestDecodeChangeErrors(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("testdata", "change_v1.golden"))
	if err != nil {
		t.Fatal(err)
	}
	v2 := bytes.Replace(golden, []byte(`"v":1`), []byte(`"v":2`), 1)
	if bytes.Equal(v2, golden) {
		t.Fatal(`golden file has no "v":1`)
	}
	noV := bytes.Replace(golden, []byte(`"v":1,`), nil, 1)
	tests := []struct {
		name    string
		data    string
		wantErr string
	}{
		{"version 2", string(v2), "notice record version 2 not supported"},
		{"version missing", string(noV), "notice record version 0 not supported"},
		{"version 2 minimal", `{"v":2}`, "notice record version 2 not supported"},
		{"malformed json", `{"v":1,"event":`, "decode notice record"},
		{"not json", `hello`, "decode notice record"},
		{"empty", ``, "decode notice record"},
		{"array", `[1]`, "decode notice record"},
		{"bad state", `{"v":1,"prev_state":"DONE"}`, "decode notice record"},
		{"bad notice id", `{"v":1,"notice":{"id":"no-slash"}}`, "decode notice record"},
		{"bad time", `{"v":1,"at":"yesterday"}`, "decode notice record"},
		{"version as string", `{"v":"1"}`, "decode notice record"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := DecodeChange([]byte(tc.data))
			if err == nil {
				t.Fatalf("DecodeChange(%q) = %+v, want error", tc.data, c)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("DecodeChange error = %q, want it to contain %q", err, tc.wantErr)
			}
			if !reflect.DeepEqual(c, Change{}) {
				t.Errorf("DecodeChange returned %+v with its error, want zero", c)
			}
		})
	}
}

func TestChangePrevNotice(t *testing.T) {
	full := fullChange()
	tests := []struct {
		name string
		c    Change
		want *breach.Notice // nil = created
	}{
		{"created", createdChange(), nil},
		{"delivered", func() Change {
			c := createdChange()
			c.Event, c.Prev = breach.EventDelivered, breach.StatePending
			c.Notice.Deliver(goldenDelivered, 72*time.Hour, 1)
			return c
		}(), func() *breach.Notice {
			n := createdChange().Notice
			n.Deliver(goldenDelivered, 72*time.Hour, 1)
			n.State = breach.StatePending
			return &n
		}()},
		{"acknowledged", full, func() *breach.Notice {
			n := full.Notice
			n.State = breach.StateDelivered
			return &n
		}()},
		{"redelivered", func() Change {
			c := full
			c.Event, c.Prev = breach.EventRedelivered, breach.StateAcknowledged
			return c
		}(), &full.Notice},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.c.Notice
			got := tc.c.PrevNotice()
			if tc.want == nil {
				if got != nil {
					t.Fatalf("PrevNotice() = %+v, want nil", got)
				}
				return
			}
			if got == nil {
				t.Fatal("PrevNotice() = nil")
			}
			if !reflect.DeepEqual(*got, *tc.want) {
				t.Errorf("PrevNotice():\n got %+v\nwant %+v", *got, *tc.want)
			}
			if got == &tc.c.Notice || !reflect.DeepEqual(tc.c.Notice, before) {
				t.Error("PrevNotice() aliases or modified the change's notice")
			}
			if got.Deadline != tc.c.Notice.Deadline {
				t.Errorf("PrevNotice() moved the deadline: %v, change has %v", got.Deadline, tc.c.Notice.Deadline)
			}
		})
	}
}

func TestNoticeSubjectRoundTrip(t *testing.T) {
	tests := []struct {
		id   breach.NoticeID
		subj string
	}{
		{breach.NewNoticeID("INC-1", "acme"), "cascade.ledger.notice.INC-1.acme"},
		{breach.NewNoticeID("a_B-c", "x_y-z"), "cascade.ledger.notice.a_B-c.x_y-z"},
		{breach.NewNoticeID(breach.BreachID("B"+strings.Repeat("x", 63)), breach.OrgID("o"+strings.Repeat("p", 62))),
			"cascade.ledger.notice.B" + strings.Repeat("x", 63) + ".o" + strings.Repeat("p", 62)},
	}
	for _, tc := range tests {
		t.Run(tc.id.String(), func(t *testing.T) {
			if !tc.id.Breach.Valid() || !tc.id.Org.Valid() {
				t.Fatalf("test id %v is not valid", tc.id)
			}
			subj := noticeSubject(tc.id)
			if subj != tc.subj {
				t.Errorf("noticeSubject = %q, want %q", subj, tc.subj)
			}
			got, ok := NoticeIDFromSubject(subj)
			if !ok || got != tc.id {
				t.Errorf("NoticeIDFromSubject(%q) = %v, %v; want %v, true", subj, got, ok, tc.id)
			}
		})
	}
}

func TestNoticeIDFromSubjectRejects(t *testing.T) {
	for _, subj := range []string{
		"",
		"cascade.ledger.notice",
		"cascade.ledger.notice.",
		"cascade.ledger.notice.INC-1",
		"cascade.ledger.members.INC-1.0",
		"cascade.notice.acme",
		"xcascade.ledger.notice.INC-1.acme",
	} {
		t.Run(subj, func(t *testing.T) {
			if id, ok := NoticeIDFromSubject(subj); ok {
				t.Errorf("NoticeIDFromSubject(%q) = %v, true; want false", subj, id)
			}
		})
	}
}

// TestNoticeIDFromSubjectValidates: a subject that noticeSubject cannot
// produce (extra tokens, empty tokens, wildcards, invalid ids) is not a
// notice subject.
func TestNoticeIDFromSubjectValidates(t *testing.T) {
	for _, subj := range []string{
		"cascade.ledger.notice.INC-1.acme.extra",
		"cascade.ledger.notice..acme",
		"cascade.ledger.notice.INC-1.",
		"cascade.ledger.notice.INC-1.*",
		"cascade.ledger.notice.INC-1.Acme",
	} {
		t.Run(subj, func(t *testing.T) {
			if id, ok := NoticeIDFromSubject(subj); ok {
				t.Errorf("NoticeIDFromSubject(%q) = %#v, true; want false", subj, id)
			}
		})
	}
}

// TestSummaryChange: the summary folder's partial decoding of a record
// gives the same counted fields as a full decoding, for every golden
// record, and a record marked as moving no count is not decoded.
func TestSummaryChange(t *testing.T) {
	for _, file := range []string{"change_v1.golden", "change_created_v1.golden"} {
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		full, err := DecodeChange(data)
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := SummaryChange(nats.Header{}, data)
		if err != nil || !ok {
			t.Fatalf("%s: SummaryChange: %v %v", file, ok, err)
		}
		p, q := got.PrevNotice(), full.PrevNotice()
		if (p == nil) != (q == nil) || p != nil && (p.State != q.State || p.RevisionAcked != q.RevisionAcked) {
			t.Errorf("%s: previous notice %+v, want %+v", file, p, q)
		}
		n, m := got.Notice, full.Notice
		if n.ID != m.ID || n.State != m.State || n.RevisionAcked != m.RevisionAcked || !n.Deadline.Equal(m.Deadline) || got.Event != full.Event {
			t.Errorf("%s: counted fields %+v, want those of %+v", file, n, m)
		}
	}
	if _, ok, err := SummaryChange(nats.Header{HeaderSummary: []string{"same"}}, []byte("not even JSON")); ok || err != nil {
		t.Errorf("a record marked same: ok %v, err %v; want skipped", ok, err)
	}
	if _, _, err := SummaryChange(nats.Header{}, []byte(`{"v":9}`)); err == nil {
		t.Error("an unknown record version decoded")
	}
}

// TestSummaryChangeObligations: for a notice with NIS2 obligations the
// partial decoding folds into the summary exactly as the full record does
// (the GDPR outcome, each obligation's deadline and resolution, and the
// marks before the change).
func TestSummaryChangeObligations(t *testing.T) {
	at := time.Date(2026, 1, 20, 9, 0, 0, 0, time.UTC)
	n := breach.Notice{ID: breach.NewNoticeID("INC-1", "acme"), State: breach.StatePending, CreatedAt: at,
		Obligations: breach.NewObligations([]breach.Regime{breach.RegimeNIS2}, breach.DefaultNIS2Clocks)}
	n.Deliver(at, 72*time.Hour, 1)
	var changes []Change
	step := func(op func(n *breach.Notice) (breach.Event, error)) {
		prev, acked, marks := n.State, n.RevisionAcked, breach.MarksOf(&n)
		ev, err := op(&n)
		if err != nil {
			t.Fatal(err)
		}
		changes = append(changes, Change{Event: ev, At: at, Prev: prev, PrevRevisionAcked: acked, PrevMarks: breach.PrevMarksFor(marks, &n), Notice: n})
	}
	later := at.Add(time.Hour)
	step(func(n *breach.Notice) (breach.Event, error) {
		return n.RecordObligationReport(breach.ObligationNIS2IncidentNotification, later, "ciso", "CERT-SE", "C", later, "")
	})
	step(func(n *breach.Notice) (breach.Event, error) { return n.RecordNotReportable(later, "dpo", "encrypted") })
	for i, c := range changes {
		data, err := EncodeChange(c)
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := SummaryChange(nats.Header{}, data)
		if err != nil || !ok {
			t.Fatalf("change %d: %v %v", i, ok, err)
		}
		var a, b breach.Summary
		a.Apply(got.PrevNotice(), &got.Notice)
		b.Apply(c.PrevNotice(), &c.Notice)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Errorf("change %d (%s) folds as %s, want %s", i, c.Event, ja, jb)
		}
		if c.PrevMarks == nil {
			t.Errorf("change %d (%s) has no marks before it", i, c.Event)
		}
	}
}

// TestChangeMsgMarksSummary: a reminder's record is marked as moving no
// count; a creation's and an acknowledgement's are not.
func TestChangeMsgMarksSummary(t *testing.T) {
	full := fullChange()
	created := createdChange()
	reminded := full
	reminded.Event, reminded.Prev, reminded.PrevRevisionAcked = breach.EventReminded, full.Notice.State, full.Notice.RevisionAcked
	for _, tc := range []struct {
		name string
		c    Change
		same bool
	}{{"created", created, false}, {"acknowledged", full, false}, {"reminded", reminded, true}} {
		m, err := changeMsg(tc.c, 7)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Header.Get(HeaderSummary) == "same"; got != tc.same {
			t.Errorf("%s: marked same %v, want %v", tc.name, got, tc.same)
		}
		if m.Header.Get(jetstream.ExpectedLastSubjSeqHeader) != "7" {
			t.Errorf("%s: expected sequence header %q", tc.name, m.Header.Get(jetstream.ExpectedLastSubjSeqHeader))
		}
	}
}
