package redistest

import (
	"bufio"
	"os"
	"os/exec"
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
	helper := exec.Command(os.Args[0], "-test.run=^TestServerDiesWithTheTestProcess$", "-test.count=1")
	helper.Env = append(os.Environ(), "REDISTEST_HELPER=1")
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { helper.Process.Kill(); helper.Wait() })
	pid := 0
	sc := bufio.NewScanner(out)
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
