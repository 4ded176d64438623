package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"math/bits"
	"strings"

	"github.com/google/uuid"
)

// writerConn is one goroutine's own connection with its prepared statements
// (the writer's, for its checks, and the indexer's, for its inserts). Statements with a variable number of values are prepared once
// per power of two and padded, so no SQL is parsed on the hot path.
type writerConn struct {
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
}

const (
	maxLookup = 512 // ids per lookup statement
	maxInsert = 128 // rows per insert statement
)

func newWriterConn(ctx context.Context, db *sql.DB) (*writerConn, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("open writer connection: %w", mapErr(err))
	}
	return &writerConn{conn: conn, stmts: map[string]*sql.Stmt{}}, nil
}

func (w *writerConn) close() {
	for _, st := range w.stmts {
		st.Close()
	}
	w.conn.Close()
}

func (w *writerConn) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := w.stmts[query]; ok {
		return st, nil
	}
	st, err := w.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, mapErr(err)
	}
	w.stmts[query] = st
	return st, nil
}

func (w *writerConn) exec(ctx context.Context, query string, args ...any) error {
	st, err := w.stmt(ctx, query)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, args...)
	return err
}

func (w *writerConn) rollback(ctx context.Context) { _ = w.exec(ctx, "ROLLBACK") }

// pow2 is the smallest power of two ≥ n (n ≥ 1).
func pow2(n int) int { return 1 << bits.Len(uint(n-1)) }

// lookupIDs adds to known those of ids that SQLite holds.
func (w *writerConn) lookupIDs(ctx context.Context, ids []uuid.UUID, known map[uuid.UUID]stored) error {
	for i := 0; i < len(ids); i += maxLookup {
		part := ids[i:min(i+maxLookup, len(ids))]
		k := pow2(len(part))
		args := make([]any, 0, k)
		for _, id := range part {
			args = append(args, id[:])
		}
		for len(args) < k {
			args = append(args, args[len(args)-1]) // a repeated id matches once
		}
		st, err := w.stmt(ctx, `SELECT id, stream, revision, position FROM events WHERE id IN (?`+strings.Repeat(",?", k-1)+`)`)
		if err != nil {
			return fmt.Errorf("look up event ids: %w", err)
		}
		if err := scanStored(ctx, st, args, known); err != nil {
			return fmt.Errorf("look up event ids: %w", mapErr(err))
		}
	}
	return nil
}

func scanStored(ctx context.Context, st *sql.Stmt, args []any, known map[uuid.UUID]stored) error {
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id []byte
		var s stored
		var rev, p int64
		if err := rows.Scan(&id, &s.stream, &rev, &p); err != nil {
			return err
		}
		s.revision, s.position = uint64(rev), uint64(p)
		known[uuid.UUID(id)] = s
	}
	return rows.Err()
}

// streamNext returns the revision the stream's next event gets in SQLite (0
// for a new stream).
func (w *writerConn) streamNext(ctx context.Context, stream string) (uint64, error) {
	st, err := w.stmt(ctx, `SELECT max(revision) FROM events WHERE stream = ?`)
	if err != nil {
		return 0, fmt.Errorf("read stream head: %w", err)
	}
	var last sql.NullInt64
	if err := st.QueryRowContext(ctx, stream).Scan(&last); err != nil {
		return 0, fmt.Errorf("read stream head: %w", mapErr(err))
	}
	if !last.Valid {
		return 0, nil
	}
	return uint64(last.Int64) + 1, nil
}

// insertRows writes rows with multi-row INSERT statements of power-of-two
// sizes (a batch of 37 rows is written as 32 + 4 + 1). OR ROLLBACK: a
// conflict cannot happen after the checks, and a statement that may only
// fail whole needs no statement journal.
func (w *writerConn) insertRows(ctx context.Context, rows []row) error {
	for len(rows) > 0 {
		k := min(maxInsert, 1<<(bits.Len(uint(len(rows)))-1))
		part := rows[:k]
		rows = rows[k:]
		args := make([]any, 0, 6*k)
		for _, r := range part {
			args = append(args, int64(r.position), r.id[:], r.stream, int64(r.revision), r.body, checksum(r.position, r.body))
		}
		q := `INSERT OR ROLLBACK INTO events(position, id, stream, revision, body, checksum) VALUES (?,?,?,?,?,?)` + strings.Repeat(`,(?,?,?,?,?,?)`, k-1)
		if err := w.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("insert events: %w", mapErr(err))
		}
	}
	return nil
}
