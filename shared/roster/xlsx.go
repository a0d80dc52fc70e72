package roster

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/xuri/excelize/v2"
)

var (
	zipMagic = []byte("PK\x03\x04")
	// oleMagic starts a Compound File: legacy .xls, and also an encrypted (password
	// protected) .xlsx.
	oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
)

// Bounds of the zip container, checked on its central directory before excelize opens it.
// archive/zip refuses an entry that inflates to more than its declared size, so the declared
// sizes can be trusted.
const (
	maxZipEntries = 1000
	// maxRatio: deflate cannot beat about 1,030:1; real worksheets compress 5 to 30 times,
	// a run of zeros (the classic bomb) 1,000 times.
	maxRatio      = 200
	ratioMinBytes = 1 << 20 // small parts may compress well without harm
	maxSmallPart  = 8 << 20 // content types, relationships, workbook.xml
	// maxRowCells bounds the cells of one worksheet row. A roster needs 8 columns; exports
	// from student systems bring a few dozen more. With rowXMLLimit it bounds what one row
	// can cost in memory: cells times the largest shared string, 32 MiB at the defaults.
	maxRowCells = 256
)

// rowXMLLimit bounds the XML of one row and of one shared string: twice the row limit, for
// markup, escaping and formatting runs, plus room for the cell tags.
func rowXMLLimit(opts Options) int {
	return 2*opts.MaxRowBytes + maxRowCells*64
}

const (
	errLegacyXLS = "legacy Excel 97-2003 workbooks (.xls) and password-protected workbooks are not accepted; save the file as .xlsx (without a password) or as CSV UTF-8"
	errMacro     = "macro-enabled workbooks are not accepted; save as .xlsx"
)

type workbookInfo struct {
	sheetName string
	date1904  bool
	rows      int // <row> elements in the first worksheet
	lastRow   int // the number of the last one
}

func parseXLSX(ctx context.Context, r io.ReaderAt, size int64, opts Options, emit func(Row) error, reject func(RowError) error) (Summary, error) {
	head := make([]byte, min(size, 8))
	if _, err := r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return Summary{}, fmt.Errorf("roster: reading the file: %w", err)
	}
	if bytes.Equal(head, oleMagic) {
		return Summary{}, fileErr(CodeFormat, errLegacyXLS)
	}
	if !bytes.HasPrefix(head, zipMagic) {
		return Summary{}, fileErr(CodeFormat, "the file is not an XLSX workbook")
	}
	info, err := inspectXLSX(r, size, opts)
	if err != nil {
		return Summary{}, err
	}
	if err := ctx.Err(); err != nil {
		return Summary{}, fmt.Errorf("roster: %w", err)
	}

	var f *excelize.File
	err = guard(func() error {
		var err error
		f, err = excelize.OpenReader(io.NewSectionReader(r, 0, size), excelize.Options{
			RawCellValue:      true, // dates as Excel serials, not as the cell's display format
			UnzipSizeLimit:    opts.MaxUnzippedBytes,
			UnzipXMLSizeLimit: min(xlsxSpillThreshold, opts.MaxUnzippedBytes),
			TmpDir:            opts.TempDir,
		})
		return err
	})
	if f != nil {
		defer f.Close() // removes the temporary files, also after a failed open
	}
	if err != nil {
		return Summary{}, workbookErr(err)
	}
	var rows *excelize.Rows
	if err := guard(func() error {
		var err error
		rows, err = f.Rows(info.sheetName)
		return err
	}); err != nil {
		return Summary{}, workbookErr(err)
	}
	defer rows.Close()

	var p *processor
	line := 0
	for {
		cells, ok, err := nextRow(rows)
		if err != nil {
			return summaryOf(p), workbookErr(err)
		}
		if !ok {
			break
		}
		line++
		if p == nil {
			if blank(cells) {
				continue // spreadsheets often start with empty rows; the header is the first non-empty one
			}
			h, warnings, err := parseHeader(cells, line)
			if err != nil {
				return Summary{}, err
			}
			p = newProcessor(ctx, opts, h, warnings, emit, reject)
			p.xlsx, p.date1904 = true, info.date1904
			continue
		}
		if err := p.process(line, cells); err != nil {
			return p.done(), err
		}
	}
	// excelize stops silently at malformed XML; the pre-scan knows where the sheet really ends.
	if line < info.lastRow {
		return summaryOf(p), &FileError{Code: CodeDamaged, Row: line + 1, Msg: "the worksheet is damaged here; the rows from here on cannot be read"}
	}
	if p == nil {
		return Summary{}, fileErr(CodeEmpty, "the first worksheet has no header row")
	}
	if p.sum.Total == 0 {
		return p.done(), &FileError{Code: CodeEmpty, Msg: "the first worksheet has a header row but no data rows"}
	}
	return p.done(), nil
}

// guard turns a panic inside excelize into an error: a hostile workbook must not take the
// worker down. Only excelize calls run under it, never the caller's callbacks.
func guard(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &FileError{Code: CodeInternal, Msg: fmt.Sprintf("the workbook cannot be read (the XLSX reader failed: %v)", v)}
		}
	}()
	return fn()
}

func nextRow(rows *excelize.Rows) (cells []string, ok bool, err error) {
	err = guard(func() error {
		if !rows.Next() {
			return rows.Error()
		}
		ok = true
		var err error
		cells, err = rows.Columns()
		return err
	})
	return cells, ok, err
}

func workbookErr(err error) error {
	var fe *FileError
	if errors.As(err, &fe) {
		return fe
	}
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return &FileError{Code: CodeWorkbookError, Msg: "the workbook cannot be read: " + msg}
}

// inspectXLSX checks the zip container (size, ratio, entry count, macros, kind of document)
// and finds the first worksheet, counting its rows, all before excelize reads anything.
func inspectXLSX(r io.ReaderAt, size int64, opts Options) (*workbookInfo, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fileErr(CodeDamaged, "the file is not a valid XLSX workbook (the zip container cannot be read: %v)", err)
	}
	if len(zr.File) > maxZipEntries {
		return nil, fileErr(CodeZipBomb, "the workbook has %d parts; at most %d are accepted", len(zr.File), maxZipEntries)
	}
	parts := make(map[string]*zip.File, len(zr.File))
	var total, inMemory uint64
	for _, zf := range zr.File {
		name := strings.ToLower(strings.ReplaceAll(zf.Name, "\\", "/"))
		if path.Base(name) == "vbaproject.bin" {
			return nil, fileErr(CodeMacro, errMacro)
		}
		u, c := zf.UncompressedSize64, zf.CompressedSize64
		total += u
		if total > uint64(opts.MaxUnzippedBytes) {
			return nil, fileErr(CodeZipBomb, "the workbook unpacks to more than %s; it is refused as a possible decompression bomb", humanBytes(opts.MaxUnzippedBytes))
		}
		if u > ratioMinBytes && u/max(c, 1) > maxRatio {
			return nil, fileErr(CodeZipBomb, "the part %s of the workbook expands %d times (%s); it is refused as a possible decompression bomb", echo(zf.Name), u/max(c, 1), humanBytes(int64(u)))
		}
		// Mirrors excelize's ReadZipReader: only these parts go to temporary files when large.
		spilled := (strings.HasPrefix(name, "xl/worksheets/sheet") || name == "xl/sharedstrings.xml") && u > xlsxSpillThreshold
		if !spilled {
			inMemory += u
			if inMemory > uint64(opts.MaxInMemoryParts) {
				return nil, fileErr(CodeTooLarge, "the workbook's styles, images and other parts unpack to more than %s; remove images and formatting, or save the roster as CSV", humanBytes(opts.MaxInMemoryParts))
			}
		}
		parts[name] = zf
	}

	if mt := parts["mimetype"]; mt != nil && parts["[content_types].xml"] == nil {
		if b, _ := readPart(mt, 256); bytes.Contains(b, []byte("opendocument.spreadsheet")) {
			return nil, fileErr(CodeFormat, "OpenDocument spreadsheets (.ods) are not accepted; save the file as .xlsx or as CSV UTF-8")
		}
	}
	ctPart := parts["[content_types].xml"]
	if ctPart == nil {
		return nil, fileErr(CodeFormat, "the file is a zip archive but not an XLSX workbook")
	}
	ct, err := readPart(ctPart, maxSmallPart)
	if err != nil {
		return nil, err
	}
	ct = bytes.ToLower(ct)
	switch {
	case bytes.Contains(ct, []byte("application/vnd.ms-excel.sheet.binary")):
		return nil, fileErr(CodeFormat, "binary workbooks (.xlsb) are not accepted; save the file as .xlsx")
	case bytes.Contains(ct, []byte("macroenabled")):
		return nil, fileErr(CodeMacro, errMacro)
	case !bytes.Contains(ct, []byte("spreadsheetml.sheet.main")) && !bytes.Contains(ct, []byte("spreadsheetml.template.main")):
		return nil, fileErr(CodeFormat, "the file is a zip archive but not an Excel workbook (a Word or PowerPoint file?)")
	}

	wbPath := "xl/workbook.xml"
	var rels xmlRels
	if err := readXMLPart(parts, "_rels/.rels", &rels); err != nil {
		return nil, err
	}
	for _, rel := range rels.Rels {
		if strings.HasSuffix(rel.Type, "/officeDocument") {
			wbPath = strings.TrimPrefix(rel.Target, "/")
		}
	}
	var wb xmlWorkbook
	if err := readXMLPart(parts, wbPath, &wb); err != nil {
		return nil, err
	}
	if len(wb.Sheets) == 0 {
		return nil, fileErr(CodeEmpty, "the workbook has no worksheet")
	}
	first := wb.Sheets[0]
	wbRels := xmlRels{}
	if err := readXMLPart(parts, path.Join(path.Dir(wbPath), "_rels", path.Base(wbPath)+".rels"), &wbRels); err != nil {
		return nil, err
	}
	sheetPath := ""
	for _, rel := range wbRels.Rels {
		if rel.ID == first.RID {
			if strings.HasPrefix(rel.Target, "/") {
				sheetPath = strings.TrimPrefix(path.Clean(rel.Target), "/")
			} else {
				sheetPath = path.Clean(path.Join(path.Dir(wbPath), rel.Target))
			}
		}
	}
	sheet := parts[strings.ToLower(sheetPath)]
	if sheetPath == "" || sheet == nil {
		return nil, fileErr(CodeDamaged, "the workbook's first sheet %s has no worksheet part", echo(first.Name))
	}
	info := &workbookInfo{sheetName: first.Name, date1904: wb.Pr.Date1904 == "1" || strings.EqualFold(wb.Pr.Date1904, "true")}
	rc, err := sheet.Open()
	if err != nil {
		return nil, fileErr(CodeDamaged, "the first worksheet cannot be unpacked: %v", err)
	}
	defer rc.Close()
	scan, err := scanXML(rc, "row", "c")
	if err != nil {
		return nil, fileErr(CodeDamaged, "the first worksheet cannot be unpacked: %v", err)
	}
	info.rows, info.lastRow = scan.count, scan.last
	if info.rows > opts.MaxRows+1 { // + the header
		return nil, fileErr(CodeTooManyRows, "the roster has more than %d rows; split it into smaller files", opts.MaxRows)
	}
	if scan.maxChildren > maxRowCells {
		return nil, &FileError{Code: CodeTooLarge, Row: scan.maxChildrenAt, Msg: fmt.Sprintf("the row has %d cells; at most %d are accepted", scan.maxChildren, maxRowCells)}
	}
	if limit := rowXMLLimit(opts); scan.maxBytes > limit {
		return nil, &FileError{Code: CodeTooLarge, Row: scan.maxBytesAt, Msg: fmt.Sprintf("the row takes %s in the workbook; at most %s are accepted", humanBytes(int64(scan.maxBytes)), humanBytes(int64(limit)))}
	}
	if sst := parts["xl/sharedstrings.xml"]; sst != nil {
		rc, err := sst.Open()
		if err != nil {
			return nil, fileErr(CodeDamaged, "the shared strings cannot be unpacked: %v", err)
		}
		defer rc.Close()
		scan, err := scanXML(rc, "si", "")
		if err != nil {
			return nil, fileErr(CodeDamaged, "the shared strings cannot be unpacked: %v", err)
		}
		if limit := rowXMLLimit(opts); scan.maxBytes > limit {
			return nil, fileErr(CodeTooLarge, "a text in the workbook takes %s; at most %s are accepted", humanBytes(int64(scan.maxBytes)), humanBytes(int64(limit)))
		}
	}
	return info, nil
}

type xmlRels struct {
	Rels []struct {
		ID     string `xml:"Id,attr"`
		Type   string `xml:"Type,attr"`
		Target string `xml:"Target,attr"`
	} `xml:"Relationship"`
}

type xmlWorkbook struct {
	Pr struct {
		Date1904 string `xml:"date1904,attr"`
	} `xml:"workbookPr"`
	Sheets []struct {
		Name string `xml:"name,attr"`
		RID  string `xml:"id,attr"` // r:id, in the transitional or the strict namespace
	} `xml:"sheets>sheet"`
}

func readPart(zf *zip.File, limit int64) ([]byte, error) {
	if zf.UncompressedSize64 > uint64(limit) {
		return nil, fileErr(CodeTooLarge, "the workbook part %s is larger than %s", echo(zf.Name), humanBytes(limit))
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, fileErr(CodeDamaged, "the workbook part %s cannot be unpacked: %v", echo(zf.Name), err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit))
	if err != nil {
		return nil, fileErr(CodeDamaged, "the workbook part %s cannot be unpacked: %v", echo(zf.Name), err)
	}
	return b, nil
}

func readXMLPart(parts map[string]*zip.File, name string, v any) error {
	zf := parts[strings.ToLower(name)]
	if zf == nil {
		return fileErr(CodeDamaged, "the workbook has no %s part", echo(name))
	}
	b, err := readPart(zf, maxSmallPart)
	if err != nil {
		return err
	}
	if err := xml.Unmarshal(b, v); err != nil {
		return fileErr(CodeDamaged, "the workbook part %s is not valid XML: %v", echo(name), err)
	}
	return nil
}

// xmlScan is what a byte scan of a worksheet (elements "row", children "c") or of the shared
// strings (elements "si") found.
type xmlScan struct {
	count, last int // elements, and the number of the last (its r attribute, or its position)
	// The largest element in bytes and in children, with the number of the element.
	maxBytes, maxBytesAt       int
	maxChildren, maxChildrenAt int
}

// scanXML walks the elements named elem (in any namespace) with a byte scan that costs a
// fraction of parsing the XML, measuring each one. The measures bound what excelize will
// allocate for one row: it builds all the cells of a row at once, and it copies a shared
// string out of its temporary file for every cell that refers to it.
func scanXML(r io.Reader, elem, child string) (xmlScan, error) {
	var (
		s         xmlScan
		br        = bufio.NewReaderSize(r, 64<<10)
		pos       int // bytes consumed
		open      = false
		start     int
		num, kids int
	)
	closeElem := func(end int) {
		if !open {
			return
		}
		open = false
		if n := end - start; n > s.maxBytes {
			s.maxBytes, s.maxBytesAt = n, num
		}
		if kids > s.maxChildren {
			s.maxChildren, s.maxChildrenAt = kids, num
		}
	}
	for {
		chunk, err := br.ReadSlice('<')
		pos += len(chunk)
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if errors.Is(err, io.EOF) {
				closeElem(pos)
				return s, nil
			}
			return xmlScan{}, err
		}
		peek, _ := br.Peek(32)
		tagEnd := pos + bytes.IndexByte(peek, '>') + 1 // where a closing tag ends
		closing := len(peek) > 0 && peek[0] == '/'
		if closing {
			peek = peek[1:]
		}
		end := bytes.IndexAny(peek, " \t\r\n/>")
		if end < 0 {
			continue
		}
		name := peek[:end]
		if i := bytes.IndexByte(name, ':'); i >= 0 {
			name = name[i+1:]
		}
		switch {
		case string(name) == child && !closing && open:
			kids++
			continue
		case string(name) != elem:
			continue
		case closing:
			closeElem(tagEnd)
			continue
		}
		closeElem(pos - 1)
		open, start, kids = true, pos-1, 0
		s.count++
		tag, err := br.ReadSlice('>')
		pos += len(tag)
		n, ok := rowNumber(tag)
		for errors.Is(err, bufio.ErrBufferFull) { // a tag over 64 KiB: not a real row, skip it
			tag, err = br.ReadSlice('>')
			pos += len(tag)
			ok = false
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return xmlScan{}, err
		}
		if ok {
			s.last = n
		} else {
			s.last++
		}
		num = s.last
		if len(tag) >= 2 && tag[len(tag)-2] == '/' {
			closeElem(pos) // <row r="7"/>
		}
	}
}

// rowNumber finds the r="123" attribute in the rest of a <row ...> tag.
func rowNumber(tag []byte) (int, bool) {
	for i := 1; i+1 < len(tag); i++ {
		if tag[i] != 'r' || !isXMLSpace(tag[i-1]) {
			continue
		}
		j := i + 1
		for j < len(tag) && isXMLSpace(tag[j]) {
			j++
		}
		if j >= len(tag) || tag[j] != '=' {
			continue
		}
		j++
		for j < len(tag) && isXMLSpace(tag[j]) {
			j++
		}
		if j >= len(tag) || (tag[j] != '"' && tag[j] != '\'') {
			return 0, false
		}
		n, digits := 0, 0
		for j++; j < len(tag) && tag[j] >= '0' && tag[j] <= '9' && digits < 9; j++ {
			n, digits = n*10+int(tag[j]-'0'), digits+1
		}
		return n, digits > 0
	}
	return 0, false
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
