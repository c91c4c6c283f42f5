package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
)

func TestWebhookSecrets(t *testing.T) {
	ctx := context.Background()
	ch, err := open(t).OpenChannels(ctx, testWebhookSealing)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.WebhookSecret(ctx, "a"); !errors.Is(err, breach.ErrNotFound) {
		t.Fatalf("no secret yet: %v", err)
	}
	w, err := ch.RotateWebhookSecret(ctx, "a", "whsec_one", t0, time.Hour)
	if err != nil || w.Previous != "" || !slices.Equal(w.Valid(t0), []string{"whsec_one"}) {
		t.Fatalf("first: %+v, %v", w, err)
	}
	if _, err := ch.RotateWebhookSecret(ctx, "a", "whsec_two", t0.Add(time.Minute), time.Hour); err != nil {
		t.Fatal(err)
	}
	w, err = ch.WebhookSecret(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Valid(t0.Add(2 * time.Minute)); !slices.Equal(got, []string{"whsec_two", "whsec_one"}) {
		t.Fatalf("during the overlap: %v", got)
	}
	if got := w.Valid(t0.Add(2 * time.Hour)); !slices.Equal(got, []string{"whsec_two"}) {
		t.Fatalf("after the overlap: %v", got)
	}
	if s := w.String(); s != "webhook secret of a (redacted)" {
		t.Fatalf("String() = %q", s)
	}
}

func TestDeadLetters(t *testing.T) {
	ctx := context.Background()
	ch, err := open(t).OpenChannels(ctx, testWebhookSealing)
	if err != nil {
		t.Fatal(err)
	}
	put := func(b, o string, c breach.Channel) {
		t.Helper()
		id := breach.NewNoticeID(breach.BreachID(b), breach.OrgID(o))
		if err := ch.PutDeadLetter(ctx, breach.DeadLetter{NoticeID: id, Channel: c, MessageID: id.String() + "/notice/1", At: t0}); err != nil {
			t.Fatal(err)
		}
	}
	put("B1", "a", breach.ChannelWebhook)
	put("B1", "a", breach.ChannelWebhook) // repeated after a crash: stored once
	put("B1", "a", breach.ChannelEmail)
	put("B1", "b", breach.ChannelWebhook)
	put("B2", "a", breach.ChannelWebhook)

	var seen []string
	var after uint64
	for {
		page, more, err := ch.DeadLetters(ctx, "", "", after, 1)
		if err != nil || len(page) != 1 {
			t.Fatalf("page after %d: %v, %v", after, page, err)
		}
		seen = append(seen, page[0].NoticeID.String()+"/"+string(page[0].Channel))
		after = page[0].Seq
		if !more {
			break
		}
	}
	if want := []string{"B1/a/webhook", "B1/a/email", "B1/b/webhook", "B2/a/webhook"}; !slices.Equal(seen, want) {
		t.Fatalf("paged %v, want %v", seen, want)
	}
	for _, tc := range []struct {
		b    breach.BreachID
		o    breach.OrgID
		want int
	}{{"B1", "", 3}, {"", "a", 3}, {"B1", "b", 1}, {"B3", "", 0}} {
		got, more, err := ch.DeadLetters(ctx, tc.b, tc.o, 0, 100)
		if err != nil || len(got) != tc.want || more {
			t.Errorf("breach %q org %q: %d (more %v), %v; want %d", tc.b, tc.o, len(got), more, err, tc.want)
		}
	}
}

func TestDispatchProgress(t *testing.T) {
	ctx := context.Background()
	ch, err := open(t).OpenChannels(ctx, testWebhookSealing)
	if err != nil {
		t.Fatal(err)
	}
	if done, err := ch.Progress(ctx, 7); err != nil || done != nil {
		t.Fatalf("none: %v, %v", done, err)
	}
	if err := ch.PutProgress(ctx, 7, []breach.Channel{breach.ChannelWebhook}); err != nil {
		t.Fatal(err)
	}
	if done, err := ch.Progress(ctx, 7); err != nil || !slices.Equal(done, []breach.Channel{breach.ChannelWebhook}) {
		t.Fatalf("stored: %v, %v", done, err)
	}
	if err := ch.DeleteProgress(ctx, 7); err != nil {
		t.Fatal(err)
	}
	if done, err := ch.Progress(ctx, 7); err != nil || done != nil {
		t.Fatalf("deleted: %v, %v", done, err)
	}
}
