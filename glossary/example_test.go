package glossary_test

import (
	"fmt"

	"github.com/gophers/gopherbot/glossary"
)

func ExampleGlossary_Lookup() {
	g := glossary.Default()
	e, ok := g.Lookup("the Goroutines?")
	fmt.Println(ok, e.Term)
	fmt.Println(e.Link)
	// Output:
	// true goroutine
	// https://go.dev/ref/spec#Go_statements
}

func ExampleGlossary_Suggest() {
	g := glossary.Default()
	if _, ok := g.Lookup("slcie"); !ok {
		fmt.Println("did you mean:", g.Suggest("slcie", 3))
	}
	fmt.Println("nonsense:", len(g.Suggest("qwertyuiop", 3)))
	// Output:
	// did you mean: [slice]
	// nonsense: 0
}

func ExampleNew() {
	g, err := glossary.New([]glossary.Entry{{
		Term:       "gopher",
		Aliases:    []string{"mascot"},
		Definition: "The Go mascot, and what Go programmers call themselves.",
		Link:       "https://go.dev/blog/gopher",
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	e, _ := g.Lookup("Mascots")
	fmt.Println(e.Term)

	_, err = glossary.New([]glossary.Entry{{
		Term:       "gopher",
		Definition: "The Go mascot, and what Go programmers call themselves.",
		Link:       "http://example.com/gopher",
	}})
	fmt.Println(err)
	// Output:
	// gopher
	// glossary: invalid entry: entry 0 ("gopher"): link "http://example.com/gopher" is not https
}
