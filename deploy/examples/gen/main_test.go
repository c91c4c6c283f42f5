package main

import (
	"bytes"
	"io"
	"os"
	"testing"
)

// TestExampleRegistryIsCurrent: the committed example registry is what
// the generator makes from the committed list, from the repository alone.
func TestExampleRegistryIsCurrent(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-in", "../se-orgs.csv"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../orgs.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Error("deploy/examples/orgs.csv is not what the generator makes: run go run ./deploy/examples/gen -out deploy/examples/orgs.csv")
	}
}
