package breach

import (
	"fmt"
	"slices"
	"strings"
)

// This file holds what lets several processors share one Cascade: the
// processor registry's entries, and the processor a breach belongs to,
// which its id says.

// ProcessorID identifies a processor (a supplier whose breaches Cascade
// fans out). The empty ProcessorID is the deployment's default processor:
// the one of a single-processor deployment, whose breach ids are not
// qualified and whose vendor tokens administer the deployment.
type ProcessorID string

// ProcessorIDPattern is the syntax of a processor id. It has no
// underscore, so a qualified breach id splits at its first
// ProcessorSeparator.
const ProcessorIDPattern = `^[a-z0-9][a-z0-9-]{0,31}$`

// ProcessorSeparator separates a processor's id from its own breach id in
// a qualified breach id. A reported breach id may not contain it.
const ProcessorSeparator = "__"

// Valid reports whether id matches ProcessorIDPattern. The default
// processor's (empty) id is not valid: it is never written.
func (id ProcessorID) Valid() bool {
	if len(id) == 0 || len(id) > 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Default reports whether id is the default processor.
func (id ProcessorID) Default() bool { return id == "" }

// ParseProcessorID checks s against ProcessorIDPattern.
func ParseProcessorID(s string) (ProcessorID, error) {
	if !ProcessorID(s).Valid() {
		return "", fmt.Errorf("processor id %q does not match %s", truncate(s), ProcessorIDPattern)
	}
	return ProcessorID(s), nil
}

// String is the id, or "default" for the default processor.
func (id ProcessorID) String() string {
	if id == "" {
		return "default"
	}
	return string(id)
}

// Processor returns the processor a breach belongs to: the part of a
// qualified id before ProcessorSeparator, else the default processor.
func (id BreachID) Processor() ProcessorID {
	p, _, ok := strings.Cut(string(id), ProcessorSeparator)
	if !ok {
		return ""
	}
	return ProcessorID(p)
}

// Local is the id the processor reported: id without its processor part.
func (id BreachID) Local() BreachID {
	_, local, ok := strings.Cut(string(id), ProcessorSeparator)
	if !ok {
		return id
	}
	return BreachID(local)
}

// Qualify is the id under which processor p's breach local is stored:
// local itself for the default processor, else "<p>__<local>". A local id
// that is already qualified is returned as it is if p's (so a processor
// may name its breaches either way); ok is false if it is another
// processor's.
func Qualify(p ProcessorID, local BreachID) (BreachID, bool) {
	if strings.Contains(string(local), ProcessorSeparator) {
		return local, local.Processor() == p
	}
	if p == "" {
		return local, true
	}
	return BreachID(string(p) + ProcessorSeparator + string(local)), true
}

// Processor is one entry of the processor registry.
type Processor struct {
	ID           ProcessorID `json:"id"`
	Name         string      `json:"name"`
	ContactEmail string      `json:"contact_email,omitempty"`
	ContactPhone string      `json:"contact_phone,omitempty"`
	// AllCustomers: every organisation of the registry is its customer
	// (the registry file's customers column "*"); otherwise Customers,
	// sorted.
	AllCustomers bool    `json:"all_customers,omitempty"`
	Customers    []OrgID `json:"customers,omitempty"`
	// OrgID is the processor as an organisation: the id under which it
	// receives notices as a customer of its own suppliers (in this
	// deployment's registry, or in an upstream deployment's), so that it
	// may forward them (ForwardNotice). Empty: it forwards nothing.
	OrgID OrgID `json:"org_id,omitempty"`
}

// HasCustomer reports whether org is one of p's customers.
func (p *Processor) HasCustomer(org OrgID) bool {
	if p.AllCustomers {
		return true
	}
	_, ok := slices.BinarySearch(p.Customers, org)
	return ok
}

// Qualify gives processor p's report the id its breach is stored under
// (Qualify); a report whose id is another processor's, or contains
// ProcessorSeparator without being p's, is invalid.
func (r *Report) Qualify(p ProcessorID) error {
	q, mine := Qualify(p, r.ID)
	if !mine {
		return Invalid("id", "reserved", "breach id %q may not contain %q: it separates a registered processor's id from its own breach ids",
			truncate(string(r.ID)), ProcessorSeparator)
	}
	r.ID = q
	return nil
}
