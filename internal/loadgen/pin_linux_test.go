package loadgen_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gophers/gopherbot/internal/loadgen"
	"github.com/gophers/gopherbot/internal/redistest"
)

// splittable returns the CPUs this process may use, and skips the test
// unless there are at least two to split.
func splittable(t *testing.T) unix.CPUSet {
	t.Helper()
	var mine unix.CPUSet
	if err := unix.SchedGetaffinity(0, &mine); err != nil {
		t.Fatal(err)
	}
	if mine.Count() < 2 {
		t.Skipf("this process may use %d CPU; splitting needs 2", mine.Count())
	}
	return mine
}

// TestSplitCores pins a stand-in for Redis and this process apart, then
// puts both back. It changes this process's CPUs while it runs, so it is
// not parallel.
func TestSplitCores(t *testing.T) {
	mine := splittable(t)
	child := exec.Command("sleep", "60")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	childBefore := loadgen.ThreadCPUs(child.Process.Pid)
	procs := runtime.GOMAXPROCS(0)

	placement, restore, err := loadgen.SplitCores(child.Process.Pid)
	if errors.Is(err, unix.EPERM) {
		t.Skipf("this machine does not let us set CPU affinity: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("placement: %s", placement)
	var last unix.CPUSet
	for tid, s := range loadgen.ThreadCPUs(child.Process.Pid) {
		if s.Count() != 1 {
			t.Errorf("stand-in thread %d on %d CPUs, want 1", tid, s.Count())
		}
		last = s
	}
	for tid, s := range loadgen.ThreadCPUs(os.Getpid()) {
		if s.Count() != mine.Count()-1 {
			t.Errorf("our thread %d on %d CPUs, want %d", tid, s.Count(), mine.Count()-1)
		}
		for cpu := range 1024 {
			if s.IsSet(cpu) && last.IsSet(cpu) {
				t.Errorf("our thread %d shares CPU %d with the stand-in", tid, cpu)
			}
		}
	}
	if got := runtime.GOMAXPROCS(0); got != mine.Count()-1 {
		t.Errorf("GOMAXPROCS = %d while split, want %d", got, mine.Count()-1)
	}
	if !strings.HasPrefix(placement, "Redis on CPU ") {
		t.Errorf("placement %q does not say where Redis runs", placement)
	}

	if err := restore(); err != nil {
		t.Fatal(err)
	}
	if got := loadgen.ThreadCPUs(child.Process.Pid); !equalSets(got, childBefore) {
		t.Errorf("stand-in's CPUs after restore = %v, want %v", got, childBefore)
	}
	for tid, s := range loadgen.ThreadCPUs(os.Getpid()) {
		if s != mine {
			t.Errorf("our thread %d on %d CPUs after restore, want %d", tid, s.Count(), mine.Count())
		}
	}
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Errorf("GOMAXPROCS = %d after restore, want %d", got, procs)
	}
}

func equalSets(a, b map[int]unix.CPUSet) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestCompareSplit runs `loadgen -compare -split` on a real Redis and checks
// that it says where each side ran and leaves the CPUs as they were.
func TestCompareSplit(t *testing.T) {
	mine := splittable(t)
	rs := redistest.Start(t)
	var out, errs strings.Builder
	err := loadgen.Command(t.Context(), []string{"-compare", "-split", "-redis", rs.URL(), "-c", "4", "-n", "200", "-warmup", "40"}, "", &out, &errs)
	if err != nil {
		t.Fatalf("Command: %v\nstderr:\n%s", err, errs.String())
	}
	for _, want := range []string{"Redis on CPU ", "this process on CPU", "gateway/baseline throughput:", "Redis on a core of its own):"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for tid, s := range loadgen.ThreadCPUs(os.Getpid()) {
		if s != mine {
			t.Errorf("our thread %d on %d CPUs after the run, want %d", tid, s.Count(), mine.Count())
		}
	}
}

// fakeRedis serves the few commands the load tool sends before a -baseline
// run (PING, INFO) and claims in INFO server to be process pid, listening
// on port claimedPort. It returns its redis:// URL.
func fakeRedis(t *testing.T, pid, claimedPort int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	if claimedPort == 0 {
		claimedPort = ln.Addr().(*net.TCPAddr).Port
	}
	info := fmt.Sprintf("# Server\r\nredis_version:7.0.15\r\nprocess_id:%d\r\ntcp_port:%d\r\n\r\n# CPU\r\nused_cpu_sys:0.1\r\nused_cpu_user:0.1\r\n", pid, claimedPort)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					// A command is an array of bulk strings.
					line, err := br.ReadString('\n')
					if err != nil || !strings.HasPrefix(line, "*") {
						return
					}
					n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
					var args []string
					for range n {
						if _, err := br.ReadString('\n'); err != nil {
							return
						}
						arg, err := br.ReadString('\n')
						if err != nil {
							return
						}
						args = append(args, strings.TrimSpace(arg))
					}
					var reply string
					switch strings.ToUpper(args[0]) {
					case "PING":
						reply = "+PONG\r\n"
					case "INFO":
						reply = fmt.Sprintf("$%d\r\n%s\r\n", len(info), info)
					default:
						reply = "-ERR unknown command '" + args[0] + "'\r\n"
					}
					if _, err := io.WriteString(c, reply); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "redis://" + ln.Addr().String()
}

// TestSplitRefusesAnotherProcess: the process_id a Redis reports is a
// number in its own PID namespace (a container, a tunnel to another host);
// here it names a process whose name says redis but which does not serve
// the Redis the tool talks to. -split must not pin it and claim that Redis
// has a CPU of its own.
func TestSplitRefusesAnotherProcess(t *testing.T) {
	splittable(t)
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep command")
	}
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	decoy := filepath.Join(t.TempDir(), "redis-decoy")
	if err := os.WriteFile(decoy, b, 0o755); err != nil {
		t.Fatal(err)
	}
	child := exec.Command(decoy, "60")
	if err := child.Start(); err != nil {
		t.Skipf("cannot run a copy of sleep: %v", err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })

	var out, errs strings.Builder
	err = loadgen.Command(t.Context(), []string{"-baseline", "-split", "-redis", fakeRedis(t, child.Process.Pid, 0), "-c", "1", "-n", "20", "-warmup", "0"}, "", &out, &errs)
	if err == nil || strings.Contains(out.String(), "Redis on CPU") {
		t.Errorf("-split took process %d (%s), which serves no Redis, for the Redis server: error %v, output:\n%s",
			child.Process.Pid, decoy, err, out.String())
	}
}

// TestCompareNoticesPinnedRedis: a -split run killed with SIGKILL (or a
// crash) cannot put Redis's CPUs back. The next -compare without -split
// must not report its figures as those of Redis sharing the cores.
func TestCompareNoticesPinnedRedis(t *testing.T) {
	mine := splittable(t)
	rs := redistest.Start(t)
	pid, _ := strconv.Atoi(strings.TrimSpace(strings.Split(strings.Split(rs.Client().Info(t.Context(), "server").Val(), "process_id:")[1], "\n")[0]))
	last := -1
	for cpu := range 1024 {
		if mine.IsSet(cpu) {
			last = cpu
		}
	}
	var one unix.CPUSet
	one.Set(last)
	for tid := range loadgen.ThreadCPUs(pid) {
		if err := unix.SchedSetaffinity(tid, &one); err != nil {
			t.Skipf("cannot pin Redis: %v", err)
		}
	}
	var out, errs strings.Builder
	err := loadgen.Command(t.Context(), []string{"-compare", "-redis", rs.URL(), "-c", "2", "-n", "100", "-warmup", "0"}, "", &out, &errs)
	if err != nil {
		t.Fatalf("Command: %v\nstderr:\n%s", err, errs.String())
	}
	if strings.Contains(out.String(), "Redis sharing these cores") || !strings.Contains(out.String(), "Redis may only use CPU "+strconv.Itoa(last)) {
		t.Errorf("Redis pinned to CPU %d, yet the output does not say so:\n%s", last, out.String())
	}
}
