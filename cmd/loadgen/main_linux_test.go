package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gophers/gopherbot/internal/loadgen"
	"github.com/gophers/gopherbot/internal/redistest"
)

// TestMain runs main instead of the tests when the test binary is started
// as the load tool by TestSplitRestoredOnSignal.
func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv("LOADGEN_TEST_MAIN_ARGS"); ok {
		os.Args = append([]string{"loadgen"}, strings.Fields(args)...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestSplitRestoredOnSignal: `loadgen -compare -split` stopped by SIGTERM
// (a terminal closing sends SIGHUP, a supervisor or `kill` SIGTERM) in the
// middle of a run must still put the Redis server's CPUs back: a Redis left
// on one CPU spoils every later run that believes it shares the cores.
func TestSplitRestoredOnSignal(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("-split needs Linux")
	}
	var mine unix.CPUSet
	if err := unix.SchedGetaffinity(0, &mine); err != nil {
		t.Fatal(err)
	}
	if mine.Count() < 2 {
		t.Skipf("this process may use %d CPU; splitting needs 2", mine.Count())
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			rs := redistest.Start(t)
			info := rs.Client().Info(t.Context(), "server").Val()
			var pid int
			for line := range strings.Lines(info) {
				if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
					pid, _ = strconv.Atoi(v)
				}
			}
			if pid == 0 {
				t.Fatalf("no process_id in INFO server:\n%s", info)
			}
			before := loadgen.ThreadCPUs(pid)

			// Many events over one connection: the run is still going when
			// the signal comes.
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), "LOADGEN_TEST_MAIN_ARGS=-compare -split -redis "+rs.URL()+" -c 1 -n 50000 -warmup 0 -d 60s")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := false
			t.Cleanup(func() {
				if !done {
					cmd.Process.Kill()
					cmd.Wait()
				}
			})
			// The header line comes once the CPUs are split.
			sc := bufio.NewScanner(stdout)
			var out []string
			for sc.Scan() {
				out = append(out, sc.Text())
				if strings.HasPrefix(sc.Text(), "target ") {
					break
				}
			}
			if !strings.Contains(strings.Join(out, "\n"), "Redis on CPU ") {
				t.Fatalf("no split placement in the output:\n%s\nstderr:\n%s", strings.Join(out, "\n"), stderr.String())
			}
			pinned := loadgen.ThreadCPUs(pid)
			for tid, s := range pinned {
				if s.Count() != 1 {
					t.Fatalf("Redis thread %d on %d CPUs during the run, want 1", tid, s.Count())
				}
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			for sc.Scan() {
				out = append(out, sc.Text())
			}
			werr := cmd.Wait()
			done = true
			t.Logf("exit: %v\nstdout:\n%s\nstderr:\n%s", werr, strings.Join(out, "\n"), stderr.String())
			if strings.Contains(strings.Join(out, "\n"), "gateway/baseline throughput") {
				t.Fatal("the run ended before the signal: make it longer")
			}
			var ee *exec.ExitError
			if errors.As(werr, &ee) && !ee.Exited() {
				t.Errorf("killed by %v without cleaning up", sig)
			}
			// The process has ended: whatever it put back is back.
			for tid, s := range loadgen.ThreadCPUs(pid) {
				if b, known := before[tid]; known && b != s {
					t.Errorf("Redis thread %d on %d CPUs after the signal, want %d as before", tid, s.Count(), b.Count())
				}
			}
		})
	}
}
