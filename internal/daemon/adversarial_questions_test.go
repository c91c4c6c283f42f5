package daemon_test

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// Hostile questions and answers: askers beyond their organisation, roles
// that may not ask or answer, forged askers, bad text, floods, answers
// changed after the fact.
func init() {
	ask := func(by func(a *adversary) string, notice, text string) func(a *adversary) error {
		return func(a *adversary) error {
			_, err := a.notices().AskQuestion(a.as(by(a)), &cascadev1.AskQuestionRequest{NoticeId: notice, Text: text})
			return err
		}
	}
	answer := func(by func(a *adversary) string, question, text string) func(a *adversary) error {
		return func(a *adversary) error {
			_, err := a.notices().AnswerQuestion(a.as(by(a)), &cascadev1.AnswerQuestionRequest{QuestionId: question, Text: text, ShareWithAll: true})
			return err
		}
	}
	list := func(by func(a *adversary) string, org string) func(a *adversary) error {
		return func(a *adversary) error {
			_, err := a.notices().ListQuestions(a.as(by(a)), &cascadev1.ListQuestionsRequest{OrgId: org})
			return err
		}
	}
	vendor := func(a *adversary) string { return a.vendor }
	ctrlA := func(a *adversary) string { return a.controllerA }
	viewerA := func(a *adversary) string { return a.viewerA }
	viewerAll := func(a *adversary) string { return a.viewerAll }
	// What a question that is accepted changes: the ledger, the vendor's
	// events, the answers delivered (and the dispatcher's records of them),
	// and the summary folder's checkpoint (no summary count moves).
	changed := []string{"CASCADE_LEDGER", "CASCADE_EVENTS", "CASCADE_NOTICES", "CASCADE_DEADLETTER", "KV_cascade-summaries"}
	addHostile(
		hostile{name: "controller asks on another's notice", surface: "grpc", want: "NotFound", do: ask(ctrlA, advNotB, "What happened?")},
		hostile{name: "vendor asks a question", surface: "grpc", want: "PermissionDenied", do: ask(vendor, advNotA, "What happened?")},
		hostile{name: "viewer asks a question", surface: "grpc", want: "PermissionDenied", do: ask(viewerA, advNotA, "What happened?")},
		hostile{name: "global viewer asks a question", surface: "grpc", want: "PermissionDenied", do: ask(viewerAll, advNotA, "What happened?")},
		hostile{name: "controller answers a question", surface: "grpc", want: "PermissionDenied", do: answer(ctrlA, advNotA+"/1", "Nothing.")},
		hostile{name: "controller answers another's question", surface: "grpc", want: "PermissionDenied", do: answer(ctrlA, advNotB+"/1", "Nothing.")},
		hostile{name: "global viewer answers a question", surface: "grpc", want: "PermissionDenied", do: answer(viewerAll, advNotA+"/1", "Nothing.")},
		hostile{name: "controller lists another's questions", surface: "grpc", want: "PermissionDenied", do: list(ctrlA, advOrgB)},
		hostile{name: "viewer lists another's questions", surface: "grpc", want: "PermissionDenied", do: list(viewerA, advOrgB)},
		hostile{name: "question over 4000 characters", surface: "grpc", want: "InvalidArgument", do: ask(ctrlA, advNotA, strings.Repeat("ä", 4001))},
		hostile{name: "question of blanks", surface: "grpc", want: "InvalidArgument", do: ask(ctrlA, advNotA, " \n\t ")},
		hostile{name: "question with a terminal escape", surface: "grpc", want: "InvalidArgument", do: ask(ctrlA, advNotA, "Hi \x1b[2J")},
		hostile{name: "question on an unknown notice", surface: "grpc", want: "NotFound", do: ask(ctrlA, "ADV-NONE/"+advOrgA, "What happened?")},
		hostile{name: "answer over 4000 characters", surface: "grpc", want: "InvalidArgument", do: answer(vendor, advNotA+"/1", strings.Repeat("x", 4001))},
		hostile{name: "answer to an unknown question", surface: "grpc", want: "NotFound", do: answer(vendor, advNotA+"/999", "Nothing.")},
		hostile{name: "question id with a wildcard", surface: "grpc", want: "InvalidArgument", do: answer(vendor, advNotA+"/>", "Nothing.")},
		hostile{name: "question id without a number", surface: "grpc", want: "InvalidArgument", do: answer(vendor, advNotA, "Nothing.")},
		hostile{name: "question asker forged in the payload", surface: "grpc", want: "NotFound",
			do: func(a *adversary) error {
				req := &cascadev1.AskQuestionRequest{NoticeId: advNotB, Text: "Asked for B?"}
				forged := protowire.AppendTag(nil, 8, protowire.BytesType)
				forged = protowire.AppendBytes(forged, []byte(`{"role":"controller","org_id":"`+advOrgB+`"}`))
				req.ProtoReflect().SetUnknown(forged)
				_, err := a.notices().AskQuestion(a.as(a.controllerA), req)
				return err
			}},
		hostile{name: "questions page token made up", surface: "grpc", want: "InvalidArgument",
			do: func(a *adversary) error {
				_, err := a.notices().ListQuestions(a.as(a.vendor), &cascadev1.ListQuestionsRequest{PageToken: "AAAA"})
				return err
			}},
		hostile{name: "tokens page token made up", surface: "grpc", want: "InvalidArgument",
			do: func(a *adversary) error {
				_, err := cascadev1.NewTokenServiceClient(a.cc).ListTokens(a.as(a.vendor), &cascadev1.ListTokensRequest{PageToken: "AAAA"})
				return err
			}},
		hostile{name: "tokens listed by a controller", surface: "grpc", want: "PermissionDenied",
			do: func(a *adversary) error {
				_, err := cascadev1.NewTokenServiceClient(a.cc).ListTokens(a.as(a.controllerA), &cascadev1.ListTokensRequest{PageSize: 1})
				return err
			}},
		hostile{name: "flood of questions", surface: "grpc", want: "ResourceExhausted", mayAppend: changed,
			do: func(a *adversary) error {
				for i := range 20 {
					if err := ask(ctrlA, advNotA, fmt.Sprintf("Question %d?", i))(a); err != nil {
						return fmt.Errorf("question %d refused: %w", i, err)
					}
				}
				return ask(ctrlA, advNotA, "One too many?")(a)
			}},
		hostile{name: "answer changed after it was given", surface: "grpc", want: "FailedPrecondition", mayAppend: changed,
			do: func(a *adversary) error {
				r, err := a.notices().AskQuestion(a.as(a.controllerB), &cascadev1.AskQuestionRequest{NoticeId: advNotB, Text: "Which files?"})
				if err != nil {
					return fmt.Errorf("ask: %w", err)
				}
				if err := answer(vendor, r.GetQuestion().GetId(), "The salary files.")(a); err != nil {
					return fmt.Errorf("answer: %w", err)
				}
				return answer(vendor, r.GetQuestion().GetId(), "All files.")(a)
			}},
	)
}
