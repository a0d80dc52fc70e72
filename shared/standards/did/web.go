// Package did builds and resolves the decentralized identifiers Credence uses: did:web for
// issuers (DID construction, the DID-to-URL mapping, the issuer's DID document), and the
// resolution of verification methods named by did:web, did:key, did:jwk and https URLs to
// public keys. Pure code: the only network access goes through the Fetch function the caller
// hands to a Resolver.
package did

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// ErrInvalidDID reports a DID (or DID URL) that is not well formed for its method.
var ErrInvalidDID = errors.New("did: invalid DID")

// maxDIDLength bounds every DID and DID URL we parse. A did:jwk holding an RSA-4096 key is
// about 1 KB; 8 KiB leaves room without letting hostile input grow work unbounded.
const maxDIDLength = 8 << 10

// Web returns the did:web DID for a host (optionally with a port) and path segments, for
// example Web("credence.example.edu", "issuers", "abc") = "did:web:credence.example.edu:issuers:abc".
// The port's colon is percent-encoded as the did:web spec requires. Web returns "" when the
// host or a segment cannot form a valid DID; use WebDID to learn why (hosts that come from
// configuration should go through WebDID at startup).
func Web(host string, path ...string) string {
	d, err := WebDID(host, path...)
	if err != nil {
		return ""
	}
	return d
}

// WebDID is Web with the reason for a refusal. The host is lower-cased (DNS names are case
// insensitive but DIDs are compared as strings, so one canonical spelling matters).
// Segments may hold only unreserved characters [A-Za-z0-9._-] and may not be "." or "..",
// so that the DID maps to exactly one URL path.
func WebDID(host string, path ...string) (string, error) {
	h, port, err := splitHostPort(strings.ToLower(host))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("did:web:")
	b.WriteString(encodeHost(h))
	if port != "" {
		b.WriteString("%3A")
		b.WriteString(port)
	}
	for i, seg := range path {
		if err := checkSegment(seg, false); err != nil {
			return "", fmt.Errorf("%w: path segment %d: %v", ErrInvalidDID, i, err)
		}
		b.WriteByte(':')
		b.WriteString(seg)
	}
	return b.String(), nil
}

// WebDocumentURL maps a did:web DID to the URL of its DID document (did:web spec §3.2 Read):
// the method-specific id's first part is the host (a percent-encoded port decoded back to
// ':'), the rest are path segments; the document is <path>/did.json, or
// /.well-known/did.json when there is no path.
//
// The scheme is https, with one documented exception: hosts localhost, 127.0.0.1 and [::1]
// map to http, because `credence serve` runs over plain http on the loopback interface and a
// loopback host cannot carry a publicly trusted certificate anyway. No other IP literal is
// accepted (the did:web spec forbids IP addresses).
func WebDocumentURL(did string) (string, error) {
	host, port, segs, err := parseWeb(did)
	if err != nil {
		return "", err
	}
	u := url.URL{Scheme: "https", Host: host}
	if isLoopback(host) {
		u.Scheme = "http"
	}
	if port != "" {
		u.Host = net.JoinHostPort(strings.Trim(host, "[]"), port)
	}
	if len(segs) == 0 {
		u.Path = "/.well-known/did.json"
	} else {
		// Segments were validated as URL path characters (unreserved or percent-encoded),
		// so they go into RawPath unchanged.
		raw := "/" + strings.Join(segs, "/") + "/did.json"
		p, err := url.PathUnescape(raw)
		if err != nil {
			return "", fmt.Errorf("%w: %q: %v", ErrInvalidDID, did, err)
		}
		u.Path, u.RawPath = p, raw
	}
	return u.String(), nil
}

// parseWeb splits a did:web DID into host, port and path segments, validating each.
func parseWeb(did string) (host, port string, segs []string, err error) {
	if len(did) > maxDIDLength {
		return "", "", nil, fmt.Errorf("%w: %d characters is too long", ErrInvalidDID, len(did))
	}
	rest, ok := strings.CutPrefix(did, "did:web:")
	if !ok {
		return "", "", nil, fmt.Errorf("%w: %q is not a did:web DID", ErrInvalidDID, did)
	}
	if strings.ContainsAny(rest, "/?#") {
		return "", "", nil, fmt.Errorf("%w: %q is a DID URL; pass the DID without path, query or fragment", ErrInvalidDID, did)
	}
	parts := strings.Split(rest, ":")
	rawHost, err := url.PathUnescape(parts[0])
	if err != nil || parts[0] == "" {
		return "", "", nil, fmt.Errorf("%w: %q: malformed host", ErrInvalidDID, did)
	}
	h, p, err := splitHostPort(rawHost)
	if err != nil {
		return "", "", nil, fmt.Errorf("%q: %w", did, err)
	}
	for i, seg := range parts[1:] {
		if err := checkSegment(seg, true); err != nil {
			return "", "", nil, fmt.Errorf("%w: %q: path segment %d: %v", ErrInvalidDID, did, i, err)
		}
	}
	return h, p, parts[1:], nil
}

// splitHostPort validates host[:port]: a DNS name or one of the loopback literals, and a
// decimal port in 1..65535.
func splitHostPort(hostport string) (host, port string, err error) {
	host = hostport
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return "", "", fmt.Errorf("%w: host %q: unclosed '['", ErrInvalidDID, hostport)
		}
		host = hostport[:end+1]
		if tail := hostport[end+1:]; tail != "" {
			p, ok := strings.CutPrefix(tail, ":")
			if !ok {
				return "", "", fmt.Errorf("%w: host %q: junk after ']'", ErrInvalidDID, hostport)
			}
			port = p
		}
	} else if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		host, port = hostport[:i], hostport[i+1:]
	}
	if port != "" || strings.HasSuffix(hostport, ":") {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return "", "", fmt.Errorf("%w: host %q: port must be 1-65535", ErrInvalidDID, hostport)
		}
	}
	if isLoopback(host) {
		return host, port, nil
	}
	if net.ParseIP(strings.Trim(host, "[]")) != nil {
		return "", "", fmt.Errorf("%w: host %q: IP addresses are not allowed in did:web (only the loopback hosts localhost, 127.0.0.1 and [::1])", ErrInvalidDID, host)
	}
	if err := checkDNSName(host); err != nil {
		return "", "", fmt.Errorf("%w: host %q: %v", ErrInvalidDID, host, err)
	}
	return host, port, nil
}

func isLoopback(host string) bool {
	switch strings.ToLower(host) {
	case "localhost", "127.0.0.1", "[::1]":
		return true
	}
	return false
}

// encodeHost percent-encodes the characters of a host that DID syntax does not allow (only
// the brackets and colons of [::1]).
func encodeHost(h string) string {
	return strings.NewReplacer("[", "%5B", "]", "%5D", ":", "%3A").Replace(h)
}

// checkDNSName accepts LDH labels of 1-63 characters, at most 253 in all.
func checkDNSName(h string) error {
	if h == "" || len(h) > 253 {
		return errors.New("must be a DNS name of 1-253 characters")
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return errors.New("empty or over-long DNS label")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return errors.New("a DNS label may not start or end with '-'")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("character %q is not allowed in a host name", c)
			}
		}
	}
	return nil
}

// checkSegment validates one path segment: DID idchars (unreserved; percent-encoded octets
// only when parsing a DID someone else made), never empty, "." or ".." (which would make the
// document URL escape its path).
func checkSegment(seg string, allowPct bool) error {
	if seg == "" {
		return errors.New("empty segment")
	}
	if seg == "." || seg == ".." {
		return errors.New(`"." and ".." are not allowed`)
	}
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
		case c == '%' && allowPct:
			if i+2 >= len(seg) || !isHex(seg[i+1]) || !isHex(seg[i+2]) {
				return errors.New("malformed percent-encoding")
			}
			// An encoded '/' or '\' would turn one DID segment into two URL segments.
			if v := unhex(seg[i+1])<<4 | unhex(seg[i+2]); v == '/' || v == '\\' || v < 0x20 {
				return fmt.Errorf("percent-encoded byte %#x is not allowed", v)
			}
			i += 2
		default:
			return fmt.Errorf("character %q is not allowed (use [A-Za-z0-9._-])", c)
		}
	}
	return nil
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
