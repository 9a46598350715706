package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/wasmcloud-host/wasmcloud-host/config"
)

// version is the release this binary was built from, set with -ldflags "-X main.version=v1.2.3".
var version = "dev"

// streams are the output streams a command writes; tests pass buffers.
type streams struct {
	stdout, stderr io.Writer
}

// commandFunc runs one leaf command with the arguments that follow its name.
type commandFunc func(ctx context.Context, args []string, s streams) error

// group is a command with subcommands ("keys", "claims").
type group struct {
	name  string
	about string
	subs  []subcommand
}

type subcommand struct {
	name, synopsis string
	run            commandFunc
}

var groups = []group{
	{
		name:  "keys",
		about: "Manage nkeys, the Ed25519 keys that identify accounts, actors, providers, hosts and clusters.",
		subs: []subcommand{
			{"gen", "keys gen <type> [--json]", keysGen},
		},
	},
	{
		name:  "claims",
		about: "Inspect and sign the claims token embedded in an actor module.",
		subs: []subcommand{
			{"inspect", "claims inspect <file.wasm> [--json]", claimsInspect},
			{"sign", "claims sign <in.wasm> -o <out.wasm> --issuer <SA…|@file> --name <name> [flags]", claimsSign},
		},
	},
	parGroup,
	ctlGroup,
}

const overview = `wasmcloud-host runs a wasmCloud 0.x compatible host and manages the keys and signed claims of actors
and provider archives.

Usage:
  wasmcloud-host [up]            run the host in the foreground until SIGINT or SIGTERM
  wasmcloud-host keys gen <type> [--json]
  wasmcloud-host claims inspect <file.wasm> [--json]
  wasmcloud-host claims sign <in.wasm> -o <out.wasm> --issuer <SA…|@file> --name <name> [flags]
  wasmcloud-host par create --capid <contract> --vendor <v> --name <name> --binary <file> [--arch <target>]...
                            --issuer <SA…|@file> -o <out.par.gz> [flags]
  wasmcloud-host par inspect <file.par.gz> [--json]
  wasmcloud-host call <actor-key|call-alias> <Operation> [--data '<json>' | --data-file F] [--raw]
  wasmcloud-host bench <actor-key|call-alias> <Operation> [call's payload flags] [-c 64] [-d 10s]
                                 signed calls next to raw NATS request/reply of the same bytes
  wasmcloud-host ctl <hosts|inventory|start|stop|scale|link|claims|registries|watch> …  ask, command and watch the lattice's hosts
  wasmcloud-host version         print the version
  wasmcloud-host help [command]  print this help, or a command's

Run 'wasmcloud-host <command> --help' for a command's flags.

`

// run executes the command line args (without the program name) and returns the process exit status. It
// never exits the process itself. Failures are reported as one line on stderr. No command reads stdin yet;
// it is passed so that one can without changing main.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return runHost(ctx, nil, stdout, stderr)
	}
	if args[0] == "up" {
		return runHost(ctx, args[1:], stdout, stderr)
	}
	err := dispatch(ctx, args, streams{stdout: stdout, stderr: stderr})
	switch {
	case err == nil || errors.Is(err, errHelpShown):
		return exitOK
	case errors.As(err, new(*usageError)):
		fmt.Fprintln(stderr, errorLine(err))
		return exitUsage
	default:
		fmt.Fprintln(stderr, errorLine(err))
		return exitFailure
	}
}

func dispatch(ctx context.Context, args []string, s streams) error {
	switch name := args[0]; name {
	case "help", "-h", "-help", "--help":
		return help(ctx, args[1:], s)
	case "call":
		return runCall(ctx, args[1:], s)
	case "bench":
		return runBench(ctx, args[1:], s)
	case "version", "-version", "--version":
		if len(args) > 1 {
			return usagef("version", "unexpected argument %q", args[1])
		}
		_, err := fmt.Fprintf(s.stdout, "wasmcloud-host %s\n", version)
		return err
	default:
		for _, g := range groups {
			if g.name == name {
				return g.dispatch(ctx, args[1:], s)
			}
		}
		if strings.HasPrefix(name, "-") {
			return usagef("", "unknown flag %q", name)
		}
		return usagef("", "unknown command %q", name)
	}
}

// help prints the overview and every environment variable, or, with a command name, that command's help.
func help(ctx context.Context, args []string, s streams) error {
	if len(args) > 0 {
		switch args[0] {
		case "up", "help", "version":
		case "call":
			return runCall(ctx, []string{"--help"}, s)
		case "bench":
			return runBench(ctx, []string{"--help"}, s)
		default:
			for _, g := range groups {
				if g.name == args[0] {
					return g.dispatch(ctx, append(append([]string(nil), args[1:]...), "--help"), s)
				}
			}
			return usagef("help", "unknown command %q", args[0])
		}
	}
	if _, err := io.WriteString(s.stdout, overview); err != nil {
		return err
	}
	return config.Usage(s.stdout)
}

func (g group) dispatch(ctx context.Context, args []string, s streams) error {
	if len(args) == 0 {
		return usagef(g.name, "missing subcommand: want %s", g.names())
	}
	switch args[0] {
	case "-h", "-help", "--help":
		fmt.Fprintf(s.stdout, "%s\n\nUsage:\n", g.about)
		for _, sc := range g.subs {
			fmt.Fprintf(s.stdout, "  wasmcloud-host %s\n", sc.synopsis)
		}
		fmt.Fprintf(s.stdout, "\nRun 'wasmcloud-host %s <subcommand> --help' for its flags.\n", g.name)
		return errHelpShown
	}
	for _, sc := range g.subs {
		if sc.name == args[0] {
			return sc.run(ctx, args[1:], s)
		}
	}
	return usagef(g.name, "unknown subcommand %q: want %s", args[0], g.names())
}

func (g group) names() string {
	names := make([]string, len(g.subs))
	for i, sc := range g.subs {
		names[i] = sc.name
	}
	return strings.Join(names, " or ")
}

// flags is the flag set of one leaf command, with what its help prints.
type flags struct {
	*flag.FlagSet
	cmd      string // "claims sign"
	synopsis string
	about    string
}

func newFlags(cmd, synopsis, about string) *flags {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by run, in one line
	fs.Usage = func() {}
	return &flags{FlagSet: fs, cmd: cmd, synopsis: synopsis, about: about}
}

// parse parses args, where flags may come before, between or after the positional arguments, and returns
// the positional arguments. On -h or --help it prints the command's help to stdout and returns
// errHelpShown.
func (f *flags) parse(args []string, stdout io.Writer) ([]string, error) {
	pos, err := parseInterleaved(f.FlagSet, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stdout, "Usage: wasmcloud-host %s\n\n%s\n\nFlags:\n", f.synopsis, f.about)
		f.printFlags(stdout)
		return nil, errHelpShown
	}
	if err != nil {
		return nil, f.usage("%v", err)
	}
	return pos, nil
}

// printFlags lists the flags the way users are shown to write them: -o, --name.
func (f *flags) printFlags(w io.Writer) {
	f.VisitAll(func(fl *flag.Flag) {
		dash := "--"
		if len(fl.Name) == 1 {
			dash = "-"
		}
		arg, usage := flag.UnquoteUsage(fl)
		if arg != "" {
			arg = " " + arg
		}
		fmt.Fprintf(w, "  %s%s%s\n    \t%s\n", dash, fl.Name, arg, usage)
	})
}

func (f *flags) usage(format string, args ...any) error { return usagef(f.cmd, format, args...) }

// parseInterleaved parses flags that may be mixed with positional arguments (`sign in.wasm -o out.wasm`),
// which the flag package alone does not do: it stops at the first positional argument. A "--" ends the
// flags; everything after it is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if endsWithTerminator(fs, args[:len(args)-len(rest)]) {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// endsWithTerminator reports whether the flag package stopped at a "--" in used (the arguments it
// consumed), as opposed to taking "--" as the value of a flag (`--name --`).
func endsWithTerminator(fs *flag.FlagSet, used []string) bool {
	for i := 0; i < len(used); i++ {
		a := used[i]
		if a == "--" {
			return true
		}
		name, _ := strings.CutPrefix(strings.TrimPrefix(a, "-"), "-")
		if strings.Contains(name, "=") {
			continue
		}
		if fl := fs.Lookup(name); fl != nil && !isBoolFlag(fl) {
			i++ // the next argument is this flag's value
		}
	}
	return false
}

func isBoolFlag(fl *flag.Flag) bool {
	b, ok := fl.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// listFlag collects every value of a repeatable flag (--cap, --tag) in order.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

// Set appends one value.
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}
