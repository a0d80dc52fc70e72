package did

import (
	"errors"
	"strings"
	"testing"
)

func TestWebDID(t *testing.T) {
	cases := []struct {
		host string
		path []string
		want string
	}{
		{"credence.example.edu", []string{"issuers", "abc"}, "did:web:credence.example.edu:issuers:abc"},
		{"localhost:8080", []string{"issuers", "x"}, "did:web:localhost%3A8080:issuers:x"},
		{"127.0.0.1:8080", []string{"issuers", "x"}, "did:web:127.0.0.1%3A8080:issuers:x"},
		{"[::1]:8080", []string{"i"}, "did:web:%5B%3A%3A1%5D%3A8080:i"},
		{"Example.COM", nil, "did:web:example.com"},
		{"w3c-ccg.github.io", []string{"user", "alice"}, "did:web:w3c-ccg.github.io:user:alice"},
		{"example.com", []string{"a_b-c.d", "01J2X"}, "did:web:example.com:a_b-c.d:01J2X"},
	}
	for _, c := range cases {
		got, err := WebDID(c.host, c.path...)
		if err != nil || got != c.want {
			t.Errorf("WebDID(%q, %q) = %q, %v; want %q", c.host, c.path, got, err, c.want)
		}
		if Web(c.host, c.path...) != c.want {
			t.Errorf("Web(%q, %q) = %q", c.host, c.path, Web(c.host, c.path...))
		}
	}
}

func TestWebDIDRefusesInvalidInput(t *testing.T) {
	cases := []struct {
		host string
		path []string
		why  string
	}{
		{"", nil, "empty host"},
		{"exa mple.com", nil, "space in host"},
		{"example.com:0", nil, "port 0"},
		{"example.com:99999", nil, "port too large"},
		{"example.com:", nil, "empty port"},
		{"example.com:80a", nil, "non-numeric port"},
		{"192.168.1.10", nil, "non-loopback IP"},
		{"[2001:db8::1]:443", nil, "non-loopback IPv6"},
		{"-bad.example", nil, "label starting with '-'"},
		{"a..b", nil, "empty label"},
		{"example.com/evil", nil, "slash in host"},
		{"example.com", []string{""}, "empty segment"},
		{"example.com", []string{".."}, "dot-dot segment"},
		{"example.com", []string{"a/b"}, "slash in segment"},
		{"example.com", []string{"a:b"}, "colon in segment"},
		{"example.com", []string{"a%2Fb"}, "percent in segment"},
		{"example.com", []string{"é"}, "non-ASCII segment"},
		{"example.com", []string{"a#b"}, "fragment in segment"},
	}
	for _, c := range cases {
		got, err := WebDID(c.host, c.path...)
		if err == nil || !errors.Is(err, ErrInvalidDID) {
			t.Errorf("%s: WebDID(%q, %q) = %q, %v; want ErrInvalidDID", c.why, c.host, c.path, got, err)
		}
		if Web(c.host, c.path...) != "" {
			t.Errorf("%s: Web must return \"\" for invalid input", c.why)
		}
	}
}

func TestWebDocumentURL(t *testing.T) {
	cases := []struct{ did, want string }{
		// The did:web spec's own examples (w3c-ccg/did-method-web §3.2).
		{"did:web:w3c-ccg.github.io", "https://w3c-ccg.github.io/.well-known/did.json"},
		{"did:web:w3c-ccg.github.io:user:alice", "https://w3c-ccg.github.io/user/alice/did.json"},
		{"did:web:example.com%3A3000:user:alice", "https://example.com:3000/user/alice/did.json"},
		{"did:web:credence.example.edu:issuers:abc", "https://credence.example.edu/issuers/abc/did.json"},
		// Local mode: loopback hosts map to http.
		{"did:web:localhost%3A8080:issuers:x", "http://localhost:8080/issuers/x/did.json"},
		{"did:web:127.0.0.1%3A8080:issuers:x", "http://127.0.0.1:8080/issuers/x/did.json"},
		{"did:web:%5B%3A%3A1%5D%3A8080:issuers:x", "http://[::1]:8080/issuers/x/did.json"},
		{"did:web:localhost", "http://localhost/.well-known/did.json"},
		// Percent-encoded path characters stay as the DID spells them.
		{"did:web:example.com:a%7Eb", "https://example.com/a%7Eb/did.json"},
	}
	for _, c := range cases {
		got, err := WebDocumentURL(c.did)
		if err != nil || got != c.want {
			t.Errorf("WebDocumentURL(%q) = %q, %v; want %q", c.did, got, err, c.want)
		}
	}
}

func TestWebDocumentURLRoundTripsWeb(t *testing.T) {
	d := Web("localhost:8080", "issuers", "x")
	u, err := WebDocumentURL(d)
	if err != nil || u != "http://localhost:8080/issuers/x/did.json" {
		t.Fatalf("%s -> %s, %v", d, u, err)
	}
}

func TestWebDocumentURLRefuses(t *testing.T) {
	bad := []string{
		"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
		"did:web:",
		"did:web:example.com:issuers:abc#key-1",
		"did:web:example.com/path",
		"did:web:example.com?q=1",
		"did:web:example.com::x",
		"did:web:example.com:..:x",
		"did:web:example.com:a%2Fb",
		"did:web:example.com:a%5cb",
		"did:web:example.com:a%zz",
		"did:web:10.0.0.1",
		"did:web:169.254.169.254:latest",
		"did:web:example.com%3A0",
		"did:web:example.com%3Axyz",
		"did:web:ex%20ample.com",
		"did:web:" + strings.Repeat("a", maxDIDLength),
	}
	for _, d := range bad {
		if u, err := WebDocumentURL(d); err == nil {
			t.Errorf("WebDocumentURL(%q) = %q, want an error", d, u)
		}
	}
}
