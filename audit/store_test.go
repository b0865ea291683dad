package audit

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func openTemp(t testing.TB) *Store {
	t.Helper()
	st, err := Open(filepath.Join(t.TempDir(), "sub", "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func sample(id string, at time.Time) Entry {
	return Entry{
		Time: at, RequestID: id, Tenant: "clinic-a", KeyID: "k_0001", Route: "/v1/triage", Method: "POST", Status: 200, LatencyMS: 12.5,
		Summary: Summary{
			Departments: []string{"07", "03.01"}, Urgency: "urgent", RedFlags: []string{"rf-high-fever"},
			Top:    []Score{{ID: "d-bronchitis", P: 0.34}, {ID: "d-pneumonia", P: 0.21}},
			Models: []Model{{Name: "triage-department", Version: "1"}},
		},
	}
}

func TestStoreRoundTrip(t *testing.T) {
	st := openTemp(t)
	at := time.Date(2026, 11, 2, 8, 30, 0, 123456000, time.FixedZone("CST", 8*3600))
	full := sample("r1", at)
	full.Text = "我叫张三，电话13812345678，发烧两天"
	bare := Entry{Time: at.Add(time.Second), RequestID: "r2", Route: "/v2/models/:name/infer", Method: "POST", Status: 422, LatencyMS: 0.4}
	many := sample("r3", at.Add(2*time.Second))
	for i := range 9 {
		many.Top = append(many.Top, Score{ID: string(rune('a' + i)), P: 0.01})
	}
	if err := st.Insert(context.Background(), []Entry{full, bare, many}); err != nil {
		t.Fatal(err)
	}
	var got []Entry
	if err := st.Query(context.Background(), time.Time{}, time.Time{}, func(e Entry) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d entries back, want 3", len(got))
	}
	want := full
	want.Time = at.UTC()
	want.Text = "我叫[姓名]，电话[电话]，发烧两天"
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("round trip:\n got  %+v\n want %+v", got[0], want)
	}
	if got[1].Departments == nil || len(got[1].Departments) != 0 || got[1].Text != "" || got[1].Status != 422 {
		t.Errorf("bare entry came back as %+v", got[1])
	}
	if len(got[2].Top) != MaxTop {
		t.Errorf("top kept %d scores, want %d", len(got[2].Top), MaxTop)
	}
}

// Open sets WAL, records the schema version, and refuses a newer schema.
func TestOpenSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a b#1?%41", "audit.db") // URI syntax in the name
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := st.JournalMode(context.Background()); err != nil || m != "wal" {
		t.Fatalf("journal_mode %q, %v; want wal", m, err)
	}
	var sync int
	if err := st.db.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil || sync != 1 {
		t.Errorf("synchronous = %d, %v; want 1 (NORMAL)", sync, err)
	}
	if err := st.Insert(context.Background(), []Entry{sample("keep", time.Now())}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Errorf("no write-ahead log beside %s: %v", path, err)
	}
	st.Close()
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("the database is not at %s: %v", path, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("database mode %v, %v; want 0600", fi.Mode(), err)
	}

	st, err = Open(path) // reopening migrates nothing and keeps the rows
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := st.Count(context.Background()); n != 1 {
		t.Errorf("%d rows after reopen, want 1", n)
	}
	var v int
	if err := st.db.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != len(migrations) {
		t.Errorf("user_version %d, want %d", v, len(migrations))
	}
	if _, err := st.db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("opening a newer schema: %v", err)
	}
}

func TestExportRange(t *testing.T) {
	st := openTemp(t)
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	var es []Entry
	for _, at := range []struct {
		id string
		t  time.Time
	}{{"oct31", day(0, 23)}, {"nov01-00", day(1, 0)}, {"nov01-12", day(1, 12)}, {"nov23-23", day(23, 23)}, {"nov24-00", day(24, 0)}} {
		es = append(es, sample(at.id, at.t))
	}
	if err := st.Insert(context.Background(), es); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		from, to string
		want     string
	}{
		{"2026-11-01", "2026-11-23", "nov01-00 nov01-12 nov23-23"}, // --to a date includes that day
		{"2026-11-01T12:00:00Z", "2026-11-24T00:00:00Z", "nov01-12 nov23-23"},
		{"2026-11-01T20:00:00+08:00", "2026-11-02", "nov01-12"},
		{"2026-10-01", "2026-10-31", "oct31"},
		{"2026-12-01", "2026-12-31", ""},
	} {
		from, _, err := ParseDay(c.from)
		if err != nil {
			t.Fatal(err)
		}
		to, day, err := ParseDay(c.to)
		if err != nil {
			t.Fatal(err)
		}
		if day {
			to = to.AddDate(0, 0, 1)
		}
		var buf bytes.Buffer
		n, err := Export(context.Background(), st, from, to, &buf)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if i := strings.Index(line, `"request_id":"`); i >= 0 {
				rest := line[i+len(`"request_id":"`):]
				ids = append(ids, rest[:strings.IndexByte(rest, '"')])
			}
		}
		if got := strings.Join(ids, " "); got != c.want || n != len(ids) {
			t.Errorf("%s..%s: got %q (n=%d), want %q", c.from, c.to, got, n, c.want)
		}
	}
	// The JSONL shape is a contract for whoever reads the export: pin it.
	var buf bytes.Buffer
	if _, err := Export(context.Background(), st, day(1, 0), day(1, 13), &buf); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "export.golden.jsonl")
	if *update {
		os.WriteFile(golden, buf.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("export differs from %s:\n%s", golden, buf.Bytes())
	}
	for _, bad := range []string{"2026/11/01", "yesterday", ""} {
		if _, _, err := ParseDay(bad); err == nil {
			t.Errorf("ParseDay(%q) accepted", bad)
		}
	}
}

func TestPruneAndRetention(t *testing.T) {
	st := openTemp(t)
	now := time.Now()
	var es []Entry
	for i := range pruneChunk + 10 { // more than one delete chunk
		es = append(es, sample("old", now.AddDate(0, 0, -40).Add(time.Duration(i)*time.Millisecond)))
	}
	es = append(es, sample("recent", now.AddDate(0, 0, -10)), sample("new", now))
	if err := st.Insert(context.Background(), es); err != nil {
		t.Fatal(err)
	}
	n, err := st.Prune(context.Background(), now.AddDate(0, 0, -35))
	if err != nil || n != pruneChunk+10 {
		t.Fatalf("pruned %d, %v; want %d", n, err, pruneChunk+10)
	}
	if c, _ := st.Count(context.Background()); c != 2 {
		t.Fatalf("%d rows left, want 2", c)
	}
	// The server's retention deletes what is older than its days at start.
	stop := StartRetention(st, 7, time.Hour, nil)
	defer stop()
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := st.Count(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if c == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retention left %d rows, want 1", c)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	var left []string
	st.Query(context.Background(), time.Time{}, time.Time{}, func(e Entry) error { left = append(left, e.RequestID); return nil })
	if len(left) != 1 || left[0] != "new" {
		t.Errorf("left %v, want [new]", left)
	}
}

// What retention deletes does not linger in free space of the file.
func TestPruneLeavesNoTrace(t *testing.T) {
	st := openTemp(t)
	old := sample("old-entry-7f3a", time.Now().AddDate(0, 0, -400))
	old.Text = "咳嗽三周 marker-9c1e"
	if err := st.Insert(context.Background(), []Entry{old, sample("new", time.Now())}); err != nil {
		t.Fatal(err)
	}
	if n, err := st.Prune(context.Background(), time.Now().AddDate(0, 0, -1)); err != nil || n != 1 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	path := st.Path()
	st.Close() // checkpoints the WAL into the file
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"old-entry-7f3a", "marker-9c1e"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("%q is still in the database file after prune", s)
		}
	}
	if !bytes.Contains(raw, []byte("new")) {
		t.Error("the kept entry is not in the file either: the check proves nothing")
	}
}

// Another process (the export CLI) can read while the server writes.
func TestConcurrentReader(t *testing.T) {
	st := openTemp(t)
	if err := st.Insert(context.Background(), []Entry{sample("a", time.Now())}); err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite", "file:"+st.Path()+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.Begin() // a long read transaction
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow("SELECT count(*) FROM requests").Scan(&n); err != nil || n != 1 {
		t.Fatal(n, err)
	}
	if err := st.Insert(context.Background(), []Entry{sample("b", time.Now())}); err != nil {
		t.Fatalf("insert during a read: %v", err)
	}
	tx.Rollback()
}

// jsonStrings writes what encoding/json writes, escaping or not.
func TestJSONStringsMatchesEncodingJSON(t *testing.T) {
	for _, v := range [][]string{nil, {}, {"03.01"}, {"chest_pain_sweating", "04"}, {`a"b`, `c\d`}, {"<&>"}, {"中文", "\u2028"}, {"\x01", string([]byte{0xff})}} {
		want := "[]"
		if len(v) > 0 {
			b, _ := json.Marshal(v)
			want = string(b)
		}
		if got := jsonStrings(v); got != want {
			t.Errorf("jsonStrings(%q) = %s, want %s", v, got, want)
		}
	}
}

// More entries than one INSERT carries, and a partial last chunk, all land.
func TestInsertManyChunks(t *testing.T) {
	st, err := Open(filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var entries []Entry
	for i := range 2*insertRows + 3 {
		entries = append(entries, Entry{Time: time.Unix(int64(i), 0), RequestID: fmt.Sprint("r", i), Route: "/v1/triage", Method: "POST", Status: 200,
			Summary: Summary{Departments: []string{"03"}, Top: []Score{{ID: "x", P: 0.5}}}})
	}
	if err := st.Insert(context.Background(), entries); err != nil {
		t.Fatal(err)
	}
	var got []Entry
	if err := st.Query(context.Background(), time.Time{}, time.Time{}, func(e Entry) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(entries) || got[len(got)-1].RequestID != entries[len(entries)-1].RequestID || got[0].Top[0].P != 0.5 {
		t.Fatalf("got %d entries (want %d), last %+v", len(got), len(entries), got[len(got)-1])
	}
}
