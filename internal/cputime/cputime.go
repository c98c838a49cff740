// Package cputime reads the CPU time this process has used, for the load
// tool and the benchmarks, which report CPU per request or per event.
package cputime
