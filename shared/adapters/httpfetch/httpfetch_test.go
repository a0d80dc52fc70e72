package httpfetch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPublic(t *testing.T) {
	for addr, want := range map[string]bool{
		"93.184.215.14": true, "2606:2800:21f:cb07:6820:80da:af6b:8b2c": true, "203.0.113.7": true,
		"127.0.0.1": false, "10.0.0.1": false, "172.16.5.4": false, "192.168.1.1": false,
		"169.254.169.254": false, "100.64.0.1": false, "0.0.0.0": false, "0.1.2.3": false,
		"255.255.255.255": false, "240.0.0.1": false, "198.18.0.1": false, "224.0.0.1": false,
		"::1": false, "::": false, "fe80::1": false, "fc00::1": false, "fd00:ec2::254": false,
		"::ffff:10.0.0.1": false, "::ffff:127.0.0.1": false, "64:ff9b::a00:1": false, "64:ff9b::5db8:d70e": true,
		"2002:c0a8:101::1": false,
	} {
		if got := Public(net.ParseIP(addr)); got != want {
			t.Errorf("Public(%s) = %v, want %v", addr, got, want)
		}
	}
}

// fakeDNS answers from a table; a missing name is NXDOMAIN.
type fakeDNS map[string][]string

func (d fakeDNS) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	ips, ok := d[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	out := make([]net.IPAddr, 0, len(ips))
	for _, s := range ips {
		out = append(out, net.IPAddr{IP: net.ParseIP(s)})
	}
	return out, nil
}

// testNet is a TLS server on 127.0.0.1 that the fetcher reaches as the public address
// 203.0.113.7 (TEST-NET-3) through the injected resolver and dialer, so every refusal below is
// decided by the fetcher's own checks, not by a missing network.
type testNet struct {
	srv   *httptest.Server
	mu    sync.Mutex
	dials []string
}

const publicIP = "203.0.113.7"

func newTestNet(t *testing.T) *testNet {
	n := &testNet{}
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"ok":true}`) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, strings.Repeat("x", 4096)) })
	mux.HandleFunc("/to-private", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://internal.example.com/ok", http.StatusFound)
	})
	mux.HandleFunc("/to-metadata", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://169.254.169.254/latest/meta-data/", http.StatusFound)
	})
	mux.HandleFunc("/to-http", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://issuer.example.com/ok", http.StatusFound)
	})
	mux.HandleFunc("/to-ok", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://issuer.example.com/ok", http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	n.srv = httptest.NewTLSServer(mux)
	t.Cleanup(n.srv.Close)
	return n
}

func (n *testNet) fetcher(t *testing.T, maxBytes int64) *Fetcher {
	pool := x509.NewCertPool()
	pool.AddCert(n.srv.Certificate())
	dns := fakeDNS{
		"issuer.example.com":   {publicIP},
		"internal.example.com": {"10.1.2.3"},
		"rebind.example.com":   {publicIP, "127.0.0.1"},
		"mapped.example.com":   {"::ffff:192.168.0.1"},
	}
	return New(Options{
		BlockPrivate: true, MaxBytes: maxBytes, Timeout: 5 * time.Second, Resolver: dns,
		TLSConfig: &tls.Config{RootCAs: pool},
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			n.mu.Lock()
			n.dials = append(n.dials, addr)
			n.mu.Unlock()
			if addr != net.JoinHostPort(publicIP, "443") {
				t.Errorf("dialed %s: only checked public addresses may be dialed", addr)
				return nil, errors.New("unexpected dial")
			}
			var d net.Dialer
			return d.DialContext(ctx, network, n.srv.Listener.Addr().String())
		},
	})
}

func TestFetchPublicHost(t *testing.T) {
	n := newTestNet(t)
	f := n.fetcher(t, 1024)
	for _, u := range []string{"https://issuer.example.com/ok", "https://issuer.example.com/to-ok"} {
		body, err := f.Fetch(context.Background(), u)
		if err != nil || string(body) != `{"ok":true}` {
			t.Fatalf("%s: %q %v", u, body, err)
		}
	}
	if len(n.dials) == 0 {
		t.Fatal("the injected dialer was never used")
	}
}

func TestFetchRefusals(t *testing.T) {
	n := newTestNet(t)
	f := n.fetcher(t, 1024)
	cases := map[string]string{
		"http://issuer.example.com/ok":             "only https",
		"ftp://issuer.example.com/ok":              "only https",
		"/relative":                                "not an absolute URL",
		"https://127.0.0.1/ok":                     "not a public address",
		"https://[::1]/ok":                         "not a public address",
		"https://169.254.169.254/latest/":          "not a public address",
		"https://internal.example.com/ok":          "10.1.2.3",
		"https://rebind.example.com/ok":            "127.0.0.1",
		"https://mapped.example.com/ok":            "192.168.0.1",
		"https://issuer.example.com/to-private":    "10.1.2.3",
		"https://issuer.example.com/to-metadata":   "169.254.169.254",
		"https://issuer.example.com/to-http":       "only https",
		"https://issuer.example.com/loop":          "too many redirects",
		"https://issuer.example.com/big":           "larger than 1024 bytes",
		"http://localhost:8080/c/x.json":           "only https",
		"https://user:secret@internal.example.com": "10.1.2.3",
	}
	for u, want := range cases {
		_, err := f.Fetch(context.Background(), u)
		if !errors.Is(err, ErrRefused) {
			t.Errorf("%s: err %v, want ErrRefused", u, err)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want it to mention %q", u, err, want)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error leaks the password: %v", u, err)
		}
	}
	if _, err := f.Fetch(context.Background(), "https://issuer.example.com/big"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("big body: %v, want ErrTooLarge", err)
	}
	if _, err := f.Fetch(context.Background(), "https://nowhere.example.com/"); err == nil || errors.Is(err, ErrRefused) {
		t.Errorf("unknown host: %v, want a resolution error that is not a refusal", err)
	}
}

// TestLoopbackHTTPForTheCLI: the CLI's fetcher (AllowLoopbackHTTP, no BlockPrivate) still reads
// a local server over plain http, and nothing else over http.
func TestLoopbackHTTPForTheCLI(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hi") }))
	defer srv.Close()
	f := New(Options{AllowLoopbackHTTP: true})
	if body, err := f.Fetch(context.Background(), srv.URL); err != nil || string(body) != "hi" {
		t.Fatalf("loopback http: %q %v", body, err)
	}
	if _, err := f.Fetch(context.Background(), "http://example.com/"); !errors.Is(err, ErrRefused) {
		t.Fatalf("non-loopback http: %v", err)
	}
	guarded := New(Options{AllowLoopbackHTTP: true, BlockPrivate: true})
	if _, err := guarded.Fetch(context.Background(), srv.URL); !errors.Is(err, ErrRefused) {
		t.Fatalf("BlockPrivate must win over AllowLoopbackHTTP: %v", err)
	}
}
