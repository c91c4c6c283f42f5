package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func noticeAskCmd() *command {
	const name = "notice ask"
	return &command{
		name:    name,
		args:    "NOTICE_ID TEXT",
		summary: "Ask the vendor a question about your notice",
		details: `Asks the vendor (the processor) a question about the notice, as the
controller of its organisation (Art. 28(3)(f): the processor assists the
controller), then prints the question. Who asked is the caller's token,
never a name typed. The vendor is told at once; its answer reaches the
organisation on its channels (NATS, webhook, e-mail) with Cascade-Event:
answer. TEXT is at most 4000 characters; a notice has at most 20
unanswered questions. Asking never moves the deadline or any other clock.
NOTICE_ID is "<breach_id>/<org_id>".`,
		examples: `
# Ask about the breach, with a controller token
cascadectl --token-file stockholm.token notice ask EXAMPLE-2025-08-23/se-kommun-0180 "Were the salary files encrypted at rest?"`,
		setup: func(*flag.FlagSet) runFunc {
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs(name, args, 2); err != nil {
					return err
				}
				if strings.TrimSpace(args[1]) == "" {
					return usageErrorf(name, "TEXT is empty: give the question")
				}
				ctx, cancel := a.withTimeout(ctx)
				defer cancel()
				c, err := a.dial()
				if err != nil {
					return err
				}
				defer c.Close()
				resp, err := c.notices.AskQuestion(ctx, &cascadev1.AskQuestionRequest{NoticeId: args[0], Text: args[1]})
				if err != nil {
					return err
				}
				return a.writeQuestion(resp.GetQuestion())
			}
		},
	}
}

func noticeAnswerCmd() *command {
	const name = "notice answer"
	return &command{
		name:    name,
		args:    "QUESTION_ID TEXT",
		summary: "Answer a controller's question (vendor only)",
		details: `Answers a question, then prints it. The answer is delivered to the
organisation that asked, on its channels (NATS, webhook, e-mail) with
Cascade-Event: answer. With --share-with-all the question and answer go
to every organisation the breach affects, without who asked, and are
listed on the breach (shared answers). An answer is never changed:
answering again with the same text and --share-with-all completes an
interrupted delivery; another answer is refused. Answering never moves a
clock. QUESTION_ID is "<breach_id>/<org_id>/<n>" (cascadectl notice
questions lists them).`,
		examples: `
# Answer the organisation that asked
cascadectl notice answer EXAMPLE-2025-08-23/se-kommun-0180/1 "Yes: AES-256 at rest; the keys were not exposed."
# Answer and share the question and answer with every affected organisation
cascadectl notice answer EXAMPLE-2025-08-23/se-kommun-0180/1 "No special categories were concerned." --share-with-all`,
		setup: func(fs *flag.FlagSet) runFunc {
			share := fs.Bool("share-with-all", false, "share the question and answer with every affected organisation, without who asked")
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs(name, args, 2); err != nil {
					return err
				}
				if strings.TrimSpace(args[1]) == "" {
					return usageErrorf(name, "TEXT is empty: give the answer")
				}
				ctx, cancel := a.withTimeout(ctx)
				defer cancel()
				c, err := a.dial()
				if err != nil {
					return err
				}
				defer c.Close()
				resp, err := c.notices.AnswerQuestion(ctx, &cascadev1.AnswerQuestionRequest{QuestionId: args[0], Text: args[1], ShareWithAll: *share})
				if err != nil {
					return err
				}
				return a.writeQuestion(resp.GetQuestion())
			}
		},
	}
}

func noticeQuestionsCmd() *command {
	const name = "notice questions"
	return &command{
		name:    name,
		summary: "List questions and answers, filtered by breach, organisation or unanswered",
		details: `Questions are listed by breach id, organisation id, then number. The
vendor and viewers of every organisation see all; a controller or an
organisation's viewer sees its own organisation's. Every page is fetched
unless --limit is given.`,
		examples: `
# The questions not yet answered, of every breach
cascadectl notice questions --unanswered
# Every question about a breach
cascadectl notice questions --breach EXAMPLE-2025-08-23
# One organisation's questions, as JSON
cascadectl -o json notice questions --org se-kommun-0180`,
		setup: func(fs *flag.FlagSet) runFunc {
			breachID := fs.String("breach", "", "only questions about the breach with this `id`")
			orgID := fs.String("org", "", "only questions of the organisation with this `id`")
			unanswered := fs.Bool("unanswered", false, "only questions not yet answered")
			limit := fs.Int("limit", 0, "list at most `n` questions; 0 means all")
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs(name, args, 0); err != nil {
					return err
				}
				if *limit < 0 {
					return usageErrorf(name, "--limit must not be negative")
				}
				req := &cascadev1.ListQuestionsRequest{BreachId: *breachID, OrgId: *orgID, UnansweredOnly: *unanswered}
				if *limit > 0 {
					req.PageSize = int32(min(*limit, 1000))
				}
				ctx, cancel := a.withTimeout(ctx)
				defer cancel()
				c, err := a.dial()
				if err != nil {
					return err
				}
				defer c.Close()
				var all []*cascadev1.Question
				for {
					resp, err := c.notices.ListQuestions(ctx, req)
					if err != nil {
						return err
					}
					all = append(all, resp.GetQuestions()...)
					if *limit > 0 && len(all) >= *limit {
						all = all[:*limit]
						break
					}
					if resp.GetNextPageToken() == "" {
						break
					}
					req.PageToken = resp.GetNextPageToken()
				}
				if a.g.output == outputJSON {
					return writeProtoList(a.stdout, all)
				}
				return renderQuestions(a.stdout, all)
			}
		},
	}
}

// writeQuestion prints one question as JSON or as a table of one.
func (a *app) writeQuestion(q *cascadev1.Question) error {
	if a.g.output == outputJSON {
		return writeProto(a.stdout, q)
	}
	return renderQuestions(a.stdout, []*cascadev1.Question{q})
}

// renderQuestions writes the question table.
func renderQuestions(w io.Writer, qs []*cascadev1.Question) error {
	tw := newTable(w)
	row(tw, "QUESTION", "ASKED", "ASKED BY", "QUESTION TEXT", "ANSWERED", "ANSWER", "SHARED")
	for _, q := range qs {
		shared := "no"
		if q.GetSharedWithAll() {
			shared = "with all"
		}
		row(tw, q.GetId(), formatTime(q.GetAskedAt()), orNone(q.GetAskedByDisplay()), orNone(q.GetText()),
			formatTime(q.GetAnsweredAt()), orNone(q.GetAnswer()), shared)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write questions: %w", err)
	}
	return nil
}
