// Package glossary is the data and lookup behind the `define` command: Go
// terms with short definitions and links. It is pure data: no Slack, no Redis.
//
// CONTRACT STUB: the implementation replaces the panics.
package glossary

// Entry is one term.
type Entry struct {
	Term       string   // canonical spelling, e.g. "goroutine"
	Aliases    []string // other names, e.g. "go routine"
	Definition string   // one to three sentences, our own words
	Link       string   // spec, docs or blog URL
}

// Glossary looks terms up.
type Glossary struct{}

// New builds a glossary, refusing duplicate terms or aliases and bad links.
func New(entries []Entry) (*Glossary, error) { panic("unimplemented") }

// Default is the built-in glossary.
func Default() *Glossary { panic("unimplemented") }

// Lookup finds a term or alias, forgiving case, surrounding punctuation and plurals.
func (g *Glossary) Lookup(term string) (Entry, bool) { panic("unimplemented") }

// Suggest returns up to n known terms close to term, best first ("did you mean").
func (g *Glossary) Suggest(term string, n int) []string { panic("unimplemented") }

// Entries returns every entry, sorted by term.
func (g *Glossary) Entries() []Entry { panic("unimplemented") }
