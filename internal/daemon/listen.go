package daemon

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// listen takes the gRPC and HTTP addresses and checks that the embedded
// NATS server's is free, so that an address in use ends the start at
// once, naming the flag to change and how to find the other process.
func (d *Daemon) listen() error {
	var err error
	if d.grpcLn, err = listenOn("--grpc-addr", d.opts.GRPCAddr); err != nil {
		return err
	}
	d.cleanups = append(d.cleanups, func() { _ = d.grpcLn.Close() })
	if d.opts.HTTPAddr != "" {
		if d.httpLn, err = listenOn("--http-addr", d.opts.HTTPAddr); err != nil {
			return err
		}
		d.cleanups = append(d.cleanups, func() { _ = d.httpLn.Close() })
	}
	if d.opts.NATSURL == "" {
		// The server binds its own listener; a free address now is very
		// likely free in a moment (natsembed fails fast if not).
		if _, port, _ := net.SplitHostPort(d.opts.NATSListen); port != "-1" && port != "0" {
			ln, err := listenOn("--nats-listen", d.opts.NATSListen)
			if err != nil {
				return err
			}
			_ = ln.Close()
		}
	}
	return nil
}

// listenOn listens on addr, given by flag; an address in use is explained.
func listenOn(flag, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		_, port, _ := net.SplitHostPort(addr)
		return nil, fmt.Errorf("%s %s: the address is in use: another process listens there (perhaps another cascaded; "+
			"find it with: ss -ltnp 'sport = :%s'); stop it or choose another %s", flag, addr, port, flag)
	}
	return nil, fmt.Errorf("%s %s: %w", flag, addr, err)
}
