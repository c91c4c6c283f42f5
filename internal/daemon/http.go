package daemon

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/cascadehq/cascade/internal/store"
)

func (d *Daemon) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if _, err := d.st.JetStream().AccountInfo(ctx); err != nil {
			http.Error(w, "jetstream unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintln(w, "# HELP cascade_stream_messages Messages stored in each Cascade stream.")
		fmt.Fprintln(w, "# TYPE cascade_stream_messages gauge")
		for _, name := range []string{store.StreamIntake, store.StreamRejected, store.StreamNotices, store.StreamLedger} {
			s, err := d.st.JetStream().Stream(ctx, name)
			if err != nil {
				continue
			}
			info, err := s.Info(ctx)
			if err != nil {
				continue
			}
			fmt.Fprintf(w, "cascade_stream_messages{stream=%q} %d\n", name, info.State.Msgs)
		}
		up := 0
		if d.nc.IsConnected() {
			up = 1
		}
		fmt.Fprintln(w, "# HELP cascade_nats_connected Whether the daemon is connected to NATS.")
		fmt.Fprintln(w, "# TYPE cascade_nats_connected gauge")
		fmt.Fprintf(w, "cascade_nats_connected %d\n", up)
	})
	return mux
}
