package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver

	"github.com/fenzhen/fenzhen/privacy"
)

// timeLayout is fixed-width so that text order is time order in SQL.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// migrations[i] moves the schema from user_version i to i+1.
var migrations = []string{
	`CREATE TABLE requests (
		id          INTEGER PRIMARY KEY,
		time        TEXT    NOT NULL, -- UTC, timeLayout
		request_id  TEXT    NOT NULL,
		tenant      TEXT    NOT NULL DEFAULT '',
		key_id      TEXT    NOT NULL DEFAULT '',
		route       TEXT    NOT NULL,
		method      TEXT    NOT NULL,
		status      INTEGER NOT NULL,
		latency_ms  REAL    NOT NULL,
		departments TEXT    NOT NULL DEFAULT '[]', -- JSON arrays from here on
		urgency     TEXT    NOT NULL DEFAULT '',
		red_flags   TEXT    NOT NULL DEFAULT '[]',
		top         TEXT    NOT NULL DEFAULT '[]',
		models      TEXT    NOT NULL DEFAULT '[]',
		text        TEXT             -- redacted; NULL unless text storage is on
	);
	CREATE INDEX requests_time ON requests(time);
	CREATE INDEX requests_request_id ON requests(request_id);`,
}

// Store is the audit database: one SQLite file in WAL mode, so exports and
// retention read and delete while the writer inserts.
type Store struct {
	db   *sql.DB
	path string
}

// Open opens (creating it, 0600, if needed) the database at path and brings
// its schema up to date.
func Open(path string) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("audit: create %s: %w", dir, err)
		}
	}
	// SQLite gives -wal and -shm the main file's mode, so this keeps all three private.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	f.Close()
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// Pruned entries are overwritten, not just unlinked: retention means gone.
	q.Add("_pragma", "secure_delete(ON)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+uriEscaper.Replace(path)+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if err := s.migrate(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("audit: %s: %w", path, err)
	}
	return s, nil
}

// uriEscaper makes a path safe in an SQLite URI, whose parser would end the
// name at ? or # and decode %HH.
var uriEscaper = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this binary's %d", v, len(migrations))
	}
	for ; v < len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrate schema to version %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// JournalMode reports the journal mode SQLite is using ("wal").
func (s *Store) JournalMode(ctx context.Context) (string, error) {
	var m string
	err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&m)
	return m, err
}

// insertRows is how many entries one INSERT statement carries: one
// statement per entry made the database/sql and SQLite statement overhead
// most of the writer's CPU. 64 rows × 14 columns stays far under SQLite's
// limit on bound parameters.
const insertRows = 64

const insertColumns = `INSERT INTO requests
		(time, request_id, tenant, key_id, route, method, status, latency_ms, departments, urgency, red_flags, top, models, text)
		VALUES `

// insertSQL is the INSERT of n rows.
func insertSQL(n int) string {
	var b strings.Builder
	b.WriteString(insertColumns)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	return b.String()
}

// fullInsert is the statement text of a full chunk, built once.
var fullInsert = insertSQL(insertRows)

// Insert writes entries in one transaction. Text is stored only redacted.
func (s *Store) Insert(ctx context.Context, entries []Entry) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("audit: begin: %w", err)
	}
	defer tx.Rollback()
	args := make([]any, 0, 14*min(len(entries), insertRows))
	for len(entries) > 0 {
		chunk := entries[:min(len(entries), insertRows)]
		entries = entries[len(chunk):]
		args = args[:0]
		for i := range chunk {
			args = appendRow(args, &chunk[i])
		}
		q := fullInsert
		if len(chunk) < insertRows {
			q = insertSQL(len(chunk))
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("audit: insert: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("audit: commit: %w", err)
	}
	return nil
}

// appendRow appends the 14 column values of e, in insertColumns order.
func appendRow(args []any, e *Entry) []any {
	var text any // NULL
	if e.Text != "" {
		text = privacy.Redact(e.Text)
	}
	top := e.Top
	if len(top) > MaxTop {
		top = top[:MaxTop]
	}
	return append(args, e.Time.UTC().Format(timeLayout), e.RequestID, e.Tenant, e.KeyID, e.Route, e.Method,
		e.Status, e.LatencyMS, jsonStrings(e.Departments), e.Urgency, jsonStrings(e.RedFlags), jsonList(top), jsonList(e.Models), text)
}

// jsonStrings is jsonList for a list of ids and codes, written directly when
// no string needs escaping (the same bytes encoding/json writes).
func jsonStrings(v []string) string {
	if len(v) == 0 {
		return "[]"
	}
	b := make([]byte, 0, 16*len(v))
	b = append(b, '[')
	for i, s := range v {
		if !plainJSON(s) {
			return jsonList(v)
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, s...)
		b = append(b, '"')
	}
	return string(append(b, ']'))
}

// plainJSON reports a string encoding/json writes unchanged between quotes:
// printable ASCII without ", \ or the HTML characters it escapes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// jsonList encodes a slice, nil as [] so that every row reads the same.
func jsonList[T any](v []T) string {
	if len(v) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(v) // slices of strings and plain structs always encode
	return string(b)
}

// Query calls fn for each entry with from <= time < to, oldest first. A zero
// from or to leaves that end open.
func (s *Store) Query(ctx context.Context, from, to time.Time, fn func(Entry) error) error {
	lo, hi := "", "9999"
	if !from.IsZero() {
		lo = from.UTC().Format(timeLayout)
	}
	if !to.IsZero() {
		hi = to.UTC().Format(timeLayout)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT time, request_id, tenant, key_id, route, method, status, latency_ms,
		departments, urgency, red_flags, top, models, text
		FROM requests WHERE time >= ? AND time < ? ORDER BY time, id`, lo, hi)
	if err != nil {
		return fmt.Errorf("audit: query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e Entry
		var at, deps, flags, top, models string
		var text sql.NullString
		if err := rows.Scan(&at, &e.RequestID, &e.Tenant, &e.KeyID, &e.Route, &e.Method, &e.Status, &e.LatencyMS,
			&deps, &e.Urgency, &flags, &top, &models, &text); err != nil {
			return fmt.Errorf("audit: scan: %w", err)
		}
		if e.Time, err = time.Parse(timeLayout, at); err != nil {
			return fmt.Errorf("audit: row of %s: time %q: %w", e.RequestID, at, err)
		}
		e.Text = text.String
		for _, f := range []struct {
			src string
			dst any
		}{{deps, &e.Departments}, {flags, &e.RedFlags}, {top, &e.Top}, {models, &e.Models}} {
			if err := json.Unmarshal([]byte(f.src), f.dst); err != nil {
				return fmt.Errorf("audit: row of %s: %w", e.RequestID, err)
			}
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit: query: %w", err)
	}
	return nil
}

// Count is the number of entries.
func (s *Store) Count(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM requests").Scan(&n)
	return n, err
}

// pruneChunk bounds each delete so the writer waits for at most one chunk.
const pruneChunk = 5000

// Prune deletes the entries older than before and reports how many.
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	cut := before.UTC().Format(timeLayout)
	var total int64
	for {
		res, err := s.db.ExecContext(ctx, `DELETE FROM requests WHERE id IN
			(SELECT id FROM requests WHERE time < ? LIMIT ?)`, cut, pruneChunk)
		if err != nil {
			return total, fmt.Errorf("audit: prune: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("audit: prune: %w", err)
		}
		total += n
		if n < pruneChunk {
			return total, nil
		}
	}
}

// ErrClosed is returned by Writer.Record after Close.
var ErrClosed = errors.New("audit: writer closed")
