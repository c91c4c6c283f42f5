package daemon_test

import (
	"strings"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// Hostile corrections and withdrawals: naming an organisation the breach
// never notified, counts out of range, an oversized or missing statement,
// a status that is a withdrawal in disguise, a controller withdrawing
// itself. None may record a revision or send a message.
func init() {
	update := func(token func(a *adversary) string, u *cascadev1.BreachUpdate) func(a *adversary) error {
		return func(a *adversary) error {
			_, err := a.breaches().UpdateBreach(a.as(token(a)), &cascadev1.UpdateBreachRequest{Update: u})
			return err
		}
	}
	vendor := func(a *adversary) string { return a.vendor }
	ctrlA := func(a *adversary) string { return a.controllerA }
	withdraw := func(org, statement string) *cascadev1.BreachUpdate {
		return &cascadev1.BreachUpdate{BreachId: advBreach, Summary: "not affected",
			Withdraw: []*cascadev1.WithdrawOrganisation{{OrgId: org, Statement: statement}}}
	}
	correct := func(a *cascadev1.AffectedOrganisation) *cascadev1.BreachUpdate {
		return &cascadev1.BreachUpdate{BreachId: advBreach, Summary: "counts corrected", CorrectAffected: []*cascadev1.AffectedOrganisation{a}}
	}
	addHostile(
		hostile{name: "withdraw an organisation never notified", surface: "grpc", want: "InvalidArgument",
			do: update(vendor, withdraw("se-kommun-0380", "never ours"))},
		hostile{name: "withdraw an organisation not in the registry", surface: "grpc", want: "InvalidArgument",
			do: update(vendor, withdraw("se-kommun-9999", "never ours"))},
		hostile{name: "withdraw with a statement too long", surface: "grpc", want: "InvalidArgument",
			do: update(vendor, withdraw(advOrgA, strings.Repeat("x", 2001)))},
		hostile{name: "withdraw without a statement", surface: "grpc", want: "InvalidArgument", do: update(vendor, withdraw(advOrgA, ""))},
		hostile{name: "withdraw with a control character in the statement", surface: "grpc", want: "InvalidArgument",
			do: update(vendor, withdraw(advOrgA, "not \x1b[2Jaffected"))},
		hostile{name: "withdraw by a controller", surface: "grpc", want: "PermissionDenied", do: update(ctrlA, withdraw(advOrgA, "we are fine"))},
		hostile{name: "correct with negative counts", surface: "grpc", want: "InvalidArgument",
			do: update(vendor, correct(&cascadev1.AffectedOrganisation{OrgId: advOrgA, ApproxSubjects: -1, ApproxRecords: -1}))},
		hostile{name: "correct with counts beyond the limit", surface: "grpc", want: "InvalidArgument",
			do: update(vendor, correct(&cascadev1.AffectedOrganisation{OrgId: advOrgA, ApproxSubjects: 1 << 41}))},
		hostile{name: "correct an organisation never notified", surface: "grpc", want: "InvalidArgument",
			do: update(vendor, correct(&cascadev1.AffectedOrganisation{OrgId: "se-kommun-0380", ApproxSubjects: 5}))},
		hostile{name: "correct to NOT_AFFECTED (a withdrawal without a statement)", surface: "grpc", want: "InvalidArgument",
			do: update(vendor, correct(&cascadev1.AffectedOrganisation{OrgId: advOrgA, Status: cascadev1.AffectedStatus_AFFECTED_STATUS_NOT_AFFECTED}))},
		hostile{name: "correct with a status outside the enum", surface: "grpc", want: "InvalidArgument",
			do: update(vendor, correct(&cascadev1.AffectedOrganisation{OrgId: advOrgA, Status: cascadev1.AffectedStatus(99)}))},
		hostile{name: "correct and withdraw the same organisation", surface: "grpc", want: "InvalidArgument",
			do: func(a *adversary) error {
				u := withdraw(advOrgA, "not affected")
				u.CorrectAffected = []*cascadev1.AffectedOrganisation{{OrgId: advOrgA, ApproxSubjects: 3}}
				return update(vendor, u)(a)
			}},
	)
}
