package redistest

import "syscall"

// procAttr makes the kernel kill redis-server when the test process dies,
// however it dies (a timeout, SIGKILL, a fuzzing worker stopped by its
// coordinator). Without it the server would outlive the test, keeping its
// port and every descriptor it inherited: the pipes between a fuzzing worker
// and its coordinator, whose wait for the worker then never ends.
//
// The signal follows the death of the thread that started the server, and
// Go only ends a thread when a goroutine locked to it exits; nothing here
// locks one.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
