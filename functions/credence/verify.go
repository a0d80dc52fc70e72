package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/credence-oss/credence/shared/adapters/httpfetch"
	"github.com/credence-oss/credence/shared/standards/verifier"
)

// verify implements `credence verify [--json] FILE_OR_URL...`.
func verify(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON result per input")
	timeout := fs.Duration("timeout", 30*time.Second, "time limit per credential (fetching DID documents and status lists)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: credence verify [--json] FILE_OR_URL...  ('-' reads standard input)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	fetcher := httpfetch.New(httpfetch.Options{AllowLoopbackHTTP: true})
	code := exitOK
	for _, in := range fs.Args() {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		data, err := readInput(ctx, in, stdin, fetcher)
		if err != nil {
			cancel()
			fmt.Fprintf(stderr, "credence verify: %s: %v\n", in, err)
			return exitUsage
		}
		res := verifier.Verify(ctx, data, verifier.Options{Fetch: fetcher.Fetch})
		cancel()
		if !res.Valid {
			code = exitInvalid
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(res)
			continue
		}
		printResult(stdout, in, res)
	}
	return code
}

func readInput(ctx context.Context, in string, stdin io.Reader, f *httpfetch.Fetcher) ([]byte, error) {
	switch {
	case in == "-":
		return io.ReadAll(io.LimitReader(stdin, verifier.MaxInput+1))
	case strings.HasPrefix(in, "https://"), strings.HasPrefix(in, "http://"):
		return f.Fetch(ctx, in)
	}
	fi, err := os.Stat(in)
	if err != nil {
		return nil, err
	}
	if fi.Size() > verifier.MaxInput {
		return nil, fmt.Errorf("larger than %d MiB", verifier.MaxInput>>20)
	}
	return os.ReadFile(in)
}

func printResult(w io.Writer, in string, r verifier.Result) {
	verdict := strings.ToUpper(r.Status)
	fmt.Fprintf(w, "%s: %s", in, verdict)
	if r.Name != "" {
		fmt.Fprintf(w, " — %s", r.Name)
	}
	if r.Issuer != nil && (r.Issuer.Name != "" || r.Issuer.ID != "") {
		fmt.Fprintf(w, " (issued by %s)", firstNonEmpty(r.Issuer.Name, r.Issuer.ID))
	}
	fmt.Fprintln(w)
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %-9s %s\n", mark, c.Name, c.Message)
	}
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
