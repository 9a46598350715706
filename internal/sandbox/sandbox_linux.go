package sandbox

import (
	"errors"
	"fmt"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Access rights, as the Landlock ABI versions introduced them.
const (
	fsBase = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_READ_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_FILE |
		unix.LANDLOCK_ACCESS_FS_MAKE_CHAR | unix.LANDLOCK_ACCESS_FS_MAKE_DIR | unix.LANDLOCK_ACCESS_FS_MAKE_REG |
		unix.LANDLOCK_ACCESS_FS_MAKE_SOCK | unix.LANDLOCK_ACCESS_FS_MAKE_FIFO | unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		unix.LANDLOCK_ACCESS_FS_MAKE_SYM // ABI 1
	fsRefer    = unix.LANDLOCK_ACCESS_FS_REFER     // ABI 2
	fsTruncate = unix.LANDLOCK_ACCESS_FS_TRUNCATE  // ABI 3
	fsIoctlDev = unix.LANDLOCK_ACCESS_FS_IOCTL_DEV // ABI 5
	// fsFile are the rights that apply to a file; a rule on a file may grant only these.
	fsFile = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_READ_FILE |
		fsTruncate | fsIoctlDev
	// ABI 6: no signals to, and no abstract unix sockets of, processes outside the domain.
	scopes = unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | unix.LANDLOCK_SCOPE_SIGNAL

	readExec = unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR | unix.LANDLOCK_ACCESS_FS_EXECUTE
	read     = unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR
	readOnly = unix.LANDLOCK_ACCESS_FS_READ_FILE
	rw       = unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | fsTruncate
)

// rule is a path a confined thread keeps access to, with the rights beneath it (masked by what the ABI
// handles; a path that does not exist is skipped).
type rule struct {
	path   string
	access uint64
}

// systemRules are what a dynamically or statically linked binary needs: its loader and libraries, name
// resolution, time zones and CA certificates, and the usual devices. Not /etc as a whole (it holds the
// host's configuration and, on many systems, credentials), nor /proc (the host's /proc/self would be the
// host, and /proc/<pid> of other processes is what a provider must not read). Of /etc/ssl and /etc/pki only the
// certificates and the OpenSSL configuration: their private directories hold the machine's TLS keys, which a host
// that runs as root (or in ssl-cert) could otherwise hand over.
var systemRules = []rule{
	{"/usr", readExec}, {"/lib", readExec}, {"/lib64", readExec}, {"/lib32", readExec}, {"/bin", readExec}, {"/sbin", readExec},
	{"/etc/resolv.conf", readOnly}, {"/etc/hosts", readOnly}, {"/etc/nsswitch.conf", readOnly}, {"/etc/localtime", readOnly},
	{"/etc/ld.so.cache", readOnly}, {"/etc/ca-certificates", read},
	{"/etc/ssl/certs", read}, {"/etc/ssl/cert.pem", readOnly}, {"/etc/ssl/ca-bundle.pem", readOnly}, {"/etc/ssl/openssl.cnf", readOnly},
	{"/etc/pki/tls/certs", read}, {"/etc/pki/tls/cert.pem", readOnly}, {"/etc/pki/tls/cacert.pem", readOnly},
	{"/etc/pki/tls/openssl.cnf", readOnly}, {"/etc/pki/ca-trust", read},
	{"/dev/null", rw}, {"/dev/zero", readOnly}, {"/dev/urandom", readOnly}, {"/dev/random", readOnly},
}

// ABI returns the Landlock ABI version of the running kernel, or 0 when Landlock is not available.
func ABI() int {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0
	}
	return int(v)
}

// handled returns the filesystem rights and scopes a ruleset handles under ABI version abi: every one that
// version knows, so that nothing it could restrict is left open.
func handled(abi int) (fs, scoped uint64) {
	fs = fsBase
	if abi >= 2 {
		fs |= fsRefer
	}
	if abi >= 3 {
		fs |= fsTruncate
	}
	if abi >= 5 {
		fs |= fsIoctlDev
	}
	if abi >= 6 {
		scoped = scopes
	}
	return fs, scoped
}

// ConfineThread sets no_new_privs on the calling OS thread and confines it, and every process it creates
// from then on, with a Landlock domain that handles every filesystem right the kernel knows: read and execute
// beneath the system directories (systemRules), a few files of /etc and devices, and every right beneath
// dir, an absolute path to a directory. On ABI 6 and later the domain may also not signal processes outside
// it or connect to their abstract unix sockets. The network is not restricted.
//
// Only the calling thread is confined, never the rest of the process. The caller must have locked its
// goroutine to the thread (runtime.LockOSThread) and must never unlock it: the thread would go back to the
// Go scheduler confined. A goroutine that returns while locked takes its thread with it.
func ConfineThread(dir string) error {
	abi := ABI()
	if abi == 0 {
		return ErrUnsupported
	}
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("%w: %q", ErrDir, dir)
	}
	fs, scoped := handled(abi)
	attr := unix.LandlockRulesetAttr{Handled_access_fs: fs, Scoped: scoped}
	size := unsafe.Sizeof(attr.Handled_access_fs) + unsafe.Sizeof(attr.Handled_access_net)
	if abi >= 6 {
		size += unsafe.Sizeof(attr.Scoped)
	}
	r, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if errno != 0 {
		return fmt.Errorf("%w: landlock_create_ruleset: %w", ErrConfine, errno)
	}
	ruleset := int(r)
	defer unix.Close(ruleset)
	for _, rl := range systemRules {
		if err := addRule(ruleset, rl, fs, false); err != nil {
			return err
		}
	}
	if err := addRule(ruleset, rule{dir, fs}, fs, true); err != nil {
		return err
	}
	if err := dropCapabilities(); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("%w: prctl(PR_SET_NO_NEW_PRIVS): %w", ErrConfine, err)
	}
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(ruleset), 0, 0); errno != 0 {
		return fmt.Errorf("%w: landlock_restrict_self: %w", ErrConfine, errno)
	}
	return nil
}

// dropCapabilities keeps the processes the calling thread creates from holding any capability: it clears the
// thread's ambient and inheritable sets and, when the thread runs as root (whose programs get every
// capability in the bounding set), empties its bounding set. A provider of a host that runs as root would
// otherwise hold CAP_SYS_PTRACE, with which it could read the host's memory through the thread that forked
// it (Landlock lets a process trace its own domain, and that thread is in it) despite ProtectProcess.
func dropCapabilities() error {
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("%w: clear the ambient capabilities: %w", ErrConfine, err)
	}
	if unix.Geteuid() != 0 {
		// A program another user runs gets no capability from the bounding or the inheritable set (with
		// no_new_privs, not from file capabilities either); such a thread may not change its bounding set.
		return nil
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("%w: capget: %w", ErrConfine, err)
	}
	if data[0].Inheritable != 0 || data[1].Inheritable != 0 {
		data[0].Inheritable, data[1].Inheritable = 0, 0
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			return fmt.Errorf("%w: capset: %w", ErrConfine, err)
		}
	}
	for c := uintptr(0); c < 64; c++ {
		in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, c, 0, 0, 0)
		if errors.Is(err, unix.EINVAL) {
			break // past the last capability this kernel knows
		}
		if err != nil {
			return fmt.Errorf("%w: read the bounding set: %w", ErrConfine, err)
		}
		if in == 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, c, 0, 0, 0); err != nil {
			return fmt.Errorf("%w: drop capability %d from the bounding set: %w", ErrConfine, c, err)
		}
	}
	return nil
}

// addRule allows rl's rights (masked by the handled ones fs, and by those that apply to a file when rl names
// one) beneath rl's path. A path that does not exist is skipped, unless it is required.
func addRule(ruleset int, rl rule, fs uint64, required bool) error {
	fd, err := unix.Open(rl.path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) && !required {
			return nil
		}
		if required {
			return fmt.Errorf("%w %q: %w", ErrDir, rl.path, err)
		}
		return fmt.Errorf("%w: open %s: %w", ErrConfine, rl.path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("%w: stat %s: %w", ErrConfine, rl.path, err)
	}
	access := rl.access & fs
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if required {
			return fmt.Errorf("%w: %q is not a directory", ErrDir, rl.path)
		}
		access &= fsFile
	}
	attr := unix.LandlockPathBeneathAttr{Allowed_access: access, Parent_fd: int32(fd)}
	if _, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(ruleset), unix.LANDLOCK_RULE_PATH_BENEATH,
		uintptr(unsafe.Pointer(&attr)), 0, 0, 0); errno != 0 {
		return fmt.Errorf("%w: landlock_add_rule %s: %w", ErrConfine, rl.path, errno)
	}
	return nil
}

// ProtectProcess makes the whole process non-dumpable: no process of the same user without CAP_SYS_PTRACE
// may then ptrace it, read its memory (process_vm_readv, /proc/<pid>/mem) or its /proc/<pid>/environ,
// through any of its threads. A confined provider shares its Landlock domain with the host thread that
// forked it, which Landlock alone would let it trace; and the host's memory holds its seeds. It also means
// no core dumps.
func ProtectProcess() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("%w: prctl(PR_SET_DUMPABLE): %w", ErrConfine, err)
	}
	return nil
}
