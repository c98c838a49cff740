// Package proctest helps tests that run their own test binary as a child
// process (a consumer or bgtasks process to SIGKILL).
package proctest

import (
	"bufio"
	"os"
	"os/exec"
	"testing"
	"time"
)

// ExitWithParent makes a child process exit with status 3 soon after the
// test process that started it dies. Such a child runs until it is killed,
// and a test process that dies without its cleanup (a -timeout panic, a
// SIGKILL) would otherwise leave it running, retrying a Redis that died
// with its parent. It polls the parent's PID, which changes when the
// process is orphaned.
func ExitWithParent() {
	parent := os.Getppid()
	go func() {
		for {
			time.Sleep(100 * time.Millisecond)
			if os.Getppid() != parent {
				os.Stderr.WriteString("proctest: the test process died; exiting\n")
				os.Exit(3)
			}
		}
	}()
}

// StartSelf runs this test binary again as a child that runs only the test
// named test, with env added to its environment, and returns the child and
// a scanner of its standard output. The child is killed when the test ends.
func StartSelf(t testing.TB, test string, env ...string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, bufio.NewScanner(out)
}
