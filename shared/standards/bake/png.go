package bake

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"unicode/utf8"
)

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// chunk is one PNG chunk: raw is the whole chunk (length, type, data, CRC), data its payload.
type chunk struct {
	typ  string
	data []byte
	raw  []byte
}

// walkPNG checks the PNG signature and chunk structure (every length within the file, chunk types
// of letters, every CRC, IHDR first, at least one IDAT, IEND last) and calls fn on each chunk up
// to and including IEND. Bytes after IEND are not part of the image and are ignored.
func walkPNG(b []byte, fn func(chunk) error) error {
	if len(b) > MaxImageBytes {
		return fmt.Errorf("%w: PNG of %d bytes (limit %d)", ErrTooLarge, len(b), MaxImageBytes)
	}
	if !bytes.HasPrefix(b, pngSignature) {
		return fmt.Errorf("%w: no PNG signature", ErrMalformed)
	}
	off, idat := len(pngSignature), false
	for {
		left := len(b) - off
		if left < 12 {
			return fmt.Errorf("%w: PNG truncated at offset %d (no IEND)", ErrMalformed, off)
		}
		n := binary.BigEndian.Uint32(b[off:])
		if n > 1<<31-1 || int64(n) > int64(left-12) {
			return fmt.Errorf("%w: chunk at offset %d declares %d bytes, %d remain", ErrMalformed, off, n, left-12)
		}
		end := off + 12 + int(n)
		typ := b[off+4 : off+8]
		for _, c := range typ {
			if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
				return fmt.Errorf("%w: chunk at offset %d has type %q", ErrMalformed, off, typ)
			}
		}
		if crc32.ChecksumIEEE(b[off+4:end-4]) != binary.BigEndian.Uint32(b[end-4:]) {
			return fmt.Errorf("%w: CRC mismatch in %s chunk at offset %d", ErrMalformed, typ, off)
		}
		c := chunk{typ: string(typ), data: b[off+8 : end-4], raw: b[off:end]}
		if off == len(pngSignature) && (c.typ != "IHDR" || n != 13) {
			return fmt.Errorf("%w: first chunk is %s of %d bytes, not a 13-byte IHDR", ErrMalformed, c.typ, n)
		}
		if c.typ == "IDAT" {
			idat = true
		}
		if c.typ == "IEND" && !idat {
			return fmt.Errorf("%w: no IDAT chunk before IEND", ErrMalformed)
		}
		if err := fn(c); err != nil {
			return err
		}
		if c.typ == "IEND" {
			return nil
		}
		off = end
	}
}

// textKeyword returns the keyword of a tEXt, zTXt or iTXt chunk (the Latin-1 bytes before the
// first NUL, 1 to 79 of them) and what follows the NUL, or ok=false when there is none.
func textKeyword(c chunk) (kw string, rest []byte, ok bool) {
	if c.typ != "tEXt" && c.typ != "zTXt" && c.typ != "iTXt" {
		return "", nil, false
	}
	i := bytes.IndexByte(c.data, 0)
	if i < 1 || i > 79 {
		return "", nil, false
	}
	return string(c.data[:i]), c.data[i+1:], true
}

// BakePNG returns png with credential baked in: one iTXt chunk, keyword "openbadgecredential",
// uncompressed, empty language tag and translated keyword, placed right after IHDR (so before
// the first IDAT, where streaming readers find it early). Any credential baked before, under the
// OB 3.0 or the OB 2.0 keyword and in any text chunk type, is dropped: the image must never carry
// two credentials, nor an earlier recipient's assertion next to this one.
func BakePNG(png []byte, credential []byte) ([]byte, error) {
	payload, _, err := checkPayload(credential)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(len(png) + len(payload) + 64)
	out.Write(pngSignature)
	err = walkPNG(png, func(c chunk) error {
		if kw, _, ok := textKeyword(c); ok && (kw == KeywordOB3 || kw == KeywordOB2) {
			return nil
		}
		out.Write(c.raw)
		if c.typ == "IHDR" {
			writeITXt(&out, KeywordOB3, payload)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bake: PNG: %w", err)
	}
	if out.Len() > MaxImageBytes {
		return nil, fmt.Errorf("%w: baked PNG would be %d bytes (limit %d)", ErrTooLarge, out.Len(), MaxImageBytes)
	}
	return out.Bytes(), nil
}

func writeITXt(w *bytes.Buffer, keyword string, text []byte) {
	// keyword NUL, compression flag 0, method 0, language tag "" NUL, translated keyword "" NUL, text
	n := len(keyword) + 5 + len(text)
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(n))
	copy(hdr[4:], "iTXt")
	start := w.Len()
	w.Write(hdr[:])
	w.WriteString(keyword)
	w.Write([]byte{0, 0, 0, 0, 0})
	w.Write(text)
	crc := crc32.ChecksumIEEE(w.Bytes()[start+4:])
	binary.Write(w, binary.BigEndian, crc)
}

// UnbakePNG returns the credential baked into a PNG. It reads the OB 3.0 iTXt chunk, compressed
// or not; failing that, an OB 2.0 "openbadges" iTXt or tEXt chunk. Two chunks under the same
// name are refused (ErrDuplicate).
func UnbakePNG(png []byte) ([]byte, error) {
	e, err := extractPNG(png)
	return e.Credential, err
}

func extractPNG(b []byte) (Extracted, error) {
	var ob3, ob2 []chunk
	err := walkPNG(b, func(c chunk) error {
		kw, _, ok := textKeyword(c)
		switch {
		case !ok:
		case kw == KeywordOB3 && c.typ == "iTXt":
			ob3 = append(ob3, c)
		case kw == KeywordOB2 && (c.typ == "iTXt" || c.typ == "tEXt"):
			ob2 = append(ob2, c)
		}
		return nil
	})
	if err != nil {
		return Extracted{}, fmt.Errorf("bake: PNG: %w", err)
	}
	var found chunk
	legacy := false
	switch {
	case len(ob3) > 1:
		return Extracted{}, fmt.Errorf("%w: %d %q iTXt chunks", ErrDuplicate, len(ob3), KeywordOB3)
	case len(ob3) == 1:
		found = ob3[0]
	case len(ob2) > 1:
		return Extracted{}, fmt.Errorf("%w: %d %q chunks", ErrDuplicate, len(ob2), KeywordOB2)
	case len(ob2) == 1:
		found, legacy = ob2[0], true
	default:
		return Extracted{}, fmt.Errorf("%w (PNG)", ErrNoCredential)
	}
	text, compressed, err := chunkText(found)
	if err != nil {
		kw, _, _ := textKeyword(found)
		return Extracted{}, fmt.Errorf("bake: PNG %s %q chunk: %w", found.typ, kw, err)
	}
	text = bytes.TrimSpace(text)
	if len(text) == 0 {
		return Extracted{}, fmt.Errorf("%w: empty credential chunk", ErrMalformed)
	}
	return Extracted{Credential: text, Format: FormatPNG, Legacy: legacy, Compressed: compressed}, nil
}

// chunkText returns the text of a tEXt (Latin-1, converted to UTF-8) or iTXt (UTF-8, possibly
// zlib-compressed) chunk.
func chunkText(c chunk) (text []byte, compressed bool, err error) {
	_, rest, _ := textKeyword(c)
	if c.typ == "tEXt" {
		if len(rest) > MaxCredentialBytes {
			return nil, false, fmt.Errorf("%w: text of %d bytes", ErrTooLarge, len(rest))
		}
		out := make([]byte, 0, len(rest))
		for _, ch := range rest {
			out = utf8.AppendRune(out, rune(ch))
		}
		return out, false, nil
	}
	if len(rest) < 2 {
		return nil, false, fmt.Errorf("%w: iTXt chunk ends after its keyword", ErrMalformed)
	}
	flag, method, rest := rest[0], rest[1], rest[2:]
	if flag > 1 || (flag == 1 && method != 0) {
		return nil, false, fmt.Errorf("%w: iTXt compression flag %d method %d", ErrMalformed, flag, method)
	}
	for range 2 { // language tag, translated keyword
		i := bytes.IndexByte(rest, 0)
		if i < 0 {
			return nil, false, fmt.Errorf("%w: iTXt chunk lacks its language tag or translated keyword", ErrMalformed)
		}
		rest = rest[i+1:]
	}
	text = rest
	if flag == 1 {
		zr, err := zlib.NewReader(bytes.NewReader(rest))
		if err != nil {
			return nil, true, fmt.Errorf("%w: zlib: %v", ErrMalformed, err)
		}
		var buf bytes.Buffer
		n, err := buf.ReadFrom(io.LimitReader(zr, MaxCredentialBytes+1))
		if err != nil {
			return nil, true, fmt.Errorf("%w: zlib: %v", ErrMalformed, err)
		}
		if n > MaxCredentialBytes {
			return nil, true, fmt.Errorf("%w: compressed text inflates past %d bytes", ErrTooLarge, MaxCredentialBytes)
		}
		text = buf.Bytes()
	}
	if len(text) > MaxCredentialBytes {
		return nil, flag == 1, fmt.Errorf("%w: text of %d bytes", ErrTooLarge, len(text))
	}
	if !utf8.Valid(text) {
		return nil, flag == 1, fmt.Errorf("%w: iTXt text is not UTF-8", ErrMalformed)
	}
	return text, flag == 1, nil
}
