package natsauth

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nats-io/nkeys"

	"github.com/cascadehq/cascade/internal/breach"
)

// Files of a credentials directory.
const (
	DaemonSeedFile = "daemon.nk"
	VendorSeedFile = "vendor.nk"
	OrgsDir        = "orgs" // orgs/<organisation id>.nk
	// ProcessorsDir holds the registered processors' vendor users:
	// processors/<processor id>.nk.
	ProcessorsDir = "processors"
	seedExt       = ".nk"
)

// SeedFile is the path of c's seed file relative to a credentials directory.
func (c Credentials) SeedFile() string {
	switch c.Role {
	case RoleDaemon:
		return DaemonSeedFile
	case RoleVendor:
		return VendorSeedFile
	case RoleProcessor:
		return filepath.Join(ProcessorsDir, string(c.Processor)+seedExt)
	}
	return filepath.Join(OrgsDir, string(c.Org)+seedExt)
}

// WriteDir writes the set to dir (created with mode 0700 if missing):
// ConfigFile (public keys only, mode 0644) and one seed file per user
// (DaemonSeedFile, VendorSeedFile, OrgsDir/<id>.nk; mode 0600), each
// holding the seed as one line, as the nats CLI's --nkey reads it.
//
// A seed file is never overwritten: one that already holds the same seed
// is left alone (so LoadDir, Update, WriteDir adds the new organisations'
// files), one with another seed is an error, as is a seed file in dir of
// an organisation the set does not have; then nothing is written.
// ConfigFile is replaced (it is derived from the set), after every seed
// file is in place.
func (s Set) WriteDir(dir string) error {
	if err := s.validate(); err != nil {
		return err
	}
	all := s.All()
	if err := forEach(len(all), cpuWorkers(), func(i int) error {
		if all[i].derived {
			return nil
		}
		return all[i].checkSeed()
	}); err != nil {
		return err
	}
	// Check everything before writing anything.
	exists := make([]bool, len(all))
	if err := forEach(len(all), ioWorkers, func(i int) error {
		c := all[i]
		path := filepath.Join(dir, c.SeedFile())
		if c.file == path { // loaded from this very file
			exists[i] = true
			return nil
		}
		old, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil
		case err != nil:
			return fmt.Errorf("natsauth: %w", err)
		case !bytes.Equal(bytes.TrimSpace(old), c.Seed):
			return fmt.Errorf("natsauth: refusing to overwrite %s: it holds another key for %s (load the directory and update it instead)", path, c.Name)
		}
		exists[i] = true
		return nil
	}); err != nil {
		return err
	}
	var missing []Credentials
	for i, c := range all {
		if !exists[i] {
			missing = append(missing, c)
		}
	}
	onDisk, err := orgSeedFiles(dir)
	if err != nil {
		return err
	}
	inSet := make(map[breach.OrgID]bool, len(s.Orgs))
	for _, c := range s.Orgs {
		inSet[c.Org] = true
	}
	for _, id := range onDisk {
		if !inSet[id] {
			return fmt.Errorf("natsauth: %s holds a key for organisation %s, which the set does not have (delete the file to revoke it)",
				filepath.Join(dir, OrgsDir, string(id)+seedExt), id)
		}
	}

	if err := os.MkdirAll(filepath.Join(dir, OrgsDir), 0o700); err != nil {
		return fmt.Errorf("natsauth: %w", err)
	}
	if len(s.Processors) > 0 {
		if err := os.MkdirAll(filepath.Join(dir, ProcessorsDir), 0o700); err != nil {
			return fmt.Errorf("natsauth: %w", err)
		}
	}
	if err := forEach(len(missing), ioWorkers, func(i int) error {
		return writeNew(filepath.Join(dir, missing[i].SeedFile()), append(slices.Clone(missing[i].Seed), '\n'))
	}); err != nil {
		return err
	}
	// The new files' names are durable once their directories are synced:
	// once for all of them, before the configuration that admits them.
	if len(missing) > 0 {
		if err := syncDir(filepath.Join(dir, OrgsDir)); err != nil {
			return err
		}
		if len(s.Processors) > 0 {
			if err := syncDir(filepath.Join(dir, ProcessorsDir)); err != nil {
				return err
			}
		}
		if err := syncDir(dir); err != nil {
			return err
		}
	}
	return replace(filepath.Join(dir, ConfigFile), []byte(s.Config()), 0o644)
}

// checkSeed checks that c has a user seed whose public key is c.Public.
func (c Credentials) checkSeed() error {
	if len(c.Seed) == 0 {
		return fmt.Errorf("natsauth: user %s has no seed", c.Name)
	}
	kp, err := nkeys.FromSeed(c.Seed)
	if err != nil {
		return fmt.Errorf("natsauth: seed of %s: %w", c.Name, err)
	}
	defer kp.Wipe()
	pub, err := kp.PublicKey()
	if err != nil {
		return fmt.Errorf("natsauth: seed of %s: %w", c.Name, err)
	}
	if pub != c.Public {
		return fmt.Errorf("natsauth: the seed of %s is not that of its public key %s", c.Name, c.Public)
	}
	return nil
}

// writeNew writes data to a new file at path, mode 0600, atomically: the
// file appears complete or not at all, and an existing file is an error.
// The file's data is synced; its name is durable once the caller syncs
// the directory (WriteDir does, once for every new file).
func writeNew(path string, data []byte) error {
	tmp, err := writeTemp(path, data, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("natsauth: refusing to overwrite %s", path)
		}
		return fmt.Errorf("natsauth: %w", err)
	}
	return nil
}

// replace writes data to path atomically, replacing what was there.
func replace(path string, data []byte, mode os.FileMode) error {
	tmp, err := writeTemp(path, data, mode)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("natsauth: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// writeTemp writes data to a new temporary file next to path, synced, and
// returns its name.
func writeTemp(path string, data []byte, mode os.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("natsauth: %w", err)
	}
	name := f.Name()
	err = f.Chmod(mode)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", fmt.Errorf("natsauth: write %s: %w", path, err)
	}
	return name, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("natsauth: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("natsauth: sync %s: %w", dir, err)
	}
	return nil
}

// orgSeedFiles lists the organisations with a seed file in dir/OrgsDir.
func orgSeedFiles(dir string) ([]breach.OrgID, error) {
	entries, err := os.ReadDir(filepath.Join(dir, OrgsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("natsauth: %w", err)
	}
	var ids []breach.OrgID
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), seedExt)
		if !ok || e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		id, err := breach.ParseOrgID(name)
		if err != nil {
			return nil, fmt.Errorf("natsauth: %s: %w", filepath.Join(dir, OrgsDir, e.Name()), err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// LoadDir reads the seeds WriteDir wrote to dir; public keys are derived
// from the seeds (ConfigFile is not read).
func LoadDir(dir string) (Set, error) {
	var s Set
	var err error
	if s.Daemon, err = loadSeed(dir, Credentials{Name: DaemonName, Role: RoleDaemon}); err != nil {
		return Set{}, err
	}
	if s.Vendor, err = loadSeed(dir, Credentials{Name: VendorName, Role: RoleVendor}); err != nil {
		return Set{}, err
	}
	ids, err := orgSeedFiles(dir)
	if err != nil {
		return Set{}, err
	}
	s.Orgs = make([]Credentials, len(ids))
	if err := forEach(len(ids), ioWorkers, func(i int) error {
		var err error
		s.Orgs[i], err = loadSeed(dir, Credentials{Name: OrgName(ids[i]), Role: RoleOrg, Org: ids[i]})
		return err
	}); err != nil {
		return Set{}, err
	}
	slices.SortFunc(s.Orgs, func(a, b Credentials) int { return strings.Compare(string(a.Org), string(b.Org)) })
	procs, err := processorSeedFiles(dir)
	if err != nil {
		return Set{}, err
	}
	for _, id := range procs {
		c, err := loadSeed(dir, Credentials{Name: ProcessorName(id), Role: RoleProcessor, Processor: id})
		if err != nil {
			return Set{}, err
		}
		s.Processors = append(s.Processors, c)
	}
	if err := s.validate(); err != nil {
		return Set{}, err
	}
	return s, nil
}

// processorSeedFiles lists the processors with a seed file in
// dir/ProcessorsDir, in id order.
func processorSeedFiles(dir string) ([]breach.ProcessorID, error) {
	entries, err := os.ReadDir(filepath.Join(dir, ProcessorsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("natsauth: %w", err)
	}
	var ids []breach.ProcessorID
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), seedExt)
		if !ok || e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		id, err := breach.ParseProcessorID(name)
		if err != nil {
			return nil, fmt.Errorf("natsauth: %s: %w", filepath.Join(dir, ProcessorsDir, e.Name()), err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// loadSeed reads the seed file of the user who names (name, role,
// organisation or processor) and returns who with its keys.
func loadSeed(dir string, who Credentials) (Credentials, error) {
	path := filepath.Join(dir, who.SeedFile())
	data, err := os.ReadFile(path)
	if err != nil {
		return Credentials{}, fmt.Errorf("natsauth: %w", err)
	}
	kp, err := userKeyPair(bytes.TrimSpace(data))
	if err != nil {
		return Credentials{}, fmt.Errorf("natsauth: %s: %w", path, err)
	}
	defer kp.Wipe()
	c, err := fromKeyPair(who.Name, who.Role, who.Org, kp)
	c.Processor, c.file = who.Processor, path
	return c, err
}

// userKeyPair parses a user seed.
func userKeyPair(seed []byte) (nkeys.KeyPair, error) {
	prefix, _, err := nkeys.DecodeSeed(seed)
	if err != nil {
		return nil, fmt.Errorf("not an nkey seed: %w", err)
	}
	if prefix != nkeys.PrefixByteUser {
		return nil, errors.New("not a user nkey seed")
	}
	return nkeys.FromSeed(seed)
}
