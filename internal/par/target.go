package par

import (
	"fmt"
	"runtime"
)

// Rust's names (std::env::consts::ARCH and OS) for Go's GOARCH and GOOS values: wasmCloud names a target
// "<ARCH>-<OS>" as the Rust host that loads the archive sees itself. Rust gives one name to both byte orders
// of an architecture (ppc64 and ppc64le are both powerpc64), and so does the archive.
var (
	rustArch = map[string]string{
		"386":      "x86",
		"amd64":    "x86_64",
		"arm":      "arm",
		"arm64":    "aarch64",
		"loong64":  "loongarch64",
		"mips":     "mips",
		"mipsle":   "mips",
		"mips64":   "mips64",
		"mips64le": "mips64",
		"ppc64":    "powerpc64",
		"ppc64le":  "powerpc64",
		"riscv64":  "riscv64",
		"s390x":    "s390x",
	}
	rustOS = map[string]string{
		"aix":       "aix",
		"android":   "android",
		"darwin":    "macos",
		"dragonfly": "dragonfly",
		"freebsd":   "freebsd",
		"illumos":   "illumos",
		"ios":       "ios",
		"linux":     "linux",
		"netbsd":    "netbsd",
		"openbsd":   "openbsd",
		"solaris":   "solaris",
		"windows":   "windows",
	}
)

// TargetFor returns wasmCloud's target name for a Go platform, such as "x86_64-linux" for linux/amd64 or
// "aarch64-macos" for darwin/arm64. It reports false for a platform no wasmCloud host runs on (js/wasm,
// wasip1/wasm, plan9).
func TargetFor(goos, goarch string) (string, bool) {
	a, okA := rustArch[goarch]
	o, okO := rustOS[goos]
	if !okA || !okO {
		return "", false
	}
	return a + "-" + o, true
}

// NativeTarget returns the target name of the platform this program runs on.
func NativeTarget() (string, error) {
	t, ok := TargetFor(runtime.GOOS, runtime.GOARCH)
	if !ok {
		return "", fmt.Errorf("%w: %s/%s", ErrUnsupportedPlatform, runtime.GOOS, runtime.GOARCH)
	}
	return t, nil
}

// MaxTargetLen bounds target names, in bytes.
const MaxTargetLen = 48

// ValidTarget reports whether t can name a target: 1 to MaxTargetLen ASCII letters, digits, '_' and '-',
// starting with a letter or digit, and not "claims" or "world", whose entries wasmCloud reads as the token
// and the WIT world whatever their extension.
func ValidTarget(t string) bool {
	if t == "" || len(t) > MaxTargetLen || t == "claims" || t == "world" || t[0] == '-' || t[0] == '_' {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
