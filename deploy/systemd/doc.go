// Package systemd holds the systemd unit that runs wasmcloud-host as a hardened system service, with
// its example settings file and install notes (README.md).
//
// The package has no Go code of its own. It exists so that `go test ./...` runs unit_test.go, which
// keeps the unit honest: the directives the host depends on (Type=notify, the state directory, the
// cluster seed credential) are present, MemoryDenyWriteExecute= is absent because wazero's compiler
// needs executable memory, and systemd-analyze accepts the file where it is installed.
package systemd
