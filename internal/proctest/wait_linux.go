package proctest

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// WaitExit waits up to timeout for process pid, whose command name contains
// name, to exit. If it is still running then, WaitExit kills it and fails
// tb. An exited process waiting to be reaped, or a new process that took
// the number, counts as exited.
func WaitExit(tb testing.TB, pid int, name string, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for Running(pid, name) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			tb.Fatalf("%s (pid %d) still running after %v", name, pid, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Running reports whether pid is a live process (not a zombie) whose
// command name contains name, from /proc.
func Running(pid int, name string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) state ...
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && strings.Contains(s[:i], name) && i+2 < len(s) && s[i+2] != 'Z'
}
