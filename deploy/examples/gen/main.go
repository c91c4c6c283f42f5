// Command gen writes the example registry deploy/examples/orgs.csv from a
// list of Swedish municipalities and regions (CSV columns
// kind,code,name,county_code,org_number; kind is "municipality" or
// "region"; deploy/examples/se-orgs.csv, Sweden's 290 municipalities and
// 21 regions with their official codes, is the default). Run it from the
// repository root:
//
//	go run ./deploy/examples/gen -out deploy/examples/orgs.csv
//
// Municipalities get the id se-kommun-<code>, regions se-region-<code>.
// Region Gotland is both municipality 0980 and region 09 but one legal
// body, so it is written once, as se-kommun-0980 named "Region Gotland".
// Contacts are fake addresses on the reserved domain example.org: the DPO,
// the security contact and, as the escalation contact, the head of
// administration (kommundirektor@ for a municipality, regiondirektor@ for
// a region); phone, webhook_url, channels and escalation_phone stay empty;
// the locale is sv. Regions and the municipalities of Jämtland County
// (county code 23) get the regimes nis2 (GDPR and NIS2 obligations); the
// others are left empty (GDPR alone), so the example shows both. (Since
// 15 January 2026 every Swedish municipality and region is under the
// Cybersecurity Act, cybersäkerhetslagen 2025:1506: a real registry
// writes nis2 on all of them.) Every column of registry.Columns is written, in its
// order. The output is checked with registry.ParseCSV before it is
// written.
package main

import (
	"bytes"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"

	"github.com/cascadehq/cascade/internal/registry"
)

// sameBody maps a region code to the municipality code of the same legal
// body: the organisation is listed once, under the municipality id, with
// the region's name.
var sameBody = map[string]string{"09": "0980"} // Region Gotland

var codePattern = map[string]*regexp.Regexp{
	"municipality": regexp.MustCompile(`^[0-9]{4}$`),
	"region":       regexp.MustCompile(`^[0-9]{2}$`),
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "gen:", err)
		}
		os.Exit(2)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "deploy/examples/se-orgs.csv", "input CSV `file` (kind,code,name,county_code,org_number)")
	out := fs.String("out", "-", "output registry CSV `file`; - for standard output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || fs.NArg() != 0 {
		fs.Usage()
		return errors.New("-in names the input file; no arguments are accepted")
	}

	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := convert(f)
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}

	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(rows); err != nil {
		return err
	}
	if _, err := registry.ParseCSV(bytes.NewReader(buf.Bytes())); err != nil {
		return fmt.Errorf("generated registry is invalid: %w", err)
	}
	if *out == "-" {
		_, err := stdout.Write(buf.Bytes())
		return err
	}
	return os.WriteFile(*out, buf.Bytes(), 0o644)
}

// convert reads the municipality/region list and returns the registry rows,
// header first, in input order.
func convert(r io.Reader) ([][]string, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 || fmt.Sprint(recs[0]) != "[kind code name county_code org_number]" {
		return nil, errors.New("header must be kind,code,name,county_code,org_number")
	}

	rows := [][]string{slices.Clone(registry.Columns)}
	index := make(map[string]int) // id -> position in rows
	merged := make(map[string]bool)
	for i, rec := range recs[1:] {
		line := i + 2
		kind, code, name, county := rec[0], rec[1], rec[2], rec[3]
		p, ok := codePattern[kind]
		switch {
		case !ok:
			return nil, fmt.Errorf("line %d: unknown kind %q", line, kind)
		case !p.MatchString(code):
			return nil, fmt.Errorf("line %d: %s code %q is malformed", line, kind, code)
		case name == "":
			return nil, fmt.Errorf("line %d: name is empty", line)
		}
		if muni, ok := sameBody[code]; ok && kind == "region" {
			j, ok := index["se-kommun-"+muni]
			if !ok {
				return nil, fmt.Errorf("line %d: region %s is the same body as municipality %s, which must come first", line, code, muni)
			}
			rows[j][1] = name
			merged[code] = true
			continue
		}
		id := "se-kommun-" + code
		if kind == "region" {
			id = "se-region-" + code
		}
		if _, dup := index[id]; dup {
			return nil, fmt.Errorf("line %d: %s listed twice", line, id)
		}
		index[id] = len(rows)
		domain := id + ".example.org"
		head := "kommundirektor@" + domain
		if kind == "region" {
			head = "regiondirektor@" + domain
		}
		regimes := ""
		if kind == "region" || county == "23" {
			regimes = "nis2"
		}
		rows = append(rows, row(map[string]string{
			registry.ColID: id, registry.ColName: name, registry.ColDPOEmail: "dpo@" + domain,
			registry.ColSecurityEmail: "security@" + domain, registry.ColLocale: "sv", registry.ColEscalationEmail: head,
			registry.ColRegimes: regimes,
		}))
	}
	for code := range sameBody {
		if !merged[code] {
			return nil, fmt.Errorf("region %s not found", code)
		}
	}
	return rows, nil
}

// row is one registry row with the values of vals (by column name), the
// other columns empty, in the order of registry.Columns.
func row(vals map[string]string) []string {
	out := make([]string, len(registry.Columns))
	for i, c := range registry.Columns {
		out[i] = vals[c]
	}
	return out
}
