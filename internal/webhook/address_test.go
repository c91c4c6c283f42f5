package webhook

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestAllowedIP(t *testing.T) {
	const hint = " (set --webhook-allow-private for development)"
	for _, tc := range []struct {
		ip   string
		want string // "" = allowed; else the whole error
	}{
		// Global unicast: allowed.
		{"93.184.215.14", ""},
		{"8.8.8.8", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"172.15.255.255", ""},
		{"172.32.0.0", ""},
		{"192.169.0.1", ""},
		{"2606:4700::6810:84e5", ""},
		{"2a00:1450:4001::200e", ""},
		{"64:ff9b::5db8:d70e", ""},   // NAT64 of 93.184.215.14
		{"2002:5db8:d70e::1", ""},    // 6to4 of 93.184.215.14
		{"::ffff:93.184.215.14", ""}, // IPv4-mapped
		{"2001:200::1", ""},          // just past 2001::/23
		// Refused.
		{"127.0.0.1", "webhook address 127.0.0.1 is loopback: refused" + hint},
		{"127.255.255.254", "webhook address 127.255.255.254 is loopback: refused" + hint},
		{"::1", "webhook address ::1 is loopback: refused" + hint},
		{"10.0.0.5", "webhook address 10.0.0.5 is private: refused" + hint},
		{"172.16.0.1", "webhook address 172.16.0.1 is private: refused" + hint},
		{"172.31.255.255", "webhook address 172.31.255.255 is private: refused" + hint},
		{"192.168.1.1", "webhook address 192.168.1.1 is private: refused" + hint},
		{"169.254.169.254", "webhook address 169.254.169.254 is link-local (cloud metadata lives here): refused" + hint},
		{"100.64.0.1", "webhook address 100.64.0.1 is shared address space (CGNAT, 100.64.0.0/10): refused" + hint},
		{"100.127.255.255", "webhook address 100.127.255.255 is shared address space (CGNAT, 100.64.0.0/10): refused" + hint},
		{"0.0.0.0", "webhook address 0.0.0.0 is unspecified: refused"},
		{"0.1.2.3", `webhook address 0.1.2.3 is in "this network" (0.0.0.0/8): refused`},
		{"::", "webhook address :: is unspecified: refused"},
		{"224.0.0.1", "webhook address 224.0.0.1 is multicast: refused"},
		{"239.255.255.250", "webhook address 239.255.255.250 is multicast: refused"},
		{"ff02::1", "webhook address ff02::1 is multicast: refused"},
		{"255.255.255.255", "webhook address 255.255.255.255 is the broadcast address: refused"},
		{"240.0.0.1", "webhook address 240.0.0.1 is reserved (240.0.0.0/4): refused" + hint},
		{"192.0.0.8", "webhook address 192.0.0.8 is an IETF protocol assignment (192.0.0.0/24): refused" + hint},
		{"192.0.2.1", "webhook address 192.0.2.1 is reserved for documentation: refused" + hint},
		{"198.18.0.1", "webhook address 198.18.0.1 is reserved for benchmarking: refused" + hint},
		{"fe80::1", "webhook address fe80::1 is link-local: refused" + hint},
		{"fe80::1%eth0", "webhook address fe80::1 is link-local: refused" + hint},
		{"fd00::2", "webhook address fd00::2 is private (unique local, fc00::/7): refused" + hint},
		{"fc00::1", "webhook address fc00::1 is private (unique local, fc00::/7): refused" + hint},
		{"fec0::1", "webhook address fec0::1 is site-local (deprecated): refused" + hint},
		{"2001:db8::1", "webhook address 2001:db8::1 is reserved for documentation: refused" + hint},
		{"2001:0:4136:e378::1", "webhook address 2001:0:4136:e378::1 is an IETF protocol assignment (2001::/23: Teredo, benchmarking, ORCHID): refused" + hint},
		{"100::1", "webhook address 100::1 is discard-only (100::/64): refused" + hint},
		{"::127.0.0.1", "webhook address ::7f00:1 is not a global unicast address (outside 2000::/3): refused" + hint},
		{"4000::1", "webhook address 4000::1 is not a global unicast address (outside 2000::/3): refused" + hint},
		// IPv4 inside IPv6.
		{"::ffff:127.0.0.1", "webhook address ::ffff:127.0.0.1 is loopback (IPv4-mapped form of 127.0.0.1): refused" + hint},
		{"::ffff:10.0.0.5", "webhook address ::ffff:10.0.0.5 is private (IPv4-mapped form of 10.0.0.5): refused" + hint},
		{"::ffff:169.254.169.254", "webhook address ::ffff:169.254.169.254 is link-local (cloud metadata lives here) (IPv4-mapped form of 169.254.169.254): refused" + hint},
		{"::ffff:0.0.0.0", "webhook address ::ffff:0.0.0.0 is unspecified (IPv4-mapped form of 0.0.0.0): refused"},
		{"64:ff9b::7f00:1", "webhook address 64:ff9b::7f00:1 is loopback (NAT64 form of 127.0.0.1): refused" + hint},
		{"64:ff9b::a9fe:a9fe", "webhook address 64:ff9b::a9fe:a9fe is link-local (cloud metadata lives here) (NAT64 form of 169.254.169.254): refused" + hint},
		{"64:ff9b:1::a00:5", "webhook address 64:ff9b:1::a00:5 is in the local-use NAT64 prefix (64:ff9b:1::/48): refused" + hint},
		{"2002:c0a8:101::1", "webhook address 2002:c0a8:101::1 is private (6to4 form of 192.168.1.1): refused" + hint},
		{"2002:7f00:1::", "webhook address 2002:7f00:1:: is loopback (6to4 form of 127.0.0.1): refused" + hint},
	} {
		ip, err := netip.ParseAddr(tc.ip)
		if err != nil {
			t.Fatalf("%s: %v", tc.ip, err)
		}
		err = AllowedIP(ip)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("AllowedIP(%s) = %v, want allowed", tc.ip, err)
		case tc.want != "" && err == nil:
			t.Errorf("AllowedIP(%s) allowed, want %q", tc.ip, tc.want)
		case tc.want != "" && (err.Error() != tc.want || !errors.Is(err, ErrNotAllowed)):
			t.Errorf("AllowedIP(%s) = %q (wraps ErrNotAllowed: %t), want %q", tc.ip, err, errors.Is(err, ErrNotAllowed), tc.want)
		}
	}
	if err := AllowedIP(netip.Addr{}); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("the zero Addr: %v", err)
	}
}

// tlsHook is a real HTTPS receiver that counts the connections made to it.
type tlsHook struct {
	*httptest.Server
	conns atomic.Int32
	port  string
}

func newTLSHook(t *testing.T, listen string) *tlsHook {
	t.Helper()
	h := &tlsHook{}
	h.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	_ = h.Listener.Close()
	h.Listener = ln
	h.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			h.conns.Add(1)
		}
	}
	h.StartTLS()
	t.Cleanup(h.Close)
	_, h.port, _ = net.SplitHostPort(ln.Addr().String())
	return h
}

func (h *tlsHook) tls() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(h.Certificate())
	return &tls.Config{RootCAs: pool}
}

// TestPostRefusesInternalAddresses: without AllowPrivate, connections to
// non-global addresses are refused when connecting, after resolution,
// whatever the URL says: literal addresses of every kind, IPv6 and IPv4
// written as IPv6, and a host name that resolves to loopback. Real HTTPS
// receivers listen on 127.0.0.1 and ::1 and see no connection; with
// AllowPrivate the same client reaches them.
func TestPostRefusesInternalAddresses(t *testing.T) {
	v4 := newTLSHook(t, "127.0.0.1:0")
	v6 := newTLSHook(t, "[::1]:0")
	body := []byte(`{"event":"notice"}`)
	post := func(c *Client, rawURL string) error {
		return c.Post(context.Background(), Request{URL: rawURL + "/hook?token=s3cret", Body: body, Secrets: []string{"whsec_x"}, Attempt: 1})
	}
	strict := NewClient(Config{Timeout: 5 * time.Second, TLS: v4.tls()})
	const hint = ": refused (set --webhook-allow-private for development)"
	for _, tc := range []struct {
		host, port string
		addr       string // the address refused
		kind       string
	}{
		{"127.0.0.1", v4.port, "127.0.0.1", "loopback" + hint},
		{"[::1]", v6.port, "::1", "loopback" + hint},
		{"[::ffff:127.0.0.1]", v4.port, "127.0.0.1", "loopback" + hint}, // dialled as the IPv4 it is
		{"localhost", v4.port, "", "loopback" + hint},                   // 127.0.0.1 or ::1, as resolved
		{"0.0.0.0", v4.port, "0.0.0.0", "unspecified: refused"},         // Linux would connect it to loopback
		{"10.0.0.5", "443", "10.0.0.5", "private" + hint},
		{"172.16.0.1", "443", "172.16.0.1", "private" + hint},
		{"192.168.1.1", "443", "192.168.1.1", "private" + hint},
		{"169.254.169.254", "443", "169.254.169.254", "link-local (cloud metadata lives here)" + hint},
		{"100.64.0.1", "443", "100.64.0.1", "shared address space (CGNAT, 100.64.0.0/10)" + hint},
		{"[fe80::1]", "443", "fe80::1", "link-local" + hint},
		{"[fd00::1]", "443", "fd00::1", "private (unique local, fc00::/7)" + hint},
		{"[64:ff9b::a9fe:a9fe]", "443", "64:ff9b::a9fe:a9fe", "link-local (cloud metadata lives here) (NAT64 form of 169.254.169.254)" + hint},
		{"224.0.0.1", "443", "224.0.0.1", "multicast: refused"},
	} {
		rawURL := "https://" + tc.host + ":" + tc.port
		start := time.Now()
		err := post(strict, rawURL)
		var ae *AddressError
		if !errors.As(err, &ae) || !errors.Is(err, ErrNotAllowed) {
			t.Errorf("%s: %v, want an *AddressError", rawURL, err)
			continue
		}
		if tc.addr != "" && ae.Addr.String() != tc.addr {
			t.Errorf("%s: refused address %s, want %s", rawURL, ae.Addr, tc.addr)
		}
		if want := "POST " + rawURL + "/hook: webhook address " + ae.Addr.String() + " is " + tc.kind; err.Error() != want {
			t.Errorf("%s:\n got %q\nwant %q", rawURL, err, want)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: refused after %s, not before connecting", rawURL, d)
		}
	}
	if n := v4.conns.Load() + v6.conns.Load(); n != 0 {
		t.Fatalf("the receivers saw %d connections without AllowPrivate", n)
	}

	// The same receivers, with AllowPrivate: reached.
	dev := NewClient(Config{Timeout: 5 * time.Second, TLS: v4.tls(), AllowPrivate: true})
	if err := post(dev, "https://127.0.0.1:"+v4.port); err != nil {
		t.Fatalf("AllowPrivate, 127.0.0.1: %v", err)
	}
	if err := post(NewClient(Config{Timeout: 5 * time.Second, TLS: v6.tls(), AllowPrivate: true}), "https://[::1]:"+v6.port); err != nil {
		t.Fatalf("AllowPrivate, ::1: %v", err)
	}
	if v4.conns.Load() == 0 || v6.conns.Load() == 0 {
		t.Fatalf("AllowPrivate: connections %d (IPv4), %d (IPv6)", v4.conns.Load(), v6.conns.Load())
	}
	// Still never to the unspecified or a multicast address.
	for _, u := range []string{"https://0.0.0.0:" + v4.port, "https://224.0.0.1:443", "https://[::]:" + v6.port} {
		var ae *AddressError
		if err := post(dev, u); !errors.As(err, &ae) || !ae.Never || strings.Contains(err.Error(), "--webhook-allow-private") {
			t.Errorf("AllowPrivate, %s: %v", u, err)
		}
	}
}

// TestPostNeverEchoesTheAnswer: whatever a failing receiver writes, in its
// body or its reason phrase, the error carries the status code and Go's
// standard text only; a long body is not read to its end.
func TestPostNeverEchoesTheAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	const leak = "internal-token-6f1e"
	status := make(chan string, 3)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				req, err := http.ReadRequest(r)
				if err != nil {
					return
				}
				_ = req.Body.Close()
				line := <-status
				// A body far longer than anything kept, full of the secret.
				big := strings.Repeat(leak+" stack trace\n", 100_000)
				fmt.Fprintf(conn, "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nX-Debug: %s\r\n\r\n%s", line, len(big), leak, big)
			}()
		}
	}()
	c := NewClient(Config{AllowPrivate: true, Timeout: 10 * time.Second})
	url := "http://" + ln.Addr().String() + "/hook"
	for line, want := range map[string]string{
		"500 " + leak:            "HTTP 500 Internal Server Error",
		"599 " + leak:            "HTTP 599",
		"403 Forbidden \x1b[31m": "HTTP 403 Forbidden",
	} {
		status <- line
		err := c.Post(context.Background(), Request{URL: url, Body: []byte("{}"), Secrets: []string{"whsec_x"}})
		if err == nil || err.Error() != "POST "+url+": "+want {
			t.Errorf("status line %q: %v, want %q", line, err, want)
		}
	}
}

// TestPostIgnoresEnvironmentProxy: HTTPS_PROXY is not used (the address
// checked must be the one connected to; a proxy's own address would be
// checked too). A plain transport in the same
// process does use it, so the environment is in effect.
func TestPostIgnoresEnvironmentProxy(t *testing.T) {
	var connects atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		connects.Add(1)
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer proxy.Close()
	t.Setenv("HTTPS_PROXY", proxy.URL)
	t.Setenv("https_proxy", proxy.URL)
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")
	target := "https://hooks.example.invalid/hook"
	plain := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}, Timeout: 5 * time.Second}
	if resp, err := plain.Post(target, "application/json", strings.NewReader("{}")); err == nil {
		_ = resp.Body.Close()
	}
	if connects.Load() != 1 {
		t.Fatalf("a plain transport made %d requests to the proxy; the environment is not in effect", connects.Load())
	}
	// AllowPrivate, or the proxy's loopback address would be refused anyway.
	for _, allow := range []bool{true, false} {
		c := NewClient(Config{Timeout: 5 * time.Second, AllowPrivate: allow})
		err := c.Post(context.Background(), Request{URL: target, Body: []byte("{}"), Secrets: []string{"whsec_x"}})
		if err == nil || connects.Load() != 1 {
			t.Fatalf("AllowPrivate %t: webhook through the environment's proxy: %v; proxy requests %d", allow, err, connects.Load())
		}
	}
}

// TestPostMalformedAnswerNotEchoed: Go's own errors quote a malformed
// status line or header; Post's error does not.
func TestPostMalformedAnswerNotEchoed(t *testing.T) {
	const leak = "internal-token-6f1e"
	c := NewClient(Config{AllowPrivate: true, Timeout: 10 * time.Second})
	for reply, want := range map[string]string{
		leak + " garbage\r\n\r\n":                                    "no valid HTTP answer (what the receiver sent is not shown)",
		"HTTP/1.1 " + leak + " OK\r\n\r\n":                           "no valid HTTP answer (what the receiver sent is not shown)",
		"HTTP/1.1 500 OK\r\n" + leak + " header\r\n\r\n":             "no valid HTTP answer (what the receiver sent is not shown)",
		"HTTP/1.1 500 OK\r\nContent-Length: " + leak + "\r\n\r\n":    "no valid HTTP answer (what the receiver sent is not shown)",
		"HTTP/1.1 500 OK\r\nTransfer-Encoding: " + leak + "\r\n\r\n": "no valid HTTP answer (what the receiver sent is not shown)",
		"": "the receiver closed the connection without an answer",
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
			if _, err := http.ReadRequest(bufio.NewReader(conn)); err == nil {
				_, _ = io.WriteString(conn, reply)
			}
		}()
		url := "http://" + ln.Addr().String() + "/hook"
		err = c.Post(context.Background(), Request{URL: url, Body: []byte("{}"), Secrets: []string{"whsec_x"}})
		_ = ln.Close()
		if err == nil || err.Error() != "POST "+url+": "+want {
			t.Errorf("reply %q: %v, want %q", reply, err, want)
		}
	}
}
