package breach

// This file holds what a processor forwards from its own supplier (a
// sub-processor chain, Art. 28(2) and 28(4)): the upstream notice, carried
// by the forwarded breach's report with the message exactly as the
// upstream's Cascade signed it.

// SignedMessage is a message as Cascade signed and sent it: subject,
// headers (Cascade-Signature and the headers it covers among them) and
// body. Its JSON form is the one cascadectl verify reads.
type SignedMessage struct {
	Subject string              `json:"subject"`
	Headers map[string][]string `json:"headers"`
	Data    []byte              `json:"data"`
}

// Upstream is the notice a forwarded breach forwards.
type Upstream struct {
	// Notice is the upstream notice: the upstream breach and the
	// forwarding processor as the upstream's customer.
	Notice NoticeID `json:"notice_id"`
	// Processor is the upstream processor's name (its report's);
	// ProcessorID its id when it is registered in the same deployment.
	Processor   string      `json:"processor"`
	ProcessorID ProcessorID `json:"processor_id,omitempty"`
	Revision    int         `json:"revision"`
	// KeyID and PublicKey are the key that signed Message (32 bytes).
	KeyID     string        `json:"key_id"`
	PublicKey []byte        `json:"public_key"`
	Message   SignedMessage `json:"message"`
}

// MaxUpstreamBytes bounds an upstream message's body: a notice message
// carries the facts of one breach, well below it.
const MaxUpstreamBytes = 256 << 10
