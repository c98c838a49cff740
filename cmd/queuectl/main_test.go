package main

import (
	"os"
	"testing"
)

// TestHelpNeedsNoSettings: asking for help (or giving a bad command line)
// must not depend on REDIS_URL: an operator reads the help before setting
// anything up, and a bad command line is a usage error (2) either way.
func TestHelpNeedsNoSettings(t *testing.T) {
	t.Setenv("REDIS_URL", "")
	args := os.Args
	t.Cleanup(func() { os.Args = args })
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"help"}, 0},
		{[]string{"-h"}, 0},
		{[]string{"requeue", "-h"}, 0},
		{[]string{"frobnicate"}, 2},
		{[]string{"requeue"}, 2},
	} {
		os.Args = append([]string{"queuectl"}, tc.args...)
		if got := run(); got != tc.want {
			t.Errorf("queuectl %q without REDIS_URL exits %d; want %d", tc.args, got, tc.want)
		}
	}
}
