package api_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// halPkg is the module's hardware layer; api reaches it only through bmc
// (cmd → api → bmc → hal).
const halPkg = "github.com/turingpi-oss/bmcd/hal"

// halAllowed are hal packages api may still import, each with the reason.
var halAllowed = map[string]string{
	// A file utility, not hardware; issue 9 item 5 moves it out of hal.
	halPkg + "/atomicfile": "file utility awaiting its move out of hal",
}

// TestAPIImportsNoHal: no package under api/ (tests aside) imports a hal
// package, so the server never touches hardware but through the domain.
func TestAPIImportsNoHal(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		files++
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			if p != halPkg && !strings.HasPrefix(p, halPkg+"/") {
				continue
			}
			if _, ok := halAllowed[p]; !ok {
				t.Errorf("api/%s imports %s: reach the hardware through package bmc", filepath.ToSlash(path), p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("found no Go files under api/: the test is not looking where it should")
	}
}
