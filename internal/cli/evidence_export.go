package cli

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"github.com/cascadehq/cascade/internal/evidence"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

func evidenceExportCmd() *command {
	const name = "evidence export"
	return &command{
		name:    name,
		summary: "Export the record of a breach or an organisation as signed evidence files",
		details: `Exports the evidence of one breach (--breach) or of one organisation
(--org): the breach facts and revisions, every notice and every event of
its history (Art. 33(5) documentation), as evidence.json and evidence.csv,
with SHA256SUMS beside them, and manifest.json, the list of those three
files with their sizes and SHA-256 digests, signed by Cascade's signing
key in manifest.sig. The files are checked against the digests and the
manifest Cascade sent before anything is written.

The files go to a new directory, by default
./evidence-<id>-<UTC time, e.g. 20250824T100000Z>. Evidence is never
overwritten: if a file exists, nothing is written. Check the files later
with 'cascadectl evidence verify DIR --keys keys.json' (the signature, then
every file), keys.json saved by 'cascadectl keys list --save keys.json'.
'sha256sum -c SHA256SUMS' checks the digests alone, which cannot show a
file changed together with its digest.`,
		examples: `
# Everything recorded about a breach, into ./evidence
cascadectl evidence export --breach EXAMPLE-2025-08-23 --dir evidence
# One organisation's record, across breaches
cascadectl evidence export --org se-kommun-0180`,
		setup: func(fs *flag.FlagSet) runFunc {
			breachID := fs.String("breach", "", "export every notice of the breach with this `id`")
			orgID := fs.String("org", "", "export every notice of the organisation with this `id`")
			dir := fs.String("dir", "", "`directory` to write the files to (default ./evidence-<id>-<UTC time>)")
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs(name, args, 0); err != nil {
					return err
				}
				if (*breachID == "") == (*orgID == "") {
					return usageErrorf(name, "name exactly one of --breach ID or --org ID")
				}
				ctx, cancel := a.withTimeout(ctx)
				defer cancel()
				c, err := a.dial()
				if err != nil {
					return err
				}
				defer c.Close()
				resp, err := c.notices.ExportEvidence(ctx, &cascadev1.ExportEvidenceRequest{BreachId: *breachID, OrgId: *orgID})
				if err != nil {
					return err
				}
				return a.writeEvidence(resp, *breachID, *orgID, *dir)
			}
		},
	}
}

// evidenceFileJSON is one written file in -o json.
type evidenceFileJSON struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256,omitempty"`
}

// evidenceExportJSON is the -o json form of evidence export.
type evidenceExportJSON struct {
	BreachID    string             `json:"breach_id,omitempty"`
	OrgID       string             `json:"org_id,omitempty"`
	Dir         string             `json:"dir"`
	GeneratedAt string             `json:"generated_at,omitempty"`
	Signed      bool               `json:"signed"`           // a signed manifest was written
	KeyID       string             `json:"key_id,omitempty"` // the key that signed it
	Files       []evidenceFileJSON `json:"files"`
	Warning     string             `json:"warning,omitempty"`
}

// unsignedWarning is said of an export from a cascaded that sent no
// signed manifest.
const unsignedWarning = "cascaded sent no signed manifest (it is older than this cascadectl): " +
	"the files can be checked only against SHA256SUMS, with 'cascadectl evidence verify --unsigned DIR', " +
	"which cannot show a file changed together with its digest"

// writeEvidence checks the export against its digests and its manifest
// and writes it.
func (a *app) writeEvidence(resp *cascadev1.ExportEvidenceResponse, breachID, orgID, dir string) error {
	for _, f := range []struct {
		name   string
		data   []byte
		digest string
	}{{"JSON", resp.GetJson(), resp.GetJsonSha256()}, {"CSV", resp.GetCsv(), resp.GetCsvSha256()}} {
		if err := evidence.Verify(f.data, f.digest); err != nil {
			return fmt.Errorf("nothing written: the exported %s does not match the digest Cascade sent with it: %w", f.name, err)
		}
	}
	generated := time.Now().UTC()
	if t := resp.GetGeneratedAt(); t != nil {
		generated = t.AsTime().UTC()
	}
	if dir == "" {
		id := breachID
		if id == "" {
			id = orgID
		}
		dir = "." + string(filepath.Separator) + fmt.Sprintf("evidence-%s-%s", id, generated.Format("20060102T150405Z"))
	}
	rendered := evidence.Rendered{JSON: resp.GetJson(), CSV: resp.GetCsv(), JSONSHA256: resp.GetJsonSha256(), CSVSHA256: resp.GetCsvSha256()}
	files, err := rendered.Files(evidence.BaseName)
	if err != nil {
		return err
	}
	signed := len(resp.GetManifest()) > 0
	var paths []string
	if signed {
		paths, err = evidence.WriteSigned(dir, evidence.Signed{Files: files, Manifest: resp.GetManifest(),
			Signature: resp.GetManifestSignature(), KeyID: resp.GetKeyId()})
	} else {
		paths, err = evidence.WriteFiles(dir, rendered, evidence.BaseName)
	}
	if err != nil {
		return err
	}
	descr := []string{"sha256 " + resp.GetJsonSha256(), "sha256 " + resp.GetCsvSha256(), "(the digests, for sha256sum -c)",
		"(the digest manifest: every file above with its size and SHA-256)", "(Cascade's signature of the manifest, key " + resp.GetKeyId() + ")"}
	digests := []string{resp.GetJsonSha256(), resp.GetCsvSha256(), "", evidence.Digest(resp.GetManifest()), ""}
	if a.g.output == outputJSON {
		out := evidenceExportJSON{BreachID: breachID, OrgID: orgID, Dir: dir, GeneratedAt: formatTime(resp.GetGeneratedAt()), Signed: signed}
		if signed {
			out.KeyID = resp.GetKeyId()
		} else {
			out.Warning = unsignedWarning
		}
		for i, p := range paths {
			out.Files = append(out.Files, evidenceFileJSON{Path: p, SHA256: digests[i]})
		}
		return writeJSON(a.stdout, out)
	}
	what := "breach " + breachID
	if breachID == "" {
		what = "organisation " + orgID
	}
	fmt.Fprintf(a.stdout, "Exported the evidence of %s (generated %s) to %s:\n", what, formatTime(resp.GetGeneratedAt()), dir)
	tw := newTable(a.stdout)
	for i, p := range paths {
		row(tw, "  "+p, descr[i])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !signed {
		fmt.Fprintf(a.stderr, "WARNING: %s.\n", unsignedWarning)
		fmt.Fprintf(a.stdout, "Verify with: cd %s && sha256sum -c %s\n         or: cascadectl evidence verify --unsigned %s\n", dir, evidence.SumsFile, dir)
		return nil
	}
	fmt.Fprintf(a.stdout, "Verify with: cascadectl evidence verify %s --keys keys.json   (keys.json: cascadectl keys list --save keys.json)\n", dir)
	fmt.Fprintf(a.stdout, "Digests only (cannot show a file changed together with its digest): cd %s && sha256sum -c %s\n", dir, evidence.SumsFile)
	return nil
}
