package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestMain runs the daemon's main when the test binary is started as
// cascaded by runMain.
func TestMain(m *testing.M) {
	if os.Getenv("CASCADED_TEST_MAIN") == "1" {
		os.Args = append([]string{"cascaded"}, strings.Split(os.Getenv("CASCADED_TEST_ARGS"), "\n")...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runMain runs cascaded with args in a child process and returns its
// combined output and exit code.
func runMain(t *testing.T, args ...string) (string, int, time.Duration) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CASCADED_TEST_MAIN=1", "CASCADED_TEST_ARGS="+strings.Join(args, "\n"))
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code, took
}

func TestVersionFlag(t *testing.T) {
	out, code, _ := runMain(t, "--version")
	// A test binary records no VCS information: "commit unknown" here,
	// the commit in a build (TestStampedVersion checks the stamp).
	if code != 0 || !strings.HasPrefix(out, "cascaded ") || !strings.Contains(out, " commit ") {
		t.Fatalf("exit %d: %q", code, out)
	}
}

func TestFlagCombinationsRefused(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--smtp-addr", "smtp.example:587"}, "--smtp-addr needs --smtp-from"},
		{[]string{"--smtp-from", "a@b.example"}, "need --smtp-addr"},
		{[]string{"--tls-cert", "x.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"--insecure-nats-no-auth"}, "--insecure-nats-no-auth applies only to an external server (--nats-url)"},
		{[]string{"--deadline", "0s"}, "--deadline must be positive"},
		{[]string{"--nis2-early-warning", "0s"}, "must be positive"},
		{[]string{"--nis2-final-report", "a fortnight"}, "want a duration such as 24h or a number of months"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := append([]string{"--data-dir", dir + "/data", "--nats-listen", "127.0.0.1:-1", "--grpc-addr", "127.0.0.1:0", "--http-addr", ""}, tc.args...)
			out, code, took := runMain(t, args...)
			if code == 0 || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d after %s, want %q in:\n%s", code, took, tc.want, out)
			}
			if strings.Contains(out, "NATS server started") {
				t.Errorf("NATS started before the flags were refused:\n%s", out)
			}
			if _, err := os.Stat(dir + "/data"); err == nil {
				t.Errorf("the data dir was created before the flags were refused")
			}
		})
	}
}

// TestStampedVersion builds cascaded as the Makefile does for a tree
// without VCS information and checks that --version prints the stamp.
func TestStampedVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cascaded")
	}
	bin := t.TempDir() + "/cascaded"
	const pkg = "github.com/cascadehq/cascade/internal/version"
	ldflags := "-X " + pkg + ".Version=v9.8.7 -X " + pkg + ".Revision=0123456789abcdef0123456789abcdef01234567 -X " +
		pkg + ".Time=2026-12-07T21:00:00Z -X " + pkg + ".Modified=true"
	build := exec.CommandContext(t.Context(), "go", "build", "-buildvcs=false", "-ldflags", ldflags, "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.CommandContext(t.Context(), bin, "--version").CombinedOutput()
	want := "cascaded v9.8.7 commit 0123456789ab (2026-12-07T21:00:00Z, modified) go"
	if err != nil || !strings.HasPrefix(string(out), want) {
		t.Fatalf("--version: %v: %q, want prefix %q", err, out, want)
	}
}
