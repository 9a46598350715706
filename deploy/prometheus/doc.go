// Package prometheus holds the Prometheus alert rules for wasmcloud-host (wasmcloud-host.rules.yml): the
// four alerts of the security guide, on the metrics the admin listener exports.
//
// The package has no Go code of its own. rules_test.go parses the file with Prometheus's own rule parser
// (a test-only dependency) and checks that every expression names only metrics the daemon exports.
package prometheus
