package site

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/credence-oss/credence/shared/badgeimage"
	"github.com/credence-oss/credence/shared/domain"
	"github.com/credence-oss/credence/shared/standards/bake"
	"github.com/credence-oss/credence/shared/web"
)

// badgeSize is the edge of generated PNG badges: large enough for LinkedIn and Open Graph
// previews (which want at least 400 px) without making every download heavy.
const badgeSize = 600

// imageCSP keeps a badge served from this origin inert when opened on its own: an SVG the
// issuer supplied could carry script, and this origin also serves the credential pages.
const imageCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"

// badge serves /c/{id}.png and /c/{id}.svg: the achievement's own image when it is stored as a
// data: URI of that format, else a generated badge in the issuer's colour; baked with the
// credential as OB 3.0 describes (the JSON with its proof in a PNG's iTXt chunk, the VC-JWT in
// the SVG credential element's verify attribute).
func (s *Site) badge(w http.ResponseWriter, r *http.Request, id, ext string) {
	v, err := s.svc.PublicView(r.Context(), id)
	if err != nil {
		s.fail(w, r, err, "credential")
		return
	}
	img, err := badgeImage(v, ext)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	var baked []byte
	var ctype string
	switch ext {
	case "png":
		baked, err = bake.BakePNG(img, v.Credential.LDP)
		ctype = "image/png"
	case "svg":
		baked, err = bake.BakeSVG(img, []byte(v.Credential.JWT))
		ctype = "image/svg+xml"
	}
	if err != nil {
		web.WriteError(w, r, fmt.Errorf("bake credential %s into %s: %w", id, ext, err))
		return
	}
	w.Header().Set("Content-Security-Policy", imageCSP)
	serve(w, r, ctype, CacheDocument, baked)
}

// badgeImage picks the unbaked image. An achievement image given as an http(s) URL is not
// fetched: the site would then depend on (and could be pointed at) any host; the page still
// shows it, and the downloads use the generated badge.
func badgeImage(v domain.PublicView, ext string) ([]byte, error) {
	if data, ok := dataImage(v.Achievement.Image); ok {
		switch {
		case ext == "png" && data.mime == "image/png",
			ext == "svg" && data.mime == "image/svg+xml":
			return data.body, nil
		}
	}
	d := badgeimage.Design{
		Title: v.Achievement.Name, Issuer: v.Issuer.Name,
		Type: v.Achievement.AchievementType, Color: v.Issuer.Branding.PrimaryColor,
	}
	if !hexColor.MatchString(d.Color) {
		d.Color = defaultColor
	}
	if ext == "svg" {
		return badgeimage.SVG(d), nil
	}
	b, err := badgeimage.PNG(d, badgeSize)
	if err != nil {
		return nil, fmt.Errorf("badge image of credential %s: %w", v.Credential.ID, err)
	}
	return b, nil
}

type dataURI struct {
	mime string
	body []byte
}

// imageTypes are the data: URI types accepted as images on the page.
var imageTypes = map[string]bool{
	"image/png": true, "image/svg+xml": true, "image/jpeg": true, "image/gif": true, "image/webp": true,
}

// dataImage decodes a data: URI of an image type (RFC 2397), base64 or percent-encoded.
func dataImage(s string) (dataURI, bool) {
	rest, ok := strings.CutPrefix(s, "data:")
	if !ok {
		return dataURI{}, false
	}
	meta, payload, ok := strings.Cut(rest, ",")
	if !ok {
		return dataURI{}, false
	}
	params := strings.Split(meta, ";")
	mime := strings.ToLower(strings.TrimSpace(params[0]))
	if !imageTypes[mime] {
		return dataURI{}, false
	}
	isB64 := false
	for _, p := range params[1:] {
		if strings.EqualFold(strings.TrimSpace(p), "base64") {
			isB64 = true
		}
	}
	var body []byte
	if isB64 {
		b, err := base64.StdEncoding.DecodeString(payload)
		if err != nil {
			return dataURI{}, false
		}
		body = b
	} else {
		b, err := url.PathUnescape(payload)
		if err != nil {
			return dataURI{}, false
		}
		body = []byte(b)
	}
	if len(body) == 0 || len(body) > bake.MaxImageBytes {
		return dataURI{}, false
	}
	return dataURI{mime: mime, body: body}, true
}
