package config

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/gophers/gopherbot/internal/redistest"
)

// TestRedisOverTLS connects, as every process does, with the options the
// settings give, to a real redis-server that speaks only TLS with a
// certificate no public authority signed, as Heroku Redis does.
func TestRedisOverTLS(t *testing.T) {
	s := redistest.StartTLS(t)
	ping := func(skipVerify bool, url string) error {
		c, err := Load(env(map[string]string{
			"REDIS_URL":             url,
			"REDIS_TLS_SKIP_VERIFY": map[bool]string{true: "1", false: ""}[skipVerify],
			"SLACK_SIGNING_SECRET":  "s",
		}), Gateway)
		if err != nil {
			t.Fatal(err)
		}
		opts, err := c.RedisOptions()
		if err != nil {
			t.Fatal(err)
		}
		opts.MaxRetries = -1
		rdb := redis.NewClient(opts)
		defer rdb.Close()
		return rdb.Ping(context.Background()).Err()
	}

	if err := ping(true, s.URL()); err != nil {
		t.Errorf("REDIS_TLS_SKIP_VERIFY=1: %v", err)
	}
	var unknown x509.UnknownAuthorityError
	if err := ping(false, s.URL()); !errors.As(err, &unknown) {
		t.Errorf("without REDIS_TLS_SKIP_VERIFY: %v, want the certificate refused", err)
	}
	wrong := strings.Replace(s.URL(), "rediss://:", "rediss://:wrong", 1)
	if err := ping(true, wrong); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Errorf("wrong password: %v, want WRONGPASS", err)
	}
	plain := strings.Replace(s.URL(), "rediss://", "redis://", 1)
	if err := ping(true, plain); err == nil {
		t.Error("redis:// to a TLS-only server answered")
	}
}
