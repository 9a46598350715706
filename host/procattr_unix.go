//go:build unix && !linux

package host

import (
	"os"
	"syscall"
)

// providerProcAttr puts a provider process in a process group of its own, so that killing it kills what it
// started too.
func providerProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// killProvider kills a provider's process group.
func killProvider(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL); _ = p.Kill() }
