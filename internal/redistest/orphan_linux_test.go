package redistest

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophers/gopherbot/internal/proctest"
)

// TestServerDiesWithTheTestProcess runs a test process that starts a server
// and then is SIGKILLed, so that no cleanup runs: its server must die too,
// with the descriptors it inherited.
func TestServerDiesWithTheTestProcess(t *testing.T) {
	if os.Getenv("REDISTEST_HELPER") == "1" {
		s := Start(t)
		s.mu.Lock()
		pid := s.cmd.Process.Pid
		s.mu.Unlock()
		os.Stdout.WriteString("server pid " + strconv.Itoa(pid) + "\n")
		time.Sleep(time.Minute) // until killed
		return
	}
	helper, sc := proctest.StartSelf(t, "TestServerDiesWithTheTestProcess", "REDISTEST_HELPER=1")
	pid := 0
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "server pid "); ok {
			pid, _ = strconv.Atoi(v)
			break
		}
	}
	if pid == 0 {
		t.Fatalf("the helper did not start a server (%v)", sc.Err())
	}
	if !proctest.Running(pid, "redis") {
		t.Fatalf("server %d is not running", pid)
	}

	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	helper.Wait()
	proctest.WaitExit(t, pid, "redis", 10*time.Second)
}
