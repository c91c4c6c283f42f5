package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/natsauth"
	"github.com/cascadehq/cascade/internal/registry"
)

func natsAuthGenerateCmd() *command {
	const name = "nats-auth generate"
	return &command{
		name:    name,
		summary: "Generate NATS users and per-organisation permissions from the registry",
		details: `Creates NKey users for the daemon, the vendor and each organisation in the
registry, with subject permissions: an organisation may subscribe only to
cascade.notice.<its id> and cascade.keys; only the vendor may publish on
cascade.breach.*. Writes the seeds (mode 0600, one file per user) and
nats-auth.conf (public keys and permissions, to include in a nats-server
configuration) into --out. Run it again with a grown registry: existing
credentials are kept, new organisations are added.

With --processors (the processor registry of a deployment shared by several
processors), each registered processor gets a vendor user of its own
(processors/<id>.nk), in an account of its own where cascade.breach.report
and cascade.breach.update are its own intake subjects: what it publishes is
its own breach, whatever the payload says.

Start the embedded server with them: cascaded --nats-auth DIR. Hand each
organisation its own seed file (orgs/<id>.nk), the vendor vendor.nk and each
processor its processors/<id>.nk; cascadectl takes a seed with --nats-nkey.`,
		examples: `
# NATS users for the daemon, the vendor and every organisation
cascadectl nats-auth generate --orgs deploy/examples/orgs.csv --out nats-auth
# ... and a vendor user for each registered processor
cascadectl nats-auth generate --orgs deploy/examples/orgs.csv --processors deploy/examples/processors.csv --out nats-auth`,
		setup: func(fs *flag.FlagSet) runFunc {
			orgs := fs.String("orgs", "", "registry CSV `file` (required)")
			out := fs.String("out", "", "credentials `directory` to create or extend (required)")
			procFile := fs.String("processors", "", "processor registry CSV `file`: a vendor user for each registered processor")
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs(name, args, 0); err != nil {
					return err
				}
				if *orgs == "" || *out == "" {
					return usageErrorf(name, "%s needs --orgs FILE and --out DIR", name)
				}
				reg, err := registry.LoadFile(*orgs)
				if err != nil {
					return err
				}
				set, err := natsauth.LoadDir(*out)
				switch {
				case err == nil:
					if set, err = set.Update(reg); err != nil {
						return err
					}
				case errors.Is(err, os.ErrNotExist):
					if set, err = natsauth.Generate(reg); err != nil {
						return err
					}
				default:
					return err
				}
				if *procFile != "" {
					procs, err := registry.LoadProcessorsFile(*procFile)
					if err != nil {
						return err
					}
					ids := make([]breach.ProcessorID, len(procs))
					for i, p := range procs {
						ids[i] = p.ID
					}
					if set, err = set.UpdateProcessors(ids); err != nil {
						return err
					}
				}
				if err := set.WriteDir(*out); err != nil {
					return err
				}
				if a.g.output == outputJSON {
					return writeJSON(a.stdout, map[string]any{"dir": *out, "organisations": len(set.Orgs), "processors": len(set.Processors),
						"daemon": set.Daemon.Public, "vendor": set.Vendor.Public})
				}
				_, err = fmt.Fprintf(a.stdout, "NATS credentials for the daemon, the vendor and %s are in %s.\n"+
					"Start the embedded server with them: cascaded --nats-auth %s\n"+
					"Give each organisation its own seed (%s/orgs/<id>.nk) and keep the others secret.\n",
					plural(int64(len(set.Orgs)), "organisation", "organisations"), *out, *out, *out)
				return err
			}
		},
	}
}

func natsAuthInboxPrefixCmd() *command {
	const name = "nats-auth inbox-prefix"
	return &command{
		name:    name,
		args:    "SEEDFILE",
		summary: "Print the inbox prefix a NATS user must use for replies",
		details: `Prints _INBOX.<public key> of the user whose NKey seed is in SEEDFILE: the
only subjects on which Cascade's NATS server lets that user receive replies
(a request's answer, a JetStream PubAck). NATS clients other than cascadectl
need it to make requests, e.g. the nats CLI's --inbox-prefix:

  nats --nkey cascade-data/nats-auth/vendor.nk \
    --inbox-prefix "$(cascadectl nats-auth inbox-prefix cascade-data/nats-auth/vendor.nk)" \
    req cascade.breach.report "$(cat deploy/examples/breach.json)"

The seed is read, never printed.`,
		examples: `
# the vendor's inbox prefix under 'make run', for the nats CLI's --inbox-prefix
cascadectl nats-auth inbox-prefix cascade-data/nats-auth/vendor.nk`,
		setup: func(fs *flag.FlagSet) runFunc {
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs(name, args, 1); err != nil {
					return err
				}
				pub, err := natsauth.PublicKeyFromFile(args[0])
				if err != nil {
					return err
				}
				if a.g.output == outputJSON {
					return writeJSON(a.stdout, map[string]string{"public_key": pub, "inbox_prefix": natsauth.InboxPrefix(pub)})
				}
				_, err = fmt.Fprintln(a.stdout, natsauth.InboxPrefix(pub))
				return err
			}
		},
	}
}
