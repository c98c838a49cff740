//go:build linux

package proctest

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestExitWithParent starts a middle process that starts a grandchild
// calling ExitWithParent, then SIGKILLs the middle one: the grandchild must
// exit by itself.
func TestExitWithParent(t *testing.T) {
	switch os.Getenv("PROCTEST_ROLE") {
	case "grandchild":
		ExitWithParent()
		os.Stdout.WriteString("ready\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	case "middle":
		gc := exec.Command(os.Args[0], "-test.run=^TestExitWithParent$")
		gc.Env = append(os.Environ(), "PROCTEST_ROLE=grandchild")
		gc.Stdout = os.Stdout
		if err := gc.Start(); err != nil {
			os.Exit(1)
		}
		os.Stdout.WriteString("grandchild " + strconv.Itoa(gc.Process.Pid) + "\n")
		time.Sleep(time.Minute) // until killed
		os.Exit(0)
	}
	middle, sc := StartSelf(t, "TestExitWithParent", "PROCTEST_ROLE=middle")
	// Wait for the grandchild's PID and for it to have noted its parent.
	pid, ready := 0, false
	for (pid == 0 || !ready) && sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "grandchild "); ok {
			pid, _ = strconv.Atoi(v)
		}
		ready = ready || sc.Text() == "ready"
	}
	if pid == 0 || !ready {
		t.Fatalf("no grandchild started (%v)", sc.Err())
	}
	middle.Process.Kill()
	middle.Wait()
	WaitExit(t, pid, "proctest", 10*time.Second)
}
