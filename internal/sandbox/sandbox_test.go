//go:build linux

package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// childEnv switches the test binary into the confined child: it tries each probe and prints one line
// per probe, "name: ok" or "name: error".
const childEnv = "SANDBOX_TEST_CHILD"

// confineEnv switches the test binary into confining its main thread to the directory it names.
const confineEnv = "SANDBOX_TEST_CONFINE"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(child())
	}
	if dir := os.Getenv(confineEnv); dir != "" {
		runtime.LockOSThread() // never unlocked: the process exits right after
		if err := ConfineThread(dir); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func child() int {
	probe := func(name string, fn func() error) {
		if err := fn(); err != nil {
			fmt.Printf("%s: %v\n", name, err)
			return
		}
		fmt.Printf("%s: ok\n", name)
	}
	readFile := func(p string) func() error { return func() error { _, err := os.ReadFile(p); return err } }
	ppid := strconv.Itoa(os.Getppid())
	probe("outside", readFile(os.Getenv("OUTSIDE")))
	probe("write inside", func() error { return os.WriteFile("inside.txt", []byte("mine"), 0o600) })
	probe("read inside", func() error {
		b, err := os.ReadFile("inside.txt")
		if err == nil && string(b) != "mine" {
			err = fmt.Errorf("read %q", b)
		}
		return err
	})
	probe("mkdir inside", func() error { return os.Mkdir("sub", 0o700) })
	probe("system file", readFile("/usr/lib/os-release"))
	probe("dev null", func() error { return os.WriteFile("/dev/null", []byte("x"), 0) })
	probe("parent environ", readFile("/proc/"+ppid+"/environ"))
	probe("parent mem", readFile("/proc/"+ppid+"/mem"))
	probe("etc passwd", readFile("/etc/passwd"))
	// Private keys sit next to the CA certificates: /etc/ssl/private (Debian), /etc/pki/tls/private (Red Hat).
	// Debian's OpenSSL directory links to /etc/ssl/private from beneath /usr.
	for _, dir := range []string{"/etc/ssl/private", "/etc/pki/tls/private", "/usr/lib/ssl/private"} {
		probe("list "+dir, func() error { _, err := os.ReadDir(dir); return err })
	}
	probe("ca bundle", func() error {
		for _, p := range []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"} {
			if _, err := os.Stat(p); err == nil {
				return readFile(p)()
			}
		}
		return os.ErrNotExist
	})
	probe("write tmp", func() error { return os.WriteFile(filepath.Join(os.Getenv("OUTSIDE")+".new"), nil, 0o600) })
	// The launching thread shares this process's domain: reading the parent's memory through it.
	probe("parent memory via launcher thread", func() error {
		tid, _ := strconv.Atoi(os.Getenv("LAUNCHER_TID"))
		addr, _ := strconv.ParseUint(os.Getenv("SECRET_ADDR"), 16, 64)
		buf := make([]byte, 8)
		_, err := unix.ProcessVMReadv(tid, []unix.Iovec{{Base: &buf[0], Len: 8}},
			[]unix.RemoteIovec{{Base: uintptr(addr), Len: 8}}, 0)
		return err
	})
	return 0
}

// secret is read by the child through process_vm_readv when the process is not protected.
var secret = []byte("s3cr3t!!")

// runConfined copies the test binary into dir and runs it there, started from an OS thread confined to dir.
func runConfined(t *testing.T, dir, outside string) map[string]string {
	t.Helper()
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "child")
	if err := os.WriteFile(bin, self, 0o700); err != nil {
		t.Fatal(err)
	}
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := ConfineThread(dir); err != nil {
			done <- result{err: err}
			return
		}
		cmd := exec.Command(bin)
		cmd.Dir = dir
		cmd.Env = []string{childEnv + "=1", "OUTSIDE=" + outside, "LAUNCHER_TID=" + strconv.Itoa(unix.Gettid()),
			"SECRET_ADDR=" + strconv.FormatUint(uint64(uintptr(unsafe.Pointer(&secret[0]))), 16)}
		out, err := cmd.CombinedOutput()
		done <- result{out, err}
	}()
	r := <-done
	if r.err != nil {
		t.Fatalf("confined child: %v: %s", r.err, r.out)
	}
	got := map[string]string{}
	for line := range strings.Lines(string(r.out)) {
		name, res, _ := strings.Cut(strings.TrimSpace(line), ": ")
		got[name] = res
	}
	return got
}

func TestConfineThread(t *testing.T) {
	if ABI() == 0 {
		t.Skip("no Landlock on this kernel")
	}
	if err := ProtectProcess(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("not for the child"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := runConfined(t, dir, outside)
	for _, tt := range []struct {
		name, probe string
		allowed     bool
	}{
		{"a file outside its directory", "outside", false},
		{"writing a file inside", "write inside", true},
		{"reading it back", "read inside", true},
		{"a directory inside", "mkdir inside", true},
		{"a system file", "system file", true},
		{"/dev/null", "dev null", true},
		{"the parent's environment", "parent environ", false},
		{"the parent's memory file", "parent mem", false},
		{"/etc/passwd", "etc passwd", false},
		{"the private keys of /etc/ssl", "list /etc/ssl/private", false},
		{"the private keys of /etc/pki/tls", "list /etc/pki/tls/private", false},
		{"the private keys through a link beneath /usr", "list /usr/lib/ssl/private", false},
		{"the CA certificates", "ca bundle", true},
		{"a new file outside", "write tmp", false},
		{"the parent's memory through the launching thread", "parent memory via launcher thread", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, ok := got[tt.probe]
			if !ok {
				t.Fatalf("no result for %q in %v", tt.probe, got)
			}
			if strings.Contains(res, "no such file") || strings.Contains(res, "file does not exist") {
				t.Skipf("%s: nothing to probe here", tt.probe)
			}
			if tt.allowed && res != "ok" {
				t.Errorf("%s: %s, want ok", tt.probe, res)
			}
			if !tt.allowed && (res == "ok" || !strings.Contains(res, "permission denied") && !strings.Contains(res, "operation not permitted")) {
				t.Errorf("%s: %q, want permission denied", tt.probe, res)
			}
		})
	}
	// The rest of the process is not confined.
	if _, err := os.ReadFile(outside); err != nil {
		t.Errorf("the test's own thread was confined: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "inside.txt")); err != nil || !bytes.Equal(b, []byte("mine")) {
		t.Errorf("the child's file: %q, %v", b, err)
	}
}

func TestConfineThreadRefusesBadDir(t *testing.T) {
	if ABI() == 0 {
		t.Skip("no Landlock on this kernel")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, dir string }{
		{"relative", "providers/x"},
		{"missing", filepath.Join(t.TempDir(), "missing")},
		{"a file", file},
	} {
		t.Run(tt.name, func(t *testing.T) {
			errc := make(chan error, 1)
			go func() {
				runtime.LockOSThread() // never unlocked: a refusal may come after part of the work
				errc <- ConfineThread(tt.dir)
			}()
			if err := <-errc; !errors.Is(err, ErrDir) {
				t.Fatalf("ConfineThread(%q) = %v, want ErrDir", tt.dir, err)
			}
		})
	}
}

func TestHandled(t *testing.T) {
	for _, tt := range []struct {
		name       string
		abi        int
		fs, scoped uint64
	}{
		{"ABI 1", 1, fsBase, 0},
		{"ABI 2", 2, fsBase | fsRefer, 0},
		{"ABI 4", 4, fsBase | fsRefer | fsTruncate, 0},
		{"ABI 5", 5, fsBase | fsRefer | fsTruncate | fsIoctlDev, 0},
		{"ABI 7", 7, fsBase | fsRefer | fsTruncate | fsIoctlDev, scopes},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs, scoped := handled(tt.abi)
			if fs != tt.fs || scoped != tt.scoped {
				t.Errorf("handled(%d) = %#x, %#x; want %#x, %#x", tt.abi, fs, scoped, tt.fs, tt.scoped)
			}
		})
	}
}

// TestConfineThreadAsAnotherUser: a host that does not run as root (the systemd unit's DynamicUser) may not
// change its bounding set, and need not: ConfineThread works there too.
func TestConfineThreadAsAnotherUser(t *testing.T) {
	if ABI() == 0 {
		t.Skip("no Landlock on this kernel")
	}
	dir := t.TempDir()
	if unix.Geteuid() != 0 {
		errc := make(chan error, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			errc <- ConfineThread(dir)
		}()
		if err := <-errc; err != nil {
			t.Fatalf("ConfineThread as uid %d: %v", unix.Geteuid(), err)
		}
		return
	}
	// As root: run a copy of the test binary as nobody.
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "as-nobody")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{confineEnv + "=" + dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ConfineThread as nobody: %v: %s", err, out)
	}
}
