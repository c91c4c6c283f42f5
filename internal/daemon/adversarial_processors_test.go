package daemon_test

import (
	"encoding/base64"

	"google.golang.org/protobuf/encoding/protojson"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// Rows for the surfaces of several processors in one deployment: their
// intake subjects, processor-bound tokens and filters, and forwarded
// notices (sub-processor chains). Isolation between two registered
// processors is TestProcessorIsolationMatrix's; these rows attack a
// deployment from the default vendor's, an organisation's and a
// controller's position.
func init() {
	const denied = "ermissions"
	// A report that claims to forward a notice: a signed-looking message
	// no key of this deployment signed.
	forged := func(id string) string {
		return validReport(id, func(m map[string]any) {
			m["upstream"] = map[string]any{"message": map[string]any{
				"subject": "cascade.notice." + advOrgA,
				"headers": []map[string]any{
					{"name": "Cascade-Signature", "values": []string{"v1;kid=0000000000000000;sig=AAAA"}},
					{"name": "Cascade-Notice-Id", "values": []string{"UP-1/" + advOrgA}},
					{"name": "Cascade-Event", "values": []string{"notice"}}},
				"data": base64.StdEncoding.EncodeToString([]byte(`{"event":"notice","notice_id":"UP-1/` + advOrgA + `","org_id":"` + advOrgA +
					`","revision":1,"breach":{"processor":"Trusted Hosting AB","title":"t","nature":"n"}}`))}}
		})
	}
	addHostile(
		hostile{name: "vendor publishes on a registered processor's intake subject", surface: "nats", want: denied,
			do: func(a *adversary) error {
				return a.pubAs(a.vendorNC, "cascade.processor.alfa-lon.breach.report", []byte(validReport("PROC-1", nil)))
			}},
		hostile{name: "vendor listens to a registered processor's rounds", surface: "nats", want: denied,
			do: func(a *adversary) error { return subscribeAs(a.vendorNC, "cascade.processor.alfa-lon.events.>") }},
		hostile{name: "organisation listens to processors' rejections", surface: "nats", want: denied,
			do: func(a *adversary) error { return subscribeAs(a.orgNC, "cascade.processor.>") }},
		hostile{name: "report forwarding a forged upstream notice", surface: "nats", want: "invalid_upstream",
			do: func(a *adversary) error { return a.report(forged("FWD-FORGED")) }},
		hostile{name: "report under a qualified id of a processor", surface: "nats", want: "may not contain",
			do: func(a *adversary) error { return a.report(validReport("alfa-lon__INC-1", nil)) }},

		hostile{name: "controller forwards a notice", surface: "grpc", want: "PermissionDenied",
			do: func(a *adversary) error {
				_, err := a.breaches().ForwardNotice(a.as(a.controllerA), &cascadev1.ForwardNoticeRequest{NoticeId: advNotA, AllCustomers: true})
				return err
			}},
		hostile{name: "default vendor forwards a notice", surface: "grpc", want: "FailedPrecondition",
			do: func(a *adversary) error {
				_, err := a.breaches().ForwardNotice(a.as(a.vendor), &cascadev1.ForwardNoticeRequest{NoticeId: advNotA, AllCustomers: true})
				return err
			}},
		hostile{name: "token for an unregistered processor", surface: "grpc", want: "NotFound",
			do: func(a *adversary) error {
				_, err := cascadev1.NewTokenServiceClient(a.cc).IssueToken(a.as(a.vendor),
					&cascadev1.IssueTokenRequest{Role: cascadev1.Role_ROLE_VENDOR, ProcessorId: "no-such-processor"})
				return err
			}},
		hostile{name: "controller token bound to a processor", surface: "grpc", want: "InvalidArgument",
			do: func(a *adversary) error {
				_, err := cascadev1.NewTokenServiceClient(a.cc).IssueToken(a.as(a.vendor),
					&cascadev1.IssueTokenRequest{Role: cascadev1.Role_ROLE_CONTROLLER, OrgId: advOrgA, ProcessorId: "alfa-lon"})
				return err
			}},
		hostile{name: "processor filter that is no processor id", surface: "grpc", want: "InvalidArgument",
			do: func(a *adversary) error {
				_, err := a.notices().ListNotices(a.as(a.controllerA), &cascadev1.ListNoticesRequest{ProcessorId: "Alfa_Lön; DROP"})
				return err
			}},
		hostile{name: "report under a qualified id over gRPC", surface: "grpc", want: "InvalidArgument",
			do: func(a *adversary) error {
				var r cascadev1.BreachReport
				if err := protojson.Unmarshal([]byte(validReport("beta-skola__INC-1", nil)), &r); err != nil {
					return err
				}
				_, err := a.breaches().ReportBreach(a.as(a.vendor), &cascadev1.ReportBreachRequest{Report: &r})
				return err
			}},
		hostile{name: "forward with neither notice nor message", surface: "grpc", want: "FailedPrecondition",
			do: func(a *adversary) error {
				_, err := a.breaches().ForwardNotice(a.as(a.vendor), &cascadev1.ForwardNoticeRequest{})
				return err
			}},
	)
}
