package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/natstest"
)

// TestMultiGetNotices: one multi_last request returns the current state and
// sequence of every existing notice, aligned with the ids, nil for missing
// ones, also for a full request of multiGetMax notices.
func TestMultiGetNotices(t *testing.T) {
	srv := natstest.Start(t)
	st, err := Open(context.Background(), srv.Connect(), Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	at := time.Date(2025, 8, 23, 14, 0, 0, 0, time.UTC)
	var cs []Change
	var ids []breach.NoticeID
	for i := range multiGetMax {
		id := breach.NewNoticeID("MG", breach.OrgID(fmt.Sprintf("org-%04d", i)))
		ids = append(ids, id)
		if i%10 == 3 {
			continue // never created
		}
		cs = append(cs, Change{Event: breach.EventCreated, At: at, Actor: "test", Notice: breach.Notice{ID: id, State: breach.StatePending, CreatedAt: at}})
	}
	res, err := st.AppendChanges(ctx, cs, make([]uint64, len(cs)))
	if err != nil {
		t.Fatal(err)
	}
	// A second change of the first notice: its later sequence must be read.
	n, err := st.UpdateNotice(ctx, ids[0], "test", at, func(n *breach.Notice) (breach.Event, error) {
		n.AckNote = "changed"
		return breach.EventAcknowledged, nil
	})
	if err != nil || n.AckNote != "changed" {
		t.Fatal(err)
	}
	vs, err := st.multiGetNotices(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	one, err := st.getNoticesEach(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vs {
		switch {
		case i%10 == 3:
			if v.Notice != nil {
				t.Fatalf("%s: read a notice that was never created", ids[i])
			}
		case v.Notice == nil || v.Notice.ID != ids[i] || v.Seq != one[i].Seq:
			t.Fatalf("%s: got %+v, one by one %+v", ids[i], v, one[i])
		}
	}
	if vs[0].Notice.AckNote != "changed" || vs[0].Seq <= res[0].Seq {
		t.Fatalf("first notice: %+v (created at seq %d)", vs[0], res[0].Seq)
	}
	none, err := st.multiGetNotices(ctx, []breach.NoticeID{breach.NewNoticeID("MG", "nobody")})
	if err != nil || none[0].Notice != nil {
		t.Fatalf("missing notice: %+v, %v", none, err)
	}
}

// TestDirectReads: a notice's history and its questions read with direct
// gets (no consumer) are what a consumer reads, also when the history takes
// more than one batch, and the history of a notice whose organisation id is
// a prefix of another's holds its own changes only.
func TestDirectReads(t *testing.T) {
	srv := natstest.Start(t)
	var logged syncBuffer // says whether a read fell back to a consumer
	st, err := Open(context.Background(), srv.Connect(), Config{}, slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	at := time.Date(2025, 8, 23, 14, 0, 0, 0, time.UTC)
	a, b := breach.NewNoticeID("DR", "org-1"), breach.NewNoticeID("DR", "org-10")
	var cs []Change
	for _, id := range []breach.NoticeID{a, b} {
		cs = append(cs, Change{Event: breach.EventCreated, At: at, Actor: "test", Notice: breach.Notice{ID: id, State: breach.StatePending, CreatedAt: at}})
	}
	if _, err := st.AppendChanges(ctx, cs, make([]uint64, len(cs))); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		for _, id := range []breach.NoticeID{a, b} {
			if _, err := st.UpdateNotice(ctx, id, "test", at, func(n *breach.Notice) (breach.Event, error) {
				n.AckNote = fmt.Sprintf("%s %d", id, i)
				return breach.EventAcknowledged, nil
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var scanned []uint64
	if err := st.scan(ctx, noticeSubject(a), jetstream.DeliverAllPolicy, func(m jetstream.Msg) error {
		md, err := m.Metadata()
		if err == nil {
			scanned = append(scanned, md.Sequence.Stream)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, batch := range []int{1, 2, 1000} {
		var got []uint64
		if err := st.readSubject(ctx, noticeSubject(a), batch, func(seq uint64, _ []byte) error {
			got = append(got, seq)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, scanned) || len(got) != 6 {
			t.Fatalf("batch %d: read %v, a consumer %v", batch, got, scanned)
		}
	}
	h, err := st.History(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 6 || h[5].Change.Notice.AckNote != fmt.Sprintf("%s 4", a) {
		t.Fatalf("history of %s: %+v", a, h)
	}
	for i, e := range h {
		if e.Seq != scanned[i] || e.Change.Notice.ID != a {
			t.Fatalf("history of %s, entry %d: %+v (a consumer: seq %d)", a, i, e, scanned[i])
		}
	}
	if _, err := st.History(ctx, breach.NewNoticeID("DR", "nobody")); !errors.Is(err, breach.ErrNotFound) {
		t.Fatalf("history of a notice never created: %v", err)
	}

	// Questions: three of a, one of them answered, and one of b.
	by := breach.Principal{Kind: breach.PrincipalToken, ID: "t", Role: "controller", Org: "org-1"}
	var asked []*breach.Question
	for i := range 3 {
		q, _, err := st.AskQuestion(ctx, a, fmt.Sprintf("question %d", i), by, at)
		if err != nil {
			t.Fatal(err)
		}
		asked = append(asked, q)
	}
	if _, _, err := st.AskQuestion(ctx, b, "question of b", by, at); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.AnswerQuestion(ctx, asked[1].ID, "an answer", false, by, at, func() string { return "s1" }); err != nil {
		t.Fatal(err)
	}
	direct, err := st.ListQuestions(ctx, "DR", "org-1")
	if err != nil {
		t.Fatal(err)
	}
	all, err := st.ListQuestions(ctx, "DR", "") // read with a consumer
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, q := range all {
		if q.ID.Notice == a {
			want = append(want, fmt.Sprintf("%s %q %v", q.ID, q.Text, q.Answered()))
		}
	}
	var got []string
	for _, q := range direct {
		got = append(got, fmt.Sprintf("%s %q %v", q.ID, q.Text, q.Answered()))
	}
	if !slices.Equal(got, want) || len(got) != 3 || !direct[1].Answered() {
		t.Fatalf("questions of %s read directly: %v; with a consumer: %v", a, got, want)
	}
	if none, err := st.ListQuestions(ctx, "DR", "nobody"); err != nil || len(none) != 0 {
		t.Fatalf("questions of nobody: %v, %v", none, err)
	}
	if strings.Contains(logged.String(), "with a consumer") {
		t.Errorf("a direct read fell back to a consumer:\n%s", logged.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
