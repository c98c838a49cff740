// Package redistest starts throwaway redis-server processes for tests.
//
// Tests talk to a real Redis, never a mock, and never to a Redis they did not
// start: each Server runs on a free loopback port with persistence off, in a
// temporary directory, and is killed when the test ends, or on Linux when
// the test process dies without ending it.
package redistest

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server process owned by one test.
type Server struct {
	tb   testing.TB
	Addr string // host:port
	dir  string

	// Set by StartTLS: the server speaks only TLS and wants a password.
	tls      *tls.Config // how its clients trust it
	password string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
}

// binary finds redis-server or fails the test with how to install it.
func binary(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("REDIS_SERVER_BIN"); p != "" {
		return p
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Fatalf("redistest: redis-server is not on PATH; the tests need a real Redis 7.\n" +
			"Install it with `apt-get install redis-server` (Debian/Ubuntu) or `brew install redis` (macOS),\n" +
			"or point REDIS_SERVER_BIN at the binary. .ci/run installs it when missing.")
	}
	return p
}

// Start starts a fresh redis-server and stops it when tb ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	return launch(&Server{tb: tb, dir: tb.TempDir()})
}

// launch starts s on a free port and stops it when its test ends.
func launch(s *Server) *Server {
	tb := s.tb
	tb.Helper()
	// Between choosing a free port and redis-server binding it, another
	// test may take it; then try another port.
	var err error
	for range 5 {
		port, perr := freePort()
		if perr != nil {
			tb.Fatalf("redistest: no free port: %v", perr)
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err = s.tryStart(); err == nil {
			tb.Cleanup(s.kill)
			return s
		}
	}
	tb.Fatalf("redistest: %v", err)
	return nil
}

func (s *Server) start() {
	s.tb.Helper()
	if err := s.tryStart(); err != nil {
		s.tb.Fatalf("redistest: %v", err)
	}
}

// tryStart starts redis-server on s.Addr and waits until it answers. It
// checks that the server answering is its own process, not another test's
// that holds the port.
func (s *Server) tryStart() error {
	_, port, _ := net.SplitHostPort(s.Addr)
	args := []string{"--port", port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no",
		"--dir", s.dir, "--daemonize", "no",
		"--loglevel", "warning", "--logfile", filepath.Join(s.dir, "redis.log")}
	if s.tls != nil {
		// TLS options only when asked, as a redis-server built without TLS
		// refuses them. The later --port 0 wins: no plain port.
		args = append(args, "--port", "0", "--tls-port", port,
			"--tls-cert-file", filepath.Join(s.dir, "cert.pem"),
			"--tls-key-file", filepath.Join(s.dir, "key.pem"),
			"--tls-ca-cert-file", filepath.Join(s.dir, "cert.pem"),
			"--tls-auth-clients", "no", "--requirepass", s.password)
	}
	cmd := exec.Command(binary(s.tb), args...)
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()

	want := "process_id:" + strconv.Itoa(cmd.Process.Pid)
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			return fmt.Errorf("redis-server on %s exited at start; its log:\n%s", s.Addr, log)
		default:
		}
		if info, err := s.info(); err == nil {
			if strings.Contains(info, want) {
				return nil
			}
			// Someone else's server answers on this port.
			s.kill()
			return fmt.Errorf("port of %s is taken by another redis-server", s.Addr)
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.kill()
			return fmt.Errorf("redis-server on %s did not answer within 10s; its log:\n%s", s.Addr, log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// info asks the server at s.Addr for INFO server over a raw connection.
func (s *Server) info() (string, error) {
	var c net.Conn
	var err error
	d := &net.Dialer{Timeout: 200 * time.Millisecond}
	if s.tls != nil {
		c, err = tls.DialWithDialer(d, "tcp", s.Addr, s.tls)
	} else {
		c, err = d.Dial("tcp", s.Addr)
	}
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	r := bufio.NewReader(c)
	if s.password != "" {
		if _, err := fmt.Fprintf(c, "AUTH %s\r\n", s.password); err != nil {
			return "", err
		}
		if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "+OK") {
			return "", fmt.Errorf("AUTH: %q %v", line, err)
		}
	}
	if _, err := fmt.Fprintf(c, "INFO server\r\n"); err != nil {
		return "", err
	}
	head, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(head, "$") {
		return "", fmt.Errorf("not ready: %q %v", head, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[1:]))
	if err != nil {
		return "", err
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return "", err
	}
	return string(body), nil
}

// URL is the redis:// URL of the server.
func (s *Server) URL() string {
	if s.tls != nil {
		return "rediss://:" + s.password + "@" + s.Addr
	}
	return "redis://" + s.Addr
}

// Client returns a new client of the server, closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(s.options())
	s.tb.Cleanup(func() { c.Close() })
	return c
}

// Stop kills the server (SIGKILL: what a crash looks like) and waits for it.
func (s *Server) Stop() { s.kill() }

// Restart starts the server again on the same address after Stop. Its data
// is gone, as persistence is off.
func (s *Server) Restart() { s.tb.Helper(); s.start() }

func (s *Server) kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// Flush empties every database: for tests that share one server.
func (s *Server) Flush(ctx context.Context) error {
	c := redis.NewClient(s.options())
	defer c.Close()
	return c.FlushAll(ctx).Err()
}

// options are the client options of the server.
func (s *Server) options() *redis.Options {
	return &redis.Options{Addr: s.Addr, TLSConfig: s.tls, Password: s.password}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
