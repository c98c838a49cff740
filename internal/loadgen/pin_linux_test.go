package loadgen_test

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gophers/gopherbot/internal/loadgen"
	"github.com/gophers/gopherbot/internal/redistest"
)

// threadCPUs returns the CPU set of every thread of pid.
func threadCPUs(t *testing.T, pid int) map[int]unix.CPUSet {
	t.Helper()
	entries, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		t.Fatal(err)
	}
	m := map[int]unix.CPUSet{}
	for _, e := range entries {
		tid, _ := strconv.Atoi(e.Name())
		var s unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &s); err == nil {
			m[tid] = s
		}
	}
	return m
}

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
	childBefore := threadCPUs(t, child.Process.Pid)
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
	for tid, s := range threadCPUs(t, child.Process.Pid) {
		if s.Count() != 1 {
			t.Errorf("stand-in thread %d on %d CPUs, want 1", tid, s.Count())
		}
		last = s
	}
	for tid, s := range threadCPUs(t, os.Getpid()) {
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
	if got := threadCPUs(t, child.Process.Pid); !equalSets(got, childBefore) {
		t.Errorf("stand-in's CPUs after restore = %v, want %v", got, childBefore)
	}
	for tid, s := range threadCPUs(t, os.Getpid()) {
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
	for tid, s := range threadCPUs(t, os.Getpid()) {
		if s != mine {
			t.Errorf("our thread %d on %d CPUs after the run, want %d", tid, s.Count(), mine.Count())
		}
	}
}
