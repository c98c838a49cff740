package loadgen

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// SplitCores gives the process pid (the Redis server) the last CPU this
// process may run on, and this process the others, as in production where
// Redis runs on a host of its own and the gateway has its dyno's cores to
// itself. It pins every thread of both processes, sets GOMAXPROCS to the
// CPUs left, and returns a description of the placement and a function that
// puts back both processes' CPUs and GOMAXPROCS.
//
// With pid 0 only this process is pinned, to the same CPUs as with a Redis,
// so that a baseline measured alone is measured on the same cores.
func SplitCores(pid int) (placement string, restore func() error, err error) {
	var mine unix.CPUSet
	if err := unix.SchedGetaffinity(0, &mine); err != nil {
		return "", nil, fmt.Errorf("loadgen: split cores: %w", err)
	}
	if mine.Count() < 2 {
		return "", nil, fmt.Errorf("loadgen: split cores: this process may use %d CPU, it needs at least 2", mine.Count())
	}
	last := -1
	for cpu := range maxCPUs {
		if mine.IsSet(cpu) {
			last = cpu
		}
	}
	rest := mine
	rest.Clear(last)
	var only unix.CPUSet
	only.Set(last)

	var undo []func() error
	restore = func() error {
		var errs []error
		for i := len(undo) - 1; i >= 0; i-- {
			errs = append(errs, undo[i]())
		}
		undo = nil
		return errors.Join(errs...)
	}
	if pid > 0 {
		u, err := pinProcess(pid, &only)
		undo = append(undo, u)
		if err != nil {
			return "", nil, errors.Join(fmt.Errorf("loadgen: split cores: Redis (pid %d): %w", pid, err), restore())
		}
	}
	u, err := pinProcess(os.Getpid(), &rest)
	undo = append(undo, u)
	if err != nil {
		return "", nil, errors.Join(fmt.Errorf("loadgen: split cores: this process: %w", err), restore())
	}
	procs := runtime.GOMAXPROCS(rest.Count())
	undo = append(undo, func() error { runtime.GOMAXPROCS(procs); return nil })

	placement = "this process on CPU " + cpuList(&rest)
	if rest.Count() > 1 {
		placement = "this process on CPUs " + cpuList(&rest)
	}
	if pid > 0 {
		placement = fmt.Sprintf("Redis on CPU %d, %s", last, placement)
	} else {
		placement += fmt.Sprintf(" (CPU %d left for Redis)", last)
	}
	return placement, restore, nil
}

// pinProcess sets the CPUs of every thread of pid to set and returns a
// function that gives each thread its former CPUs back. Threads started
// meanwhile inherit the set from their creator, so a second pass finds any
// thread the first listed too late, and undo gives threads started while
// pinned the CPUs the process's main thread had.
func pinProcess(pid int, set *unix.CPUSet) (undo func() error, err error) {
	old := map[int]unix.CPUSet{}
	var procSet unix.CPUSet
	if err := unix.SchedGetaffinity(pid, &procSet); err != nil {
		return func() error { return nil }, err
	}
	undo = func() error {
		var errs []error
		for _, tid := range threads(pid) {
			s, ok := old[tid]
			if !ok {
				s = procSet
			}
			if err := unix.SchedSetaffinity(tid, &s); err != nil && !errors.Is(err, unix.ESRCH) {
				errs = append(errs, fmt.Errorf("thread %d: %w", tid, err))
			}
		}
		return errors.Join(errs...)
	}
	for range 2 {
		for _, tid := range threads(pid) {
			if _, done := old[tid]; done {
				continue
			}
			var s unix.CPUSet
			if err := unix.SchedGetaffinity(tid, &s); err != nil {
				if errors.Is(err, unix.ESRCH) { // the thread ended
					continue
				}
				return undo, fmt.Errorf("thread %d: %w", tid, err)
			}
			if err := unix.SchedSetaffinity(tid, set); err != nil {
				if errors.Is(err, unix.ESRCH) {
					continue
				}
				return undo, fmt.Errorf("thread %d: %w", tid, err)
			}
			old[tid] = s
		}
	}
	return undo, nil
}

// ThreadCPUs returns the CPU set of every thread of pid, by thread ID (none
// when it has ended): what -split changes and must put back.
func ThreadCPUs(pid int) map[int]unix.CPUSet {
	m := map[int]unix.CPUSet{}
	for _, tid := range threads(pid) {
		var s unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &s); err == nil {
			m[tid] = s
		}
	}
	return m
}

// threads lists the thread IDs of pid, or none when it has ended.
func threads(pid int) []int {
	entries, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	var tids []int
	for _, e := range entries {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids
}

// maxCPUs is the size of a CPU set (CPU_SETSIZE).
const maxCPUs = 1024

// cpuList prints a CPU set as "0" or "0,2,3".
func cpuList(s *unix.CPUSet) string {
	out := ""
	for cpu := range maxCPUs {
		if s.IsSet(cpu) {
			if out != "" {
				out += ","
			}
			out += strconv.Itoa(cpu)
		}
	}
	return out
}

// listensOn reports whether process pid holds a TCP socket listening on
// port in this network namespace (/proc/net/tcp and tcp6, /proc/<pid>/fd).
func listensOn(pid, port int) bool {
	sockets := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		for line := range strings.Lines(string(b)) {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, ok := strings.Cut(f[1], ":")
			if n, err := strconv.ParseUint(hexPort, 16, 16); ok && err == nil && int(n) == port {
				sockets["socket:["+f[9]+"]"] = true
			}
		}
	}
	if len(sockets) == 0 {
		return false
	}
	dir := "/proc/" + strconv.Itoa(pid) + "/fd/"
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if l, err := os.Readlink(dir + fd.Name()); err == nil && sockets[l] {
			return true
		}
	}
	return false
}

// pinnedNote says so when process pid (the Redis server) may not use every
// CPU this process may use, as after a -split run that was killed before it
// could put the CPUs back; else it returns "".
func pinnedNote(pid int) string {
	var mine, theirs unix.CPUSet
	if unix.SchedGetaffinity(0, &mine) != nil || unix.SchedGetaffinity(pid, &theirs) != nil {
		return ""
	}
	for cpu := range maxCPUs {
		if mine.IsSet(cpu) && !theirs.IsSet(cpu) {
			if theirs.Count() == 1 {
				return "Redis may only use CPU " + cpuList(&theirs)
			}
			return "Redis may only use CPUs " + cpuList(&theirs)
		}
	}
	return ""
}
