// Package loadtest is the logic of cascade-load, Cascade's load tool. It
// starts an embedded daemon (daemon.Start on a temporary data directory,
// loopback ports, authentication off, the durable default of fsync on every
// write) or runs the daemon against an external NATS server on a loopback
// address, and measures, in one run, Cascade beside the raw JetStream
// limits of the same server:
//
//   - raw: JetStream async publish of N notice-sized messages to a file
//     stream (with the daemon's fsync setting and, with the embedded server,
//     on a second server without per-write fsync), and KV compare-and-set
//     updates at a fixed concurrency on distinct keys;
//   - fanout: one all_customers breach to N organisations, until every
//     notice and every delivery is durable, and its ratio to the raw publish;
//   - acks: concurrent gRPC clients acknowledging distinct notices, against
//     the raw KV compare-and-set rate at the same concurrency;
//   - status: GetBreachSummary and ListNotices latency while the acks run;
//   - restart: stop and start over a large store until the correct summary
//     is served, and the process's RSS after it;
//   - timers: reminder lateness with many pending reminders, and what the
//     pending timers cost.
//
// Every scenario is repeated and reported as the median with its minimum
// and maximum. Results are a table (Report.WriteTable) and JSON
// (Report.WriteJSON). Run is the entry point; Config and ParseFlags say
// what to run.
package loadtest
