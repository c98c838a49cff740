// Command gateway is gopherbot's Slack Events API endpoint: it verifies each
// event and appends it to the Redis stream of its kind. Settings come from the
// environment (see the README).
package main

import (
	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/cli"
	"github.com/gophers/gopherbot/internal/gateway"
)

func main() {
	cli.Main("gateway", config.Gateway, gateway.Run)
}
