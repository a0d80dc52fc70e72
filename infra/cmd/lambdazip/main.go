// Command lambdazip packs Lambda bootstrap binaries: for each NAME it writes DIR/NAME.zip
// holding DIR/NAME/bootstrap at the zip root as an executable file.
//
// The zips are byte-for-byte reproducible (fixed timestamp and mode), so an
// unchanged binary keeps the same CDK asset hash and `make deploy` does not update functions
// that did not change. It replaces the zip tool, which a build machine may not have.
//
// Usage: lambdazip DIR NAME...
package main

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: lambdazip DIR NAME...")
		os.Exit(2)
	}
	dir := os.Args[1]
	for _, name := range os.Args[2:] {
		if err := pack(filepath.Join(dir, name, "bootstrap"), filepath.Join(dir, name+".zip")); err != nil {
			fmt.Fprintln(os.Stderr, "lambdazip:", err)
			os.Exit(1)
		}
	}
}

// epoch is the timestamp of every entry; any fixed value works, this one is the zip epoch.
var epoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

func pack(binary, out string) (err error) {
	in, err := os.Open(binary)
	if err != nil {
		return fmt.Errorf("open bootstrap: %w", err)
	}
	defer in.Close()
	if st, err := in.Stat(); err != nil {
		return fmt.Errorf("stat %s: %w", binary, err)
	} else if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", binary)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".lambdazip-*")
	if err != nil {
		return fmt.Errorf("create %s: %w", out, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	zw := zip.NewWriter(tmp)
	hdr := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: epoch}
	hdr.SetMode(0o755) // Lambda runs bootstrap directly: it must be executable
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return fmt.Errorf("zip %s: %w", binary, err)
	}
	if _, err := io.Copy(w, in); err != nil {
		return fmt.Errorf("zip %s: %w", binary, err)
	}
	if err := errors.Join(zw.Close(), tmp.Close()); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}
