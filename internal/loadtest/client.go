package loadtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/natsauth"
)

// ClientEnv is the environment variable that puts the cascade-load binary
// in its hidden client mode: set to ClientEnvValue, the process reads
// jobs as JSON lines on stdin, runs them (gRPC acknowledgers, status
// probes, raw KV compare-and-set, live views and watch streams) against
// the daemon the parent process runs, and answers each with one JSON line
// on stdout, until stdin ends. cascade-load starts it itself (the same
// binary, os.Executable), so that the clients do not share the daemon's
// process and scheduler; it is not meant to be run by hand.
const (
	ClientEnv      = "CASCADE_LOAD_CLIENT"
	ClientEnvValue = "1"
)

// IsClientMode reports whether this process was started as cascade-load's
// client process.
func IsClientMode() bool { return os.Getenv(ClientEnv) == ClientEnvValue }

// job is one request to the client process.
type job struct {
	Kind string `json:"kind"` // see clientState.run

	// Where the daemon is.
	GRPCAddr string `json:"grpc_addr,omitempty"`
	HTTPAddr string `json:"http_addr,omitempty"`
	NATSURL  string `json:"nats_url,omitempty"`
	NATSSeed string `json:"nats_seed,omitempty"` // NKey seed file of the daemon's user; empty: no credentials

	// acks / kv_cas / status
	Breach      string        `json:"breach,omitempty"`
	Count       int           `json:"count,omitempty"` // notices <Breach>/org-000000 .. org-<Count-1>
	Concurrency int           `json:"concurrency,omitempty"`
	Duration    time.Duration `json:"duration,omitempty"`
	MsgSize     int           `json:"msg_size,omitempty"`
	Status      *statusJob    `json:"status,omitempty"` // probes beside the acks

	// watch_*
	Orgs           []string      `json:"orgs,omitempty"`
	Tokens         []string      `json:"tokens,omitempty"`
	View           string        `json:"view,omitempty"` // "inbox" or "page"
	IncludeNotices bool          `json:"include_notices,omitempty"`
	Phase          string        `json:"phase,omitempty"` // "delivered" or "acknowledged"
	Want           int64         `json:"want,omitempty"`  // the summary count that is final in this phase
	Timeout        time.Duration `json:"timeout,omitempty"`
}

// statusJob: GetBreachSummary, ListNotices and a raw KV get of the
// summary record, one prober each, Interval apart, until the acks end.
type statusJob struct {
	Breach   string        `json:"breach"`
	Interval time.Duration `json:"interval"`
	Bucket   string        `json:"bucket"`
}

// answer is the client process's reply to one job.
type answer struct {
	Err    string       `json:"err,omitempty"`
	Acks   *ackWire     `json:"acks,omitempty"`
	KV     *kvWire      `json:"kv,omitempty"`
	Status *statusWire  `json:"status,omitempty"`
	Watch  *watchResult `json:"watch,omitempty"`
}

// Raw latencies travel as nanoseconds; the parent summarises them.
type ackWire struct {
	Lat       []int64 `json:"lat_ns"`
	Elapsed   int64   `json:"elapsed_ns"`
	Errors    int     `json:"errors"`
	FirstErr  string  `json:"first_err,omitempty"`
	Exhausted bool    `json:"exhausted"`
}

type kvWire struct {
	Lat      []int64 `json:"lat_ns"`
	Elapsed  int64   `json:"elapsed_ns"`
	Errors   int     `json:"errors"`
	FirstErr string  `json:"first_err,omitempty"`
}

type statusWire struct {
	Summary []int64 `json:"summary_ns"`
	List    []int64 `json:"list_ns"`
	KVGet   []int64 `json:"kv_get_ns"`
	Err     string  `json:"err,omitempty"`
}

func toNanos(ds []time.Duration) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = int64(d)
	}
	return out
}

func fromNanos(ns []int64) []time.Duration {
	out := make([]time.Duration, len(ns))
	for i, n := range ns {
		out[i] = time.Duration(n)
	}
	return out
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// ClientMain runs the client process: jobs from in, answers to out, until
// in ends. It returns the exit code.
func ClientMain(in io.Reader, out, errOut io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := &clientState{}
	defer st.close()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	enc := json.NewEncoder(out)
	for sc.Scan() {
		var j job
		var a answer
		if err := json.Unmarshal(sc.Bytes(), &j); err != nil {
			a.Err = fmt.Sprintf("decode job: %v", err)
		} else {
			a = st.run(ctx, j)
		}
		if err := enc.Encode(a); err != nil {
			fmt.Fprintln(errOut, "cascade-load client:", err)
			return 1
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(errOut, "cascade-load client:", err)
		return 1
	}
	return 0
}

// clientState is what the client process keeps between jobs: its NATS
// connection and the open live views.
type clientState struct {
	nc    *nats.Conn
	natsK string
	js    jetstream.JetStream
	w     *watcher
}

func (s *clientState) close() {
	if s.w != nil {
		s.w.close()
	}
	if s.nc != nil {
		s.nc.Close()
	}
}

// jetStream connects (once per server) to NATS as the daemon's user.
func (s *clientState) jetStream(url, seed string) (jetstream.JetStream, error) {
	if s.nc != nil && s.natsK == url+"|"+seed {
		return s.js, nil
	}
	if s.nc != nil {
		s.nc.Close()
		s.nc = nil
	}
	opts := []nats.Option{nats.Name("cascade-load client"), nats.MaxReconnects(-1)}
	if seed != "" {
		user, err := natsauth.UserOptionFromFile(seed)
		if err != nil {
			return nil, err
		}
		opts = append(opts, user)
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	s.nc, s.natsK, s.js = nc, url+"|"+seed, js
	return js, nil
}

func (s *clientState) run(ctx context.Context, j job) answer {
	switch j.Kind {
	case "kv_cas":
		js, err := s.jetStream(j.NATSURL, j.NATSSeed)
		if err != nil {
			return answer{Err: err.Error()}
		}
		k, err := kvCAS(ctx, js, j.Concurrency, j.Duration, j.MsgSize)
		if err != nil {
			return answer{Err: err.Error()}
		}
		return answer{KV: &kvWire{Lat: toNanos(k.lats), Elapsed: int64(k.elapsed), Errors: k.errors, FirstErr: errText(k.firstErr)}}
	case "acks":
		return s.acks(ctx, j)
	case "watch_views", "watch_streams", "watch_acks", "watch_wait", "watch_results", "watch_close":
		if s.w == nil {
			s.w = newWatcher()
		}
		return s.w.run(ctx, j)
	}
	return answer{Err: fmt.Sprintf("unknown job %q", j.Kind)}
}

// acks runs the acknowledging clients and, beside them, the status
// probes; with Count 0 only the probes, for Duration.
func (s *clientState) acks(ctx context.Context, j job) answer {
	var a answer
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	if j.Status != nil {
		js, err := s.jetStream(j.NATSURL, j.NATSSeed)
		if err != nil {
			return answer{Err: err.Error()}
		}
		wg.Go(func() {
			p := probeStatus(pctx, j.GRPCAddr, js, *j.Status)
			a.Status = &statusWire{Summary: toNanos(p.summary), List: toNanos(p.list), KVGet: toNanos(p.kvGet), Err: errText(p.err)}
		})
	}
	if j.Count > 0 {
		ids := make([]string, j.Count)
		for i := range ids {
			ids[i] = j.Breach + "/" + orgID(i)
		}
		res, err := runAcks(ctx, j.GRPCAddr, ids, nil, j.Concurrency, j.Duration)
		stop()
		wg.Wait()
		if err != nil {
			a.Err = err.Error()
			return a
		}
		a.Acks = &ackWire{Lat: toNanos(res.lats), Elapsed: int64(res.elapsed), Errors: res.errors, FirstErr: errText(res.firstErr), Exhausted: res.exhausted}
		return a
	}
	select {
	case <-ctx.Done():
	case <-time.After(j.Duration):
	}
	stop()
	wg.Wait()
	return a
}

// clientProc is the parent's handle on the client process.
type clientProc struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	stderr *lockedBuffer
	mu     sync.Mutex
}

// startClients starts this binary again in client mode.
func (r *runner) startClients(ctx context.Context) (*clientProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("client process: find this executable: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), ClientEnv+"="+ClientEnvValue)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &clientProc{cmd: cmd, in: in, stderr: &lockedBuffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("client process: start %s: %w", exe, err)
	}
	p.out = bufio.NewScanner(out)
	p.out.Buffer(make([]byte, 1<<20), 512<<20)
	r.mu.Lock()
	r.clientPID = cmd.Process.Pid
	r.mu.Unlock()
	return p, nil
}

// do sends one job and waits for its answer (or ctx, which kills the process).
func (p *clientProc) do(ctx context.Context, j job) (answer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, err := json.Marshal(j)
	if err != nil {
		return answer{}, err
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			_ = p.cmd.Process.Kill()
		case <-done:
		}
	}()
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		return answer{}, fmt.Errorf("client process: send %s: %w%s", j.Kind, err, p.stderrTail())
	}
	if !p.out.Scan() {
		err := p.out.Err()
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return answer{}, fmt.Errorf("client process: %s: %w%s", j.Kind, err, p.stderrTail())
	}
	var a answer
	if err := json.Unmarshal(p.out.Bytes(), &a); err != nil {
		return answer{}, fmt.Errorf("client process: decode the answer to %s: %w", j.Kind, err)
	}
	if a.Err != "" {
		return a, fmt.Errorf("client process: %s: %s", j.Kind, a.Err)
	}
	return a, nil
}

func (p *clientProc) stderrTail() string {
	s := strings.TrimSpace(p.stderr.String())
	if s == "" {
		return ""
	}
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return "; its stderr: " + s
}

// stop ends the client process (stdin closed: it exits) and waits for it.
func (p *clientProc) stop() error {
	_ = p.in.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		return errors.Join(errors.New("client process did not exit; killed"), <-done)
	}
}

// lockedBuffer collects the client process's stderr.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 1<<20 {
		l.b.Write(p)
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
