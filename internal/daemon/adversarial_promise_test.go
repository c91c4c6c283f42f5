package daemon_test

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// Hostile promises of further information (next_update_by): in the past,
// absurdly far ahead, malformed; over NATS (answered on
// cascade.breach.rejected, naming the field) and over gRPC.
func init() {
	const field = "(field next_update_by)"
	promise := func(id, by string) string {
		return validReport(id, func(m map[string]any) { m["next_update_by"] = by })
	}
	reportRow := func(name, want, body string) hostile {
		return hostile{name: name, surface: "nats", want: want, do: func(a *adversary) error { return a.report(body) }}
	}
	updateRow := func(name, want, by string) hostile {
		return hostile{name: name, surface: "nats", want: want, do: func(a *adversary) error {
			return a.reportAs("cascade.breach.update", []byte(`{"breach_id":"`+advBreach+`","summary":"more","next_update_by":"`+by+`"}`), nil)
		}}
	}
	rfc := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339) }
	grpcReport := func(name string, by time.Duration) hostile {
		return hostile{name: name, surface: "grpc", want: "next_update_by", do: func(a *adversary) error {
			_, err := a.breaches().ReportBreach(a.as(a.vendor), &cascadev1.ReportBreachRequest{Report: &cascadev1.BreachReport{
				Id: "ADV-PROM-G", Processor: "Exempel HR-system AB", Title: "t", Nature: "n",
				DiscoveredAt: timestamppb.New(time.Now().Add(-time.Hour)),
				Affected:     []*cascadev1.AffectedOrganisation{{OrgId: advOrgA}},
				Contact:      &cascadev1.Contact{Email: "sec@exempel.example.org"},
				NextUpdateBy: timestamppb.New(time.Now().Add(by))}})
			return err
		}}
	}
	grpcUpdate := func(name string, by time.Duration) hostile {
		return hostile{name: name, surface: "grpc", want: "next_update_by", do: func(a *adversary) error {
			_, err := a.breaches().UpdateBreach(a.as(a.vendor), &cascadev1.UpdateBreachRequest{Update: &cascadev1.BreachUpdate{
				BreachId: advBreach, Summary: "more", NextUpdateBy: timestamppb.New(time.Now().Add(by))}})
			return err
		}}
	}
	addHostile(
		reportRow("report promising its next update in the past", field, promise("ADV-PROM-PAST", rfc(-time.Hour))),
		reportRow("report promising its next update in 91 days", field, promise("ADV-PROM-FAR", rfc(91*24*time.Hour))),
		reportRow("report promising its next update in year 9999", field, promise("ADV-PROM-9999", "9999-12-31T23:59:59Z")),
		reportRow("report promising its next update at a malformed time", "rejected: malformed", promise("ADV-PROM-BAD", "next week")),
		updateRow("update promising its next update in the past", field, rfc(-24*time.Hour)),
		updateRow("update promising its next update in 91 days", field, rfc(91*24*time.Hour)),
		grpcReport("ReportBreach promising its next update in the past", -time.Hour),
		grpcReport("ReportBreach promising its next update in 91 days", 91*24*time.Hour),
		grpcUpdate("UpdateBreach promising its next update in the past", -time.Hour),
		grpcUpdate("UpdateBreach promising its next update in 91 days", 91*24*time.Hour),
	)
}
