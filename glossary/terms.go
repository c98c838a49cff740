package glossary

// Links to the spec use the anchors of go.dev/ref/spec as of Go 1.26, and
// links to pkg.go.dev use real package paths, symbols and "hdr-" headings;
// the tests check both against the installed Go distribution.

const (
	spec  = "https://go.dev/ref/spec#"
	mod   = "https://go.dev/ref/mod#"
	pkg   = "https://pkg.go.dev/"
	blog  = "https://go.dev/blog/"
	doc   = "https://go.dev/doc/"
	goCmd = pkg + "cmd/go#hdr-"
)

// builtin is the data behind Default. Every definition is ours, written for
// this bot; facts and links come from the Go project's own pages.
var builtin = []Entry{
	// The language: concurrency.
	{
		Term:       "goroutine",
		Aliases:    []string{"go routine", "go statement", "green thread"},
		Definition: "A goroutine is a function running concurrently with the rest of the program, started by writing go in front of a call. Goroutines are cheap: each begins with a stack of a few kilobytes, and the runtime schedules many thousands of them onto a handful of OS threads.",
		Link:       spec + "Go_statements",
	},
	{
		Term:       "channel",
		Aliases:    []string{"chan", "unbuffered channel", "<-"},
		Definition: "A channel is a typed pipe that goroutines use to hand values to each other with the <- operator. On an unbuffered channel a send waits until another goroutine receives, so every transfer is also a synchronisation point.",
		Link:       spec + "Channel_types",
	},
	{
		Term:       "buffered channel",
		Definition: "A channel created with a capacity, as in make(chan T, 10). A send waits only when the buffer is full and a receive only when it is empty, so a buffered channel also works as a queue or as a counting semaphore.",
		Link:       spec + "Channel_types",
	},
	{
		Term:       "nil channel",
		Definition: "The zero value of a channel type. Sends and receives on it block forever, which inside a select switches that case off: setting a channel variable to nil is the usual way to stop selecting on it.",
		Link:       spec + "Channel_types",
	},
	{
		Term:       "close",
		Aliases:    []string{"closed channel", "close channel"},
		Definition: "The built-in close(ch) marks a channel as done: receivers get any values still buffered, then the zero value at once, with ok false in v, ok := <-ch, and a for range loop over it ends. Sending on a closed channel or closing it twice panics, so by convention only the sender closes.",
		Link:       spec + "Close",
	},
	{
		Term:       "select",
		Aliases:    []string{"select statement"},
		Definition: "select waits on several channel sends and receives at once and runs the case of one that is ready, picking at random when more than one is. With a default case it never blocks, which gives a send or receive that gives up immediately.",
		Link:       spec + "Select_statements",
	},

	// The language: control flow and functions.
	{
		Term:       "defer",
		Aliases:    []string{"defer statement", "deferred function", "deferred call"},
		Definition: "defer schedules a call to run when the surrounding function returns, even when it is panicking. Deferred calls run in last-in, first-out order, and their arguments are evaluated when the defer statement runs, not when the call finally happens.",
		Link:       spec + "Defer_statements",
	},
	{
		Term:       "panic",
		Definition: "panic stops the ordinary flow of a goroutine: its deferred calls run while the stack unwinds, and if none of them recovers, the whole program exits printing the panic value and a stack trace. It is meant for bugs and impossible states, not for errors callers should expect.",
		Link:       spec + "Handling_panics",
	},
	{
		Term:       "recover",
		Definition: "The built-in recover, called directly by a deferred function, stops a panic in progress and returns the value passed to panic. Called anywhere else, or when nothing is panicking, it returns nil. Servers use it to keep one bad request from bringing down the process.",
		Link:       spec + "Handling_panics",
	},
	{
		Term:       "run-time panic",
		Aliases:    []string{"runtime error", "nil pointer dereference", "index out of range", "division by zero"},
		Definition: "A panic raised by the runtime when an operation cannot go on, such as indexing past the end of a slice, dereferencing a nil pointer, writing to a nil map or dividing an integer by zero. Its value implements the runtime.Error interface.",
		Link:       spec + "Run_time_panics",
	},
	{
		Term:       "closure",
		Definition: "A closure is a function value that uses variables of the function around it. It shares those variables rather than copying them, and they stay alive for as long as the closure does.",
		Link:       spec + "Function_literals",
	},
	{
		Term:       "anonymous function",
		Aliases:    []string{"function literal", "func literal", "lambda"},
		Definition: "A function written inline without a name, such as func(x int) int { return x * 2 }. It can be stored in a variable, passed as an argument, or started with go; when it uses variables from around it, it is a closure.",
		Link:       spec + "Function_literals",
	},
	{
		Term:       "function value",
		Aliases:    []string{"first-class function", "function type", "func type"},
		Definition: "Functions in Go are values: they can be stored in variables, passed as arguments and returned, with types such as func(string) error. The zero value of a function type is nil, and calling a nil function panics.",
		Link:       spec + "Function_types",
	},
	{
		Term:       "method value",
		Definition: "Writing x.M without calling it gives a function with x already bound as its receiver, for example passing s.handle to http.HandleFunc. The receiver is evaluated at that moment; if M has a value receiver, it is copied then too, so later changes to x do not reach the call.",
		Link:       spec + "Method_values",
	},
	{
		Term:       "variadic function",
		Aliases:    []string{"variadic", "varargs", "..."},
		Definition: "A function whose last parameter is written ...T accepts any number of trailing arguments, which it sees as a []T. To pass an existing slice, write s..., and the function then receives that very slice, not a copy.",
		Link:       spec + "Passing_arguments_to_..._parameters",
	},
	{
		Term:       "switch",
		Aliases:    []string{"switch statement", "expression switch"},
		Definition: "A switch tries its cases from top to bottom and runs only the first that matches, with no break needed. A case can list several values, and a switch with no expression, as in switch { case x < 0: ... }, is a tidy if-else chain.",
		Link:       spec + "Switch_statements",
	},
	{
		Term:       "fallthrough",
		Definition: "Go's switch does not fall through from one case to the next by default. A fallthrough statement at the end of a case moves control into the next case's body without testing its condition; type switches do not allow it.",
		Link:       spec + "Fallthrough_statements",
	},
	{
		Term:       "for loop",
		Aliases:    []string{"for", "for statement", "while loop", "loop"},
		Definition: "for is Go's only loop keyword. It comes as the three-part for i := 0; i < n; i++, the condition-only form other languages call while, the bare for {} that runs until a break or return, and for range.",
		Link:       spec + "For_statements",
	},
	{
		Term:       "range",
		Aliases:    []string{"for range", "range loop", "range clause"},
		Definition: "for range iterates over an array, slice, string, map, channel, integer or iterator function, yielding index and element, key and value, or byte offset and rune. Since Go 1.22, in modules whose go.mod says go 1.22 or later, every iteration gets fresh loop variables, so a closure sees the values of its own iteration.",
		Link:       spec + "For_range",
	},
	{
		Term:       "range over int",
		Aliases:    []string{"range over integer", "range int"},
		Definition: "Since Go 1.22, for i := range n runs the loop body n times with i counting from 0 to n-1, and not at all when n is zero or negative. It is a shorter way to write the classic counting loop.",
		Link:       spec + "For_range",
	},
	{
		Term:       "iterator",
		Aliases:    []string{"range over func", "range over function", "iter.Seq", "iter.Seq2", "push iterator", "pull iterator", "iter.Pull", "iter"},
		Definition: "Since Go 1.23 for range can loop over a function such as func(yield func(V) bool): the function calls yield for each value, and yield returns false when the loop stops early, as with break or return. Package iter names these shapes Seq and Seq2, functions such as slices.All and maps.Keys return them, and iter.Pull turns one into a next function to call.",
		Link:       blog + "range-functions",
	},
	{
		Term:       "loop variable",
		Aliases:    []string{"loopvar", "loop variable capture"},
		Definition: "Since Go 1.22, in modules whose go.mod says go 1.22 or later, each iteration of a for loop has its own copy of the variables the loop declares. Before, all iterations shared one variable, and goroutines or closures capturing it often all saw the last value.",
		Link:       blog + "loopvar-preview",
	},
	{
		Term:       "label",
		Aliases:    []string{"labeled statement", "labelled statement", "break label", "continue label"},
		Definition: "A label is a name and a colon in front of a statement. break L and continue L use it to leave or continue an outer loop from inside a nested loop, switch or select, and goto L jumps to it.",
		Link:       spec + "Labeled_statements",
	},
	{
		Term:       "goto",
		Definition: "goto L moves control to the label L in the same function. The compiler rejects jumps into a block or over a variable declaration into that variable's scope. In practice goto shows up mostly in generated code and a few hand-tuned loops.",
		Link:       spec + "Goto_statements",
	},
	{
		Term:       "semicolon",
		Aliases:    []string{"semicolon insertion", "brace style"},
		Definition: "Go's grammar uses semicolons, but the lexer inserts them itself at the end of a line that ends in a name, a literal, a closing bracket or a keyword such as return. That is why an opening brace must stay on the same line as its if, for or func.",
		Link:       spec + "Semicolons",
	},

	// The language: types.
	{
		Term:       "interface",
		Aliases:    []string{"interface type", "iface"},
		Definition: "An interface type describes behaviour as a set of methods. Any type that has those methods satisfies it automatically, with no declaration saying so, and a variable of the interface type can hold any such value and call the methods on it.",
		Link:       spec + "Interface_types",
	},
	{
		Term:       "any",
		Aliases:    []string{"empty interface", "interface{}"},
		Definition: "any is a predeclared alias, added in Go 1.18, for interface{}, the interface with no methods. Every type satisfies it, so it can hold a value of any type, but you need a type assertion or a type switch to get the concrete value back out.",
		Link:       spec + "Interface_types",
	},
	{
		Term:       "nil interface",
		Aliases:    []string{"typed nil", "nil error"},
		Definition: "An interface value is nil only when it holds neither a type nor a value. Storing a nil pointer in it gives a non-nil interface, which is why a function that returns a nil *MyError as its error makes err != nil true.",
		Link:       doc + "faq#nil_error",
	},
	{
		Term:       "method",
		Definition: "A method is a function attached to a type through a receiver, declared as func (r T) Name(). You can declare methods on any type defined in your own package, including non-struct types such as type Celsius float64, though not on interface types or types like type P *int.",
		Link:       spec + "Method_declarations",
	},
	{
		Term:       "method set",
		Definition: "The method set of a type decides which interfaces it implements. For a type T it holds the methods with value receivers; for *T it also holds those with pointer receivers, so sometimes only &v, not v, satisfies an interface.",
		Link:       spec + "Method_sets",
	},
	{
		Term:       "receiver",
		Aliases:    []string{"method receiver", "value receiver"},
		Definition: "The receiver is the parameter written before a method's name that stands for the value the method is called on, like s in func (s *Stack) Push(v int). Go has no this or self; you pick the name, usually one or two letters.",
		Link:       spec + "Method_declarations",
	},
	{
		Term:       "pointer receiver",
		Definition: "A method declared on *T rather than T. It can change the value it is called on and avoids copying it; calling it on an addressable T variable works because Go takes the address for you, but a T stored in an interface does not have the method.",
		Link:       spec + "Method_sets",
	},
	{
		Term:       "struct",
		Aliases:    []string{"struct type"},
		Definition: "A struct groups named fields of possibly different types into one value, as in type Point struct{ X, Y int }. Structs are values: assigning one or passing it to a function copies every field, so pass a pointer when the callee must change it.",
		Link:       spec + "Struct_types",
	},
	{
		Term:       "empty struct",
		Aliases:    []string{"struct{}"},
		Definition: "struct{} has no fields and occupies no memory, so it marks presence without storing anything: map[string]struct{} is a set, and chan struct{} carries signals rather than data.",
		Link:       spec + "Size_and_alignment_guarantees",
	},
	{
		Term:       "embedding",
		Aliases:    []string{"struct embedding", "embedded field", "type embedding", "interface embedding"},
		Definition: "Listing a type in a struct without a field name embeds it: its fields and methods are promoted and can be used as if the outer struct declared them. It is composition, not inheritance, and interfaces can embed other interfaces to combine their methods.",
		Link:       spec + "Struct_types",
	},
	{
		Term:       "slice",
		Aliases:    []string{"slice type"},
		Definition: "A slice is a window onto an underlying array, made of a pointer, a length and a capacity. Slices cut from the same array share its elements, and append moves the data to a new, bigger array when the capacity runs out.",
		Link:       spec + "Slice_types",
	},
	{
		Term:       "nil slice",
		Aliases:    []string{"empty slice"},
		Definition: "A nil slice has no underlying array and a length and capacity of 0; append, len, range and slicing all work on it, so it rarely needs special care. It differs from an empty slice like []int{} mainly in == nil checks and in encoding/json, which writes it as null.",
		Link:       spec + "Slice_types",
	},
	{
		Term:       "array",
		Aliases:    []string{"array type"},
		Definition: "An array is a fixed-size sequence whose length is part of its type: [3]int and [4]int are different types. Arrays are values, so assigning or passing one copies every element; most code uses slices instead.",
		Link:       spec + "Array_types",
	},
	{
		Term:       "map",
		Aliases:    []string{"map type", "hash map", "hashmap", "dictionary", "dict"},
		Definition: "A map is Go's built-in hash table, map[K]V, with keys of any comparable type. Reading a missing key yields the zero value, iteration order is deliberately unpredictable, and writing to a nil map panics, so create maps with make or a literal.",
		Link:       spec + "Map_types",
	},
	{
		Term:       "string",
		Aliases:    []string{"string type"},
		Definition: "A string is an immutable sequence of bytes, usually but not necessarily UTF-8 text. len(s) counts bytes, s[i] is a byte, and for range over a string decodes it into runes.",
		Link:       spec + "String_types",
	},
	{
		Term:       "rune",
		Aliases:    []string{"rune literal", "code point"},
		Definition: "rune is another name for int32, used to hold one Unicode code point. A rune literal such as 'x' or 'é' is an untyped constant, and for range over a string yields runes together with their byte offsets.",
		Link:       spec + "Numeric_types",
	},
	{
		Term:       "byte",
		Aliases:    []string{"uint8", "[]byte", "byte slice"},
		Definition: "byte is another name for uint8, the element type of strings and of []byte buffers. Converting between string and []byte normally copies the bytes, because a string must never change.",
		Link:       spec + "Numeric_types",
	},
	{
		Term:       "unicode",
		Aliases:    []string{"utf-8", "utf8", "unicode/utf8"},
		Definition: "Go source code is UTF-8, string literals usually hold UTF-8 text, and for range over a string decodes UTF-8 into runes. Invalid bytes decode as the replacement character U+FFFD, and package unicode/utf8 has the low-level helpers.",
		Link:       blog + "strings",
	},
	{
		Term:       "pointer",
		Aliases:    []string{"pointer type"},
		Definition: "A pointer *T holds the address of a variable of type T: &x takes an address and *p reads or writes through it. There is no pointer arithmetic outside package unsafe, and returning the address of a local variable is safe because the compiler moves it to the heap when needed.",
		Link:       spec + "Pointer_types",
	},
	{
		Term:       "pass by value",
		Aliases:    []string{"pass by reference", "call by value"},
		Definition: "Go passes every argument by value: the function gets a copy. Slices, maps, channels, pointers and interfaces are small values that refer to shared data, so a callee can change what they point to, but assigning to the parameter never affects the caller.",
		Link:       doc + "faq#pass_by_value",
	},
	{
		Term:       "type assertion",
		Definition: "x.(T) takes the value of type T out of the interface value x or, when T is an interface, checks that x's value also implements T. The one-result form panics when x does not hold a T; v, ok := x.(T) sets ok to false instead.",
		Link:       spec + "Type_assertions",
	},
	{
		Term:       "type switch",
		Definition: "A switch on v := x.(type) that chooses a case by the dynamic type held in the interface value x. In a case naming a single type, v has that type; in the other cases v keeps the type of x.",
		Link:       spec + "Type_switches",
	},
	{
		Term:       "conversion",
		Aliases:    []string{"type conversion", "cast", "type cast"},
		Definition: "T(x) converts x to type T, for example between numeric types, between string and []byte or []rune, or between types with the same underlying type. Go never converts between numeric types on its own, not even int to int64, and numeric conversions may silently truncate or round.",
		Link:       spec + "Conversions",
	},
	{
		Term:       "type alias",
		Aliases:    []string{"alias declaration", "alias"},
		Definition: "type A = B makes A another name for B: they are the same type with the same methods, which helps when moving a type between packages. Since Go 1.24 aliases may have type parameters. Without the =, type A B defines a new, distinct type instead.",
		Link:       spec + "Alias_declarations",
	},
	{
		Term:       "defined type",
		Aliases:    []string{"named type", "type definition", "type declaration"},
		Definition: "type Celsius float64 creates a new type with float64 as its underlying type but an identity of its own: a Celsius and a float64 cannot be mixed without a conversion, and Celsius can have methods of its own.",
		Link:       spec + "Type_definitions",
	},
	{
		Term:       "underlying type",
		Definition: "Every type has an underlying type: for predeclared types and type literals it is the type itself, and for type T U it is the underlying type of U. It decides which operations and conversions a type allows, and it is what ~T in a constraint matches.",
		Link:       spec + "Underlying_types",
	},
	{
		Term:       "composite literal",
		Aliases:    []string{"struct literal", "slice literal", "map literal"},
		Definition: "An expression that builds a struct, array, slice or map in place, such as Point{X: 1, Y: 2}, []string{\"a\", \"b\"} or map[string]int{\"x\": 1}. Putting & in front, as in &Point{}, allocates a new variable and yields its address.",
		Link:       spec + "Composite_literals",
	},
	{
		Term:       "zero value",
		Definition: "Every variable starts out at its type's zero value unless you initialise it: 0 for numbers, false, \"\" for strings, and nil for pointers, slices, maps, channels, functions and interfaces. Structs and arrays get the zero value in every field and element.",
		Link:       spec + "The_zero_value",
	},
	{
		Term:       "nil",
		Definition: "nil is the zero value of pointers, slices, maps, channels, functions and interfaces, and it has no type of its own until context gives it one. What nil allows depends on the kind: a nil slice can be appended to, but a nil map cannot be written to.",
		Link:       spec + "Predeclared_identifiers",
	},
	{
		Term:       "integer overflow",
		Aliases:    []string{"overflow", "wraparound"},
		Definition: "Arithmetic on integer variables wraps around silently: adding 1 to an int8 holding 127 gives -128, with no panic. A constant that does not fit its type, on the other hand, is a compile error.",
		Link:       spec + "Integer_overflow",
	},

	// The language: declarations and names.
	{
		Term:       "iota",
		Definition: "Inside a const block, iota is the index of the current constant spec, starting at 0 and restarting in each block. Together with the rule that an omitted expression repeats the previous one, it numbers enumerations: const ( A = iota; B; C ) gives 0, 1 and 2.",
		Link:       spec + "Iota",
	},
	{
		Term:       "enum",
		Aliases:    []string{"enumeration", "enumerated type"},
		Definition: "Go has no enum keyword. The usual pattern is a defined integer type with a block of constants numbered by iota, often with a String method, generated by the stringer tool, for printing them.",
		Link:       spec + "Iota",
	},
	{
		Term:       "constant",
		Aliases:    []string{"const"},
		Definition: "A constant is a value known at compile time, a boolean, rune, number or string, declared with const. The compiler evaluates constant expressions itself, so only constants and a few built-ins, such as len of an array, may appear in them.",
		Link:       spec + "Constants",
	},
	{
		Term:       "untyped constant",
		Definition: "A constant with no explicit type, such as 42, 1.5 or 1 << 40, which the compiler keeps exact. It takes a type only where it is used, which is why one literal can be an int in one place and a float64 or a time.Duration in another.",
		Link:       spec + "Constants",
	},
	{
		Term:       "variable declaration",
		Aliases:    []string{"var"},
		Definition: "var x T declares a variable of type T set to its zero value, and var x = expr takes the type from the expression. Unlike :=, var also works at package level; the compiler rejects local variables that are never used.",
		Link:       spec + "Variable_declarations",
	},
	{
		Term:       "short variable declaration",
		Aliases:    []string{":=", "walrus operator", "colon equals"},
		Definition: "name := value declares variables and gives them the types of their initial values; it is allowed only inside functions. With several names on the left, at least one must be new in that scope, and the others are simply assigned.",
		Link:       spec + "Short_variable_declarations",
	},
	{
		Term:       "shadowing",
		Aliases:    []string{"shadowed variable", "variable shadowing"},
		Definition: "Declaring a name in an inner block hides the same name from an outer block. A classic slip is x, err := f() inside an if or for body, which makes a new err and leaves the outer one untouched; the shadow analyzer from golang.org/x/tools reports such cases.",
		Link:       spec + "Declarations_and_scope",
	},
	{
		Term:       "blank identifier",
		Aliases:    []string{"_", "underscore"},
		Definition: "The underscore _ accepts a value and throws it away: unused results, loop indexes, parameters, or imports kept only for their side effects. It never creates a variable, so it can appear any number of times.",
		Link:       spec + "Blank_identifier",
	},
	{
		Term:       "exported identifier",
		Aliases:    []string{"exported", "unexported", "exported name", "public", "private", "visibility"},
		Definition: "A package-level name, struct field or method is exported, usable from other packages, when it starts with an upper-case letter, as in fmt.Println. Names starting in lower case stay private to their package; Go has no public or private keywords.",
		Link:       spec + "Exported_identifiers",
	},
	{
		Term:       "package",
		Aliases:    []string{"package clause"},
		Definition: "A package is a directory of .go files that share one package clause and are compiled together. Other code uses its exported names as pkgname.Name after importing it, and it is Go's unit of compilation and encapsulation.",
		Link:       spec + "Packages",
	},
	{
		Term:       "main package",
		Aliases:    []string{"package main", "func main", "main function"},
		Definition: "A program starts in the function main of package main, once every imported package has been initialised. When main returns, the program exits at once, without waiting for other goroutines to finish.",
		Link:       spec + "Program_execution",
	},
	{
		Term:       "init function",
		Aliases:    []string{"init", "func init"},
		Definition: "A function named init, with no parameters or results, runs by itself after the package's variables are initialised and before main starts. A package may have several, even in one file, and no code can call them directly.",
		Link:       spec + "Package_initialization",
	},
	{
		Term:       "import",
		Aliases:    []string{"import declaration", "import statement"},
		Definition: "An import declaration makes another package's exported names usable in a file, as in import \"net/http\". You refer to the package by its name or by an alias given in the import, and the compiler rejects imports that are not used.",
		Link:       spec + "Import_declarations",
	},
	{
		Term:       "blank import",
		Aliases:    []string{"side-effect import", "import _"},
		Definition: "import _ \"path\" loads a package only for the side effects of its initialisation, such as a database driver or an image format registering itself. None of its names become usable in the file.",
		Link:       doc + "effective_go#blank_import",
	},
	{
		Term:       "import path",
		Aliases:    []string{"package path"},
		Definition: "The string naming a package in an import, such as \"net/http\" or \"github.com/redis/go-redis/v9\". Standard library paths are short; other paths start with the path of the module holding the package, often a repository location without the scheme.",
		Link:       goCmd + "Import_path_syntax",
	},
	{
		Term:       "internal package",
		Aliases:    []string{"internal", "internal directory"},
		Definition: "A package whose path contains an element named internal, such as a/b/internal/c, can be imported only by code inside the tree rooted at a/b. Modules use it to share code between their own packages without making it public API.",
		Link:       goCmd + "Internal_Directories",
	},

	// The language: generics.
	{
		Term:       "generics",
		Aliases:    []string{"generic", "generic function", "generic type", "parametric polymorphism"},
		Definition: "Generics, added in Go 1.18, let functions and types take type parameters, so one implementation such as slices.Index works for many element types while the compiler still checks every use. Each type parameter has a constraint saying which types it accepts.",
		Link:       blog + "intro-generics",
	},
	{
		Term:       "type parameter",
		Aliases:    []string{"type argument"},
		Definition: "A placeholder for a type, declared in square brackets, like T in func Max[T cmp.Ordered](a, b T) T. Callers supply a type argument for it, written out or, more often, inferred from the ordinary arguments.",
		Link:       spec + "Type_parameter_declarations",
	},
	{
		Term:       "constraint",
		Aliases:    []string{"type constraint", "type set", "~"},
		Definition: "A constraint is an interface that limits which type arguments a type parameter accepts. Besides methods it can list types, as in ~int | ~float64, where ~int means every type whose underlying type is int; cmp.Ordered and comparable are common ones.",
		Link:       spec + "Type_constraints",
	},
	{
		Term:       "comparable",
		Definition: "comparable is a predeclared constraint for types whose values can be compared with == and !=, which is what map keys need. Since Go 1.20 interface types satisfy it too, even though comparing interface values panics at run time when they hold, say, slices.",
		Link:       spec + "Type_constraints",
	},
	{
		Term:       "type inference",
		Definition: "The compiler works out the type arguments a generic call leaves out, mostly from the types of the ordinary arguments, so you write slices.Max(xs) rather than slices.Max[[]int, int](xs). When it cannot tell, you must write them yourself.",
		Link:       spec + "Type_inference",
	},

	// The language: built-in functions.
	{
		Term:       "append",
		Definition: "append(s, x) adds elements to the end of a slice and returns the result. When the capacity is too small it allocates a larger array and copies into it, so always use the slice it returns: s = append(s, x).",
		Link:       spec + "Appending_and_copying_slices",
	},
	{
		Term:       "copy",
		Definition: "copy(dst, src) copies as many elements as fit in the shorter of the two slices, returns that count, and handles overlapping slices correctly. It can also copy the bytes of a string into a []byte.",
		Link:       spec + "Appending_and_copying_slices",
	},
	{
		Term:       "make",
		Definition: "make creates a slice, map or channel ready for use, as in make([]int, 0, 10), make(map[string]int) or make(chan T, 5). Unlike new it returns the value itself rather than a pointer, and it works only for those three kinds.",
		Link:       spec + "Making_slices_maps_and_channels",
	},
	{
		Term:       "new",
		Definition: "new allocates a variable and returns a pointer to it: new(T) points to a zero T, and since Go 1.26 new(expr) points to a variable holding that value, so new(42) is an *int. For structs, &Config{} does the same job.",
		Link:       spec + "Allocation",
	},
	{
		Term:       "len",
		Aliases:    []string{"cap", "len and cap", "length", "capacity"},
		Definition: "len gives the length of a string (in bytes), array, slice, map or channel; cap gives how many elements a slice can hold before it must grow, or the size of a channel's buffer. A nil slice, map or channel has length 0.",
		Link:       spec + "Length_and_capacity",
	},
	{
		Term:       "delete",
		Definition: "delete(m, k) removes the key k from the map m. It does nothing when the key is missing or the map is nil, so there is no need to check first.",
		Link:       spec + "Deletion_of_map_elements",
	},
	{
		Term:       "built-in function",
		Aliases:    []string{"builtin", "built-in", "builtin function", "package builtin"},
		Definition: "Go has a small set of predeclared functions that need no import: append, cap, clear, close, complex, copy, delete, imag, len, make, max, min, new, panic, print, println, real and recover. Several work on many kinds of type at once, as len does on strings, slices, maps and channels, and make and new take a type as an argument; package builtin documents them.",
		Link:       spec + "Built-in_functions",
	},
	{
		Term:       "min",
		Aliases:    []string{"max", "min and max"},
		Definition: "The built-ins min and max, added in Go 1.21, return the smallest or largest of one or more values of an ordered type, such as numbers or strings. For floating-point arguments, a NaN anywhere makes the result NaN.",
		Link:       spec + "Min_and_max",
	},
	{
		Term:       "clear",
		Definition: "The built-in clear, added in Go 1.21, deletes every entry of a map, or sets every element of a slice to its zero value while keeping its length. It is handy for reusing a map or wiping a buffer.",
		Link:       spec + "Clear",
	},

	// Errors.
	{
		Term:       "error",
		Aliases:    []string{"error interface", "error handling", "if err != nil", "errors.New"},
		Definition: "error is the predeclared interface with a single method, Error() string. Functions report failure by returning an error, made with errors.New or fmt.Errorf, as their last result, and callers check if err != nil right away, usually adding context before passing it up.",
		Link:       spec + "Errors",
	},
	{
		Term:       "error wrapping",
		Aliases:    []string{"wrapping", "wrap", "%w", "fmt.Errorf", "unwrap", "errors.Unwrap", "errors.Join"},
		Definition: "Wrapping adds context to an error while keeping the original inside, usually with fmt.Errorf(\"reading config: %w\", err). errors.Is and errors.As search everything wrapped inside, errors.Unwrap removes one layer, and since Go 1.20 one error can wrap several, as errors.Join does.",
		Link:       blog + "go1.13-errors",
	},
	{
		Term:       "sentinel error",
		Definition: "A sentinel error is an exported error variable, such as io.EOF or sql.ErrNoRows, that callers compare against to recognise one particular condition. Compare with errors.Is rather than == so the check still works when the error has been wrapped.",
		Link:       blog + "go1.13-errors",
	},
	{
		Term:       "errors.Is",
		Aliases:    []string{"errors.As", "errors.AsType"},
		Definition: "errors.Is(err, target) reports whether target is err or anything wrapped inside it; errors.As(err, &target) finds the first wrapped error of target's type and stores it, and Go 1.26 adds the generic errors.AsType. They see through wrapping, which == and type assertions do not.",
		Link:       pkg + "errors#Is",
	},
	{
		Term:       "custom error type",
		Aliases:    []string{"error type"},
		Definition: "A type that implements error and carries details beyond the message, such as *fs.PathError with its Op and Path fields. Callers reach those details with errors.As, which finds the error even when it has been wrapped.",
		Link:       pkg + "errors#As",
	},
	{
		Term:       "io.EOF",
		Aliases:    []string{"EOF", "end of file"},
		Definition: "io.EOF is the error a Reader returns when there is no more input. It marks a normal end rather than a failure, so loops that read to the end stop on it, and helpers such as io.ReadAll do not pass it on.",
		Link:       pkg + "io#EOF",
	},
	{
		Term:       "exception",
		Aliases:    []string{"try catch", "try/catch", "throw"},
		Definition: "Go has no exceptions. Expected failures are returned as error values and handled where they occur; panic and recover exist for real emergencies such as bugs, and by convention a panic does not cross a package's API.",
		Link:       blog + "error-handling-and-go",
	},

	// Runtime and concurrency.
	{
		Term:       "scheduler",
		Aliases:    []string{"go scheduler", "runtime scheduler", "gmp"},
		Definition: "The runtime's scheduler multiplexes many goroutines onto a few OS threads. Each logical processor (a P, GOMAXPROCS of them) has a queue of runnable goroutines, idle ones steal work from busy ones, and since Go 1.14 long-running goroutines are preempted so that none can hog a thread.",
		Link:       pkg + "runtime",
	},
	{
		Term:       "GOMAXPROCS",
		Definition: "GOMAXPROCS is the number of OS threads that may run Go code at the same moment. It defaults to the number of CPUs the process may use. Since Go 1.25, in modules whose go.mod says go 1.25 or later, a Linux container's CPU limit lowers that default too, and the runtime updates it when the CPU count or that limit changes, unless you set it yourself.",
		Link:       pkg + "runtime#GOMAXPROCS",
	},
	{
		Term:       "garbage collector",
		Aliases:    []string{"garbage collection", "green tea", "green tea gc"},
		Definition: "Go frees unreachable heap memory automatically with a concurrent mark-and-sweep collector that runs alongside your goroutines and stops them only very briefly. It does not move objects, and GOGC and GOMEMLIMIT tune how often it runs. Since Go 1.26 it marks with the Green Tea design by default, which scans small objects that share a span of memory together, for better use of CPU caches.",
		Link:       doc + "gc-guide",
	},
	{
		// "gc" is first the toolchain's name (runtime.Compiler, -gcflags,
		// "gc or gccgo"), but people also write GC for the collector: the
		// definition answers the first and points to the second.
		Term:       "gc",
		Aliases:    []string{"gc compiler", "go compiler", "compiler", "cmd/compile", "gccgo", "gcflags"},
		Definition: "gc is the name of Go's standard compiler toolchain, the one the go command runs (cmd/compile), as opposed to gccgo, the GCC-based alternative; runtime.Compiler reports which one built a binary, and go build -gcflags passes flags to it. Written GC, it usually means the garbage collector instead, which you can look up by that name.",
		Link:       doc + "faq#What_compiler_technology_is_used_to_build_the_compilers",
	},
	{
		Term:       "GOGC",
		Definition: "GOGC sets how much the heap may grow, relative to the live data left after the last collection, before the next collection starts; the default of 100 means roughly doubling. Higher values trade memory for less CPU spent collecting, and GOGC=off turns the collector off.",
		Link:       doc + "gc-guide",
	},
	{
		Term:       "GOMEMLIMIT",
		Aliases:    []string{"memory limit", "soft memory limit"},
		Definition: "GOMEMLIMIT, added in Go 1.19, is a soft cap on the memory the Go runtime uses. As the total nears it, the garbage collector runs more often, which helps a program in a container stay clear of out-of-memory kills.",
		Link:       pkg + "runtime/debug#SetMemoryLimit",
	},
	{
		Term:       "escape analysis",
		Aliases:    []string{"escapes to heap", "heap allocation", "stack allocation"},
		Definition: "The compiler's check of whether a variable can outlive the function that creates it. Variables that do not escape can live on the goroutine's stack, which is cheap; those that do, say because their address is returned, go to the heap. go build -gcflags=-m prints the decisions.",
		Link:       doc + "faq#stack_or_heap",
	},
	{
		Term:       "stack growth",
		Aliases:    []string{"goroutine stack", "stack size", "stack overflow"},
		Definition: "A goroutine's stack starts small, a few kilobytes, and the runtime grows it by copying it to a larger block whenever a call needs more room. The default limit is 1 GB on 64-bit systems, so a fatal stack overflow almost always means runaway recursion.",
		Link:       pkg + "runtime/debug#SetMaxStack",
	},
	{
		Term:       "data race",
		Aliases:    []string{"race"},
		Definition: "A data race happens when two goroutines access the same variable at the same time, at least one of them writes, and nothing orders the two accesses. Racy programs can see torn or stale values and fail in ways that are hard to reproduce; use channels, sync or atomics.",
		Link:       "https://go.dev/ref/mem",
	},
	{
		Term:       "race detector",
		Aliases:    []string{"-race", "go test -race"},
		Definition: "A checker built into the Go toolchain, switched on with -race in go test, go run or go build. It reports data races as they happen during a run, with the stacks of both accesses, and makes the program several times slower and hungrier for memory.",
		Link:       doc + "articles/race_detector",
	},
	{
		Term:       "memory model",
		Aliases:    []string{"go memory model", "happens-before"},
		Definition: "The Go memory model says when a write in one goroutine is guaranteed to be seen by a read in another: only when a happens-before relation orders them, created by channel operations, mutexes, sync.Once, atomics and the like. Programs free of data races behave as if their goroutines took turns.",
		Link:       "https://go.dev/ref/mem",
	},
	{
		Term:       "mutex",
		Aliases:    []string{"sync.Mutex", "lock", "sync.RWMutex", "RWMutex"},
		Definition: "sync.Mutex makes sure only one goroutine at a time runs the code between Lock and Unlock. Its zero value is an unlocked mutex ready to use, it must not be copied once used, and sync.RWMutex also lets many readers in at once.",
		Link:       pkg + "sync#Mutex",
	},
	{
		Term:       "WaitGroup",
		Aliases:    []string{"sync.WaitGroup"},
		Definition: "sync.WaitGroup waits for a group of goroutines to finish: Add raises a counter, each goroutine calls Done when it ends, and Wait blocks until the count is back at zero. Since Go 1.25, wg.Go(f) does the Add, the go statement and the Done for you.",
		Link:       pkg + "sync#WaitGroup",
	},
	{
		Term:       "sync.Once",
		Aliases:    []string{"once", "sync.OnceFunc", "sync.OnceValue"},
		Definition: "sync.Once runs a function exactly once however many goroutines call its Do method, and makes the others wait until that first call has returned. OnceFunc, OnceValue and OnceValues, added in Go 1.21, wrap a function with the same guarantee.",
		Link:       pkg + "sync#Once",
	},
	{
		Term:       "sync.Pool",
		Definition: "sync.Pool keeps temporary objects, such as buffers, for goroutines to reuse, cutting allocations and garbage collection work. The pool may drop its contents at any collection, so it is a cache, never a place to keep state.",
		Link:       pkg + "sync#Pool",
	},
	{
		Term:       "sync.Map",
		Definition: "sync.Map is a map that goroutines can use at the same time without extra locking, tuned for keys written once and read many times, or for goroutines working on separate keys. For most other uses a plain map guarded by a Mutex is the better choice: its keys and values keep their static types, and other invariants can be kept under the same lock.",
		Link:       pkg + "sync#Map",
	},
	{
		Term:       "atomic",
		Aliases:    []string{"sync/atomic", "atomic operation", "compare and swap", "cas"},
		Definition: "Package sync/atomic reads and updates single integers and pointers without locks, through functions such as AddInt64 and CompareAndSwapInt32 or types such as atomic.Int64, atomic.Bool and atomic.Pointer[T]. Its operations are sequentially consistent and, like a mutex, create happens-before edges between goroutines.",
		Link:       pkg + "sync/atomic",
	},
	{
		Term:       "context",
		Aliases:    []string{"context.Context", "ctx", "cancellation"},
		Definition: "A context.Context lets a caller tell the work it starts when to stop: it bundles an optional deadline, a Done channel that closes on cancellation, and values tied to one request, handed down through calls and goroutines. By convention it is the first parameter, named ctx, and never stored in a struct; always call the cancel function that WithCancel or WithTimeout returns.",
		Link:       pkg + "context",
	},
	{
		Term:       "deadlock",
		Aliases:    []string{"all goroutines are asleep"},
		Definition: "A deadlock is goroutines waiting for each other forever, for example a send on an unbuffered channel that nobody will ever receive. When every goroutine is stuck the runtime stops with \"all goroutines are asleep - deadlock!\"; when only some are, they simply hang.",
		Link:       doc + "effective_go#channels",
	},
	{
		Term:       "goroutine leak",
		Aliases:    []string{"leaked goroutine"},
		Definition: "A goroutine that never finishes because it waits forever, typically on a channel operation nobody will complete or on a cancellation that never comes. It keeps its stack and everything it references alive; give every goroutine a way to stop, such as a context.",
		Link:       blog + "pipelines",
	},
	{
		Term:       "CSP",
		Aliases:    []string{"communicating sequential processes"},
		Definition: "Communicating Sequential Processes, Tony Hoare's 1978 model of independent processes that cooperate only by exchanging messages. Goroutines and channels come from this line of ideas, hence the Go saying that you should share memory by communicating rather than communicate by sharing memory.",
		Link:       blog + "codelab-share",
	},
	{
		Term:       "concurrency",
		Aliases:    []string{"parallelism", "concurrency vs parallelism", "concurrency is not parallelism"},
		Definition: "Concurrency is structuring a program as independently running parts, such as goroutines; parallelism is doing computations at the same instant on several CPUs. Go makes the first easy to express, and the runtime turns it into the second when there are cores to use.",
		Link:       blog + "waza-talk",
	},
	{
		Term:       "worker pool",
		Definition: "A fixed number of goroutines that take jobs from a shared channel and send results on another, which bounds how much work runs at once. Close the jobs channel to let the workers finish, and use a WaitGroup or errgroup to learn when they have.",
		Link:       blog + "pipelines",
	},
	{
		Term:       "pipeline",
		Aliases:    []string{"fan-out", "fan-in"},
		Definition: "A chain of stages joined by channels, each stage a group of goroutines that receive values from upstream, work on them and send them downstream. Fan-out spreads one channel's work over several goroutines; fan-in merges several channels into one.",
		Link:       blog + "pipelines",
	},
	{
		Term:       "errgroup",
		Aliases:    []string{"errgroup.Group", "x/sync/errgroup"},
		Definition: "errgroup.Group, from golang.org/x/sync, runs a set of goroutines, and its Wait returns the first error any of them returned. errgroup.WithContext also cancels a shared context on that first error, and SetLimit caps how many run at once.",
		Link:       pkg + "golang.org/x/sync/errgroup",
	},
	{
		Term:       "timer",
		Aliases:    []string{"time.Timer", "ticker", "time.Ticker", "time.After"},
		Definition: "time.Timer sends one value on its channel after a delay and time.Ticker sends one every interval. In modules declaring go 1.23 or later, unreferenced timers are garbage collected even if never stopped, and Reset or Stop leave no stale value in the channel.",
		Link:       pkg + "time#Timer",
	},
	{
		Term:       "cleanup",
		Aliases:    []string{"finalizer", "runtime.AddCleanup", "runtime.SetFinalizer"},
		Definition: "runtime.AddCleanup, added in Go 1.24, runs a function some time after an object becomes unreachable, for example to release an OS resource it owned. It replaces most uses of the older runtime.SetFinalizer, and neither is guaranteed to run before the program exits.",
		Link:       pkg + "runtime#AddCleanup",
	},

	// Modules and the go command.
	{
		Term:       "module",
		Aliases:    []string{"go module"},
		Definition: "A module is a tree of packages that share one version: they are tagged, fetched and upgraded as a unit, under the module path that the go.mod file at their root declares. Since Go 1.16 modules are the default way to build Go code, replacing GOPATH mode.",
		Link:       mod + "modules-overview",
	},
	{
		Term:       "go.mod",
		Aliases:    []string{"go mod file", "gomod"},
		Definition: "The file at a module's root that gives its module path and the Go version it needs, and lists required modules with their minimum versions. It may also hold replace, exclude, retract, toolchain, tool, ignore and godebug lines; the go command edits it for you.",
		Link:       doc + "modules/gomod-ref",
	},
	{
		Term:       "go.sum",
		Aliases:    []string{"go sum file", "checksums"},
		Definition: "go.sum records a cryptographic hash of each module version, and of its go.mod, that the build may need. The go command refuses downloads that do not match and checks new entries against the checksum database; commit it together with go.mod.",
		Link:       mod + "go-sum-files",
	},
	{
		Term:       "checksum database",
		Aliases:    []string{"sumdb", "sum.golang.org", "GOSUMDB", "GONOSUMDB"},
		Definition: "sum.golang.org is a public, append-only log of the go.sum lines of public module versions. The go command consults it before trusting a version it has not seen, so everyone gets the same code for the same version; GONOSUMDB or GOPRIVATE exempt private modules.",
		Link:       mod + "checksum-database",
	},
	{
		Term:       "GOPROXY",
		Aliases:    []string{"module proxy", "proxy.golang.org", "module mirror", "GOPRIVATE", "GONOPROXY", "private module"},
		Definition: "GOPROXY lists, separated by commas, the servers the go command downloads modules from. By default it asks the Go module mirror, proxy.golang.org, and fetches straight from version control (direct) when the mirror does not have a module. GOPRIVATE names private modules, which skip both the proxy and the checksum database; GONOPROXY skips only the proxy.",
		Link:       mod + "module-proxy",
	},
	{
		Term:       "GOPATH",
		Aliases:    []string{"module cache", "GOMODCACHE"},
		Definition: "GOPATH, by default $HOME/go, is where the go command keeps downloaded modules (in pkg/mod, unless GOMODCACHE says otherwise) and installs binaries (in bin, unless GOBIN does). Before modules every project had to live under $GOPATH/src; today code can live anywhere.",
		Link:       goCmd + "GOPATH_environment_variable",
	},
	{
		Term:       "go workspace",
		Aliases:    []string{"workspace", "go.work", "go work"},
		Definition: "A go.work file, made with go work init, groups several modules on disk so that builds use the local copy of each instead of a downloaded version. It suits changing a library and its user together, and is usually not committed.",
		Link:       mod + "workspaces",
	},
	{
		Term:       "vendoring",
		Aliases:    []string{"vendor", "go mod vendor", "vendor directory"},
		Definition: "go mod vendor copies the source of every package the main module needs into a vendor directory. When it exists and go.mod declares go 1.14 or later, builds use it instead of the module cache, so they need no network.",
		Link:       mod + "vendoring",
	},
	{
		Term:       "semantic import versioning",
		Aliases:    []string{"major version suffix", "/v2", "v2 module"},
		Definition: "From v2 on, a module's major version is part of its path, as in example.com/lib/v2, so each major version is a separate module that can even be used next to the others. The rule behind it: a package that keeps its import path must stay backward compatible.",
		Link:       mod + "major-version-suffixes",
	},
	{
		Term:       "semantic versioning",
		Aliases:    []string{"semver", "module version"},
		Definition: "Module versions follow semantic versioning, vMAJOR.MINOR.PATCH such as v1.4.2: a new major version may break callers, a minor one adds features compatibly, and a patch fixes bugs. Versions below v1, and pre-releases like v2.0.0-rc.1, promise no compatibility.",
		Link:       mod + "versions",
	},
	{
		Term:       "pseudo-version",
		Definition: "A version like v0.0.0-20240102150405-abcdef123456 that the go command builds for a commit with no version tag, from a base version, the commit's UTC time and a 12-character hash prefix. go get module@commit records one in go.mod.",
		Link:       mod + "pseudo-versions",
	},
	{
		Term:       "minimal version selection",
		Aliases:    []string{"mvs"},
		Definition: "How the go command picks dependency versions: for each module it takes the highest of the minimum versions required anywhere in the build, never simply the newest release. The result is reproducible without a lock file and changes only when a go.mod does.",
		Link:       mod + "minimal-version-selection",
	},
	{
		Term:       "replace directive",
		Aliases:    []string{"replace"},
		Definition: "A replace line in go.mod swaps a module, or one version of it, for another version or a local directory, as in replace example.com/lib => ../lib. It takes effect only in the main module's go.mod; replace lines in dependencies are ignored.",
		Link:       mod + "go-mod-file-replace",
	},
	{
		Term:       "toolchain",
		Aliases:    []string{"GOTOOLCHAIN", "go toolchain", "toolchain directive", "go directive"},
		Definition: "Since Go 1.21 the go line in go.mod is a minimum requirement, and a go command that is too old downloads and runs the newer toolchain the module asks for. The GOTOOLCHAIN setting controls this, and a toolchain line can name a preferred version.",
		Link:       doc + "toolchain",
	},
	{
		Term:       "GODEBUG",
		Definition: "GODEBUG is a comma-separated list of key=value settings that switch parts of the runtime and standard library back to earlier behaviour when a release changes a default. Defaults follow the go version in go.mod, and //go:debug lines or a godebug block can set them too.",
		Link:       doc + "godebug",
	},
	{
		Term:       "go build",
		Definition: "go build compiles the named packages and their dependencies. For a single main package it writes an executable; otherwise it only checks that everything compiles. Setting GOOS and GOARCH builds for another system.",
		Link:       goCmd + "Compile_packages_and_dependencies",
	},
	{
		Term:       "go run",
		Definition: "go run compiles a main package into a temporary binary and runs it, passing along any remaining arguments. It is meant for trying things out; go run example.com/cmd@v1.2.3 runs a tool at a given version without installing it.",
		Link:       goCmd + "Compile_and_run_Go_program",
	},
	{
		Term:       "go install",
		Aliases:    []string{"GOBIN"},
		Definition: "go install builds main packages and puts the binaries in GOBIN, by default $GOPATH/bin. With a version, as in go install golang.org/x/tools/gopls@latest, it installs a tool regardless of the module you are in.",
		Link:       goCmd + "Compile_and_install_packages_and_dependencies",
	},
	{
		Term:       "go get",
		Definition: "go get adds, upgrades or downgrades dependencies in the current module's go.mod, as in go get example.com/lib@v1.4.0 or @latest. It no longer installs programs; go install does that.",
		Link:       goCmd + "Add_dependencies_to_current_module_and_install_them",
	},
	{
		Term:       "go mod tidy",
		Aliases:    []string{"tidy"},
		Definition: "go mod tidy makes go.mod and go.sum match the code: it adds requirements for imported packages that are missing, drops the ones nothing uses, and fills in missing checksums. Run it before committing dependency changes.",
		Link:       mod + "go-mod-tidy",
	},
	{
		Term:       "go test",
		Definition: "go test compiles each package with its _test.go files, runs its tests and examples, and caches passing results. Common flags: -run to pick tests by name, -v for verbose output, -race, -count=1 to skip the cache, and -bench and -fuzz.",
		Link:       goCmd + "Test_packages",
	},
	{
		Term:       "go vet",
		Aliases:    []string{"vet"},
		Definition: "go vet reports code that compiles but is probably wrong, such as Printf verbs that do not match their arguments, copied mutexes, unreachable code or malformed struct tags. go test runs a small, reliable subset of its checks automatically.",
		Link:       pkg + "cmd/vet",
	},
	{
		Term:       "go fix",
		Aliases:    []string{"modernizer", "modernize"},
		Definition: "go fix rewrites source code automatically. Since Go 1.26 it runs analyzers called modernizers, which update code to newer idioms and APIs, for example a for range over an integer, min and max, or new(expr), while keeping its behaviour.",
		Link:       goCmd + "Apply_fixes_suggested_by_static_checkers",
	},
	{
		Term:       "gofmt",
		Aliases:    []string{"go fmt", "formatting", "code formatting"},
		Definition: "gofmt prints Go source in the one standard layout: tabs for indentation, aligned comments and uniform spacing. Because nearly everyone runs it, all Go code looks alike; go fmt runs gofmt -l -w on whole packages.",
		Link:       pkg + "cmd/gofmt",
	},
	{
		Term:       "goimports",
		Definition: "goimports formats code exactly as gofmt does and also adds missing imports and removes unused ones. Most editors run it, or gopls, which does the same, every time a file is saved.",
		Link:       pkg + "golang.org/x/tools/cmd/goimports",
	},
	{
		Term:       "go generate",
		Aliases:    []string{"go:generate", "//go:generate"},
		Definition: "go generate runs the commands written in //go:generate comments, for example stringer or a protocol buffer compiler, to produce Go source. It runs only when you invoke it, never as part of go build, so generated files are usually committed.",
		Link:       goCmd + "Generate_Go_files_by_processing_source",
	},
	{
		Term:       "build constraint",
		Aliases:    []string{"build tag", "go:build", "//go:build"},
		Definition: "A //go:build line before the package clause, such as //go:build linux && !cgo, decides whether a file is compiled. File names like x_windows.go or x_arm64.go act as constraints too, and go build -tags adds custom tags.",
		Link:       goCmd + "Build_constraints",
	},
	{
		Term:       "cross compilation",
		Aliases:    []string{"cross compile", "GOOS", "GOARCH"},
		Definition: "The go command builds for other systems with no extra setup: GOOS=linux GOARCH=arm64 go build produces a binary for that target. Pure Go code needs nothing else; with cgo you also need a C cross-compiler.",
		Link:       goCmd + "Environment_variables",
	},
	{
		Term:       "cgo",
		Aliases:    []string{"CGO_ENABLED", "import \"C\""},
		Definition: "cgo lets Go code call C: C declarations go in a comment just above import \"C\", and C functions and types are then used as C.name. It needs a C compiler, makes cross-compiling harder and each call slower than a Go call; CGO_ENABLED=0 builds without it.",
		Link:       pkg + "cmd/cgo",
	},
	{
		Term:       "embed",
		Aliases:    []string{"go:embed", "//go:embed", "embed.FS"},
		Definition: "A //go:embed directive above a variable, with package embed imported, stores files from the package's directory in the binary at build time, as a string, a []byte or an embed.FS. Patterns are relative to the package directory and cannot reach above it.",
		Link:       pkg + "embed",
	},
	{
		Term:       "PGO",
		Aliases:    []string{"profile-guided optimization", "profile-guided optimisation", "default.pgo"},
		Definition: "Profile-guided optimisation: put a representative CPU profile named default.pgo in the main package's directory, and since Go 1.21 go build uses it automatically to inline and devirtualise hot calls, typically gaining a few percent of speed.",
		Link:       doc + "pgo",
	},

	// Testing, profiling and other tools.
	{
		Term:       "testing.T",
		Aliases:    []string{"t.Error", "t.Fatal"},
		Definition: "*testing.T is what a TestXxx function receives. t.Error and t.Errorf record a failure and carry on, t.Fatal and t.Fatalf stop the test, and t.Run, t.Helper, t.Cleanup, t.TempDir, t.Parallel and, since Go 1.24, t.Context help with the rest.",
		Link:       pkg + "testing#T",
	},
	{
		Term:       "table-driven test",
		Aliases:    []string{"table test", "test table"},
		Definition: "A test that lists its cases as rows, usually a slice of structs holding inputs and expected results, and loops over them, often running each as a named subtest with t.Run. Adding a case means adding a row.",
		Link:       "https://go.dev/wiki/TableDrivenTests",
	},
	{
		Term:       "subtest",
		Aliases:    []string{"t.Run"},
		Definition: "t.Run(name, func(t *testing.T) { ... }) runs a named test inside another. Subtests pass or fail separately, can be picked with go test -run 'TestX/name', and can run in parallel with t.Parallel.",
		Link:       blog + "subtests",
	},
	{
		Term:       "example test",
		Aliases:    []string{"example function", "testable example"},
		Definition: "A function named ExampleXxx in a _test.go file that prints something and ends with an // Output: comment; go test runs it and compares what it printed. It also shows up, runnable, in the package's documentation on pkg.go.dev.",
		Link:       blog + "examples",
	},
	{
		Term:       "benchmark",
		Aliases:    []string{"testing.B", "go test -bench", "b.Loop"},
		Definition: "A function BenchmarkXxx(b *testing.B) that go test -bench runs to measure the time, and with -benchmem the allocations, of one operation. Since Go 1.24 the measured code goes in a for b.Loop() { } loop; older benchmarks loop b.N times.",
		Link:       pkg + "testing#hdr-Benchmarks",
	},
	{
		Term:       "fuzzing",
		Aliases:    []string{"fuzz test", "fuzz", "testing.F"},
		Definition: "A fuzz test, func FuzzXxx(f *testing.F), built into go test since Go 1.18, runs a target on generated inputs to find crashes and failed checks. Plain go test runs only the seed inputs; go test -fuzz=FuzzXxx keeps mutating them, guided by coverage, and saves failures under testdata/fuzz.",
		Link:       "https://go.dev/security/fuzz/",
	},
	{
		Term:       "test coverage",
		Aliases:    []string{"coverage", "go test -cover", "code coverage"},
		Definition: "go test -cover reports the share of statements the tests executed, and -coverprofile with go tool cover -html shows which lines were missed. Since Go 1.20, go build -cover also instruments whole programs for integration tests.",
		Link:       blog + "cover",
	},
	{
		Term:       "testing/synctest",
		Aliases:    []string{"synctest", "fake clock"},
		Definition: "Package testing/synctest, stable since Go 1.25, runs a test inside a bubble with its own fake clock. Time in the bubble moves only when every goroutine in it is blocked, so code full of timeouts and sleeps can be tested instantly and deterministically.",
		Link:       pkg + "testing/synctest",
	},
	{
		Term:       "httptest",
		Aliases:    []string{"net/http/httptest", "httptest.NewServer", "httptest.NewRecorder"},
		Definition: "Package httptest helps test HTTP code: NewServer starts a real server on a local port for client tests, and NewRecorder captures what a handler writes so a test can call the handler directly, with no network at all.",
		Link:       pkg + "net/http/httptest",
	},
	{
		Term:       "pprof",
		Aliases:    []string{"profiling", "profiler", "go tool pprof", "runtime/pprof", "net/http/pprof"},
		Definition: "pprof is Go's profiler. runtime/pprof, net/http/pprof and go test -cpuprofile or -memprofile record CPU, heap, goroutine, block and mutex profiles, and go tool pprof explores them as top lists, call graphs or flame graphs.",
		Link:       pkg + "runtime/pprof",
	},
	{
		Term:       "execution tracer",
		Aliases:    []string{"go tool trace", "runtime/trace", "execution trace"},
		Definition: "The execution tracer records what every goroutine, logical processor and the garbage collector did over time, with timestamps. go tool trace opens the result, which explains latency a CPU profile cannot show, such as goroutines waiting to be scheduled.",
		Link:       pkg + "runtime/trace",
	},
	{
		Term:       "gopls",
		Aliases:    []string{"language server", "lsp"},
		Definition: "gopls, said \"go please\", is the official Go language server. Editors talk to it over the Language Server Protocol for completion, go to definition, find references, diagnostics, refactoring and formatting.",
		Link:       pkg + "golang.org/x/tools/gopls",
	},
	{
		Term:       "staticcheck",
		Aliases:    []string{"golint"},
		Definition: "Staticcheck is a widely used third-party linter by Dominik Honnef. It finds bugs, performance problems, needless complexity and uses of deprecated APIs beyond what go vet looks for. The deprecated and frozen golint names it and go vet as what to use instead.",
		Link:       pkg + "honnef.co/go/tools/cmd/staticcheck",
	},
	{
		Term:       "govulncheck",
		Aliases:    []string{"vulnerability check", "vulncheck"},
		Definition: "govulncheck compares a module or a binary with the Go vulnerability database and, by analysing which functions are called, reports only the known vulnerabilities your code can actually reach.",
		Link:       pkg + "golang.org/x/vuln/cmd/govulncheck",
	},
	{
		Term:       "pkg.go.dev",
		Aliases:    []string{"godoc", "go doc", "package documentation"},
		Definition: "pkg.go.dev is the site that shows the documentation, versions, licences and importers of public Go packages, built from their doc comments. In a terminal, go doc shows the same documentation; the older godoc tool served it from your own machine.",
		Link:       "https://pkg.go.dev/about",
	},
	{
		Term:       "doc comment",
		Aliases:    []string{"documentation comment", "package comment"},
		Definition: "A comment placed right before a package clause or a top-level declaration, with no blank line in between, documents it. By convention it is made of full sentences, begins with the name it describes, and may use headings, lists and links.",
		Link:       doc + "comment",
	},

	// The standard library.
	{
		Term:       "io.Reader",
		Aliases:    []string{"reader"},
		Definition: "io.Reader is the one-method interface Read(p []byte) (n int, err error) for anything that yields bytes: files, network connections, HTTP bodies, decompressors. Read may return fewer bytes than asked for, and io.EOF at the end; handle the n bytes before looking at err.",
		Link:       pkg + "io#Reader",
	},
	{
		Term:       "io.Writer",
		Aliases:    []string{"writer"},
		Definition: "io.Writer is the interface Write(p []byte) (n int, err error) for anything that accepts bytes, from files and sockets to hashes and bytes.Buffer. A Write that writes fewer than len(p) bytes must return an error, and fmt.Fprintf, io.Copy and loggers all write to one.",
		Link:       pkg + "io#Writer",
	},
	{
		Term:       "bufio.Scanner",
		Aliases:    []string{"scanner", "read lines"},
		Definition: "bufio.Scanner reads input piece by piece, by default line by line, in a for sc.Scan() loop with the text in sc.Text() and any error in sc.Err() afterwards. A line longer than 64 KiB stops it with bufio.ErrTooLong unless you give it a bigger buffer with Buffer.",
		Link:       pkg + "bufio#Scanner",
	},
	{
		Term:       "strings.Builder",
		Aliases:    []string{"string builder", "string concatenation"},
		Definition: "strings.Builder builds a string piece by piece with WriteString, WriteByte or fmt.Fprintf, growing one buffer instead of making a new string for every +. Its zero value is ready to use, and it must not be copied after first use.",
		Link:       pkg + "strings#Builder",
	},
	{
		Term:       "bytes.Buffer",
		Definition: "bytes.Buffer is a growable byte buffer that is both an io.Reader and an io.Writer. Its zero value is an empty buffer ready for use, which makes it handy for building output or feeding data to code that wants a reader.",
		Link:       pkg + "bytes#Buffer",
	},
	{
		Term:       "http.Handler",
		Aliases:    []string{"handler", "http.HandlerFunc", "HandlerFunc", "ServeHTTP", "middleware"},
		Definition: "http.Handler is the interface ServeHTTP(http.ResponseWriter, *http.Request) behind everything that answers requests in net/http. http.HandlerFunc turns a plain function into one, and middleware is a function that takes a Handler and returns another that wraps it.",
		Link:       pkg + "net/http#Handler",
	},
	{
		Term:       "ServeMux",
		Aliases:    []string{"http.ServeMux", "mux", "router", "routing"},
		Definition: "http.ServeMux is net/http's request router: it sends each request to the handler whose pattern matches best. Since Go 1.22 patterns can include a method and wildcards, as in \"GET /posts/{id}\", and the handler reads the value with r.PathValue(\"id\").",
		Link:       pkg + "net/http#ServeMux",
	},
	{
		Term:       "http timeouts",
		Aliases:    []string{"http.Client", "http client timeout", "timeout", "http.DefaultClient"},
		Definition: "A zero http.Client, like http.DefaultClient, has no timeout, so a slow or silent server can hold a request forever. Set Client.Timeout or give each request a context with a deadline; servers likewise need ReadHeaderTimeout and the other timeouts on http.Server.",
		Link:       pkg + "net/http#Client",
	},
	{
		Term:       "encoding/json",
		Aliases:    []string{"json", "json.Marshal", "json.Unmarshal"},
		Definition: "Package encoding/json converts between Go values and JSON with Marshal and Unmarshal, or as streams with Encoder and Decoder. It only sees exported struct fields, matches JSON keys to them case-insensitively, and obeys their json struct tags.",
		Link:       pkg + "encoding/json",
	},
	{
		Term:       "struct tag",
		Aliases:    []string{"json tag", "field tag", "json struct tag", "omitempty", "omitzero"},
		Definition: "A string after a struct field, such as `json:\"name,omitempty\"`, that packages read through reflection. encoding/json uses it to rename a field, skip it with \"-\", or leave it out when empty (omitempty) or, since Go 1.24, when zero (omitzero); go vet checks its syntax.",
		Link:       pkg + "encoding/json#Marshal",
	},
	{
		Term:       "reflection",
		Aliases:    []string{"reflect", "reflect package"},
		Definition: "Package reflect lets a program inspect and change values whose types are known only at run time, through reflect.Type and reflect.Value. encoding/json and fmt are built on it, but reflective code is slower, and its mistakes become panics instead of compile errors.",
		Link:       blog + "laws-of-reflection",
	},
	{
		Term:       "unsafe",
		Aliases:    []string{"unsafe.Pointer", "package unsafe"},
		Definition: "Package unsafe steps around Go's type safety: unsafe.Pointer converts between pointer types and to uintptr, and Sizeof, Alignof and Offsetof expose memory layout. Code that uses it may break between Go versions or platforms, and the rules for valid uses are strict.",
		Link:       pkg + "unsafe",
	},
	{
		Term:       "time.Duration",
		Aliases:    []string{"duration"},
		Definition: "time.Duration counts nanoseconds in an int64, with constants such as time.Millisecond and time.Second to build values like 5 * time.Second. Multiplying by an int variable needs a conversion first: time.Duration(n) * time.Second.",
		Link:       pkg + "time#Duration",
	},
	{
		Term:       "time layout",
		Aliases:    []string{"time format", "reference time", "2006-01-02"},
		Definition: "Go formats and parses times by example rather than with %Y-style codes: a layout is the reference time Mon Jan 2 15:04:05 MST 2006 written the way you want, such as \"2006-01-02\" for a date. Its parts count 1 to 7: month, day, hour (15), minute, second, year, zone (-0700).",
		Link:       pkg + "time#Layout",
	},
	{
		Term:       "fmt verb",
		Aliases:    []string{"printf verb", "format verb", "%v", "printf"},
		Definition: "The % directives of fmt.Printf and its relatives: %v prints any value in its default form (%+v adds field names, %#v uses Go syntax), %T its type, %d integers, %s strings, %q quoted strings, %x hex. In fmt.Errorf, %w wraps an error; go vet checks that verbs fit their arguments.",
		Link:       pkg + "fmt",
	},
	{
		Term:       "Stringer",
		Aliases:    []string{"fmt.Stringer", "String method"},
		Definition: "fmt.Stringer is the interface String() string. fmt calls it when printing a value with %v or %s, and the stringer tool from golang.org/x/tools generates String methods for constants numbered by iota.",
		Link:       pkg + "fmt#Stringer",
	},
	{
		Term:       "slices package",
		Aliases:    []string{"package slices", "slices.Sort", "sort.Slice", "sort", "sorting"},
		Definition: "Package slices, added in Go 1.21, has generic helpers for slices of any element type: Sort, SortFunc, BinarySearch, Contains, Index, Equal, Compact, Reverse, Max and more. It has largely taken over from package sort, whose sort.Slice relies on reflection.",
		Link:       pkg + "slices",
	},
	{
		Term:       "maps package",
		Aliases:    []string{"package maps", "maps.Keys"},
		Definition: "Package maps, added in Go 1.21, has generic helpers for maps such as Clone, Copy, Equal and DeleteFunc. Go 1.23 added maps.Keys and maps.Values, which return iterators rather than slices, so slices.Sorted(maps.Keys(m)) gives the keys in order.",
		Link:       pkg + "maps",
	},
	{
		Term:       "cmp package",
		Aliases:    []string{"cmp", "package cmp", "cmp.Ordered", "cmp.Compare", "cmp.Or"},
		Definition: "Package cmp, added in Go 1.21, holds what comparing and sorting code needs: the constraint cmp.Ordered for types that support < and >, cmp.Compare and cmp.Less, which also order NaNs, and, since Go 1.22, cmp.Or, which returns the first of its arguments that is not the zero value.",
		Link:       pkg + "cmp",
	},
	{
		Term:       "log/slog",
		Aliases:    []string{"slog", "structured logging"},
		Definition: "Package log/slog, added in Go 1.21, writes structured logs: each record has a time, a level, a message and key-value attributes, and a Handler such as TextHandler or JSONHandler formats it. slog.Info(\"saved\", \"id\", id) is the basic call.",
		Link:       pkg + "log/slog",
	},
	{
		Term:       "flag package",
		Aliases:    []string{"flag", "command-line flags"},
		Definition: "Package flag parses command-line options: declare each with flag.String, flag.Int, flag.Duration and friends, or bind it to a variable with the Var forms, then call flag.Parse. It accepts -name=value and --name=value and builds the -help text from the descriptions.",
		Link:       pkg + "flag",
	},

	// Idioms.
	{
		Term:       "duck typing",
		Aliases:    []string{"structural typing", "implicit interface"},
		Definition: "Go's interfaces are satisfied implicitly: a type with the right methods implements an interface without naming it, and the compiler checks the fit. That lets you declare small interfaces where you use them, even for types from packages you do not control.",
		Link:       doc + "effective_go#interfaces",
	},
	{
		Term:       "accept interfaces, return structs",
		Aliases:    []string{"accept interfaces"},
		Definition: "A rule of thumb: take parameters as the smallest interface that does the job, so callers can pass anything suitable, and return concrete types, so callers get the full API and you can add methods without breaking anyone. Interfaces usually belong in the package that uses them.",
		Link:       "https://go.dev/wiki/CodeReviewComments#interfaces",
	},
	{
		Term:       "functional options",
		Aliases:    []string{"functional option", "options pattern", "option function"},
		Definition: "A constructor pattern where optional settings are passed as functions, as in NewServer(addr, WithTimeout(5*time.Second), WithLogger(l)). Each option adjusts the config being built, callers happy with the defaults pass none, and new options can be added later without breaking anyone. idna.New in golang.org/x/net is a real example.",
		Link:       pkg + "golang.org/x/net/idna#Option",
	},
	{
		Term:       "useful zero value",
		Aliases:    []string{"make the zero value useful", "zero value useful"},
		Definition: "A design goal: shape types so that a plain var x T is ready to use with no constructor, as with sync.Mutex, bytes.Buffer or a nil slice you can append to. It keeps APIs small and removes a whole class of uninitialised-value bugs.",
		Link:       doc + "effective_go#allocation_new",
	},
	{
		Term:       "comma ok",
		Aliases:    []string{"comma ok idiom", "v, ok"},
		Definition: "The two-value form v, ok := expr, where the bool ok tells whether the operation found something: a map lookup finding the key, a type assertion succeeding, or a receive getting a real value rather than the zero value of a closed channel.",
		Link:       doc + "effective_go#maps",
	},
	{
		Term:       "named results",
		Aliases:    []string{"named result", "named return values", "named return"},
		Definition: "Results can be named in the signature, as in func split(n int) (q, r int). They start at their zero values, act as ordinary local variables, document what is returned, and can be changed by a deferred function, for example to report a failed Close.",
		Link:       doc + "effective_go#named-results",
	},
	{
		Term:       "naked return",
		Aliases:    []string{"bare return"},
		Definition: "A return with no values in a function with named results; it returns whatever those variables hold at that point. Fine in very short functions, but in long ones it hides what is being returned, so most style guides discourage it.",
		Link:       doc + "effective_go#named-results",
	},
	{
		Term:       "interface check",
		Aliases:    []string{"compile-time interface check", "var _ I = (*T)(nil)"},
		Definition: "The line var _ io.Writer = (*MyWriter)(nil) makes the compiler confirm that *MyWriter implements io.Writer, without creating anything at run time. It documents the intent and breaks the build the moment a method goes missing or changes signature.",
		Link:       doc + "effective_go#blank_implements",
	},
	{
		Term:       "mixedCaps",
		Aliases:    []string{"camelCase", "naming convention", "naming"},
		Definition: "Go names use MixedCaps or mixedCaps, never underscores, and the case of the first letter decides whether a name is exported. Initialisms keep a single case, as in ServeHTTP or userID, and short names are preferred in short scopes.",
		Link:       doc + "effective_go#mixed-caps",
	},
	{
		Term:       "package name",
		Aliases:    []string{"package naming"},
		Definition: "Good package names are short, lower-case single words such as time, http or slices, without underscores or mixedCaps. Callers write the name before every identifier, so avoid stutter like http.HTTPServer and vague names like util or common.",
		Link:       blog + "package-names",
	},
	{
		Term:       "errors are values",
		Definition: "Rob Pike's point that Go errors are ordinary values you can program with: store them, compare them, or fold repeated checks into a type that remembers the first failure, instead of writing if err != nil after every single call.",
		Link:       blog + "errors-are-values",
	},
	{
		Term:       "inheritance",
		Aliases:    []string{"class", "subclass"},
		Definition: "Go has no classes and no type inheritance. Behaviour is shared through interfaces, which are satisfied implicitly, and code is reused by embedding one type in another, which forwards its methods but creates no is-a relation.",
		Link:       doc + "effective_go#embedding",
	},
	{
		Term:       "ternary operator",
		Aliases:    []string{"ternary", "?:", "conditional operator"},
		Definition: "Go has no ?: operator. Its designers found that it invites hard-to-read expressions, so you write an if-else statement, or a small helper function, instead.",
		Link:       doc + "faq#Does_Go_have_a_ternary_form",
	},

	// Community and project.
	{
		Term:       "gopher",
		Aliases:    []string{"go gopher", "mascot"},
		Definition: "The gopher is Go's mascot, drawn by the illustrator Renée French, and gophers is what Go programmers call themselves. The artwork may be reused under a Creative Commons Attribution licence, hence the many gopher drawings around the community.",
		Link:       blog + "gopher",
	},
	{
		Term:       "golang",
		Aliases:    []string{"go or golang", "go lang"},
		Definition: "The language is called Go. \"golang\" comes from the original website, golang.org, and lives on in names such as the golang-nuts mailing list and as a search term that is easier to find than \"go\".",
		Link:       doc + "faq#go_or_golang",
	},
	{
		Term:       "Go 1 compatibility promise",
		Aliases:    []string{"compatibility promise", "go1compat", "backward compatibility", "go 1 compatibility"},
		Definition: "The guarantee, made with Go 1.0 in 2012, that a program which builds with one Go 1.x release keeps building and behaving the same with every later 1.x release. Narrow exceptions cover things like security fixes and spec bugs, and GODEBUG settings can restore old behaviour.",
		Link:       doc + "go1compat",
	},
	{
		Term:       "proposal process",
		Aliases:    []string{"proposal", "go proposal"},
		Definition: "Significant changes to the Go language, standard library or tools start as a public proposal issue on the Go issue tracker, are discussed in the open and, when large, written up as a design document. The proposal review group decides; the process is described in golang/proposal.",
		Link:       "https://github.com/golang/proposal",
	},
	{
		Term:       "release cycle",
		Aliases:    []string{"go release", "release policy"},
		Definition: "A new major Go release ships every six months, in February and August. Each gets minor releases with security and bug fixes, like 1.26.1, until two newer major releases exist, so the latest two are always supported.",
		Link:       doc + "devel/release",
	},
	{
		Term:       "Go spec",
		Aliases:    []string{"spec", "language specification", "specification", "go specification"},
		Definition: "The Go Programming Language Specification is the short, readable document that defines the language precisely. Questions about what code means, such as the order of evaluation, are settled there, and it is updated with every release that changes the language.",
		Link:       "https://go.dev/ref/spec",
	},
	{
		Term:       "Effective Go",
		Definition: "Effective Go is an early document from the Go team on writing clear, idiomatic Go: formatting, naming, control flow, data structures, interfaces, concurrency and errors. Parts predate modules and generics, but its advice on style still holds.",
		Link:       doc + "effective_go",
	},
	{
		Term:       "Code Review Comments",
		Aliases:    []string{"CodeReviewComments", "go code review comments"},
		Definition: "Go Code Review Comments is a wiki page collecting feedback that often comes up in reviews of Go code, from naming and doc comments to error strings, receiver names and where interfaces belong. Think of it as a companion to Effective Go.",
		Link:       "https://go.dev/wiki/CodeReviewComments",
	},
	{
		Term:       "Go Playground",
		Aliases:    []string{"playground", "go.dev/play", "play.golang.org"},
		Definition: "The Go Playground at go.dev/play compiles and runs a small program on Go's servers and gives it a shareable link. Programs run in a sandbox without network access, and the clock starts at 2009-11-10 23:00:00 UTC.",
		Link:       "https://go.dev/play/",
	},
	{
		Term:       "Tour of Go",
		Aliases:    []string{"go tour", "a tour of go", "tour"},
		Definition: "A Tour of Go is the official interactive introduction to the language, with short lessons and editable examples that run in the browser. It is a good first stop for newcomers.",
		Link:       "https://go.dev/tour/",
	},
}
