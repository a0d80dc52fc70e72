// Package jsonld is Credence's offline JSON-LD: the official contexts embedded in the binary, a
// document loader that serves only those, RDFC-1.0 canonicalization and JSON-LD safe mode.
//
// Nothing here touches the network: a credential that names a context we do not carry is an
// error, never a fetch. That keeps verification deterministic and makes it impossible for a
// credential to steer our servers to an arbitrary URL.
package jsonld

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/piprate/json-gold/ld"
)

//go:embed contexts/*
var contextFS embed.FS

// Context URLs Credence issues with.
const (
	CredentialsV2 = "https://www.w3.org/ns/credentials/v2"
	CredentialsV1 = "https://www.w3.org/2018/credentials/v1"
	OB303         = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
	DIDv1         = "https://www.w3.org/ns/did/v1"
	MultikeyV1    = "https://w3id.org/security/multikey/v1"
	JWSv1         = "https://w3id.org/security/suites/jws-2020/v1"
)

// contextFiles maps each canonical context URL to its embedded copy (see testdata/standards/PROVENANCE.md).
var contextFiles = map[string]string{
	CredentialsV2: "w3c-credentials-v2.jsonld",
	CredentialsV1: "w3c-credentials-v1.jsonld",
	"https://www.w3.org/ns/credentials/examples/v2": "w3c-credentials-examples-v2.jsonld",
	"https://www.w3.org/ns/credentials/status/v1":   "w3c-vc-bitstring-status-list-v1.jsonld",
	"https://w3id.org/security/data-integrity/v2":   "data-integrity-v2.jsonld",
	"https://w3id.org/security/data-integrity/v1":   "data-integrity-v1.jsonld",
	MultikeyV1: "multikey-v1.jsonld",
	"https://w3id.org/vc/status-list/2021/v1":          "vc-status-list-2021-v1.jsonld",
	"https://w3id.org/security/suites/ed25519-2020/v1": "ed25519-signature-2020-v1.jsonld",
	DIDv1: "did-v1.jsonld",
	OB303: "ob-v3p0-context-3.0.3.json",
	"https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json":     "ob-v3p0-context-3.0.2.json",
	"https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json":     "ob-v3p0-context-3.0.1.json",
	"https://purl.imsglobal.org/spec/ob/v3p0/context.json":           "ob-v3p0-context.json",
	"https://purl.imsglobal.org/spec/ob/v3p0/context/ob_v3p0.jsonld": "ob-v3p0-context.json",
	"https://purl.imsglobal.org/spec/ob/v3p0/extensions.json":        "ob-v3p0-extensions.json",
}

// ErrUnknownContext is returned for any context URL that is not embedded.
var ErrUnknownContext = errors.New("jsonld: context is not one Credence carries (contexts are never fetched)")

var (
	parsedOnce sync.Once
	parsed     map[string]any
	parseErr   error
)

func loadAll() {
	parsed = make(map[string]any, len(contextFiles))
	for url, file := range contextFiles {
		raw, err := contextFS.ReadFile("contexts/" + file)
		if err != nil {
			parseErr = fmt.Errorf("jsonld: embedded context %s: %w", file, err)
			return
		}
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			parseErr = fmt.Errorf("jsonld: embedded context %s: %w", file, err)
			return
		}
		parsed[url] = doc
	}
}

// Context returns the parsed embedded document for a context URL. Callers must not modify it.
func Context(url string) (any, error) {
	parsedOnce.Do(loadAll)
	if parseErr != nil {
		return nil, parseErr
	}
	doc, ok := parsed[url]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownContext, url)
	}
	return doc, nil
}

// ContextBytes returns the embedded bytes of a context, for serving or hashing.
func ContextBytes(url string) ([]byte, error) {
	file, ok := contextFiles[url]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownContext, url)
	}
	return contextFS.ReadFile("contexts/" + file)
}

// Known reports whether url is an embedded context.
func Known(url string) bool {
	_, ok := contextFiles[url]
	return ok
}

// URLs lists the embedded context URLs.
func URLs() []string {
	out := make([]string, 0, len(contextFiles))
	for u := range contextFiles {
		out = append(out, u)
	}
	return out
}

// Loader is a json-gold DocumentLoader over the embedded contexts only.
type Loader struct{}

// LoadDocument implements ld.DocumentLoader. json-gold may mutate what it is given, so every
// call gets a fresh copy.
func (Loader) LoadDocument(u string) (*ld.RemoteDocument, error) {
	raw, err := ContextBytes(u)
	if err != nil {
		return nil, ld.NewJsonLdError(ld.LoadingDocumentFailed, err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, ld.NewJsonLdError(ld.LoadingDocumentFailed, err)
	}
	return &ld.RemoteDocument{DocumentURL: u, Document: doc}, nil
}
