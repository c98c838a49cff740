//go:build !linux

package redistest

import "syscall"

// procAttr: only Linux can tie the server's life to the test process's;
// elsewhere a test process that dies without its cleanup leaves the server.
func procAttr() *syscall.SysProcAttr { return nil }
