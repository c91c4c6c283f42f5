package email

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/nats-io/nats.go"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/delivery"
	"github.com/cascadehq/cascade/internal/message"
	"github.com/cascadehq/cascade/internal/signing"
	"github.com/cascadehq/cascade/internal/testkit"
)

// startRelay runs an SMTP server on a loopback port with the PLAIN login
// cascade/relay-password, refusing recipients unknown@…; with cfg it
// offers STARTTLS.
func startRelay(t *testing.T, cfg *tls.Config) *testkit.SMTP {
	t.Helper()
	return testkit.StartSMTP(t, testkit.SMTPConfig{TLS: cfg, Username: "cascade", Password: "relay-password",
		Rcpt: func(to string) error {
			if strings.HasPrefix(to, "unknown@") {
				return &smtp.SMTPError{Code: 550, Message: "no such mailbox"}
			}
			return nil
		}})
}

// selfSigned makes a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	cfg, pool, _ := testkit.SelfSigned(t)
	return cfg, pool
}

// testKey is an Ed25519 signing key and the set that verifies it.
func testKey(t *testing.T) (*signing.Key, signing.KeySet) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k := &signing.Key{ID: signing.KeyID(pub), Public: pub, Private: priv, CreatedAt: time.Now(), Active: true}
	return k, signing.KeySet{Keys: []signing.PublicKey{k.PublicPart()}}
}

var sentAt = time.Date(2025, 8, 23, 14, 30, 0, 0, time.UTC)

// noticeMessage is a signed first delivery of a notice, as published on NATS.
func noticeMessage(t *testing.T, k *signing.Key, locale string) *Message {
	t.Helper()
	b := &breach.Breach{ID: "EXAMPLE-2025-08-23", Report: breach.Report{
		ID: "EXAMPLE-2025-08-23", Processor: "Exempel HR-system AB", Title: "Intrång i HR-systemet\r\nBcc: evil@example.org",
		Nature: "Obehörig åtkomst till lönedatabasen.", DiscoveredAt: sentAt.Add(-30 * time.Minute),
		DataCategories: []string{"namn", "personnummer"}, SubjectCategories: []string{"anställda"},
		MeasuresTaken: "Servrarna isolerades.", AdviceToControllers: "Informera era anställda.",
		Contact: breach.Contact{Name: "Säkerhetsteamet", Email: "sec@exempel.example.org", Phone: "+46 8 000 00 00"},
	}}
	n := &breach.Notice{ID: breach.NewNoticeID(b.ID, "se-kommun-0180"), OrgName: "Stockholms kommun", ApproxSubjects: 52000, ApproxRecords: 410000}
	o := delivery.NoticeMessage(b, n, 1, sentAt, 72*time.Hour)
	body, err := json.Marshal(o.Msg)
	if err != nil {
		t.Fatal(err)
	}
	m := &nats.Msg{Subject: delivery.Subject(n.ID.Org), Data: body, Header: nats.Header{}}
	m.Header.Set(message.HeaderEvent, o.Msg.Event)
	m.Header.Set(message.HeaderNoticeID, n.ID.String())
	m.Header.Set(message.HeaderRevision, "1")
	signing.SignMsg(k, m)
	return &Message{Msg: o.Msg, Subject: m.Subject, Header: m.Header, Body: body, MessageID: o.MsgID, Locale: locale,
		To: []string{"dpo@stockholm.example.org", "security@stockholm.example.org"}, Date: sentAt.Add(time.Second),
		DeliveredAt: o.Msg.DeliveredAt, Deadline: o.Msg.Deadline}
}

// parsed is a received e-mail taken apart.
type parsed struct {
	header      mail.Header
	subject     string
	plain, html string
	attachment  []byte
}

func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var p parsed
	p.header = msg.Header
	if p.subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	mixed := multipart.NewReader(msg.Body, params["boundary"])
	alt, err := mixed.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	mt, params, _ = mime.ParseMediaType(alt.Header.Get("Content-Type"))
	if mt != "multipart/alternative" {
		t.Fatalf("first part %q", mt)
	}
	ar := multipart.NewReader(alt, params["boundary"])
	for _, want := range []string{"text/plain", "text/html"} {
		part, err := ar.NextPart() // decodes quoted-printable
		if err != nil {
			t.Fatal(err)
		}
		mt, params, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if mt != want || params["charset"] != "utf-8" {
			t.Fatalf("part %q %v, want %s; charset=utf-8", mt, params, want)
		}
		b, _ := io.ReadAll(part)
		if want == "text/plain" {
			p.plain = string(b)
		} else {
			p.html = string(b)
		}
	}
	att, err := mixed.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	if att.FileName() != AttachmentName {
		t.Fatalf("attachment %q", att.FileName())
	}
	raw, _ := io.ReadAll(att)
	if p.attachment, err = base64.StdEncoding.DecodeString(string(raw)); err != nil { // line breaks are ignored
		t.Fatal(err)
	}
	return p
}

func TestSendBothLanguages(t *testing.T) {
	srvTLS, pool := selfSigned(t)
	r := startRelay(t, srvTLS)
	k, keys := testKey(t)
	relay := &Relay{Addr: r.Addr, From: "Cascade <cascade@vendor.example>", Username: "cascade", Password: "relay-password", RootCAs: pool}
	if err := relay.Check(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		locale string
		want   []string // in both parts
	}{
		{"", []string{"Till Stockholms kommun", "personuppgiftsincident", "artikel 33.2", "cirka 52\u00a0000 registrerade, cirka 410\u00a0000 poster",
			"senast 2025-08-26 16:30 CEST", `cascadectl notice ack EXAMPLE-2025-08-23/se-kommun-0180 --by "…"`,
			"Cascades nyckel " + k.ID, "cascadectl verify cascade-message.json --keys keys.json", "cascade.keys", "KeyService/ListSigningKeys",
			"Cascade ber aldrig om lösenord, inloggningsuppgifter eller andra behörighetsuppgifter",
			"sidan ”Kontrollera ett meddelande”", "aldrig på ett nummer som står i ett meddelande"}},
		{"en", []string{"To Stockholms kommun", "personal data breach", "Article 33(2)", "about 52,000 data subjects, about 410,000 records",
			"by 2025-08-26 16:30 CEST", `cascadectl notice ack EXAMPLE-2025-08-23/se-kommun-0180 --by "…"`,
			"Cascade's key " + k.ID, "cascadectl verify cascade-message.json --keys keys.json", "cascade.keys", "KeyService/ListSigningKeys",
			"Cascade never asks for passwords, login details or any other credentials",
			`the page "Check a message"`, "never on one given in a message"}},
	} {
		t.Run("locale="+tc.locale, func(t *testing.T) {
			before := len(r.Mails())
			m := noticeMessage(t, k, tc.locale)
			if err := relay.Send(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			got := r.Mails()
			if len(got) != before+1 {
				t.Fatalf("relay received %d messages", len(got)-before)
			}
			rc := got[len(got)-1]
			if !rc.TLS || rc.User != "cascade" || rc.From != "cascade@vendor.example" ||
				strings.Join(rc.To, ",") != "dpo@stockholm.example.org,security@stockholm.example.org" {
				t.Fatalf("envelope: tls %v, user %q, from %q, to %v", rc.TLS, rc.User, rc.From, rc.To)
			}
			p := parse(t, rc.Data)
			t.Logf("Subject: %s\n\n%s", p.subject, p.plain)
			if !strings.Contains(p.subject, "EXAMPLE-2025-08-23/se-kommun-0180") || !strings.Contains(p.subject, "Intrång i HR-systemet Bcc: evil@example.org") {
				t.Errorf("subject %q", p.subject)
			}
			if p.header.Get("Bcc") != "" || strings.Contains(string(rc.Data), "\r\nBcc:") {
				t.Error("a line break in the title made a header")
			}
			for _, w := range tc.want {
				if !strings.Contains(p.plain, w) {
					t.Errorf("text/plain lacks %q", w)
				}
				if !strings.Contains(p.html, htmlEscape(w)) {
					t.Errorf("text/html lacks %q", w)
				}
			}
			for _, part := range []string{p.plain, p.html} {
				low := strings.ToLower(part)
				for _, banned := range []string{"http://", "https://", "<a ", "href", "log in", "logga in"} {
					if strings.Contains(low, banned) {
						t.Errorf("the e-mail contains %q", banned)
					}
				}
			}
			if p.header.Get("Content-Language") != map[string]string{"": "sv", "en": "en"}[tc.locale] ||
				p.header.Get(HeaderIdempotencyKey) != m.MessageID || p.header.Get("Auto-Submitted") != "auto-generated" ||
				p.header.Get("Message-Id") != MessageIDHeader(m.MessageID, "vendor.example") {
				t.Errorf("headers: %v", p.header)
			}
			// The attachment is the signed message: cascadectl verify accepts it.
			var saved signing.SavedMessage
			if err := saved.Unmarshal(p.attachment); err != nil {
				t.Fatal(err)
			}
			if kid, err := saved.Verify(keys, time.Now()); err != nil || kid != k.ID {
				t.Fatalf("attachment does not verify: %v", err)
			}
		})
	}
	// Retries of one message carry the same Message-ID.
	a, _ := Compose(&mail.Address{Address: "cascade@vendor.example"}, noticeMessage(t, k, "sv"))
	b, _ := Compose(&mail.Address{Address: "cascade@vendor.example"}, noticeMessage(t, k, "sv"))
	if parse(t, a).header.Get("Message-Id") != parse(t, b).header.Get("Message-Id") {
		t.Error("Message-ID differs between two attempts of one message")
	}
}

func TestEventsInBothLanguages(t *testing.T) {
	k, _ := testKey(t)
	for _, locale := range []string{"sv", "en"} {
		base := noticeMessage(t, k, locale)
		for _, tc := range []struct {
			name    string
			change  func(m *message.Message)
			subject map[string]string
		}{
			{"reminder", func(m *message.Message) { m.Event, m.Remaining, m.Breach = message.EventReminder, "24h0m0s", nil },
				map[string]string{"sv": "Påminnelse, 24 timmar kvar", "en": "Reminder, 24 hours left"}},
			{"overdue", func(m *message.Message) { m.Event, m.Breach = message.EventOverdue, nil },
				map[string]string{"sv": "Tidsfristen har passerat", "en": "Deadline passed"}},
			{"NIS2 reminder", func(m *message.Message) {
				m.Event, m.Remaining, m.Breach, m.Obligation = message.EventReminder, "2h0m0s", nil, "nis2_early_warning"
			},
				map[string]string{"sv": "NIS2 tidiga varning: Påminnelse, 2 timmar kvar", "en": "NIS2 early warning: Reminder, 2 hours left"}},
			{"NIS2 overdue", func(m *message.Message) {
				m.Event, m.Breach, m.Obligation = message.EventOverdue, nil, "nis2_final_report"
			},
				map[string]string{"sv": "NIS2 slutrapport: Tidsfristen har passerat", "en": "NIS2 final report: Deadline passed"}},
			{"revision", func(m *message.Message) {
				m.Event, m.Revision, m.RevisionSummary, m.AffectedStatus = message.EventRevision, 2, "Fler kategorier", "UNDER_INVESTIGATION"
			},
				map[string]string{"sv": "Ny information (version 2)", "en": "New information (revision 2)"}},
			{"redelivery", func(m *message.Message) { m.Redelivery = 1 },
				map[string]string{"sv": "Ej kvitterad", "en": "Not yet acknowledged"}},
			{"answer", func(m *message.Message) {
				m.Event, m.Breach, m.QuestionID, m.Question, m.Answer = message.EventAnswer, nil, "B-1/org-a/1", "Krypterat?", "Ja, AES-256."
			},
				map[string]string{"sv": "Svar från biträdet", "en": "Answer from the processor"}},
			{"shared answer", func(m *message.Message) {
				m.Event, m.Breach, m.SharedAnswerID, m.Question, m.Answer = message.EventAnswer, nil, "s1", "Krypterat?", "Ja, AES-256."
			},
				map[string]string{"sv": "Svar från biträdet", "en": "Answer from the processor"}},
			{"withdrawal", func(m *message.Message) {
				m.Event, m.Revision, m.Statement, m.AffectedStatus = message.EventWithdrawal, 3, "Exporten läste aldrig er tenant.", "NOT_AFFECTED"
			},
				map[string]string{"sv": "Ni berörs inte", "en": "Not affected"}},
		} {
			m := *base
			tc.change(&m.Msg)
			data, err := Compose(&mail.Address{Address: "cascade@vendor.example"}, &m)
			if err != nil {
				t.Fatal(err)
			}
			p := parse(t, data)
			if !strings.HasPrefix(p.subject, tc.subject[locale]) {
				t.Errorf("%s/%s: subject %q", locale, tc.name, p.subject)
			}
			if !strings.Contains(p.plain, map[string]string{"sv": "Cascade ber aldrig", "en": "Cascade never asks"}[locale]) {
				t.Errorf("%s/%s: no credentials warning", locale, tc.name)
			}
			if m.Msg.Event == message.EventRevision && !strings.Contains(p.plain, map[string]string{"sv": "utreder fortfarande", "en": "still investigating"}[locale]) {
				t.Errorf("%s/%s: the status under investigation is not said:\n%s", locale, tc.name, p.plain)
			}
			if m.Msg.Event == message.EventWithdrawal && (!strings.Contains(p.plain, "Exporten läste aldrig er tenant.") ||
				!strings.Contains(p.plain, map[string]string{"sv": "inga fler påminnelser", "en": "no more reminders"}[locale]) ||
				strings.Contains(p.plain, "cascadectl notice ack")) {
				t.Errorf("%s/%s: no statement, or asks for an acknowledgement:\n%s", locale, tc.name, p.plain)
			}
			if m.Msg.Obligation != "" && m.Msg.Event == message.EventReminder && !strings.Contains(p.plain, "CERT-SE") {
				t.Errorf("%s/%s: the NIS2 reminder does not say where the report goes:\n%s", locale, tc.name, p.plain)
			}
			if m.Msg.Obligation != "" && (!strings.Contains(p.plain, "NIS2") || strings.Contains(p.plain, "Integritetsskyddsmyndigheten") ||
				strings.Contains(p.plain, "Article 33(1)")) {
				t.Errorf("%s/%s: the NIS2 text is not the obligation's:\n%s", locale, tc.name, p.plain)
			}
			if m.Msg.Event == message.EventAnswer && (!strings.Contains(p.plain, "Krypterat?") || !strings.Contains(p.plain, "Ja, AES-256.")) {
				t.Errorf("%s/%s: no question or answer:\n%s", locale, tc.name, p.plain)
			}
		}
	}
}

func TestRelayRefusesPlainSMTP(t *testing.T) {
	k, _ := testKey(t)
	plain := startRelay(t, nil) // no STARTTLS
	r := &Relay{Addr: plain.Addr, From: "cascade@vendor.example"}
	err := r.Send(context.Background(), noticeMessage(t, k, "sv"))
	if err == nil || !strings.Contains(err.Error(), "does not offer STARTTLS") {
		t.Fatalf("plain relay: %v", err)
	}
	if len(plain.Mails()) != 0 {
		t.Fatal("a message went out in clear text")
	}
	r.AllowPlainLoopback = true
	if err := r.Send(context.Background(), noticeMessage(t, k, "sv")); err != nil {
		t.Fatalf("plain loopback relay, explicitly allowed: %v", err)
	}

	srvTLS, _ := selfSigned(t)
	untrusted := startRelay(t, srvTLS)
	r = &Relay{Addr: untrusted.Addr, From: "cascade@vendor.example"}
	if err := r.Send(context.Background(), noticeMessage(t, k, "sv")); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("relay with an untrusted certificate: %v", err)
	}
	m := noticeMessage(t, k, "sv")
	m.To = []string{"unknown@stockholm.example.org"}
	if err := (&Relay{Addr: plain.Addr, From: "cascade@vendor.example", AllowPlainLoopback: true}).Send(context.Background(), m); err == nil || !strings.Contains(err.Error(), "550") {
		t.Fatalf("rejected recipient: %v", err)
	}
}

func TestRelayCheck(t *testing.T) {
	for _, r := range []Relay{
		{Addr: "relay.example.org", From: "c@vendor.example"},
		{Addr: "relay.example.org:587", From: "not an address"},
		{Addr: "relay.example.org:587", From: "c@vendor.example", Password: "p"},
		{Addr: "relay.example.org:25", From: "c@vendor.example", AllowPlainLoopback: true},
	} {
		if r.Check() == nil {
			t.Errorf("%+v: accepted", r)
		}
	}
	ok := Relay{Addr: "relay.example.org:587", From: "Cascade <c@vendor.example>", Username: "u", Password: "p"}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}
