package localblobs

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/credence-oss/credence/shared/domain"
)

// formOverhead is how much of a request body may be form fields, boundaries and part headers
// on top of the file: a form the browser builds from Fields is far smaller.
const formOverhead = 64 << 10

// maxFieldBytes bounds one non-file form field.
const maxFieldBytes = 4 << 10

// Handler serves POST UploadPath+token (the form upload of a PresignUpload) and
// GET/HEAD DownloadPath+token (a DownloadURL). Errors are JSON, shaped like the API's:
// {"error": {"code", "message"}}: 403 invalid_token or expired_token, 413 file_too_large,
// 400 for a malformed form, 404 not_found for a download of an absent object.
func (s *Store) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+UploadPath+"{token}", s.serveUpload)
	mux.HandleFunc("GET "+DownloadPath+"{token}", s.serveDownload)
	return mux
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func tokenError(w http.ResponseWriter, err error) {
	if errors.Is(err, errExpired) {
		writeError(w, http.StatusForbidden, "expired_token", err.Error())
		return
	}
	writeError(w, http.StatusForbidden, "invalid_token", errBadToken.Error())
}

func (s *Store) serveUpload(w http.ResponseWriter, r *http.Request) {
	c, err := s.verify(r.PathValue("token"), purposeUpload)
	if err != nil {
		tokenError(w, err)
		return
	}
	log := s.log().With("key", c.Key)
	// The whole body is capped, not only the file: a client must not be able to stream an
	// endless form field either. Past the cap, reads fail and the server closes the connection.
	r.Body = http.MaxBytesReader(w, r.Body, c.MaxBytes+formOverhead)
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, http.StatusBadRequest, "malformed_form", "the upload must be a multipart/form-data POST")
		return
	}
	var formKey string
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			writeError(w, http.StatusBadRequest, "missing_file", `the form has no "file" field`)
			return
		}
		if err != nil {
			s.bodyError(w, err, "malformed_form", "the multipart form is malformed")
			return
		}
		if part.FormName() != "file" {
			v, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
			if err != nil {
				s.bodyError(w, err, "malformed_form", "the multipart form is malformed")
				return
			}
			if len(v) > maxFieldBytes {
				writeError(w, http.StatusBadRequest, "malformed_form", "a form field is too long")
				return
			}
			if part.FormName() == "key" {
				formKey = string(v)
			}
			continue
		}
		// As on S3, the file comes last and the key field before it must name the signed key.
		if formKey != c.Key {
			log.Warn("upload refused: the form's key is not the signed one", "formKey", formKey)
			writeError(w, http.StatusForbidden, "key_mismatch", `the form's "key" field is not the key this URL is for`)
			return
		}
		// The request's context: a client that hangs up mid-file stores nothing.
		// An empty file is refused as S3's content-length-range starting at 1 refuses it.
		n, err := s.write(r.Context(), c.Key, part, 1, c.MaxBytes)
		switch {
		case errors.Is(err, errTooLarge):
			log.Warn("upload refused: too large", "maxBytes", c.MaxBytes)
			writeError(w, http.StatusRequestEntityTooLarge, "file_too_large", "the file is larger than the upload allows")
			return
		case errors.Is(err, errTooSmall):
			writeError(w, http.StatusBadRequest, "empty_file", "the file is empty")
			return
		case err != nil:
			s.bodyError(w, err, "upload_failed", "the file could not be stored")
			return
		}
		if s.OnUpload != nil {
			s.OnUpload(context.WithoutCancel(r.Context()), c.Key)
		}
		log.Info("upload stored", "bytes", n)
		w.WriteHeader(http.StatusNoContent) // S3's default success_action_status
		return
	}
}

// bodyError answers a failed read of the request body: 413 when the body went past its cap.
func (s *Store) bodyError(w http.ResponseWriter, err error, code, msg string) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, "file_too_large", "the upload is larger than it allows")
		return
	}
	s.log().Warn("upload failed", "err", err)
	writeError(w, http.StatusBadRequest, code, msg)
}

func (s *Store) serveDownload(w http.ResponseWriter, r *http.Request) {
	c, err := s.verify(r.PathValue("token"), purposeDownload)
	if err != nil {
		tokenError(w, err)
		return
	}
	b, err := s.Open(r.Context(), c.Key)
	if err != nil {
		if errors.Is(err, domain.ErrNotFound) {
			writeError(w, http.StatusNotFound, "not_found", "no such object")
			return
		}
		s.log().Error("download failed", "key", c.Key, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "the object could not be read")
		return
	}
	defer b.Close()
	ct := mime.TypeByExtension(path.Ext(c.Key))
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
	name := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, c.Filename)
	if name == "" {
		name = path.Base(c.Key)
	}
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	bl := b.(blob)
	var mod time.Time
	if st, err := bl.Stat(); err == nil {
		mod = st.ModTime()
	}
	http.ServeContent(w, r, "", mod, bl.File)
}
