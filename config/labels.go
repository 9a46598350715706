package config

import (
	"runtime"
	"strings"
)

// hostLabels turns every HOST_* entry of environ into a label (HOST_REGION=eu → region=eu; the
// key is lower-cased, the value kept) and adds the core labels, which win over a HOST_* label of
// the same key. As in 0.x, HOST_CONFIG becomes the label "config". A bare "HOST_" is ignored, and
// when a key appears twice the first entry wins, as with os.Getenv.
func hostLabels(environ []string) map[string]string {
	labels := make(map[string]string)
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || len(k) <= len(labelPrefix) || !strings.HasPrefix(k, labelPrefix) {
			continue
		}
		key := strings.ToLower(k[len(labelPrefix):])
		if _, dup := labels[key]; !dup {
			labels[key] = v
		}
	}
	for k, v := range coreLabels(runtime.GOOS, runtime.GOARCH) {
		labels[k] = v
	}
	return labels
}

// Core label keys, as set by every wasmCloud 0.x host.
const (
	LabelArch     = "hostcore.arch"
	LabelOS       = "hostcore.os"
	LabelOSFamily = "hostcore.osfamily"
)

// rustArch maps Go's GOARCH to Rust's std::env::consts::ARCH where they differ, so that label
// constraints written for 0.x hosts (hostcore.arch=x86_64) match.
var rustArch = map[string]string{
	"amd64":    "x86_64",
	"arm64":    "aarch64",
	"386":      "x86",
	"ppc64":    "powerpc64",
	"ppc64le":  "powerpc64",
	"mipsle":   "mips",
	"mips64le": "mips64",
	"loong64":  "loongarch64",
	"wasm":     "wasm32",
}

// rustOS maps GOOS to std::env::consts::OS where they differ.
var rustOS = map[string]string{
	"darwin": "macos",
}

// coreLabels returns hostcore.arch, hostcore.os and hostcore.osfamily for a GOOS and GOARCH.
func coreLabels(goos, goarch string) map[string]string {
	arch, ok := rustArch[goarch]
	if !ok {
		arch = goarch
	}
	osName, ok := rustOS[goos]
	if !ok {
		osName = goos
	}
	var family string
	switch goos {
	case "windows":
		family = "windows"
	case "js", "wasip1":
		family = "wasm"
	case "plan9":
		family = ""
	default:
		family = "unix"
	}
	return map[string]string{LabelArch: arch, LabelOS: osName, LabelOSFamily: family}
}
