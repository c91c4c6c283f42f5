package natstest

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/testkit"
)

// Cluster is a JetStream cluster of in-process nats-servers for tests:
// every node listens on 127.0.0.1 (client and route ports picked free at
// start and kept across restarts), has its own store under t.TempDir() and
// fsyncs every write (SyncAlways, as the single test server does), and
// routes to every other node. A node can be stopped as in a crash and
// restarted on the same store and ports while the others keep running.
//
// Election timeouts are nats-server's own (4-9 s, not shortened): after
// the node that leads a stream or the meta group stops, electing a new
// leader may take seconds, and clients see timeouts or "no responders"
// meanwhile; a request in flight to the stopped node is lost and only
// times out. Reads may be served by any replica (direct gets, R1
// consumers), so a node that was restarted serves stale data until it has
// caught up.
//
// The ports are chosen once, from the kernel's free ports, and stay
// reserved only by convention: while a node is stopped, another process
// (or an outgoing connection) could in principle take its port, and
// Restart would then fail.
type Cluster struct {
	t       testing.TB
	name    string
	mu      sync.Mutex // guards nodes[i].srv and adminJS
	nodes   []*clusterNode
	adminJS jetstream.JetStream
}

type clusterNode struct {
	name        string
	dir         string
	clientPort  int
	clusterPort int
	srv         *server.Server // nil while stopped
}

// StartCluster runs n JetStream servers routed to each other and returns
// once the cluster has a JetStream meta leader, so streams can be created
// (with up to n replicas). Every node is shut down at cleanup.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("natstest.StartCluster: n = %d", n)
	}
	c := &Cluster{t: t, name: "cascade-test"}
	ports := freePorts(t, 2*n)
	for i := range n {
		c.nodes = append(c.nodes, &clusterNode{
			name:        fmt.Sprintf("n%d", i+1),
			dir:         t.TempDir(),
			clientPort:  ports[2*i],
			clusterPort: ports[2*i+1],
		})
	}
	t.Cleanup(c.shutdown)
	for i := range c.nodes {
		c.start(i)
	}
	c.WaitReady(60 * time.Second)
	return c
}

// freePorts finds k distinct free loopback ports. They are released just
// before the servers bind them; another process could take one in that
// short window.
func freePorts(t testing.TB, k int) []int {
	t.Helper()
	ports := make([]int, k)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("natstest: reserve a port: %v", err)
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports
}

// routes are the route URLs of every node (a node's route to itself is
// ignored by nats-server); the number of routes also tells each server
// how many peers the JetStream meta group expects.
func (c *Cluster) routes() []string {
	rs := make([]string, len(c.nodes))
	for i, nd := range c.nodes {
		rs[i] = fmt.Sprintf("nats-route://127.0.0.1:%d", nd.clusterPort)
	}
	return rs
}

// options are node i's server options, built afresh for every start
// (nats-server keeps and changes the Options it is given).
func (c *Cluster) options(i int) *server.Options {
	nd := c.nodes[i]
	return &server.Options{
		ServerName:         nd.name,
		Host:               "127.0.0.1",
		Port:               nd.clientPort,
		JetStream:          true,
		StoreDir:           nd.dir,
		SyncAlways:         true,
		JetStreamMaxMemory: 256 << 20,
		NoSigs:             true,
		NoLog:              true,
		Cluster: server.ClusterOpts{
			Name: c.name,
			Host: "127.0.0.1",
			Port: nd.clusterPort,
		},
		Routes: server.RoutesFromStr(strings.Join(c.routes(), ",")),
	}
}

func (c *Cluster) start(i int) {
	c.t.Helper()
	nd := c.nodes[i]
	srv, err := server.NewServer(c.options(i))
	if err != nil {
		c.t.Fatalf("natstest: cluster node %s: %v", nd.name, err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		c.t.Fatalf("natstest: cluster node %s (client port %d, route port %d) not ready in 30s", nd.name, nd.clientPort, nd.clusterPort)
	}
	c.mu.Lock()
	nd.srv = srv
	c.mu.Unlock()
}

func (c *Cluster) shutdown() {
	for i := range c.nodes {
		c.stop(i)
	}
}

func (c *Cluster) stop(i int) {
	c.mu.Lock()
	srv := c.nodes[i].srv
	c.nodes[i].srv = nil
	c.mu.Unlock()
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
}

// N is the number of nodes.
func (c *Cluster) N() int { return len(c.nodes) }

// URLs is the comma-separated client URLs of every node (running or not),
// the form nats.Connect and Cascade's --nats-url take.
func (c *Cluster) URLs() string {
	us := make([]string, len(c.nodes))
	for i := range c.nodes {
		us[i] = c.URL(i)
	}
	return strings.Join(us, ",")
}

// URL is node i's client URL; it stays the same across restarts.
func (c *Cluster) URL(i int) string {
	return fmt.Sprintf("nats://127.0.0.1:%d", c.nodes[i].clientPort)
}

// Index is the node whose client URL is url (as nats.Conn.ConnectedUrl
// reports it), or -1.
func (c *Cluster) Index(url string) int {
	for i := range c.nodes {
		if c.URL(i) == url {
			return i
		}
	}
	return -1
}

// Named is the node whose server name is name (as JetStream reports a
// stream's leader and replicas: "n1", "n2", …), or -1.
func (c *Cluster) Named(name string) int {
	for i, nd := range c.nodes {
		if nd.name == name {
			return i
		}
	}
	return -1
}

// Server is node i's running server, or nil while it is stopped.
func (c *Cluster) Server(i int) *server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i].srv
}

// StoreDir is node i's JetStream store directory.
func (c *Cluster) StoreDir(i int) string { return c.nodes[i].dir }

// Stop shuts node i down as in a crash: no lame-duck mode and no transfer
// of its Raft leaderships, so the remaining nodes elect new leaders after
// their election timeout. Stopping a stopped node does nothing.
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	c.stop(i)
}

// Restart starts node i again (stopping it first if it runs) on the same
// store directory, ports and name, and returns once it accepts client
// connections and answers JetStream requests through the cluster. It
// does not wait for the node's stream replicas to catch up.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	c.stop(i)
	c.start(i)
	c.waitJetStream(c.URL(i), 60*time.Second)
}

// WaitReady waits until the cluster, reached through any running node,
// has a JetStream meta leader that answers account requests.
func (c *Cluster) WaitReady(timeout time.Duration) {
	c.t.Helper()
	c.waitJetStream(c.URLs(), timeout)
}

func (c *Cluster) waitJetStream(urls string, timeout time.Duration) {
	c.t.Helper()
	nc, err := nats.Connect(urls, nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond), nats.RetryOnFailedConnect(true))
	if err != nil {
		c.t.Fatalf("natstest: connect to %s: %v", urls, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		c.t.Fatalf("natstest: %v", err)
	}
	testkit.Eventually(c.t, timeout, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := js.AccountInfo(ctx)
		if err != nil {
			return fmt.Errorf("JetStream of cluster at %s: %w", urls, err)
		}
		return nil
	})
}

// StreamLeader is the node leading stream, waiting up to timeout for the
// stream to have a leader.
func (c *Cluster) StreamLeader(stream string, timeout time.Duration) int {
	c.t.Helper()
	leader := -1
	testkit.Eventually(c.t, timeout, func() (err error) {
		leader, err = c.streamLeader(stream)
		return err
	})
	return leader
}

func (c *Cluster) streamLeader(stream string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := c.admin().Stream(ctx, stream)
	if err != nil {
		return -1, err
	}
	cl := s.CachedInfo().Cluster
	if cl == nil || cl.Leader == "" {
		return -1, fmt.Errorf("stream %s has no leader", stream)
	}
	i := c.Named(cl.Leader)
	if i < 0 {
		return -1, fmt.Errorf("stream %s is led by %q, not a node of this cluster", stream, cl.Leader)
	}
	return i, nil
}

// MoveStreamLeader makes node i the leader of stream (a stepdown of the
// current leader naming i as the preferred successor, repeated as needed)
// and returns once the stream reports i as its leader.
func (c *Cluster) MoveStreamLeader(stream string, i int, timeout time.Duration) {
	c.t.Helper()
	req := fmt.Sprintf(`{"placement":{"preferred":%q}}`, c.nodes[i].name)
	testkit.Eventually(c.t, timeout, func() error {
		leader, err := c.streamLeader(stream)
		if err != nil {
			return err
		}
		if leader == i {
			return nil
		}
		msg, err := c.admin().Conn().Request("$JS.API.STREAM.LEADER.STEPDOWN."+stream, []byte(req), 2*time.Second)
		if err != nil {
			return fmt.Errorf("stepdown of %s: %w", stream, err)
		}
		return fmt.Errorf("stream %s led by %s, not yet by %s (stepdown answered %s)", stream, c.nodes[leader].name, c.nodes[i].name, msg.Data)
	})
}

// admin is the cluster's own JetStream client on every node, for the
// helpers above; it is closed at cleanup.
func (c *Cluster) admin() jetstream.JetStream {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.adminJS == nil {
		nc, err := nats.Connect(c.URLs(), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
		if err != nil {
			c.t.Fatalf("natstest: connect to cluster: %v", err)
		}
		c.t.Cleanup(nc.Close)
		if c.adminJS, err = jetstream.New(nc); err != nil {
			c.t.Fatalf("natstest: %v", err)
		}
	}
	return c.adminJS
}

// Connect opens a client connection to every node's URL that reconnects
// forever (to whichever node runs) and is closed at cleanup.
func (c *Cluster) Connect(opts ...nats.Option) *nats.Conn {
	c.t.Helper()
	opts = append([]nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(20 * time.Millisecond)}, opts...)
	nc, err := nats.Connect(c.URLs(), opts...)
	if err != nil {
		c.t.Fatalf("natstest: connect to cluster: %v", err)
	}
	c.t.Cleanup(nc.Close)
	return nc
}

// MoveConsumerLeader makes node i the leader of a stream's consumer, as
// MoveStreamLeader does for a stream.
func (c *Cluster) MoveConsumerLeader(stream, consumer string, i int, timeout time.Duration) {
	c.t.Helper()
	req := fmt.Sprintf(`{"placement":{"preferred":%q}}`, c.nodes[i].name)
	testkit.Eventually(c.t, timeout, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		cons, err := c.admin().Consumer(ctx, stream, consumer)
		if err != nil {
			return err
		}
		cl := cons.CachedInfo().Cluster
		if cl == nil || cl.Leader == "" {
			return fmt.Errorf("consumer %s of %s has no leader", consumer, stream)
		}
		if c.Named(cl.Leader) == i {
			return nil
		}
		msg, err := c.admin().Conn().Request("$JS.API.CONSUMER.LEADER.STEPDOWN."+stream+"."+consumer, []byte(req), 2*time.Second)
		if err != nil {
			return fmt.Errorf("stepdown of %s: %w", consumer, err)
		}
		return fmt.Errorf("consumer %s led by %s, not yet by %s (stepdown answered %s)", consumer, cl.Leader, c.nodes[i].name, msg.Data)
	})
}
