package daemon_test

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/cascadehq/cascade/internal/natsauth"
)

// Hostile NATS clients: without credentials, with the vendor's seed (it
// may publish reports and updates, nothing else), with an organisation's
// seed (it may only listen to its own notices), and hostile reports.
func init() {
	const denied = "ermissions"
	type natsDo func(a *adversary, nc *nats.Conn) error
	vendor := func(do natsDo) func(a *adversary) error {
		return func(a *adversary) error { return do(a, a.vendorNC) }
	}
	org := func(do natsDo) func(a *adversary) error {
		return func(a *adversary) error { return do(a, a.orgNC) }
	}
	api := "$JS.API."
	addHostile(
		hostile{name: "anonymous client", surface: "nats", want: "Authorization Violation",
			do: func(a *adversary) error { return a.natsConnect() }},
		hostile{name: "user and password guessed", surface: "nats", want: "Authorization Violation",
			do: func(a *adversary) error { return a.natsConnect(nats.UserInfo("cascade-daemon", "cascade")) }},
		hostile{name: "unknown nkey user", surface: "nats", want: "Authorization Violation",
			do: func(a *adversary) error { return a.natsConnect(natsauth.UserOption(strangerSeed())) }},
		hostile{name: "garbage seed", surface: "nats", want: "not an nkey seed",
			do: func(a *adversary) error { return a.natsConnect(natsauth.UserOption([]byte("SUAGARBAGE"))) }},
		hostile{name: "daemon's public key with a stranger's seed", surface: "nats", want: "Authorization Violation",
			do: func(a *adversary) error {
				pub, err := natsauth.PublicKeyFromFile(filepath.Join(a.dir, natsauth.DaemonSeedFile))
				if err != nil {
					return err
				}
				stranger, err := nkeys.FromSeed(strangerSeed())
				if err != nil {
					return err
				}
				return a.natsConnect(nats.Nkey(pub, stranger.Sign))
			}},

		// The vendor forging what only Cascade may publish or change.
		hostile{name: "vendor publishes a phishing notice", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error {
				return a.pubAs(nc, "cascade.notice."+advOrgA, []byte(`{"event":"notice","title":"re-verify your credentials at https://evil.example"}`))
			})},
		hostile{name: "vendor publishes a ledger record", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error {
				return a.pubAs(nc, "cascade.ledger.notice."+advBreach+"."+advOrgA, []byte(`{"state":"RESOLVED","deadline":"2099-01-01T00:00:00Z"}`))
			})},
		hostile{name: "vendor publishes a timer", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error { return a.pubAs(nc, "cascade.timer.x", []byte(`{}`)) })},
		hostile{name: "vendor forges a round", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error {
				return a.pubAs(nc, "cascade.events."+advBreach+"._overdue", []byte(`{}`))
			})},
		hostile{name: "vendor forges the key set", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error { return a.pubAs(nc, "cascade.keys", []byte(`{"keys":[]}`)) })},
		hostile{name: "vendor forges a rejection", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error { return a.pubAs(nc, "cascade.breach.rejected", []byte(`{}`)) })},
		hostile{name: "vendor mints a token record", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error {
				return a.pubAs(nc, "$KV.cascade-tokens.0123456789abcdef", []byte(`{"role":"vendor"}`))
			})},
		hostile{name: "vendor plants a signing key", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error { return a.pubAs(nc, "$KV.cascade-keys.active", []byte(`{}`)) })},
		hostile{name: "vendor rewrites an organisation's webhook", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error {
				return a.pubAs(nc, "$KV.cascade-orgs."+advOrgA, []byte(`{"id":"`+advOrgA+`","webhook_url":"https://evil.example/"}`))
			})},
		hostile{name: "vendor rewrites a breach record", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error {
				return a.pubAs(nc, "$KV.cascade-breaches."+advBreach, []byte(`{}`))
			})},
		hostile{name: "vendor acknowledges intake work", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error {
				return a.refused(nc, func() error { return nc.Publish("$JS.ACK.CASCADE_INTAKE.cascade-intake.1.1.1.0.0", []byte("+TERM")) })
			})},
		hostile{name: "vendor reads the signing key bucket", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error {
				return a.requestAs(nc, api+"STREAM.INFO.KV_cascade-keys", nil)
			})},
		hostile{name: "vendor direct-gets the active key", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error {
				return a.requestAs(nc, api+"DIRECT.GET.KV_cascade-keys", []byte(`{"last_by_subj":"$KV.cascade-keys.active"}`))
			})},
		hostile{name: "vendor reads a token record", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error {
				return a.requestAs(nc, api+"STREAM.MSG.GET.KV_cascade-tokens", []byte(`{"seq":1}`))
			})},
		hostile{name: "vendor reads webhook secrets", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error {
				return a.requestAs(nc, api+"STREAM.INFO.KV_cascade-webhook-secrets", nil)
			})},
		hostile{name: "vendor purges the notices", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error {
				return a.requestAs(nc, api+"STREAM.PURGE.CASCADE_NOTICES", nil)
			})},
		hostile{name: "vendor purges the ledger", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error {
				return a.requestAs(nc, api+"STREAM.PURGE.CASCADE_LEDGER", nil)
			})},
		hostile{name: "vendor deletes the intake stream", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error {
				return a.requestAs(nc, api+"STREAM.DELETE.CASCADE_INTAKE", nil)
			})},
		hostile{name: "vendor deletes the token bucket", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error {
				return a.requestAs(nc, api+"STREAM.DELETE.KV_cascade-tokens", nil)
			})},
		hostile{name: "vendor deletes a stored report", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error {
				return a.requestAs(nc, api+"STREAM.MSG.DELETE.CASCADE_INTAKE", []byte(`{"seq":1}`))
			})},
		hostile{name: "vendor shortens the rejections' retention", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error {
				return a.requestAs(nc, api+"STREAM.UPDATE.CASCADE_REJECTED", []byte(`{"name":"CASCADE_REJECTED","subjects":["cascade.breach.rejected"],"max_age":1}`))
			})},
		hostile{name: "vendor deletes the intake consumer", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error {
				return a.requestAs(nc, api+"CONSUMER.DELETE.CASCADE_INTAKE.cascade-intake", nil)
			})},
		hostile{name: "vendor reads every organisation's notices", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error {
				return a.requestAs(nc, api+"CONSUMER.CREATE.CASCADE_NOTICES", []byte(`{"stream_name":"CASCADE_NOTICES","config":{"ack_policy":"none"}}`))
			})},
		hostile{name: "vendor creates a stream", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error {
				return a.requestAs(nc, api+"STREAM.CREATE.SHADOW", []byte(`{"name":"SHADOW","subjects":["cascade.breach.report"]}`))
			})},
		hostile{name: "vendor listens to notices", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error { return subscribeAs(nc, "cascade.notice.>") })},
		hostile{name: "vendor listens to other users' replies", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error { return subscribeAs(nc, "_INBOX.>") })},
		hostile{name: "vendor listens to the ledger", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error { return subscribeAs(nc, "cascade.ledger.>") })},
		hostile{name: "vendor listens to everything", surface: "nats", want: denied,
			do: vendor(func(a *adversary, nc *nats.Conn) error { return subscribeAs(nc, ">") })},

		// An organisation may only listen to its own notices and the key set.
		hostile{name: "organisation publishes a report", surface: "nats", want: denied,
			do: org(func(a *adversary, nc *nats.Conn) error {
				return a.pubAs(nc, "cascade.breach.report", report("ORG-1", advOrgA))
			})},
		hostile{name: "organisation publishes a notice to another", surface: "nats", want: denied,
			do: org(func(a *adversary, nc *nats.Conn) error { return a.pubAs(nc, "cascade.notice."+advOrgB, []byte(`{}`)) })},
		hostile{name: "organisation listens to another's notices", surface: "nats", want: denied,
			do: org(func(a *adversary, nc *nats.Conn) error { return subscribeAs(nc, "cascade.notice."+advOrgB) })},
		hostile{name: "organisation listens to every notice", surface: "nats", want: denied,
			do: org(func(a *adversary, nc *nats.Conn) error { return subscribeAs(nc, "cascade.notice.*") })},
		hostile{name: "organisation listens to the vendor's rounds", surface: "nats", want: denied,
			do: org(func(a *adversary, nc *nats.Conn) error { return subscribeAs(nc, "cascade.events.>") })},
		hostile{name: "organisation reads the rejections", surface: "nats", want: denied,
			do: org(func(a *adversary, nc *nats.Conn) error { return subscribeAs(nc, "cascade.breach.rejected") })},
		hostile{name: "organisation asks JetStream for the notices", surface: "nats", want: denied,
			do: org(func(a *adversary, nc *nats.Conn) error {
				return a.requestAs(nc, api+"STREAM.INFO.CASCADE_NOTICES", nil)
			})},
		hostile{name: "organisation direct-gets another's notice", surface: "nats", want: denied,
			do: org(func(a *adversary, nc *nats.Conn) error {
				return a.requestAs(nc, api+"DIRECT.GET.CASCADE_NOTICES", []byte(`{"last_by_subj":"cascade.notice.`+advOrgB+`"}`))
			})},
	)

	// The vendor naming one of Cascade's stored subjects as the reply
	// subject of a request it may make: the server's answer (a PubAck, an
	// API response holding a stored report) must not be stored there. The
	// vendor is in an account of its own, so answers reach it through a
	// reply subject the server makes up; each row fails if the answer
	// appears on its target.
	const notStored = "reply not stored"
	for _, target := range []struct{ name, subject string }{
		{"an organisation's registry entry", "$KV.cascade-orgs." + advOrgA},
		{"the signing keys", "$KV.cascade-keys.active"},
		{"a token record", "$KV.cascade-tokens.0123456789abcdef"},
		{"a notice's ledger state", "cascade.ledger.notice." + advBreach + "." + advOrgA},
		{"another organisation's notice", "cascade.notice." + advOrgB},
	} {
		addHostile(
			hostile{name: "vendor's report answered on " + target.name, surface: "nats", want: notStored,
				do: func(a *adversary) error {
					return a.replyAttack(target.subject, "cascade.breach.report", []byte(`{}`))
				}},
			hostile{name: "vendor's stored report answered on " + target.name, surface: "nats", want: notStored,
				do: func(a *adversary) error {
					return a.replyAttack(target.subject, api+"STREAM.MSG.GET.CASCADE_INTAKE", []byte(`{"seq":1}`))
				}},
			hostile{name: "vendor's stream info answered on " + target.name, surface: "nats", want: notStored,
				do: func(a *adversary) error {
					return a.replyAttack(target.subject, api+"STREAM.INFO.CASCADE_REJECTED", nil)
				}},
		)
	}

	// Reply subjects the server reserves: an acknowledgement (it would
	// acknowledge or terminate the daemons' intake work; a service import
	// passes such a reply through unchanged) and a service import's reply.
	for _, r := range []struct{ name, reply string }{
		{"an intake acknowledgement", "$JS.ACK.CASCADE_INTAKE.cascade-intake.1.1.1.0.0"},
		{"a service reply of Cascade's account", "_R_.abcdef.ghijkl"},
	} {
		addHostile(hostile{name: "vendor's report answered on " + r.name, surface: "nats", want: "Permissions Violation for Publish with Reply",
			do: vendor(func(a *adversary, nc *nats.Conn) error {
				return a.refused(nc, func() error { return nc.PublishRequest("cascade.breach.report", r.reply, []byte(`{}`)) })
			})})
	}

	// Hostile reports: each is answered on cascade.breach.rejected.
	reportRow := func(name, want, body string) hostile {
		return hostile{name: name, surface: "nats", want: want, do: func(a *adversary) error { return a.report(body) }}
	}
	edit := func(id string, f func(m map[string]any)) string { return validReport(id, f) }
	addHostile(
		reportRow("report that is not JSON", "rejected: malformed", `{"id":`),
		reportRow("report with an unknown field", "rejected: malformed", edit("ADV-UF", func(m map[string]any) { m["admin"] = true })),
		reportRow("empty report", "rejected: invalid", `{}`),
		reportRow("report without contact", "rejected: invalid", edit("ADV-NC", func(m map[string]any) { delete(m, "contact") })),
		reportRow("report discovered in the future", "rejected: invalid", edit("ADV-FUT", func(m map[string]any) { m["discovered_at"] = "2999-01-01T00:00:00Z" })),
		reportRow("report id with a path", "rejected: invalid", edit("../../etc/passwd", nil)),
		reportRow("report id with a wildcard", "rejected: invalid", edit("ADV.>", nil)),
		reportRow("report with an overlong title", "rejected: invalid", edit("ADV-LT", func(m map[string]any) { m["title"] = strings.Repeat("x", 201) })),
		reportRow("report with an overlong nature", "rejected: invalid", edit("ADV-LN", func(m map[string]any) { m["nature"] = strings.Repeat("x", 10_001) })),
		reportRow("report with 101 data categories", "rejected: invalid", edit("ADV-DC", func(m map[string]any) {
			var c []string
			for i := range 101 {
				c = append(c, fmt.Sprint("category ", i))
			}
			m["data_categories"] = c
		})),
		reportRow("report naming an organisation twice", "rejected: invalid", edit("ADV-DUP", func(m map[string]any) {
			m["affected"] = []any{map[string]any{"org_id": advOrgA}, map[string]any{"org_id": advOrgA}}
		})),
		reportRow("report naming only unknown organisations", "rejected: unknown_organisations", edit("ADV-UNK", func(m map[string]any) {
			m["affected"] = []any{map[string]any{"org_id": "se-kommun-9999"}}
		})),
		reportRow("report with an invalid organisation id", "rejected: invalid", edit("ADV-BADORG", func(m map[string]any) {
			m["affected"] = []any{map[string]any{"org_id": "se-kommun-0180.>"}}
		})),
		reportRow("report with negative counts", "rejected: invalid", edit("ADV-NEG", func(m map[string]any) {
			m["affected"] = []any{map[string]any{"org_id": advOrgA, "approx_subjects": -5}}
		})),
		reportRow("report with a malformed time", "rejected: malformed", edit("ADV-TIME", func(m map[string]any) { m["discovered_at"] = "yesterday" })),
		reportRow("same id, other content", "rejected: conflict", validReport(advBreach, func(m map[string]any) { m["title"] = "Rewritten history" })),
		hostile{name: "protobuf header on JSON", surface: "nats", want: "rejected: malformed",
			do: func(a *adversary) error {
				return a.reportAs("cascade.breach.report", report("ADV-PB", advOrgA), nats.Header{"Content-Type": []string{"application/protobuf"}})
			}},
		hostile{name: "update that is not JSON", surface: "nats", want: "rejected: malformed",
			do: func(a *adversary) error { return a.reportAs("cascade.breach.update", []byte("\x00\x01"), nil) }},
		hostile{name: "update of a breach that does not exist", surface: "nats", want: "rejected",
			do: func(a *adversary) error {
				return a.reportAs("cascade.breach.update", []byte(`{"breach_id":"ADV-NOPE","summary":"x","add_affected":[{"org_id":"`+advOrgB+`"}]}`), nil)
			}},
		hostile{name: "report over 1 MiB", surface: "nats", want: "maximum payload exceeded",
			do: func(a *adversary) error {
				return a.reportAs("cascade.breach.report", bytes.Repeat([]byte("x"), 1<<20+1), nil)
			}},
	)
}

// replyAttack publishes data on subject (a request the vendor may make) as
// the vendor with reply subject target, a subject of one of Cascade's
// streams, and reads target as the daemon: nil if the answer was stored
// there, an error "reply not stored" if not.
func (a *adversary) replyAttack(target, subject string, data []byte) error {
	c, cancel := short()
	defer cancel()
	last := func() (uint64, error) {
		name, err := a.daemonJS.StreamNameBySubject(c, target)
		if err != nil {
			return 0, fmt.Errorf("no stream stores %s: %w", target, err)
		}
		st, err := a.daemonJS.Stream(c, name)
		if err != nil {
			return 0, err
		}
		m, err := st.GetLastMsgForSubject(c, target)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		return m.Sequence, nil
	}
	before, err := last()
	if err != nil {
		return err
	}
	if err := a.vendorNC.PublishRequest(subject, target, data); err != nil {
		return err
	}
	// The vendor's next request is answered after that one was.
	if _, err := a.vendorNC.Request("$JS.API.STREAM.INFO.CASCADE_INTAKE", nil, 3*time.Second); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Second)
	for {
		after, err := last()
		if err != nil {
			return err
		}
		if after != before {
			return nil // the answer was stored on target
		}
		if time.Now().After(deadline) {
			return errors.New("reply not stored")
		}
		time.Sleep(50 * time.Millisecond) // polling interval of a condition
	}
}
