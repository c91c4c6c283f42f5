package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cascadehq/cascade/internal/breach"
)

// Stream limits: open server streams (gRPC WatchBreach, the dashboard's
// live views) per caller and in all.
const (
	DefaultStreamsPerCaller = 32
	DefaultStreamsTotal     = 2000
)

// RecheckInterval is how often the tokens of open streams are looked up
// again: a revoked token's streams end within about this long.
const RecheckInterval = 2 * time.Second

// ErrTokenRevoked ends the streams of a token revoked while they were open.
var ErrTokenRevoked = status.Error(codes.Unauthenticated, "token revoked")

// streams counts the open streams and ends those of revoked tokens.
type streams struct {
	mu        sync.Mutex
	perCaller int
	total     int
	n         int
	open      map[string]map[*openStream]struct{} // by caller
	checking  bool                                // a recheck loop runs
}

type openStream struct {
	id     Identity
	cancel context.CancelCauseFunc
}

// SetStreamLimits sets how many streams one caller (a token, a client
// certificate) and everyone together may have open; 0 means the
// default. Call it before serving.
func (g *Guard) SetStreamLimits(perCaller, total int) {
	g.streams.mu.Lock()
	defer g.streams.mu.Unlock()
	g.streams.perCaller, g.streams.total = perCaller, total
}

// callerKey is what the per-caller limit counts by.
func callerKey(id Identity) string {
	if id.TokenID != "" {
		return id.TokenID
	}
	return string(id.Role) + "@" + string(id.Org)
}

// revocable identities are tokens (certificates expire; the development
// mode has no credentials).
func revocable(id Identity) bool {
	return id.Role != roleDev && id.TokenID != "" && !strings.HasPrefix(id.TokenID, "cert:")
}

// openStream admits one more stream of id, or refuses it with
// ResourceExhausted. The context it returns ends with ErrTokenRevoked as
// its cause when id's token is revoked; release frees the place (once).
func (g *Guard) openStream(ctx context.Context, id Identity) (context.Context, func(), error) {
	s := &g.streams
	key := callerKey(id)
	s.mu.Lock()
	perCaller, total := cmpOr(s.perCaller, DefaultStreamsPerCaller), cmpOr(s.total, DefaultStreamsTotal)
	if s.n >= total {
		s.mu.Unlock()
		g.log.Warn("stream refused: the server's limit is reached", "caller", id.String(), "limit", total)
		return nil, nil, status.Errorf(codes.ResourceExhausted, "the server has %d streams open, its limit; retry later", total)
	}
	if len(s.open[key]) >= perCaller {
		s.mu.Unlock()
		g.log.Warn("stream refused: the caller's limit is reached", "caller", id.String(), "limit", perCaller)
		return nil, nil, status.Errorf(codes.ResourceExhausted,
			"%d streams are open with these credentials, the limit per caller; close one first", perCaller)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	o := &openStream{id: id, cancel: cancel}
	if s.open == nil {
		s.open = map[string]map[*openStream]struct{}{}
	}
	if s.open[key] == nil {
		s.open[key] = map[*openStream]struct{}{}
	}
	s.open[key][o] = struct{}{}
	s.n++
	start := revocable(id) && !s.checking
	if start {
		s.checking = true
	}
	s.mu.Unlock()
	if start {
		go g.recheck()
	}
	release := sync.OnceFunc(func() {
		s.mu.Lock()
		delete(s.open[key], o)
		if len(s.open[key]) == 0 {
			delete(s.open, key)
		}
		s.n--
		s.mu.Unlock()
		cancel(nil)
	})
	return ctx, release, nil
}

func cmpOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// recheck looks the tokens of open streams up every RecheckInterval and
// ends the streams of revoked ones. It runs while such streams are open.
func (g *Guard) recheck() {
	s := &g.streams
	tick := time.NewTicker(g.recheckEvery)
	defer tick.Stop()
	for range tick.C {
		s.mu.Lock()
		var ids []string
		for key, os := range s.open {
			for o := range os {
				if revocable(o.id) {
					ids = append(ids, key)
				}
				break // one stream tells the caller's kind
			}
		}
		if len(ids) == 0 {
			s.checking = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		for _, id := range ids {
			ctx, cancel := context.WithTimeout(context.Background(), RecheckInterval)
			revoked, err := g.tokens.revoked(ctx, id)
			cancel()
			if err != nil {
				g.log.Warn("cannot check the token of open streams; they stay open", "token_id", id, "err", err)
				continue
			}
			if !revoked {
				continue
			}
			s.mu.Lock()
			n := len(s.open[id])
			for o := range s.open[id] {
				o.cancel(ErrTokenRevoked)
			}
			s.mu.Unlock()
			g.log.Info("token revoked: its open streams end", "token_id", id, "streams", n)
		}
	}
}

// revoked reports whether the token with this id is revoked or gone.
func (t *Tokens) revoked(ctx context.Context, id string) (bool, error) {
	tok, rev, err := t.st.GetToken(ctx, id)
	if errors.Is(err, breach.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	// A record that does not carry Cascade's MAC at its revision (put
	// back from before its revocation, say) no longer authenticates.
	return !tok.RevokedAt.IsZero() || tok.CheckMAC(t.mac, rev) != nil, nil
}
