package site

import (
	"net/http"

	"github.com/credence-oss/credence/shared/standards/verifier"
)

// VerifyToolWith serves /verify and /api/verify of s with remote standing in for the network,
// so tests choose what other issuers' URLs answer.
func VerifyToolWith(s *Site, remote verifier.Fetch) http.Handler {
	t := newVerifyTool(s, verifyOptions{Remote: remote})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/verify", t.api)
	mux.HandleFunc("POST /verify", t.formPost)
	return mux
}
