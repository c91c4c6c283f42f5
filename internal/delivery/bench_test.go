package delivery

import (
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/signing"
)

type oneKey struct{ k *signing.Key }

func (o oneKey) Active() *signing.Key { return o.k }

// BenchmarkEncodeSignNotice: building, encoding and signing one
// organisation's notice message, the per-notice CPU of a fan-out. Signed
// alone (one Ed25519 signature each, v1) and in a batch of 1,000 (one
// signature per batch, v2), as Send signs a chunk; ns/op is per message.
func BenchmarkEncodeSignNotice(b *testing.B) {
	for _, batch := range []int{1, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { benchEncodeSign(b, batch) })
	}
}

func benchEncodeSign(b *testing.B, batch int) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		b.Fatal(err)
	}
	p := &Publisher{keys: oneKey{&signing.Key{ID: "k1", Public: pub, Private: priv, Active: true}}}
	at := time.Date(2025, 8, 25, 9, 0, 0, 0, time.UTC)
	br := &breach.Breach{ID: "MD-2025-08", Report: breach.Report{ID: "MD-2025-08", Processor: "Miljödata AB",
		Title: "Unauthorised access to the HR system", Nature: "Ransomware attack with exfiltration of personnel files",
		DiscoveredAt: at.Add(-48 * time.Hour), DataCategories: []string{"identity", "contact", "employment", "health"},
		LikelyConsequences: "Identity theft and targeted phishing of employees", MeasuresTaken: "Systems isolated, police report filed",
		AdviceToControllers: "Inform your employees; watch for phishing that copies this notice"}}
	n := &breach.Notice{ID: breach.NewNoticeID(br.ID, "se-kommun-0180"), OrgName: "Stockholms kommun", State: breach.StatePending, CreatedAt: at}
	ms := make([]*nats.Msg, 0, batch)
	for b.Loop() {
		o := NoticeMessage(br, n, 1, at, 72*time.Hour)
		m, err := p.natsMsg(Subject(n.ID.Org), o)
		if err != nil {
			b.Fatal(err)
		}
		if ms = append(ms, m); len(ms) == batch {
			signing.SignBatch(p.keys.Active(), ms)
			ms = ms[:0]
		}
	}
}
