package audit

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// StartRetention deletes entries older than days now and then every interval
// (a day when zero), until stop is called; stop waits for a running prune.
// days <= 0 keeps everything.
func StartRetention(st *Store, days int, interval time.Duration, log *slog.Logger) (stop func()) {
	if days <= 0 {
		return func() {}
	}
	if interval <= 0 {
		interval = 24 * time.Hour
	}
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			cut := time.Now().AddDate(0, 0, -days)
			if n, err := st.Prune(ctx, cut); err != nil {
				if ctx.Err() == nil {
					log.Error("audit retention failed", "err", err)
				}
			} else if n > 0 {
				log.Info("audit retention", "deleted", n, "before", cut.UTC().Format(time.RFC3339), "days", days)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}
