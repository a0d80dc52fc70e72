package site

import (
	"embed"
	"mime"
	"net/http"
	"path"
)

//go:embed assets
var assetFS embed.FS

// CacheAsset is for the embedded stylesheet and scripts. They are not content-addressed, so a
// deploy must be able to replace them: a day in browsers, a week at the CDN (invalidated on
// deploy), and the ETag makes revalidation cheap.
const CacheAsset = "public, max-age=86400, s-maxage=604800, stale-while-revalidate=86400"

// asset serves /assets/{name} from the embedded folder.
func (s *Site) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == "" || path.Base(name) != name || name[0] == '.' {
		notFound(w, r, "asset")
		return
	}
	body, err := assetFS.ReadFile("assets/" + name)
	if err != nil {
		notFound(w, r, "asset")
		return
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	serve(w, r, ctype, CacheAsset, body)
}
