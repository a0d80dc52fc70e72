package roster

import (
	"bytes"
	"path"
	"strings"
)

// Detect tells the format of a roster from its first bytes (512 are plenty) and its name:
// the magic bytes first, so a renamed file is read for what it is, then the extension. It
// refuses, with a *FileError, what Parse cannot read: legacy .xls and encrypted workbooks
// (both Compound Files), OpenDocument, UTF-16 text, and binary files.
func Detect(head []byte, filename string) (string, error) {
	ext := strings.ToLower(path.Ext(strings.ReplaceAll(filename, "\\", "/")))
	switch {
	case bytes.HasPrefix(head, oleMagic):
		return "", fileErr(CodeFormat, errLegacyXLS)
	case bytes.HasPrefix(head, zipMagic):
		// An OpenDocument file stores its media type uncompressed right after the first
		// local header (30 bytes + the 8-byte name "mimetype").
		if bytes.Contains(head[:min(len(head), 128)], []byte("application/vnd.oasis.opendocument")) {
			return "", fileErr(CodeFormat, "OpenDocument spreadsheets (.ods) are not accepted; save the file as .xlsx or as CSV UTF-8")
		}
		// The extension alone refuses a macro-enabled workbook: Excel decides by the name
		// whether to run its macros, so such a file is refused even if its parts are clean.
		switch ext {
		case ".xlsm", ".xltm", ".xlam":
			return "", fileErr(CodeMacro, errMacro)
		}
		return FormatXLSX, nil
	}
	if err := checkTextEncoding(head[:min(len(head), 4)]); err != nil {
		return "", err
	}
	switch ext {
	case ".xlsx", ".xlsm", ".xltx", ".xltm":
		return "", fileErr(CodeFormat, "the file is named %s but is not an XLSX workbook", echo(path.Base(filename)))
	case ".xls":
		return "", fileErr(CodeFormat, errLegacyXLS)
	case ".xlsb":
		return "", fileErr(CodeFormat, "binary workbooks (.xlsb) are not accepted; save the file as .xlsx")
	case ".ods":
		return "", fileErr(CodeFormat, "OpenDocument spreadsheets (.ods) are not accepted; save the file as .xlsx or as CSV UTF-8")
	case ".numbers":
		return "", fileErr(CodeFormat, "Numbers files are not accepted; export the roster as .xlsx or as CSV")
	}
	if looksLikeText(head) {
		return FormatCSV, nil
	}
	return "", fileErr(CodeFormat, "the file is neither CSV (UTF-8 text) nor an XLSX workbook")
}

// looksLikeText: no control characters other than tab, CR and LF. Invalid UTF-8 is tolerated:
// a Windows-1252 CSV is better reported row by row than refused as binary.
func looksLikeText(head []byte) bool {
	for _, c := range head {
		if c < 0x20 && c != '\t' && c != '\r' && c != '\n' || c == 0x7F {
			return false
		}
	}
	return true
}
