package roster

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

type column int

const (
	colEmail column = iota
	colName
	colValidFrom
	colValidUntil
	colEvidenceURL
	colEvidenceNarrative
	colResult
	colAchievementID
	numColumns
)

// columnNames spell the columns as INTERFACES.md does.
var columnNames = [numColumns]string{"email", "name", "validFrom", "validUntil", "evidenceUrl", "evidenceNarrative", "result", "achievementId"}

// Limits of the row fields. Those shared with the domain's IssueInput use the same numbers, so
// a row that passes here is not refused later by the issuing service.
const (
	maxEmailLen      = 254 // RFC 5321 path limit minus the angle brackets
	maxLocalPartLen  = 64
	maxNameLen       = 200 // characters, like domain.RecipientInput.Name
	maxURLLen        = 2000
	maxNarrativeLen  = 10000
	maxResultLen     = 200
	maxAchievementID = 64
	maxEcho          = 100 // characters of user input quoted back in a message
)

// normalizeHeader makes "E-Mail ", "valid_from" and "Valid From" match email and validFrom.
func normalizeHeader(s string) string {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "\ufeff"))
	var b strings.Builder
	for _, r := range s {
		if r == ' ' || r == '_' || r == '-' {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

type header struct {
	index [numColumns]int // cell index of each column, -1 when absent
	names []string        // the header cells as written (trimmed), for RowError.Column
	known []bool          // cell i is one of the columns
	width int
}

// parseHeader maps the header cells to the columns. Missing required columns, a column given
// twice and a header that is not UTF-8 refuse the file; unknown columns are a warning.
func parseHeader(cells []string, row int) (*header, []string, error) {
	h := &header{names: make([]string, len(cells)), known: make([]bool, len(cells)), width: len(cells)}
	for c := range h.index {
		h.index[c] = -1
	}
	var unknown []string
	for i, cell := range cells {
		if !utf8.ValidString(cell) {
			return nil, nil, &FileError{Code: CodeEncoding, Row: row, Msg: "the header row is not UTF-8 text; save the file as \"CSV UTF-8\" (or as .xlsx)"}
		}
		h.names[i] = strings.TrimSpace(cell)
		norm := normalizeHeader(cell)
		if norm == "" {
			continue
		}
		found := false
		for c, name := range columnNames {
			if norm == strings.ToLower(name) {
				if prev := h.index[c]; prev >= 0 {
					return nil, nil, &FileError{Code: CodeBadHeader, Row: row, Msg: fmt.Sprintf("the column %s appears twice in the header (columns %d and %d)", name, prev+1, i+1)}
				}
				h.index[c], h.known[i], found = i, true, true
				break
			}
		}
		if !found {
			unknown = append(unknown, h.names[i])
		}
	}
	var missing []string
	for _, c := range []column{colEmail, colName} {
		if h.index[c] < 0 {
			missing = append(missing, columnNames[c])
		}
	}
	if len(missing) > 0 {
		what := fmt.Sprintf("the required column %q is missing", missing[0])
		if len(missing) == 2 {
			what = fmt.Sprintf("the required columns %q and %q are missing", missing[0], missing[1])
		}
		found := "the header row is empty"
		if nonEmpty := nonEmptyNames(h.names); len(nonEmpty) > 0 {
			found = "the header row has " + echoList(nonEmpty)
		}
		return nil, nil, &FileError{Code: CodeMissingColumn, Row: row, Msg: fmt.Sprintf(
			"%s; %s (columns: email, name, validFrom, validUntil, evidenceUrl, evidenceNarrative, result, achievementId; upper or lower case)", what, found)}
	}
	var warnings []string
	if len(unknown) > 0 {
		warnings = append(warnings, "unknown columns were ignored: "+echoList(unknown))
	}
	return h, warnings, nil
}

func nonEmptyNames(names []string) []string {
	var out []string
	for _, n := range names {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// echoList quotes at most 20 names, so a hostile header cannot blow up a message.
func echoList(names []string) string {
	const most = 20
	parts := make([]string, 0, min(len(names), most)+1)
	for i, n := range names {
		if i == most {
			parts = append(parts, fmt.Sprintf("and %d more", len(names)-most))
			break
		}
		parts = append(parts, echo(n))
	}
	return strings.Join(parts, ", ")
}

// echo quotes user input for a message: at most maxEcho characters, control characters and
// invalid UTF-8 escaped.
func echo(s string) string {
	if utf8.RuneCountInString(s) > maxEcho {
		n := 0
		for i := range s {
			if n == maxEcho {
				return strconv.Quote(s[:i]) + "…"
			}
			n++
		}
	}
	return strconv.Quote(s)
}

// processor validates rows against a header and hands them to the caller. One per file.
type processor struct {
	ctx      context.Context
	opts     Options
	h        *header
	now      time.Time
	xlsx     bool // XLSX: Excel serial dates accepted, no ragged-row rule
	date1904 bool
	sepName  string // for the ragged-row hint
	seen     map[[16]byte]int32
	sum      Summary
	emit     func(Row) error
	reject   func(RowError) error
	errs     []RowError

	badUTF8Rows      int
	unheadedValueRow int // first row with a value in a column without a header name
}

func newProcessor(ctx context.Context, opts Options, h *header, warnings []string, emit func(Row) error, reject func(RowError) error) *processor {
	return &processor{
		ctx: ctx, opts: opts, h: h, now: opts.Now(), emit: emit, reject: reject,
		seen: make(map[[16]byte]int32),
		sum:  Summary{Warnings: warnings},
	}
}

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// admit counts a non-blank row, enforcing MaxRows (a backstop: the pre-scans refuse such
// files before the first row) and checking the context now and then.
func (p *processor) admit(line int) error {
	if p.sum.Total >= p.opts.MaxRows {
		return &FileError{Code: CodeTooManyRows, Row: line, Msg: fmt.Sprintf("the roster has more than %d rows; split it into smaller files", p.opts.MaxRows)}
	}
	p.sum.Total++
	if p.sum.Total%256 == 0 {
		if err := p.ctx.Err(); err != nil {
			return fmt.Errorf("roster: %w", err)
		}
	}
	p.errs = p.errs[:0]
	return nil
}

func (p *processor) add(line int, c column, msg string) {
	p.errs = append(p.errs, RowError{Row: line, Column: p.h.names[p.h.index[c]], Message: msg})
}

// rejectRow rejects a whole row for a reason found before its cells could be read (a CSV
// quoting error).
func (p *processor) rejectRow(line int, msg string) error {
	if err := p.admit(line); err != nil {
		return err
	}
	p.errs = append(p.errs, RowError{Row: line, Message: msg})
	return p.finish(line, nil)
}

func (p *processor) finish(line int, row *Row) error {
	if len(p.errs) > 0 {
		p.sum.Rejected++
		for _, e := range p.errs {
			if err := p.reject(e); err != nil {
				return fmt.Errorf("roster: rejecting row %d: %w", line, err)
			}
		}
		return nil
	}
	p.sum.Valid++
	if err := p.emit(*row); err != nil {
		return fmt.Errorf("roster: emitting row %d: %w", line, err)
	}
	return nil
}

// done adds the warnings that summarise the whole file.
func (p *processor) done() Summary {
	if p.badUTF8Rows > 0 {
		p.sum.Warnings = append(p.sum.Warnings, fmt.Sprintf("%d rows had text that is not UTF-8; the file was probably not saved as \"CSV UTF-8\"", p.badUTF8Rows))
	}
	if p.unheadedValueRow > 0 {
		p.sum.Warnings = append(p.sum.Warnings, fmt.Sprintf("values in columns without a header were ignored (the first in row %d)", p.unheadedValueRow))
	}
	return p.sum
}

// process validates one row and emits or rejects it. Blank rows are skipped.
func (p *processor) process(line int, cells []string) error {
	if blank(cells) {
		return nil
	}
	if err := p.admit(line); err != nil {
		return err
	}
	h := p.h
	if !p.xlsx && len(cells) != h.width && (len(cells) < h.width || !blank(cells[h.width:])) {
		// In a CSV a different cell count almost always means a separator inside an unquoted
		// value, so the cells are shifted and checking them would only add confusing errors.
		p.errs = append(p.errs, RowError{Row: line, Message: fmt.Sprintf(
			"the row has %d cells but the header has %d; a value that contains a %s must be in double quotes", len(cells), h.width, p.sepName)})
		return p.finish(line, nil)
	}
	if p.xlsx {
		n := 0
		for _, c := range cells {
			n += len(c)
		}
		if n > p.opts.MaxRowBytes {
			p.errs = append(p.errs, RowError{Row: line, Message: fmt.Sprintf("the row is longer than %s", humanBytes(int64(p.opts.MaxRowBytes)))})
			return p.finish(line, nil)
		}
	}
	if p.unheadedValueRow == 0 {
		for i, c := range cells {
			if (i >= h.width || h.names[i] == "") && strings.TrimSpace(c) != "" {
				p.unheadedValueRow = line
				break
			}
		}
	}

	var vals [numColumns]string
	var notUTF8 [numColumns]bool
	for c := range numColumns {
		i := h.index[c]
		if i < 0 || i >= len(cells) {
			continue
		}
		v := strings.TrimSpace(cells[i])
		if !utf8.ValidString(v) {
			p.add(line, c, "the text is not UTF-8; save the file as \"CSV UTF-8\"")
			notUTF8[c] = true
			continue
		}
		vals[c] = v
	}
	if notUTF8 != [numColumns]bool{} {
		p.badUTF8Rows++
	}
	valid := func(c column) bool { return !notUTF8[c] }

	row := Row{Line: line}
	emailOK := false
	switch v := vals[colEmail]; {
	case !valid(colEmail):
	case v == "":
		p.add(line, colEmail, "the e-mail address is missing")
	default:
		if msg := checkEmail(v); msg != "" {
			p.add(line, colEmail, msg)
		} else {
			row.Email, emailOK = strings.ToLower(v), true
		}
	}
	switch v := vals[colName]; {
	case !valid(colName):
	case v == "":
		p.add(line, colName, "the name is missing")
	case utf8.RuneCountInString(v) > maxNameLen:
		p.add(line, colName, fmt.Sprintf("the name is longer than %d characters", maxNameLen))
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		p.add(line, colName, "the name must be one line without control characters")
	default:
		row.Name = v
	}
	if v := vals[colValidFrom]; v != "" && valid(colValidFrom) {
		if t, msg := p.parseDate(v); msg != "" {
			p.add(line, colValidFrom, msg)
		} else {
			row.ValidFrom = &t
		}
	}
	if v := vals[colValidUntil]; v != "" && valid(colValidUntil) {
		if t, msg := p.parseDate(v); msg != "" {
			p.add(line, colValidUntil, msg)
		} else {
			row.ValidUntil = &t
			if row.ValidFrom != nil && !t.After(*row.ValidFrom) {
				p.add(line, colValidUntil, fmt.Sprintf("validUntil (%s) must be after validFrom (%s)", t.Format(time.RFC3339), row.ValidFrom.Format(time.RFC3339)))
			}
			if !t.After(p.now) {
				p.add(line, colValidUntil, fmt.Sprintf("validUntil (%s) is in the past", t.Format(time.RFC3339)))
			}
		}
	}
	if v := vals[colEvidenceURL]; v != "" && valid(colEvidenceURL) {
		if msg := checkURL(v); msg != "" {
			p.add(line, colEvidenceURL, msg)
		} else {
			row.EvidenceURL = v
		}
	}
	if v := vals[colEvidenceNarrative]; v != "" && valid(colEvidenceNarrative) {
		if utf8.RuneCountInString(v) > maxNarrativeLen {
			p.add(line, colEvidenceNarrative, fmt.Sprintf("the evidence narrative is longer than %d characters", maxNarrativeLen))
		} else {
			row.EvidenceNarrative = v
		}
	}
	if v := vals[colResult]; v != "" && valid(colResult) {
		if utf8.RuneCountInString(v) > maxResultLen {
			p.add(line, colResult, fmt.Sprintf("the result is longer than %d characters", maxResultLen))
		} else {
			row.Result = v
		}
	}
	achOK := valid(colAchievementID)
	if v := vals[colAchievementID]; v != "" && achOK {
		if id, ok := checkAchievementID(v); !ok {
			p.add(line, colAchievementID, "the achievementId must be 1 to 64 letters a-z and digits, got "+echo(v))
			achOK = false
		} else {
			row.AchievementID = id
		}
	}

	// Duplicates are looked for last: only rows valid in every other way are remembered, so
	// a bad first occurrence does not make a good second one a duplicate.
	if emailOK && achOK {
		ach := row.AchievementID
		if ach == "" {
			ach = p.opts.AchievementID
		}
		key := dupKey(row.Email, ach)
		if first, dup := p.seen[key]; dup {
			p.add(line, colEmail, fmt.Sprintf("duplicate of row %d: the same e-mail address and achievement", first))
		} else if len(p.errs) == 0 {
			p.seen[key] = int32(line)
		}
	}
	return p.finish(line, &row)
}

// dupKey is 16 bytes of SHA-256: fixed size whatever the cell lengths, and a collision among
// 100,000 keys has a probability around 2^-95.
func dupKey(email, achievementID string) [16]byte {
	h := sha256.New()
	h.Write([]byte(email))
	h.Write([]byte{0})
	h.Write([]byte(achievementID))
	var k [16]byte
	copy(k[:], h.Sum(nil))
	return k
}

func checkAchievementID(v string) (string, bool) {
	v = strings.ToLower(v)
	if len(v) == 0 || len(v) > maxAchievementID {
		return "", false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return "", false
		}
	}
	return v, true
}

// checkEmail accepts a bare address (no display name, no comment, no angle brackets) that
// net/mail parses and whose domain is a host name; it returns the reason otherwise.
func checkEmail(v string) string {
	bad := "not a valid e-mail address: " + echo(v)
	if len(v) > maxEmailLen {
		return fmt.Sprintf("the e-mail address is longer than %d characters", maxEmailLen)
	}
	at := strings.LastIndexByte(v, '@')
	if at < 0 {
		return bad + " (no @)"
	}
	addr, err := mail.ParseAddress(v)
	if err != nil || addr.Name != "" || addr.Address != v {
		return bad + " (write only the address, like name@example.org)"
	}
	if at > maxLocalPartLen {
		return fmt.Sprintf("the part of the e-mail address before the @ is longer than %d characters", maxLocalPartLen)
	}
	if !hostname(v[at+1:]) {
		return bad + " (the part after the @ is not a domain name)"
	}
	// The domain's validator (go-playground "email") only takes these ranges outside ASCII.
	for _, r := range v {
		if r >= 0x80 && !(r >= 0xA0 && r <= 0xD7FF || r >= 0xF900 && r <= 0xFDCF || r >= 0xFDF0 && r <= 0xFFEF) {
			return bad + " (it contains a character that is not allowed in an address)"
		}
	}
	return ""
}

// hostname: at least two labels of letters, digits and inner hyphens (non-ASCII letters for
// internationalised names), each at most 63 bytes, and a top-level label that starts and ends
// with a letter. Domain literals ([192.0.2.1]) are refused: nobody registers with them.
func hostname(d string) bool {
	if len(d) == 0 || len(d) > 253 {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	letter := func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= 0x80 }
	for i, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(letter(r) || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
		if i == len(labels)-1 {
			first, _ := utf8.DecodeRuneInString(l)
			last, _ := utf8.DecodeLastRuneInString(l)
			if !letter(first) || !letter(last) {
				return false
			}
		}
	}
	return true
}

func checkURL(v string) string {
	if len(v) > maxURLLen {
		return fmt.Sprintf("the evidence URL is longer than %d characters", maxURLLen)
	}
	bad := "the evidence URL must be an absolute http or https URL, got " + echo(v)
	if strings.ContainsAny(v, " \t\r\n") {
		return bad
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return bad
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return bad
	}
	if u.User != nil {
		return "the evidence URL must not contain a user name or password"
	}
	return ""
}

const dateHint = "use YYYY-MM-DD (2026-01-31) or an RFC 3339 date-time (2026-01-31T09:00:00Z)"

// parseDate accepts an RFC 3339 date-time, a plain date (midnight UTC) and, in XLSX files, the
// serial number Excel stores for a date cell. The result is in UTC.
func (p *processor) parseDate(v string) (time.Time, string) {
	if len(v) == len("2006-01-02") {
		if t, err := time.Parse("2006-01-02", v); err == nil {
			return t, ""
		}
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), ""
	}
	if _, err := time.Parse("2006-01-02T15:04:05", v); err == nil {
		return time.Time{}, fmt.Sprintf("%s has no time zone; add one, like %sZ or %s+01:00", echo(v), v, v)
	}
	if p.xlsx {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			if t, ok := excelSerial(f, p.date1904); ok {
				return t, ""
			}
			return time.Time{}, fmt.Sprintf("%s is not a date Excel can represent", echo(v))
		}
	}
	return time.Time{}, fmt.Sprintf("not a date: %s; %s", echo(v), dateHint)
}

// Excel's epochs. The 1900 system counts 1900-01-01 as day 1 and, copying Lotus 1-2-3,
// includes a 29 February 1900 as day 60; from day 61 on, day n is 1899-12-30 + n.
var (
	excel1900Early = time.Date(1899, 12, 31, 0, 0, 0, 0, time.UTC)
	excel1900      = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	excel1904      = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
)

// excelSerial converts an Excel date serial (days, the fraction is the time of day) to UTC,
// rounded to the second. Excel dates carry no time zone; they are taken as UTC, like plain
// dates.
func excelSerial(f float64, date1904 bool) (time.Time, bool) {
	const maxSerial = 2958466 // 10000-01-01 in the 1900 system: Excel's limit
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f >= maxSerial {
		return time.Time{}, false
	}
	base := excel1904
	if !date1904 {
		switch {
		case f < 1:
			return time.Time{}, false // "0 January 1900"
		case f < 60:
			base = excel1900Early
		case f < 61:
			return time.Time{}, false // 29 February 1900 did not exist
		default:
			base = excel1900
		}
	}
	days := math.Floor(f)
	secs := math.Round((f - days) * 86400)
	return base.AddDate(0, 0, int(days)).Add(time.Duration(secs) * time.Second), true
}
