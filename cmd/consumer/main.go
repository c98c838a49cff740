// Command consumer is gopherbot's consumer process: it reads the queued Slack
// events from Redis and answers them in Slack. See internal/consumer.
package main

import (
	"github.com/gophers/gopherbot/config"
	"github.com/gophers/gopherbot/internal/cli"
	"github.com/gophers/gopherbot/internal/consumer"
)

func main() { cli.Main("consumer", config.Consumer, consumer.Run) }
