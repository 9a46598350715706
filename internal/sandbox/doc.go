// Package sandbox confines capability provider processes with Landlock, unprivileged: a provider then reads
// and executes only beneath the system directories a binary needs and a few files of /etc, reads and writes
// /dev/null and reads /dev/urandom, and does anything with files only beneath its own working directory. It
// cannot read the host's seed files, its state directory, other providers' directories or anything under
// /proc, and Landlock's ptrace rules keep it from the host's memory. The network is not restricted.
//
// The domain is applied to the calling OS thread only (ConfineThread), so that the host confines the thread
// that forks a provider and nothing else: a child inherits the domain and no_new_privs of the thread that
// created it. That thread shares the provider's domain, and the host is one address space; ProtectProcess
// makes the process non-dumpable so that no process of the same user, confined or not, can read its memory
// through that thread, and ConfineThread empties the capabilities a provider would get (all of them, when the
// host runs as root), so that CAP_SYS_PTRACE does not override that.
package sandbox
