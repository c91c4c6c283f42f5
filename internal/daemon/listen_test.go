package daemon_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/daemon"
)

// TestAddressInUse: an address another process holds ends the start within
// a second, naming the flag, the address and how to find the process.
func TestAddressInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	for _, tc := range []struct {
		flag string
		set  func(*daemon.Options)
	}{
		{"--grpc-addr", func(o *daemon.Options) { o.GRPCAddr = addr }},
		{"--http-addr", func(o *daemon.Options) { o.HTTPAddr = addr }},
		{"--nats-listen", func(o *daemon.Options) { o.NATSListen = addr }},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			opts := options(t)
			opts.HTTPAddr = "127.0.0.1:0"
			tc.set(&opts)
			start := time.Now()
			_, err := startErr(opts)
			took := time.Since(start)
			if err == nil {
				t.Fatal("started on an address in use")
			}
			for _, want := range []string{tc.flag + " " + addr, "in use", "ss -ltnp 'sport = :" + port + "'"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if took > time.Second {
				t.Errorf("took %s to fail, want under a second", took)
			}
		})
	}
}
