package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/credence-oss/credence/shared/app"
)

// serve implements `credence serve`.
func serve(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	dir := fs.String("data", "./.credence", "data directory (store, local keys, mail)")
	base := fs.String("base-url", "", "public base URL of credential links and DIDs (default http://ADDR)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "credence serve: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel()}))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "credence serve: %v\n", err)
		return exitUsage
	}
	if *base == "" {
		*base = "http://" + ln.Addr().String()
	}
	adminKey := os.Getenv("CREDENCE_ADMIN_KEY")
	app.TuneRuntime()
	local, err := app.OpenLocal(app.LocalOptions{Dir: *dir, BaseURL: *base, AdminKey: adminKey, Log: log})
	if err != nil {
		fmt.Fprintf(stderr, "credence serve: %v\n", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	demo, first, err := local.Seed(ctx, adminKey)
	if err != nil {
		fmt.Fprintf(stderr, "credence serve: %v\n", err)
		return exitUsage
	}
	if first {
		fmt.Fprintln(stdout, "First start: seeded a demo issuer, an achievement, an admin API key and a credential.")
	}
	fmt.Fprintf(stdout, "Credence is serving on %s (data in %s)\n\n", *base, *dir)
	fmt.Fprintf(stdout, "  Sample credential: %s\n\n", demo.CredentialURL)
	fmt.Fprintln(stdout, "  For the README's walkthrough, paste into another shell:")
	fmt.Fprintf(stdout, "    export CREDENCE_URL=%s\n", *base)
	fmt.Fprintf(stdout, "    export CREDENCE_KEY=%s\n", demo.AdminKey)
	fmt.Fprintf(stdout, "    export ISSUER=%s\n", demo.IssuerID)
	fmt.Fprintf(stdout, "    export ACHIEVEMENT=%s\n\n", demo.AchievementID)
	fmt.Fprintf(stdout, "  Mail is written to %s/mail/*.eml; Ctrl-C stops the server.\n", *dir)

	srv := &http.Server{Handler: local.Handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, WriteTimeout: 60 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(stderr, "credence serve: %v\n", err)
			return exitUsage
		}
	}
	fmt.Fprintln(stdout, "Shutting down…")
	shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	if err := local.Close(shutdown); err != nil {
		fmt.Fprintf(stderr, "credence serve: shutdown: %v\n", err)
		return exitUsage
	}
	return exitOK
}

func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}
