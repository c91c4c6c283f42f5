package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
)

// AllowPrivateFlag is the cascaded flag that lets webhooks reach
// non-global addresses (development only).
const AllowPrivateFlag = "--webhook-allow-private"

// AddressError is a connection the client refused because of the address
// it would connect to (after DNS resolution). It wraps ErrNotAllowed:
// retrying does not help.
type AddressError struct {
	Addr netip.Addr // the address the connection was to go to
	Kind string     // what the address is, e.g. "private", "loopback"
	// Never is set for addresses no webhook may reach, not even with
	// AllowPrivate (unspecified, multicast, broadcast).
	Never bool
}

func (e *AddressError) Error() string {
	s := fmt.Sprintf("webhook address %s is %s: refused", e.Addr, e.Kind)
	if !e.Never {
		s += " (set " + AllowPrivateFlag + " for development)"
	}
	return s
}

func (e *AddressError) Unwrap() error { return ErrNotAllowed }

// special is a range of addresses that are not global unicast.
type special struct {
	p     netip.Prefix
	kind  string
	never bool // not even with AllowPrivate
}

var (
	special4 = []special{
		{netip.MustParsePrefix("0.0.0.0/32"), "unspecified", true},
		{netip.MustParsePrefix("0.0.0.0/8"), `in "this network" (0.0.0.0/8)`, true},
		{netip.MustParsePrefix("10.0.0.0/8"), "private", false},
		{netip.MustParsePrefix("100.64.0.0/10"), "shared address space (CGNAT, 100.64.0.0/10)", false},
		{netip.MustParsePrefix("127.0.0.0/8"), "loopback", false},
		{netip.MustParsePrefix("169.254.0.0/16"), "link-local (cloud metadata lives here)", false},
		{netip.MustParsePrefix("172.16.0.0/12"), "private", false},
		{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol assignment (192.0.0.0/24)", false},
		{netip.MustParsePrefix("192.0.2.0/24"), "reserved for documentation", false},
		{netip.MustParsePrefix("192.88.99.0/24"), "a deprecated 6to4 relay address", false},
		{netip.MustParsePrefix("192.168.0.0/16"), "private", false},
		{netip.MustParsePrefix("198.18.0.0/15"), "reserved for benchmarking", false},
		{netip.MustParsePrefix("198.51.100.0/24"), "reserved for documentation", false},
		{netip.MustParsePrefix("203.0.113.0/24"), "reserved for documentation", false},
		{netip.MustParsePrefix("224.0.0.0/4"), "multicast", true},
		{netip.MustParsePrefix("255.255.255.255/32"), "the broadcast address", true},
		{netip.MustParsePrefix("240.0.0.0/4"), "reserved (240.0.0.0/4)", false},
	}
	special6 = []special{
		{netip.MustParsePrefix("::/128"), "unspecified", true},
		{netip.MustParsePrefix("::1/128"), "loopback", false},
		{netip.MustParsePrefix("64:ff9b:1::/48"), "in the local-use NAT64 prefix (64:ff9b:1::/48)", false},
		{netip.MustParsePrefix("100::/64"), "discard-only (100::/64)", false},
		{netip.MustParsePrefix("2001:db8::/32"), "reserved for documentation", false},
		{netip.MustParsePrefix("2001::/23"), "an IETF protocol assignment (2001::/23: Teredo, benchmarking, ORCHID)", false},
		{netip.MustParsePrefix("3fff::/20"), "reserved for documentation", false},
		{netip.MustParsePrefix("fc00::/7"), "private (unique local, fc00::/7)", false},
		{netip.MustParsePrefix("fe80::/10"), "link-local", false},
		{netip.MustParsePrefix("fec0::/10"), "site-local (deprecated)", false},
		{netip.MustParsePrefix("ff00::/8"), "multicast", true},
	}
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
	global6   = netip.MustParsePrefix("2000::/3")
)

// AllowedIP returns nil when ip is a global unicast address a webhook may
// be posted to, and otherwise an *AddressError saying what it is: loopback,
// private (RFC 1918, IPv6 unique local), link-local (169.254.0.0/16, the
// cloud metadata address 169.254.169.254 included, fe80::/10), multicast,
// unspecified, shared (CGNAT 100.64.0.0/10), documentation, benchmarking and
// other reserved ranges. IPv4 addresses written as IPv6 are judged by the
// IPv4 address inside: IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::/96)
// and 6to4 (2002::/16); any other IPv6 address outside 2000::/3 is refused.
func AllowedIP(ip netip.Addr) error {
	if !ip.IsValid() {
		return &AddressError{Addr: ip, Kind: "not an IP address", Never: true}
	}
	ip = ip.WithZone("")
	kind, never := classify(ip)
	if kind == "" {
		return nil
	}
	return &AddressError{Addr: ip, Kind: kind, Never: never}
}

// classify returns what ip is when it is not global unicast ("" when it
// is), and whether even AllowPrivate keeps it out.
func classify(ip netip.Addr) (kind string, never bool) {
	if ip.Is4In6() {
		return embedded("IPv4-mapped", ip.Unmap())
	}
	if ip.Is4() {
		for _, s := range special4 {
			if s.p.Contains(ip) {
				return s.kind, s.never
			}
		}
		return "", false
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return embedded("NAT64", netip.AddrFrom4([4]byte(b[12:16])))
	case sixToFour.Contains(ip):
		return embedded("6to4", netip.AddrFrom4([4]byte(b[2:6])))
	}
	for _, s := range special6 {
		if s.p.Contains(ip) {
			return s.kind, s.never
		}
	}
	if !global6.Contains(ip) {
		return "not a global unicast address (outside 2000::/3)", false
	}
	return "", false
}

// embedded classifies the IPv4 address v4 found inside an IPv6 address of
// the given form.
func embedded(form string, v4 netip.Addr) (string, bool) {
	kind, never := classify(v4)
	if kind == "" {
		return "", false
	}
	return fmt.Sprintf("%s (%s form of %s)", kind, form, v4), never
}

// allowed is the client's rule: AllowedIP, relaxed by AllowPrivate to all
// but the addresses nothing may be posted to.
func (c *Client) allowed(ip netip.Addr) error {
	err := AllowedIP(ip)
	if ae, ok := err.(*AddressError); ok && c.allowPrivate && !ae.Never {
		return nil
	}
	return err
}

// control runs after DNS resolution, on the socket about to connect to
// address ("ip:port"): every connection, whatever name or redirect led to
// it, is checked against the address it really goes to.
func (c *Client) control(_ context.Context, _, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("webhook address %q: %w", address, ErrNotAllowed)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("webhook address %q: %w", address, ErrNotAllowed)
	}
	return c.allowed(ip)
}

// transportError is a failure before a valid HTTP answer. Its text comes
// from a list of known causes and never repeats what the receiver sent
// (Go's own errors quote a malformed status line or header).
type transportError struct{ err error }

func (e *transportError) Error() string { return describe(e.err) }
func (e *transportError) Unwrap() error { return e.err }

func describe(err error) string {
	var (
		dns   *net.DNSError
		cert  *tls.CertificateVerificationError
		alert tls.AlertError
		rec   tls.RecordHeaderError
		op    *net.OpError
		sys   *os.SyscallError
		errno syscall.Errno
	)
	switch {
	case errors.As(err, &dns):
		return dns.Error() // the name is the URL's, the rest the resolver's
	case errors.As(err, &cert):
		return "TLS: the receiver's certificate does not verify: " + certReason(cert.Err)
	case errors.As(err, &alert):
		return "TLS: the receiver sent alert: " + alert.Error()
	case errors.As(err, &rec):
		return "TLS: " + rec.Msg
	case errors.As(err, &op) && (errors.As(op.Err, &sys) || errors.As(op.Err, &errno)):
		return op.Error() // addresses and a system error
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the receiver closed the connection without an answer"
	}
	return "no valid HTTP answer (what the receiver sent is not shown)"
}

func certReason(err error) string {
	var (
		host    x509.HostnameError
		unknown x509.UnknownAuthorityError
		invalid x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &host):
		return "not valid for " + host.Host
	case errors.As(err, &unknown):
		return "signed by an unknown authority"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "expired or not yet valid"
	}
	return "invalid"
}
