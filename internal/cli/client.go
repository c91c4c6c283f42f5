package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// clients are the gRPC API clients of one invocation.
type clients struct {
	conn    *grpc.ClientConn
	breach  cascadev1.BreachServiceClient
	notices cascadev1.NoticeServiceClient
}

// dial prepares a connection to the gRPC API. It connects lazily: an
// unreachable daemon shows as Unavailable on the first call.
func (a *app) dial() (*clients, error) {
	// Plaintext for now; TLS and per-organisation credentials come with auth.
	conn, err := grpc.NewClient(a.g.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("gRPC address %q: %w", a.g.grpcAddr, err)
	}
	return &clients{
		conn:    conn,
		breach:  cascadev1.NewBreachServiceClient(conn),
		notices: cascadev1.NewNoticeServiceClient(conn),
	}, nil
}

func (c *clients) Close() { _ = c.conn.Close() }

// connectNATS connects to --nats-url, within ctx's deadline.
func (a *app) connectNATS(ctx context.Context) (*nats.Conn, error) {
	timeout := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	nc, err := nats.Connect(a.g.natsURL, nats.Name("cascadectl"), nats.Timeout(timeout))
	if err != nil {
		return nil, &hintError{
			err:  fmt.Errorf("connect to NATS at %s: %w", a.g.natsURL, err),
			hint: "(is the NATS server of cascaded reachable? Set the URL with --nats-url or " + EnvNATSURL + ".)",
		}
	}
	return nc, nil
}
