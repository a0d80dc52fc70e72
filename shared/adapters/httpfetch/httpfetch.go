// Package httpfetch reads DID documents, status lists and credentials from URLs for the
// verifier, with the limits a public service needs: https only (plain http only to loopback
// when allowed, for local mode), timeouts, a size cap, no redirects to other schemes, and —
// for server-side fetches on behalf of strangers — no connections to private addresses.
package httpfetch

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Fetcher fetches URLs under limits.
type Fetcher struct {
	client *http.Client
	opts   Options
}

// Options set the limits.
type Options struct {
	// AllowLoopbackHTTP permits http:// to localhost / 127.0.0.1 / [::1] (credence serve).
	// It is meant for the CLI; with BlockPrivate set the loopback connection is refused anyway.
	AllowLoopbackHTTP bool
	// BlockPrivate refuses connections to loopback, private, link-local and other non-public
	// addresses. The host is resolved once, every answer is checked, and the connection goes to
	// a checked IP literal, so neither a DNS answer nor a redirect (each hop is dialed the same
	// way) nor a rebinding between check and connect can reach an internal address.
	BlockPrivate bool
	MaxBytes     int64         // default 2 MiB
	Timeout      time.Duration // default 10 s

	// Resolver answers DNS for BlockPrivate (default net.DefaultResolver); tests inject one so
	// the refusal logic runs without a network.
	Resolver Resolver
	// Dial connects to an already checked IP:port (default a net.Dialer); tests point it at a
	// local server standing in for a public address.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSConfig replaces the default TLS client configuration (tests trust a local CA with it).
	TLSConfig *tls.Config
}

// Resolver is the part of net.Resolver the fetcher uses.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// ErrRefused is returned for a URL the options do not allow.
var ErrRefused = errors.New("httpfetch: refused")

// ErrTooLarge is returned (wrapped with ErrRefused) for a body over MaxBytes.
var ErrTooLarge = errors.New("httpfetch: response too large")

// New returns a Fetcher.
func New(o Options) *Fetcher {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 2 << 20
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if o.BlockPrivate {
		// Defense in depth: even a dial that bypassed the resolution check below is refused
		// at connect time when its address is not public.
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip := net.ParseIP(host)
			if ip == nil || !Public(ip) {
				return fmt.Errorf("%w: %s is not a public address", ErrRefused, host)
			}
			return nil
		}
	}
	if o.Dial == nil {
		o.Dial = dialer.DialContext
	}
	f := &Fetcher{opts: o}
	dial := o.Dial
	if o.BlockPrivate {
		dial = f.dialPublic
	}
	tr := &http.Transport{DialContext: dial, TLSHandshakeTimeout: 5 * time.Second, ResponseHeaderTimeout: o.Timeout,
		MaxIdleConns: 10, Proxy: nil, TLSClientConfig: o.TLSConfig, ForceAttemptHTTP2: o.TLSConfig == nil}
	f.client = &http.Client{Transport: tr, Timeout: o.Timeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return fmt.Errorf("%w: too many redirects", ErrRefused)
		}
		return f.allowed(req.URL)
	}}
	return f
}

// dialPublic resolves the host, refuses it when any answer is not a public address (a name
// that mixes public and internal answers is a rebinding attempt), and connects to the checked
// IPs themselves so that no second lookup can answer differently.
func (f *Fetcher) dialPublic(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("httpfetch: dial %s: %w", addr, err)
	}
	var ips []net.IP
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil {
		ips = []net.IP{ip}
	} else {
		answers, err := f.opts.Resolver.LookupIPAddr(ctx, host)
		if err != nil {
			return nil, fmt.Errorf("httpfetch: resolve %s: %w", host, err)
		}
		for _, a := range answers {
			ips = append(ips, a.IP)
		}
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("httpfetch: %s has no addresses", host)
	}
	for _, ip := range ips {
		if !Public(ip) {
			return nil, fmt.Errorf("%w: %s resolves to %s, which is not a public address", ErrRefused, host, ip)
		}
	}
	var errs []error
	for _, ip := range ips {
		c, err := f.opts.Dial(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("httpfetch: connect to %s: %w", host, errors.Join(errs...))
}

// nonPublic are ranges the net.IP predicates do not cover: "this network", IETF protocol
// assignments, benchmarking, reserved, and NAT64/6to4 prefixes (checked on their embedded IPv4).
var nonPublic = func() []*net.IPNet {
	var out []*net.IPNet
	for _, c := range []string{"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15", "240.0.0.0/4"} {
		_, n, _ := net.ParseCIDR(c)
		out = append(out, n)
	}
	return out
}()

// Public reports whether ip is an address the fetcher may connect to on a stranger's behalf.
func Public(ip net.IP) bool {
	if ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() || ip.Equal(net.IPv4bcast) {
		return false
	}
	if v4 := ip.To4(); v4 != nil {
		for _, n := range nonPublic {
			if n.Contains(v4) {
				return false
			}
		}
		return true
	}
	switch {
	case len(ip) == net.IPv6len && ip[0] == 0x00 && ip[1] == 0x64 && ip[2] == 0xff && ip[3] == 0x9b: // 64:ff9b::/96 NAT64
		return Public(net.IP(ip[12:16]))
	case len(ip) == net.IPv6len && ip[0] == 0x20 && ip[1] == 0x02: // 2002::/16 6to4
		return Public(net.IP(ip[2:6]))
	}
	return true
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func (f *Fetcher) allowed(u *url.URL) error {
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if f.opts.AllowLoopbackHTTP && loopbackHost(u.Hostname()) {
			return nil
		}
	}
	return fmt.Errorf("%w: only https URLs are fetched (%s)", ErrRefused, u.Redacted())
}

// Fetch GETs url and returns the body.
func (f *Fetcher) Fetch(ctx context.Context, raw string) ([]byte, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%w: %q is not an absolute URL", ErrRefused, raw)
	}
	if err := f.allowed(u); err != nil {
		return nil, err
	}
	u.Fragment = ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("httpfetch: %w", err)
	}
	req.Header.Set("Accept", "application/json, application/ld+json, application/did+json, application/vc+ld+json, application/vc+jwt, */*;q=0.5")
	req.Header.Set("User-Agent", "Credence-Verifier/1")
	res, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("httpfetch: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("httpfetch: %s answered %s", u.Redacted(), res.Status)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, f.opts.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("httpfetch: read %s: %w", u.Redacted(), err)
	}
	if int64(len(body)) > f.opts.MaxBytes {
		return nil, fmt.Errorf("%w: %w: %s is larger than %d bytes", ErrRefused, ErrTooLarge, u.Redacted(), f.opts.MaxBytes)
	}
	return body, nil
}
