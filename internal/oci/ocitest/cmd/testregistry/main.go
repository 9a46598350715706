// Command testregistry serves ocitest's in-memory registry on loopback so that an outside client, such as
// the cosign CLI, can push to it, and writes what was pushed as a recording that tests replay with
// ocitest.Registry.Replay. It is a development tool for regenerating fixtures; nothing imports it.
//
//	go run ./internal/oci/ocitest/cmd/testregistry -record DIR [-referrers] [-actor REPO:TAG=FILE]...
//
// It prints "registry 127.0.0.1:PORT" and, for each -actor, "actor REF DIGEST" (the module pushed in the
// layout wash writes; its layer is recorded as external, pointing at FILE), then serves until it gets
// SIGINT or SIGTERM, writes the recording to DIR and exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/wasmcloud-host/wasmcloud-host/internal/oci/ocitest"
)

type actors []string

func (a *actors) String() string     { return strings.Join(*a, ",") }
func (a *actors) Set(s string) error { *a = append(*a, s); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "testregistry:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		record    = flag.String("record", "", "directory to write the recording to (required)")
		referrers = flag.Bool("referrers", false, "serve the OCI 1.1 referrers API")
		addr      = flag.String("addr", "127.0.0.1:0", "loopback address to listen on")
		root      = flag.String("root", ".", "repository root that -actor files and external paths are relative to")
		push      actors
	)
	flag.Var(&push, "actor", "push FILE as an actor to REPO:TAG before serving (REPO:TAG=FILE, repeatable)")
	flag.Parse()
	if *record == "" {
		return errors.New("-record DIR is required")
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %s is not a loopback address", *addr)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	rec := ocitest.NewRecorder(ocitest.Handler(*referrers))
	srv := &http.Server{Handler: rec}
	go srv.Serve(ln)
	regHost := ln.Addr().String()
	fmt.Println("registry", regHost)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	external := map[string]string{}
	for _, a := range push {
		repoTag, file, ok := strings.Cut(a, "=")
		if !ok {
			return fmt.Errorf("-actor %q: want REPO:TAG=FILE", a)
		}
		module, err := os.ReadFile(filepath.Join(*root, file))
		if err != nil {
			return err
		}
		ref := regHost + "/" + repoTag
		digest, err := ocitest.Push(ctx, ref, module, ocitest.PlainHTTP())
		if err != nil {
			return err
		}
		external[ocitest.Digest(module)] = filepath.ToSlash(file)
		fmt.Println("actor", ref, digest)
	}

	<-ctx.Done()
	srv.Shutdown(context.Background())
	if err := rec.Save(*record, *root, external); err != nil {
		return err
	}
	fmt.Println("recorded to", *record)
	return nil
}
