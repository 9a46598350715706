//go:build !unix

package host

import (
	"os"
	"syscall"
)

func providerProcAttr() *syscall.SysProcAttr { return nil }

func killProvider(p *os.Process) { _ = p.Kill() }
