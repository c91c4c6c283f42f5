package api

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/protoconv"
	"github.com/cascadehq/cascade/internal/webhook"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// WebhookSecretOverlap is how long a replaced webhook secret keeps signing
// beside the new one.
const WebhookSecretOverlap = 24 * time.Hour

type deliveryService struct {
	cascadev1.UnimplementedDeliveryServiceServer
	*Server
}

func (s deliveryService) RotateWebhookSecret(ctx context.Context, req *cascadev1.RotateWebhookSecretRequest) (*cascadev1.RotateWebhookSecretResponse, error) {
	org, err := breach.ParseOrgID(req.GetOrgId())
	if err != nil {
		return nil, invalid("org_id", err.Error())
	}
	o, err := s.st.GetOrg(ctx, org)
	if err != nil {
		return nil, err
	}
	hasWebhook := o.HasChannel(breach.ChannelWebhook)
	if !hasWebhook && !req.GetPrepare() {
		return nil, noWebhook(o)
	}
	secret, err := webhook.NewSecret()
	if err != nil {
		return nil, err
	}
	by := principal(ctx)
	w, err := s.channels.RotateWebhookSecretBy(ctx, org, secret, s.now(), WebhookSecretOverlap, by)
	if err != nil {
		return nil, err
	}
	s.log.Info("webhook secret issued", "org_id", org, "by", fmt.Sprint(by), "prepared", !hasWebhook) // never the secret
	resp := &cascadev1.RotateWebhookSecretResponse{OrgId: string(org), Secret: w.Secret, CreatedAt: timestamppb.New(w.CreatedAt), Prepared: !hasWebhook}
	if w.Previous != "" {
		resp.PreviousValidUntil = timestamppb.New(w.PreviousUntil)
	}
	return resp, nil
}

// noWebhook is the FailedPrecondition of a secret asked for an
// organisation that has no webhook: it names the registry column to fill
// in, or the option that issues the secret in advance.
func noWebhook(o *breach.Org) error {
	why := "its registry row has no webhook_url"
	if o.WebhookURL != "" {
		why = "its registry row's channels column does not name webhook"
	}
	st := status.New(codes.FailedPrecondition, fmt.Sprintf(
		"organisation %s has no webhook: %s; add it to the registry, or set prepare (cascadectl webhook secret --prepare) to issue the secret in advance", o.ID, why))
	field := "webhook_url"
	if o.WebhookURL != "" {
		field = "channels"
	}
	if d, err := st.WithDetails(&errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{{
		Type: "REGISTRY", Subject: "organisation " + string(o.ID) + ", column " + field, Description: why,
	}}}); err == nil {
		st = d
	}
	return st.Err()
}

func (s deliveryService) ListDeadLetters(ctx context.Context, req *cascadev1.ListDeadLettersRequest) (*cascadev1.ListDeadLettersResponse, error) {
	const method = "ListDeadLetters"
	var b breach.BreachID
	var org breach.OrgID
	var err error
	if req.GetBreachId() != "" {
		if b, err = breach.ParseBreachID(req.GetBreachId()); err != nil {
			return nil, invalid("breach_id", err.Error())
		}
	}
	if req.GetOrgId() != "" {
		if org, err = breach.ParseOrgID(req.GetOrgId()); err != nil {
			return nil, invalid("org_id", err.Error())
		}
	}
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	ad := binding(ctx, method, string(b), string(org), req.GetProcessorId())
	cur, err := s.pages.open(req.GetPageToken(), ad)
	if err != nil {
		return nil, err
	}
	keep, err := processorFilter(req.GetProcessorId())
	if err != nil {
		return nil, err
	}
	entries, more, err := s.channels.DeadLetters(ctx, b, org, cur.Seq, size)
	if err != nil {
		return nil, err
	}
	resp := &cascadev1.ListDeadLettersResponse{}
	for i := range entries {
		if keep != nil && !keep(entries[i].DeadLetter.NoticeID.Breach) {
			continue // a page may come out short; its token goes on
		}
		resp.DeadLetters = append(resp.DeadLetters, protoconv.DeadLetterProto(&entries[i].DeadLetter))
	}
	if more && len(entries) > 0 {
		resp.NextPageToken = s.pages.token(cursor{Seq: entries[len(entries)-1].Seq}, ad)
	}
	return resp, nil
}
