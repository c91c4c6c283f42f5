package daemon_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// hashID is a token's id: the first 16 hex characters of its SHA-256.
func hashID(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])[:16]
}

// Hostile gRPC callers: no identity, forged and revoked tokens, roles
// reaching beyond their organisation, illegal transitions, bad input.
func init() {
	type who func(a *adversary) string
	none := func(*adversary) string { return "" }
	vendor := func(a *adversary) string { return a.vendor }
	ctrlA := func(a *adversary) string { return a.controllerA }
	viewerA := func(a *adversary) string { return a.viewerA }
	viewerAll := func(a *adversary) string { return a.viewerAll }
	ack := func(by who, notice, name string) func(a *adversary) error {
		return func(a *adversary) error {
			_, err := a.notices().AcknowledgeNotice(a.as(by(a)), &cascadev1.AcknowledgeNoticeRequest{NoticeId: notice, AcknowledgedBy: name})
			return err
		}
	}
	getNotice := func(by who, id string) func(a *adversary) error {
		return func(a *adversary) error {
			_, err := a.notices().GetNotice(a.as(by(a)), &cascadev1.GetNoticeRequest{NoticeId: id})
			return err
		}
	}
	reportBreach := func(by who, r *cascadev1.BreachReport) func(a *adversary) error {
		return func(a *adversary) error {
			_, err := a.breaches().ReportBreach(a.as(by(a)), &cascadev1.ReportBreachRequest{Report: r})
			return err
		}
	}
	validProto := func(id string) *cascadev1.BreachReport {
		return &cascadev1.BreachReport{Id: id, Processor: "Exempel HR-system AB", Title: "t", Nature: "n",
			DiscoveredAt: timestamppb.New(timestamppb.Now().AsTime().Add(-3600e9)),
			Affected:     []*cascadev1.AffectedOrganisation{{OrgId: advOrgA}},
			Contact:      &cascadev1.Contact{Email: "sec@exempel.example.org"}}
	}
	authReport := func(by who, notice, ref string) func(a *adversary) error {
		return func(a *adversary) error {
			_, err := a.notices().RecordAuthorityReport(a.as(by(a)), &cascadev1.RecordAuthorityReportRequest{NoticeId: notice,
				Authority: "IMY", Reference: ref, ReportedAt: timestamppb.Now(), RecordedBy: "dpo"})
			return err
		}
	}
	watchNotices := func(by who, req *cascadev1.WatchNoticesRequest) func(a *adversary) error {
		return func(a *adversary) error {
			ctx, cancel := context.WithCancel(a.as(by(a)))
			defer cancel()
			s, err := a.notices().WatchNotices(ctx, req)
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		}
	}
	whoAmI := func(by who) func(a *adversary) error {
		return func(a *adversary) error {
			_, err := cascadev1.NewTokenServiceClient(a.cc).WhoAmI(a.as(by(a)), &cascadev1.WhoAmIRequest{})
			return err
		}
	}
	addHostile(
		hostile{name: "no token", surface: "grpc", want: "Unauthenticated", do: getNotice(none, advNotA)},
		hostile{name: "WhoAmI without a token", surface: "grpc", want: "Unauthenticated", do: whoAmI(none)},
		hostile{name: "WhoAmI with a revoked token", surface: "grpc", want: "Unauthenticated",
			do: whoAmI(func(a *adversary) string { return a.revoked })},
		hostile{name: "WhoAmI with the vendor's token id in place of the token", surface: "grpc", want: "Unauthenticated",
			do: whoAmI(func(a *adversary) string { return hashID(a.vendor) })},
		hostile{name: "WhoAmI with the vendor token with one character changed", surface: "grpc", want: "Unauthenticated",
			do: whoAmI(func(a *adversary) string { return flipLast(a.vendor) })},
		hostile{name: "token without the Bearer scheme", surface: "grpc", want: "Unauthenticated",
			do: func(a *adversary) error {
				_, err := a.breaches().ListBreaches(withRawAuth(a, a.vendor), &cascadev1.ListBreachesRequest{})
				return err
			}},
		hostile{name: "made-up token", surface: "grpc", want: "Unauthenticated",
			do: getNotice(func(*adversary) string { return "cas_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }, advNotA)},
		hostile{name: "token of another deployment's format", surface: "grpc", want: "Unauthenticated",
			do: getNotice(func(*adversary) string { return "eyJhbGciOiJub25lIn0.eyJyb2xlIjoidmVuZG9yIn0." }, advNotA)},
		hostile{name: "revoked token", surface: "grpc", want: "Unauthenticated",
			do: getNotice(func(a *adversary) string { return a.revoked }, advNotA)},
		hostile{name: "vendor token with one character changed", surface: "grpc", want: "Unauthenticated",
			do: getNotice(func(a *adversary) string { return flipLast(a.vendor) }, advNotA)},
		hostile{name: "token id in place of the token", surface: "grpc", want: "Unauthenticated",
			do: getNotice(func(a *adversary) string { return hashID(a.vendor) }, advNotA)},

		hostile{name: "controller acknowledges another's notice", surface: "grpc", want: "NotFound", do: ack(ctrlA, advNotB, "x")},
		hostile{name: "controller reads another's notice", surface: "grpc", want: "NotFound", do: getNotice(ctrlA, advNotB)},
		hostile{name: "controller records another's outcome", surface: "grpc", want: "NotFound", do: authReport(ctrlA, advNotB, "IMY-1")},
		hostile{name: "controller reads another's history", surface: "grpc", want: "NotFound",
			do: func(a *adversary) error {
				_, err := a.notices().GetNoticeHistory(a.as(a.controllerA), &cascadev1.GetNoticeHistoryRequest{NoticeId: advNotB})
				return err
			}},
		hostile{name: "controller drafts another's report", surface: "grpc", want: "NotFound",
			do: func(a *adversary) error {
				_, err := a.notices().DraftAuthorityReport(a.as(a.controllerA), &cascadev1.DraftAuthorityReportRequest{NoticeId: advNotB})
				return err
			}},
		hostile{name: "controller lists another's notices", surface: "grpc", want: "PermissionDenied",
			do: func(a *adversary) error {
				_, err := a.notices().ListNotices(a.as(a.controllerA), &cascadev1.ListNoticesRequest{OrgId: advOrgB})
				return err
			}},
		hostile{name: "controller exports another's evidence", surface: "grpc", want: "PermissionDenied",
			do: func(a *adversary) error {
				_, err := a.notices().ExportEvidence(a.as(a.controllerA), &cascadev1.ExportEvidenceRequest{OrgId: advOrgB})
				return err
			}},
		hostile{name: "controller exports a whole breach", surface: "grpc", want: "PermissionDenied",
			do: func(a *adversary) error {
				_, err := a.notices().ExportEvidence(a.as(a.controllerA), &cascadev1.ExportEvidenceRequest{BreachId: advBreach})
				return err
			}},
		hostile{name: "controller reports a breach", surface: "grpc", want: "PermissionDenied", do: reportBreach(ctrlA, validProto("ADV-CTRL"))},
		hostile{name: "controller reads the breach summary", surface: "grpc", want: "PermissionDenied",
			do: func(a *adversary) error {
				_, err := a.breaches().GetBreachSummary(a.as(a.controllerA), &cascadev1.GetBreachSummaryRequest{BreachId: advBreach})
				return err
			}},
		hostile{name: "controller issues itself a vendor token", surface: "grpc", want: "PermissionDenied",
			do: func(a *adversary) error {
				_, err := cascadev1.NewTokenServiceClient(a.cc).IssueToken(a.as(a.controllerA), &cascadev1.IssueTokenRequest{Role: cascadev1.Role_ROLE_VENDOR})
				return err
			}},
		hostile{name: "controller revokes the vendor's token", surface: "grpc", want: "PermissionDenied",
			do: func(a *adversary) error {
				_, err := cascadev1.NewTokenServiceClient(a.cc).RevokeToken(a.as(a.controllerA), &cascadev1.RevokeTokenRequest{TokenId: hashID(a.vendor)})
				return err
			}},
		hostile{name: "controller rotates the signing key", surface: "grpc", want: "PermissionDenied",
			do: func(a *adversary) error {
				_, err := cascadev1.NewKeyServiceClient(a.cc).RotateSigningKey(a.as(a.controllerA), &cascadev1.RotateSigningKeyRequest{})
				return err
			}},
		hostile{name: "controller rotates another's webhook secret", surface: "grpc", want: "PermissionDenied",
			do: func(a *adversary) error {
				_, err := cascadev1.NewDeliveryServiceClient(a.cc).RotateWebhookSecret(a.as(a.controllerA), &cascadev1.RotateWebhookSecretRequest{OrgId: advOrgB})
				return err
			}},
		hostile{name: "controller lists dead letters", surface: "grpc", want: "PermissionDenied",
			do: func(a *adversary) error {
				_, err := cascadev1.NewDeliveryServiceClient(a.cc).ListDeadLetters(a.as(a.controllerA), &cascadev1.ListDeadLettersRequest{})
				return err
			}},
		hostile{name: "viewer acknowledges", surface: "grpc", want: "PermissionDenied", do: ack(viewerA, advNotA, "viewer")},
		hostile{name: "global viewer acknowledges", surface: "grpc", want: "PermissionDenied", do: ack(viewerAll, advNotA, "viewer")},
		hostile{name: "vendor acknowledges on a controller's behalf", surface: "grpc", want: "PermissionDenied", do: ack(vendor, advNotA, "dpo@a")},
		hostile{name: "vendor records an outcome on a controller's behalf", surface: "grpc", want: "PermissionDenied", do: authReport(vendor, advNotA, "IMY-V")},
		hostile{name: "viewer reports a breach", surface: "grpc", want: "PermissionDenied", do: reportBreach(viewerAll, validProto("ADV-VIEW"))},

		hostile{name: "acknowledgement without a name", surface: "grpc", want: "InvalidArgument", do: ack(ctrlA, advNotA, "")},
		hostile{name: "acknowledgement with an overlong name", surface: "grpc", want: "InvalidArgument", do: ack(ctrlA, advNotA, strings.Repeat("x", 201))},
		hostile{name: "acknowledgement of a revision never delivered", surface: "grpc", want: "FailedPrecondition",
			do: func(a *adversary) error {
				_, err := a.notices().AcknowledgeNotice(a.as(a.controllerA), &cascadev1.AcknowledgeNoticeRequest{NoticeId: advNotA, AcknowledgedBy: "dpo", Revision: 99})
				return err
			}},
		hostile{name: "notice id with a path", surface: "grpc", want: "InvalidArgument", do: getNotice(vendor, "../../etc/passwd")},
		hostile{name: "notice id with a wildcard", surface: "grpc", want: "InvalidArgument", do: getNotice(vendor, advBreach+"/>")},
		hostile{name: "authority report without a reference", surface: "grpc", want: "InvalidArgument", do: authReport(ctrlA, advNotA, "")},
		hostile{name: "second outcome on a resolved notice", surface: "grpc", want: "FailedPrecondition",
			do: func(a *adversary) error {
				_, err := a.notices().RecordAuthorityReport(a.as(a.controllerB), &cascadev1.RecordAuthorityReportRequest{NoticeId: advNotB,
					Authority: "IMY", Reference: "IMY-2", ReportedAt: timestamppb.Now(), RecordedBy: "dpo"})
				return err
			}},
		hostile{name: "not-reportable undone by another", surface: "grpc", want: "FailedPrecondition",
			do: func(a *adversary) error {
				_, err := a.notices().RecordNotReportable(a.as(a.controllerB), &cascadev1.RecordNotReportableRequest{NoticeId: advNotB,
					Justification: "changed my mind", RecordedBy: "dpo"})
				return err
			}},
		hostile{name: "authority report dated in the future", surface: "grpc", want: "InvalidArgument",
			do: func(a *adversary) error {
				_, err := a.notices().RecordAuthorityReport(a.as(a.controllerA), &cascadev1.RecordAuthorityReportRequest{NoticeId: advNotA,
					Authority: "IMY", Reference: "IMY-F", ReportedAt: timestamppb.New(timestamppb.Now().AsTime().Add(24 * 3600e9)), RecordedBy: "dpo"})
				return err
			}},
		// Obligations per regime: a NIS2 obligation where the notice has
		// none, on another organisation's notice, by the vendor, or out
		// of range.
		hostile{name: "NIS2 outcome on a GDPR-only notice", surface: "grpc", want: "FailedPrecondition",
			do: func(a *adversary) error {
				_, err := a.notices().RecordAuthorityReport(a.as(a.controllerA), &cascadev1.RecordAuthorityReportRequest{NoticeId: advNotA,
					Obligation: cascadev1.ObligationKind_OBLIGATION_KIND_NIS2_EARLY_WARNING, Authority: "CERT-SE", Reference: "CERT-SE-1",
					ReportedAt: timestamppb.Now(), DelayReason: "late", RecordedBy: "ciso"})
				return err
			}},
		hostile{name: "NIS2 not-applicable on another organisation's notice", surface: "grpc", want: "NotFound",
			do: func(a *adversary) error {
				_, err := a.notices().RecordNotReportable(a.as(a.controllerA), &cascadev1.RecordNotReportableRequest{NoticeId: advNotB,
					Obligation: cascadev1.ObligationKind_OBLIGATION_KIND_NIS2_FINAL_REPORT, Justification: "not significant", RecordedBy: "ciso"})
				return err
			}},
		hostile{name: "vendor records a NIS2 outcome on a controller's behalf", surface: "grpc", want: "PermissionDenied",
			do: func(a *adversary) error {
				_, err := a.notices().RecordAuthorityReport(a.as(a.vendor), &cascadev1.RecordAuthorityReportRequest{NoticeId: advNotA,
					Obligation: cascadev1.ObligationKind_OBLIGATION_KIND_NIS2_INCIDENT_NOTIFICATION, Authority: "CERT-SE", Reference: "V",
					ReportedAt: timestamppb.Now(), RecordedBy: "vendor"})
				return err
			}},
		hostile{name: "obligation kind out of range", surface: "grpc", want: "InvalidArgument",
			do: func(a *adversary) error {
				_, err := a.notices().RecordNotReportable(a.as(a.controllerA), &cascadev1.RecordNotReportableRequest{NoticeId: advNotA,
					Obligation: cascadev1.ObligationKind(99), Justification: "x", RecordedBy: "dpo"})
				return err
			}},
		hostile{name: "NIS2 early-warning draft of a GDPR-only notice", surface: "grpc", want: "FailedPrecondition",
			do: func(a *adversary) error {
				_, err := a.notices().DraftAuthorityReport(a.as(a.controllerA), &cascadev1.DraftAuthorityReportRequest{NoticeId: advNotA,
					Obligation: cascadev1.ObligationKind_OBLIGATION_KIND_NIS2_EARLY_WARNING})
				return err
			}},
		hostile{name: "draft in an unknown language", surface: "grpc", want: "InvalidArgument",
			do: func(a *adversary) error {
				_, err := a.notices().DraftAuthorityReport(a.as(a.controllerA), &cascadev1.DraftAuthorityReportRequest{NoticeId: advNotA, Language: "xx"})
				return err
			}},
		hostile{name: "page token made up", surface: "grpc", want: "InvalidArgument",
			do: func(a *adversary) error {
				_, err := a.notices().ListNotices(a.as(a.vendor), &cascadev1.ListNoticesRequest{BreachId: advBreach, PageToken: "not-a-token"})
				return err
			}},
		hostile{name: "negative page size", surface: "grpc", want: "InvalidArgument",
			do: func(a *adversary) error {
				_, err := a.breaches().ListBreaches(a.as(a.vendor), &cascadev1.ListBreachesRequest{PageSize: -1})
				return err
			}},
		hostile{name: "report without facts", surface: "grpc", want: "InvalidArgument", do: reportBreach(vendor, &cascadev1.BreachReport{Id: "ADV-EMPTY"})},
		hostile{name: "report id with a path", surface: "grpc", want: "InvalidArgument", do: reportBreach(vendor, validProto("../x"))},
		hostile{name: "report without a report", surface: "grpc", want: "InvalidArgument", do: reportBreach(vendor, nil)},
		hostile{name: "report rewriting a breach", surface: "grpc", want: "AlreadyExists",
			do: func(a *adversary) error {
				r := validProto(advBreach)
				r.Title = "Rewritten"
				return reportBreach(vendor, r)(a)
			}},
		hostile{name: "update of an unknown breach", surface: "grpc", want: "NotFound",
			do: func(a *adversary) error {
				_, err := a.breaches().UpdateBreach(a.as(a.vendor), &cascadev1.UpdateBreachRequest{Update: &cascadev1.BreachUpdate{BreachId: "ADV-NOPE",
					Summary: "x", AddAffected: []*cascadev1.AffectedOrganisation{{OrgId: advOrgB}}}})
				return err
			}},
		hostile{name: "token issued with no role", surface: "grpc", want: "InvalidArgument",
			do: func(a *adversary) error {
				_, err := cascadev1.NewTokenServiceClient(a.cc).IssueToken(a.as(a.vendor), &cascadev1.IssueTokenRequest{OrgId: advOrgA})
				return err
			}},
		hostile{name: "controller token with a wildcard organisation", surface: "grpc", want: "InvalidArgument",
			do: func(a *adversary) error {
				_, err := cascadev1.NewTokenServiceClient(a.cc).IssueToken(a.as(a.vendor), &cascadev1.IssueTokenRequest{OrgId: "se-kommun-*", Role: cascadev1.Role_ROLE_CONTROLLER})
				return err
			}},
		hostile{name: "webhook secret for an unknown organisation", surface: "grpc", want: "NotFound",
			do: func(a *adversary) error {
				_, err := cascadev1.NewDeliveryServiceClient(a.cc).RotateWebhookSecret(a.as(a.vendor), &cascadev1.RotateWebhookSecretRequest{OrgId: "se-kommun-9999"})
				return err
			}},
		hostile{name: "webhook secret for an organisation without a webhook", surface: "grpc", want: "FailedPrecondition",
			do: func(a *adversary) error {
				_, err := cascadev1.NewDeliveryServiceClient(a.cc).RotateWebhookSecret(a.as(a.vendor), &cascadev1.RotateWebhookSecretRequest{OrgId: advOrgA})
				return err
			}},
		hostile{name: "watch of an unknown breach", surface: "grpc", want: "NotFound",
			do: func(a *adversary) error {
				s, err := a.breaches().WatchBreach(a.as(a.vendor), &cascadev1.WatchBreachRequest{BreachId: "ADV-NOPE"})
				if err != nil {
					return err
				}
				_, err = s.Recv()
				return err
			}},
		hostile{name: "controller watches another's notices", surface: "grpc", want: "PermissionDenied",
			do: watchNotices(ctrlA, &cascadev1.WatchNoticesRequest{OrgId: advOrgB})},
		hostile{name: "controller watches another's notice by its id", surface: "grpc", want: "NotFound",
			do: watchNotices(ctrlA, &cascadev1.WatchNoticesRequest{NoticeId: advNotB})},
		hostile{name: "controller watches another's notice with its own org_id", surface: "grpc", want: "NotFound",
			do: watchNotices(ctrlA, &cascadev1.WatchNoticesRequest{OrgId: advOrgA, NoticeId: advNotB})},
		hostile{name: "watch of notices without a token", surface: "grpc", want: "Unauthenticated",
			do: watchNotices(none, &cascadev1.WatchNoticesRequest{OrgId: advOrgA})},
		hostile{name: "watch of every notice at once", surface: "grpc", want: "InvalidArgument",
			do: watchNotices(vendor, &cascadev1.WatchNoticesRequest{})},
		hostile{name: "request over 2 MiB", surface: "grpc", want: "ResourceExhausted",
			do: func(a *adversary) error {
				_, err := a.notices().AcknowledgeNotice(a.as(a.controllerA), &cascadev1.AcknowledgeNoticeRequest{NoticeId: advNotA,
					AcknowledgedBy: "dpo", Note: strings.Repeat("x", 3<<20)}, grpc.MaxCallSendMsgSize(8<<20))
				return err
			}},
	)
}

// flipLast changes a token's last character.
func flipLast(s string) string {
	if s == "" {
		return s
	}
	c := byte('A')
	if s[len(s)-1] == 'A' {
		c = 'B'
	}
	return s[:len(s)-1] + string(c)
}
