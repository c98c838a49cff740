package commands

import (
	"testing"
)

// BenchmarkServeMessage measures what the features registered here cost per
// message, through the real Mux with a recording Responder. "chatter" is
// the common case: an unaddressed message that matches nothing. "paste" is
// the playground matcher's worst case short of sharing (the channel is
// deny-listed, so nothing is sent).
func BenchmarkServeMessage(b *testing.B) {
	e := newEnv(b)
	for _, bc := range []struct {
		name string
		raw  string
		ch   string
	}{
		{"chatter", "has anyone tried the new iterator functions with maps? they look neat", "CGENERAL"},
		{"command", "<@UBOT> http timeouts <@UBOB>", "CGENERAL"},
		{"define", "<@UBOT> define goroutines", "CGENERAL"},
		{"paste", "```" + slackEscape(goCode(40)) + "```", "COFFTOPIC"},
	} {
		m := message(bc.raw, inChannel(bc.ch))
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.serve(b, m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
