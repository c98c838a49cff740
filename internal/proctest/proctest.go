// Package proctest helps tests that run their own test binary as a child
// process (a consumer or bgtasks process to SIGKILL).
package proctest

import (
	"os"
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
