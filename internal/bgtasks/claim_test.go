package bgtasks

import (
	"context"
	"testing"
)

// A claim sent twice (go-redis repeating it after a lost reply) is ours
// both times; another's claim of the same item is not; a release leaves a
// claim that is no longer ours alone, and a release sent twice is done.
func TestSetClaim(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const set = keyPrefix + "test:seen"
	check := func(what string, got bool, err error, want bool) {
		t.Helper()
		if err != nil || got != want {
			t.Fatalf("%s = %v, %v; want %v", what, got, err, want)
		}
	}
	mine := newSetClaim(set, "item")
	ok, err := mine.claim(ctx, e.rdb, 1)
	check("claim", ok, err, true)
	ok, err = mine.claim(ctx, e.rdb, 1)
	check("the same claim again", ok, err, true)
	ok, err = newSetClaim(set, "item").claim(ctx, e.rdb, 1)
	check("another claim of the item", ok, err, false)

	ok, err = mine.release(ctx, e.rdb)
	check("release", ok, err, true)
	ok, err = mine.release(ctx, e.rdb)
	check("the same release again", ok, err, true)
	if n := e.rdb.ZCard(ctx, set).Val(); n != 0 {
		t.Fatalf("%d members after the release; want none", n)
	}

	// Someone else claims the item after our release: a late repeat of our
	// release, or of our claim, leaves theirs alone.
	theirs := newSetClaim(set, "item")
	ok, err = theirs.claim(ctx, e.rdb, 2)
	check("their claim", ok, err, true)
	ok, err = mine.release(ctx, e.rdb)
	check("our release over their claim", ok, err, false)
	ok, err = mine.claim(ctx, e.rdb, 1)
	check("our claim over theirs", ok, err, false)
	if s, err := e.rdb.ZScore(ctx, set, "item").Result(); err != nil || s != 2 {
		t.Errorf("their claim after ours came back: score %v, %v; want 2", s, err)
	}
}
