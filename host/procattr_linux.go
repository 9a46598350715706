package host

import (
	"os"
	"syscall"
)

// providerProcAttr puts a provider process in a process group of its own, so that killing it kills what it
// started too, and has the kernel kill it when the host dies without stopping it.
func providerProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killProvider kills a provider's process group.
func killProvider(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL); _ = p.Kill() }
