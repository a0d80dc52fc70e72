// Package httpfetch reads DID documents, status lists and credentials from URLs for the
// verifier, with the limits a public service needs: https only (plain http only to loopback
// when allowed, for local mode), timeouts, a size cap, no redirects to other schemes, and —
// for server-side fetches on behalf of strangers — no connections to private addresses.
package httpfetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
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
	AllowLoopbackHTTP bool
	// BlockPrivate refuses connections to loopback, private, link-local and other non-public
	// addresses, checked on the resolved IP at connect time (so DNS rebinding cannot dodge it).
	BlockPrivate bool
	MaxBytes     int64         // default 2 MiB
	Timeout      time.Duration // default 10 s
}

// ErrRefused is returned for a URL the options do not allow.
var ErrRefused = errors.New("httpfetch: refused")

// New returns a Fetcher.
func New(o Options) *Fetcher {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 2 << 20
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if o.BlockPrivate {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip := net.ParseIP(host)
			if ip == nil || !public(ip) {
				return fmt.Errorf("%w: %s is not a public address", ErrRefused, host)
			}
			return nil
		}
	}
	tr := &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: 5 * time.Second, ResponseHeaderTimeout: o.Timeout, MaxIdleConns: 10, Proxy: nil}
	f := &Fetcher{opts: o}
	f.client = &http.Client{Transport: tr, Timeout: o.Timeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return fmt.Errorf("%w: too many redirects", ErrRefused)
		}
		return f.allowed(req.URL)
	}}
	return f
}

func public(ip net.IP) bool {
	return !(ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() ||
		ip.Equal(net.IPv4bcast) || (ip.To4() != nil && ip.To4()[0] == 100 && ip.To4()[1]&0xc0 == 64)) // CGNAT 100.64/10
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
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrRefused, u.Redacted(), f.opts.MaxBytes)
	}
	return body, nil
}
