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
//   - watch: dashboard live views (server-sent events, read as the page
//     reads them, one controller organisation and token each: the inbox
//     during a fan-out, the notice page during acknowledgements) and gRPC
//     WatchBreach streams, on a daemon with authentication on: the lag from
//     a stored change to each watcher, the daemon's memory per view, and
//     that every final state arrived, none twice;
//   - restart: stop and start over a large store until the correct summary
//     is served, and the process's RSS after it;
//   - timers: reminder lateness with many pending reminders, and what the
//     pending timers cost.
//
// The clients run in a second process: Run starts this binary again
// (os.Executable) with CASCADE_LOAD_CLIENT=1 (ClientEnv), in which it
// reads jobs as JSON lines on stdin and answers each with its raw
// measurements (every latency, every change a watcher saw) as a JSON line
// on stdout (ClientMain); the acknowledging gRPC clients, the status
// probes, the raw KV compare-and-set baselines and the watchers all run
// there, so that they do not share the daemon's process and scheduler.
// The parent folds their answers into the report. A program embedding
// Run must call ClientMain when IsClientMode reports true, first thing in
// main (cmd/cascade-load does; this package's tests do in TestMain).
//
// Every scenario is repeated and reported as the median with its minimum
// and maximum. Results are a table (Report.WriteTable) and JSON
// (Report.WriteJSON). Run is the entry point; Config and ParseFlags say
// what to run.
package loadtest
