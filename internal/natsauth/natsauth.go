// Package natsauth generates NATS users and subject permissions for Cascade
// from the registry: the daemon, the vendor, and one user per organisation.
//
// Every user is an NKey user (an ed25519 key pair; the server holds only the
// public key, the user its seed). The daemon and the organisations are in
// account Account (CASCADE), the only one with JetStream, where Cascade's
// streams and buckets are; the vendor is alone in VendorAccount
// (CASCADE_VENDOR), which imports from Account exactly what it may use
// (Config). Permissions are allow lists, a second layer in each account:
//
//	user             publish                                   subscribe
//	cascade-daemon   >                                         >
//	cascade-vendor   cascade.breach.report                     cascade.breach.rejected
//	                 cascade.breach.update                     cascade.events.>
//	                 the JetStream API its tools use (below)   cascade.keys
//	                                                           _INBOX.<its public key>.>
//	org-<id>         nothing                                   cascade.notice.<id>
//	                                                           cascade.keys
//
// and the vendor is also denied cascade.notice.>, cascade.ledger.>,
// cascade.timer.>, $KV.> and $JS.ACK.> explicitly, so that widening its
// allow list cannot let it publish notices. Only the daemon publishes on
// cascade.notice.*.
//
// The server answers a request on whatever reply subject the requester
// names, and it does not check it against the requester's permissions.
// Within one account, a user allowed any request could therefore have the
// answer (a PubAck, an API response holding a stored message) published on
// a subject that Cascade's streams store: an organisation's registry entry
// ($KV.cascade-orgs.<id>), the signing keys, a token record, a notice's
// ledger state or another organisation's notice. Hence:
//
// Organisations, in Account with the streams, publish nothing, not even
// requests. They get the signing keys on cascade.keys and from the gRPC
// KeyService instead.
//
// The vendor needs requests (a JetStream publish is one, for its PubAck),
// so it has an account of its own. Its requests (cascade.breach.report,
// cascade.breach.update and the JetStream API calls below, under the same
// subjects) are service imports from Account: the server carries each
// request into Account with a reply subject of its own making (_R_.…) and
// the answer back to the vendor's account on the subject the vendor named,
// where no stream listens. The subjects it listens to (the rejections, its
// rounds, the key set) are stream imports. The server refuses a client's
// message whose reply is one it reserves ($JS.ACK.…, _R_.…), so the
// vendor cannot name an acknowledgement either. The vendor's account also
// imports $JS.API.INFO, only so that the server does not answer the
// vendor's API requests itself (see vendorShadow); its permissions do not
// allow it.
//
// Replies: the vendor receives replies (JetStream publish
// acknowledgements, API responses, pulled messages) only below its own
// inbox prefix, InboxPrefix(public key), never on _INBOX.>: a user allowed
// to subscribe to _INBOX.> would read every reply the server sends to every
// other user, the daemon's reads of every organisation's notices included.
// Clients therefore connect with UserOption, which sets that prefix (for
// every user, so the daemon's replies are below its own prefix too).
//
// The vendor's JetStream API allowances are what cascadectl's breach
// publish and update use and no more: a publish waits for its PubAck (a
// reply to its inbox, no API subject); it reads stream info of
// CASCADE_INTAKE, CASCADE_REJECTED and CASCADE_EVENTS, a stored report of
// CASCADE_INTAKE by sequence, the info of the daemons' intake consumer, and
// reads CASCADE_REJECTED and CASCADE_EVENTS with ordered consumers (create,
// pull, info and delete of consumers on those two streams only; an ordered
// consumer is a pull consumer with a generated name). Ordered consumers do
// not acknowledge (AckNone), so the vendor gets no $JS.ACK.>: with it, it
// could acknowledge or terminate the daemons' intake and timer messages.
package natsauth

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/cascadehq/cascade/internal/breach"
)

// Roles of a user.
const (
	RoleDaemon = "daemon"
	RoleVendor = "vendor"
	RoleOrg    = "org"
	// RoleProcessor is a registered processor's vendor user: in an account
	// of its own (ProcessorAccount), where cascade.breach.report and
	// .update lead to its own intake subjects, so what it publishes is its
	// own whatever the payload says.
	RoleProcessor = "processor"
)

// User names.
const (
	DaemonName      = "cascade-daemon"
	VendorName      = "cascade-vendor"
	orgPrefix       = "org-"
	processorPrefix = "processor-"
)

// Subjects and JetStream names the permissions refer to. They must agree
// with internal/store.
const (
	subjectReport   = "cascade.breach.report"
	subjectUpdate   = "cascade.breach.update"
	subjectRejected = "cascade.breach.rejected"
	subjectEvents   = "cascade.events.>"
	subjectNotice   = "cascade.notice."
	subjectKeys     = "cascade.keys"

	streamIntake   = "CASCADE_INTAKE"
	streamRejected = "CASCADE_REJECTED"
	streamEvents   = "CASCADE_EVENTS"
	intakeConsumer = "cascade-intake"

	jsAPI = "$JS.API."
)

// Credentials are one user's: its name, role, organisation (for RoleOrg),
// NKey seed (secret; nil when only the public key is known) and public key.
type Credentials struct {
	Name, Role string
	Org        breach.OrgID
	Processor  breach.ProcessorID // for RoleProcessor
	Seed       []byte
	Public     string

	derived bool   // Public was derived from Seed here: no need to check them again
	file    string // the seed file LoadDir read Seed from
}

// Set is every user of one deployment.
type Set struct {
	Daemon, Vendor Credentials
	// Orgs are ordered by organisation id.
	Orgs []Credentials
	// Processors are the registered processors' vendor users, ordered by
	// processor id.
	Processors []Credentials
}

// ProcessorName is the user name of registered processor id.
func ProcessorName(id breach.ProcessorID) string { return processorPrefix + string(id) }

// UpdateProcessors returns s with a user for every processor in ids that
// has none (existing users keep their keys; none is removed).
func (s Set) UpdateProcessors(ids []breach.ProcessorID) (Set, error) {
	out := s
	out.Processors = slices.Clone(s.Processors)
	have := map[breach.ProcessorID]bool{}
	for _, c := range out.Processors {
		have[c.Processor] = true
	}
	for _, id := range ids {
		if !id.Valid() {
			return Set{}, fmt.Errorf("natsauth: processor id %q does not match %s", id, breach.ProcessorIDPattern)
		}
		if have[id] {
			continue
		}
		have[id] = true
		kp, err := nkeys.CreateUser()
		if err != nil {
			return Set{}, fmt.Errorf("natsauth: create nkey for %s: %w", ProcessorName(id), err)
		}
		c, err := fromKeyPair(ProcessorName(id), RoleProcessor, "", kp)
		if err != nil {
			return Set{}, err
		}
		c.Processor = id
		out.Processors = append(out.Processors, c)
	}
	slices.SortFunc(out.Processors, func(a, b Credentials) int { return strings.Compare(string(a.Processor), string(b.Processor)) })
	return out, nil
}

// OrgName is the user name of organisation id.
func OrgName(id breach.OrgID) string { return orgPrefix + string(id) }

// InboxPrefix is the inbox prefix of the user with the given public key:
// the only subjects on which it may receive replies are below it.
func InboxPrefix(public string) string { return "_INBOX." + public }

// InboxPrefix is c's inbox prefix.
func (c Credentials) InboxPrefix() string { return InboxPrefix(c.Public) }

// Generate creates fresh keys for the daemon, the vendor and every
// organisation in orgs.
func Generate(orgs []breach.Org) (Set, error) {
	return Set{}.Update(orgs)
}

// Update returns s with users for the organisations in orgs that have none
// yet (and for the daemon and vendor if s has none). Existing users keep
// their keys, so credentials already handed out stay valid; users of
// organisations no longer in orgs are kept (the registry is upserted, never
// shrunk; to revoke a user, delete its seed file and load the directory).
func (s Set) Update(orgs []breach.Org) (Set, error) {
	out := Set{Daemon: s.Daemon, Vendor: s.Vendor, Orgs: slices.Clone(s.Orgs), Processors: s.Processors}
	var err error
	if out.Daemon.Public == "" {
		if out.Daemon, err = newCredentials(DaemonName, RoleDaemon, ""); err != nil {
			return Set{}, err
		}
	}
	if out.Vendor.Public == "" {
		if out.Vendor, err = newCredentials(VendorName, RoleVendor, ""); err != nil {
			return Set{}, err
		}
	}
	have := map[breach.OrgID]bool{}
	for _, c := range out.Orgs {
		have[c.Org] = true
	}
	var missing []breach.OrgID
	for _, o := range orgs {
		if !o.ID.Valid() {
			return Set{}, fmt.Errorf("natsauth: organisation id %q does not match %s", o.ID, breach.OrgIDPattern)
		}
		if have[o.ID] {
			continue
		}
		missing = append(missing, o.ID)
		have[o.ID] = true
	}
	created := make([]Credentials, len(missing))
	if err := forEach(len(missing), cpuWorkers(), func(i int) error {
		var err error
		created[i], err = newCredentials(OrgName(missing[i]), RoleOrg, missing[i])
		return err
	}); err != nil {
		return Set{}, err
	}
	out.Orgs = append(out.Orgs, created...)
	slices.SortFunc(out.Orgs, func(a, b Credentials) int { return strings.Compare(string(a.Org), string(b.Org)) })
	return out, nil
}

func newCredentials(name, role string, org breach.OrgID) (Credentials, error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return Credentials{}, fmt.Errorf("natsauth: create nkey for %s: %w", name, err)
	}
	return fromKeyPair(name, role, org, kp)
}

func fromKeyPair(name, role string, org breach.OrgID, kp nkeys.KeyPair) (Credentials, error) {
	seed, err := kp.Seed()
	if err != nil {
		return Credentials{}, fmt.Errorf("natsauth: seed of %s: %w", name, err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return Credentials{}, fmt.Errorf("natsauth: public key of %s: %w", name, err)
	}
	// A copy: kp.Seed is kp's own slice, which kp.Wipe overwrites.
	return Credentials{Name: name, Role: role, Org: org, Seed: slices.Clone(seed), Public: pub, derived: true}, nil
}

// All is the daemon, the vendor, every organisation, then every
// registered processor.
func (s Set) All() []Credentials {
	return append(append([]Credentials{s.Daemon, s.Vendor}, s.Orgs...), s.Processors...)
}

// Org returns the credentials of organisation id.
func (s Set) Org(id breach.OrgID) (Credentials, bool) {
	for _, c := range s.Orgs {
		if c.Org == id {
			return c, true
		}
	}
	return Credentials{}, false
}

// validate checks that every user has a valid public key, a known role
// and a name that matches it, and that no key or organisation is used twice.
func (s Set) validate() error {
	if s.Daemon.Role != RoleDaemon || s.Vendor.Role != RoleVendor {
		return errors.New("natsauth: the set has no daemon or no vendor user")
	}
	keys := map[string]string{}
	orgs := map[breach.OrgID]bool{}
	for _, c := range s.All() {
		if !nkeys.IsValidPublicUserKey(c.Public) {
			return fmt.Errorf("natsauth: user %s: %q is not a public user nkey", c.Name, c.Public)
		}
		if other, dup := keys[c.Public]; dup {
			return fmt.Errorf("natsauth: users %s and %s have the same key", other, c.Name)
		}
		keys[c.Public] = c.Name
		if c.Role == RoleOrg {
			if !c.Org.Valid() || c.Name != OrgName(c.Org) {
				return fmt.Errorf("natsauth: organisation user %q (organisation %q) is not named org-<organisation id>", c.Name, c.Org)
			}
			if orgs[c.Org] {
				return fmt.Errorf("natsauth: organisation %s has two users", c.Org)
			}
			orgs[c.Org] = true
		}
	}
	for _, c := range s.Orgs {
		if c.Role != RoleOrg {
			return fmt.Errorf("natsauth: user %s among the organisations has role %q", c.Name, c.Role)
		}
	}
	procs := map[breach.ProcessorID]bool{}
	for _, c := range s.Processors {
		if c.Role != RoleProcessor || !c.Processor.Valid() || c.Name != ProcessorName(c.Processor) {
			return fmt.Errorf("natsauth: processor user %q (processor %q) is not named processor-<processor id>", c.Name, c.Processor)
		}
		if procs[c.Processor] {
			return fmt.Errorf("natsauth: processor %s has two users", c.Processor)
		}
		procs[c.Processor] = true
	}
	return nil
}

// Permissions are c's subject permissions.
func (c Credentials) Permissions() *server.Permissions {
	switch c.Role {
	case RoleDaemon:
		return &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: []string{">"}},
			Subscribe: &server.SubjectPermission{Allow: []string{">"}},
		}
	case RoleVendor:
		return &server.Permissions{
			Publish: &server.SubjectPermission{
				Allow: vendorRequests(),
				Deny:  []string{"cascade.notice.>", "cascade.ledger.>", "cascade.timer.>", "$KV.>", "$JS.ACK.>"},
			},
			Subscribe: &server.SubjectPermission{
				Allow: append(vendorStreams(), c.InboxPrefix()+".>"),
			},
		}
	case RoleProcessor:
		// In its own account, cascade.breach.report and .update are its
		// own intake subjects (ProcessorAccount's imports).
		return &server.Permissions{
			Publish: &server.SubjectPermission{
				Allow: []string{subjectReport, subjectUpdate},
				Deny:  []string{"cascade.notice.>", "cascade.ledger.>", "cascade.timer.>", "$KV.>", "$JS.ACK.>", "$JS.API.>"},
			},
			Subscribe: &server.SubjectPermission{
				Allow: []string{subjectRejected, subjectEvents, subjectKeys, c.InboxPrefix() + ".>"},
			},
		}
	case RoleOrg:
		return &server.Permissions{
			// Nothing, not even requests (see the package documentation).
			Publish: &server.SubjectPermission{Deny: []string{">"}},
			Subscribe: &server.SubjectPermission{
				Allow: []string{subjectNotice + string(c.Org), subjectKeys},
			},
		}
	}
	// Unknown role: nothing allowed.
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Deny: []string{">"}},
		Subscribe: &server.SubjectPermission{Deny: []string{">"}},
	}
}

// vendorImport is one subject the vendor's account imports from Account
// as a service (it publishes or requests on it).
type vendorImport struct {
	subject string
	// stream: the service answers one request with several messages
	// (a pull request's messages); otherwise with one.
	stream bool
}

// vendorServices are the vendor's requests, imported as services from
// Account under the same subjects. They are also its publish allow list.
func vendorServices() []vendorImport {
	return []vendorImport{
		{subject: subjectReport},
		{subject: subjectUpdate},
		// cascadectl breach publish/update: stream lookups, the stored
		// report (by sequence; MSG.GET now, DIRECT.GET should the stream
		// allow direct gets), the daemons' intake progress.
		{subject: jsAPI + "STREAM.INFO." + streamIntake},
		{subject: jsAPI + "STREAM.INFO." + streamRejected},
		{subject: jsAPI + "STREAM.INFO." + streamEvents},
		{subject: jsAPI + "STREAM.MSG.GET." + streamIntake},
		{subject: jsAPI + "DIRECT.GET." + streamIntake},
		{subject: jsAPI + "CONSUMER.INFO." + streamIntake + "." + intakeConsumer},
		// Ordered consumers on the two streams meant for the vendor.
		{subject: jsAPI + "CONSUMER.CREATE." + streamRejected + ".>"},
		{subject: jsAPI + "CONSUMER.CREATE." + streamEvents + ".>"},
		{subject: jsAPI + "CONSUMER.MSG.NEXT." + streamRejected + ".>", stream: true},
		{subject: jsAPI + "CONSUMER.MSG.NEXT." + streamEvents + ".>", stream: true},
		{subject: jsAPI + "CONSUMER.INFO." + streamRejected + ".>"},
		{subject: jsAPI + "CONSUMER.INFO." + streamEvents + ".>"},
		{subject: jsAPI + "CONSUMER.DELETE." + streamRejected + ".>"},
		{subject: jsAPI + "CONSUMER.DELETE." + streamEvents + ".>"},
	}
}

// vendorRequests are the subjects of vendorServices.
func vendorRequests() []string {
	var out []string
	for _, i := range vendorServices() {
		out = append(out, i.subject)
	}
	return out
}

// vendorStreams are the subjects the vendor's account imports from Account
// as streams (it subscribes to them).
func vendorStreams() []string {
	return []string{subjectRejected, subjectEvents, subjectKeys}
}
