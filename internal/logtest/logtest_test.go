package logtest

import (
	"slices"
	"testing"
)

func TestDuplicateKeys(t *testing.T) {
	var b Buffer
	b.Write([]byte(`{"level":"info","component":"consumer","message":"ok"}` + "\n"))
	b.Write([]byte(`{"component":"consumer","component":"workqueue"}` + "\n"))
	b.Write([]byte(`{"stats":{"a":1,"b":{"c":1,"c":2}},"list":[{"x":1,"x":1}],"stats":2}` + "\n"))
	b.Write([]byte("not json\n"))
	got := b.DuplicateKeys()
	want := []string{"line 2: component", "line 3: c", "line 3: x", "line 3: stats"}
	if len(got) != len(want)+1 || !slices.Equal(got[:len(want)], want) {
		t.Errorf("DuplicateKeys() = %q, want %q and then a not-JSON line", got, want)
	}
	if len(got) == len(want)+1 && got[len(want)][:14] != "line 4: not JS" {
		t.Errorf("last = %q, want line 4 reported as not JSON", got[len(want)])
	}
}
