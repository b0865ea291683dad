package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Export writes the entries with from <= time < to to w as JSON Lines, oldest
// first, and reports how many it wrote.
func Export(ctx context.Context, st *Store, from, to time.Time, w io.Writer) (int, error) {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n := 0
	err := st.Query(ctx, from, to, func(e Entry) error {
		if err := enc.Encode(e); err != nil {
			return fmt.Errorf("audit: export: %w", err)
		}
		n++
		return nil
	})
	if err != nil {
		return n, err
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("audit: export: %w", err)
	}
	return n, nil
}

// ParseDay reads a --from/--to value: a date (2026-11-01, midnight UTC) or
// an RFC 3339 time. day reports which, so that --to of a date can include it.
func ParseDay(s string) (t time.Time, day bool, err error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), false, nil
	}
	return time.Time{}, false, fmt.Errorf("%q: want a date like 2026-11-01 or a time like 2026-11-01T08:00:00Z", s)
}
