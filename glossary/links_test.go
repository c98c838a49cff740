package glossary

import (
	"bytes"
	"go/ast"
	"go/doc/comment"
	"go/parser"
	"go/token"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDefaultLinkTargetsExist checks, without the network, the links whose
// targets ship with Go itself: anchors of the spec and the memory model
// against the HTML in GOROOT/doc, and pkg.go.dev links to the standard
// library against its source (the package must exist, and a #fragment must
// name an exported symbol, Type.Method, or a heading of the package
// documentation), and likewise links into golang.org/x modules that this
// module depends on, when the module cache has them. Other links are only
// checked for form, by New.
func TestDefaultLinkTargetsExist(t *testing.T) {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skipf("no go command to find GOROOT: %v", err)
	}
	goroot := strings.TrimSpace(string(out))
	specIDs := htmlIDs(t, filepath.Join(goroot, "doc", "go_spec.html"))
	memIDs := htmlIDs(t, filepath.Join(goroot, "doc", "go_mem.html"))

	// pkg.go.dev pages that are part of the site, not packages.
	sitePages := map[string]bool{"about": true}

	var checked int
	for _, e := range builtin {
		u, err := url.Parse(e.Link)
		if err != nil {
			t.Errorf("%s: %v", e.Term, err)
			continue
		}
		switch {
		case u.Host == "go.dev" && u.Path == "/ref/spec":
			if u.Fragment != "" && !specIDs[u.Fragment] {
				t.Errorf("%s: the spec has no anchor #%s", e.Term, u.Fragment)
			}
			checked++
		case u.Host == "go.dev" && u.Path == "/ref/mem":
			if u.Fragment != "" && !memIDs[u.Fragment] {
				t.Errorf("%s: the memory model has no anchor #%s", e.Term, u.Fragment)
			}
			checked++
		case u.Host == "pkg.go.dev":
			path := strings.Trim(u.Path, "/")
			first, _, _ := strings.Cut(path, "/")
			if sitePages[path] {
				continue
			}
			if strings.Contains(first, ".") {
				// Outside the standard library: checked only when the
				// package is in a golang.org/x module this module already
				// depends on and the module cache holds it.
				dir := xPackageDir(path)
				if dir == "" {
					continue
				}
				if u.Fragment != "" && !stdHas(t, dir, u.Fragment) {
					t.Errorf("%s: package %s has no symbol or heading %q", e.Term, path, u.Fragment)
				}
				checked++
				continue
			}
			dir := filepath.Join(goroot, "src", filepath.FromSlash(path))
			if _, err := os.Stat(dir); err != nil {
				t.Errorf("%s: %s is not a standard library package: %v", e.Term, path, err)
				continue
			}
			if u.Fragment != "" && !stdHas(t, dir, u.Fragment) {
				t.Errorf("%s: package %s has no symbol or heading %q", e.Term, path, u.Fragment)
			}
			checked++
		}
	}
	// Most links point at the spec or the standard library; if none were
	// checked, the test itself is broken.
	if checked < len(builtin)/2 {
		t.Errorf("checked only %d of %d links offline", checked, len(builtin))
	}
}

// xPackageDir returns the directory of the package path when it lies in a
// golang.org/x module of this module's build list that is already in the
// module cache, or "". It never downloads anything.
func xPackageDir(path string) string {
	rest, ok := strings.CutPrefix(path, "golang.org/x/")
	if !ok {
		return ""
	}
	name, sub, _ := strings.Cut(rest, "/")
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "golang.org/x/"+name)
	cmd.Env = append(os.Environ(), "GOPROXY=off")
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return ""
	}
	dir = filepath.Join(dir, filepath.FromSlash(sub))
	if _, err := os.Stat(dir); err != nil {
		return ""
	}
	return dir
}

var idAttr = regexp.MustCompile(`\bid="([^"]+)"`)

func htmlIDs(t *testing.T, file string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Skipf("no local copy of the Go documents: %v", err)
	}
	ids := make(map[string]bool)
	for _, m := range idAttr.FindAllSubmatch(b, -1) {
		ids[string(m[1])] = true
	}
	if len(ids) == 0 {
		t.Fatalf("%s has no anchors", file)
	}
	return ids
}

// stdHas reports whether the package in dir has the pkg.go.dev anchor frag:
// a heading of its documentation ("hdr-..."), an exported top-level name,
// or Type.Method. To stay quick under -race it parses only what it must:
// package clauses for headings, and for names only the files that mention
// the name at all.
func stdHas(t *testing.T, dir, frag string) bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	typ, name, isMethod := strings.Cut(frag, ".")
	if !isMethod {
		name = typ
	}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(frag, "hdr-") {
			f, err := parser.ParseFile(fset, file, src, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatalf("parsing %s: %v", file, err)
			}
			if f.Doc == nil {
				continue
			}
			var p comment.Parser
			for _, b := range p.Parse(f.Doc.Text()).Content {
				if h, ok := b.(*comment.Heading); ok && h.DefaultID() == frag {
					return true
				}
			}
			continue
		}
		if !bytes.Contains(src, []byte(name)) {
			continue
		}
		f, err := parser.ParseFile(fset, file, src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parsing %s: %v", file, err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Name.Name != name {
					continue
				}
				if !isMethod && d.Recv == nil {
					return true
				}
				if isMethod && d.Recv != nil && receiverName(d.Recv.List[0].Type) == typ {
					return true
				}
			case *ast.GenDecl:
				if isMethod {
					continue
				}
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.Name == name {
							return true
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.Name == name {
								return true
							}
						}
					}
				}
			}
		}
	}
	return false
}

// receiverName returns T for receivers T, *T, T[P] and *T[P].
func receiverName(x ast.Expr) string {
	for {
		switch e := x.(type) {
		case *ast.StarExpr:
			x = e.X
		case *ast.IndexExpr:
			x = e.X
		case *ast.IndexListExpr:
			x = e.X
		case *ast.Ident:
			return e.Name
		default:
			return ""
		}
	}
}
