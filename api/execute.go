package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/domain/eventcodec"
	"github.com/custodian/custodian/eventstore"
)

// maxAttempts bounds the retries of a command whose stream changed between
// read and append; then the request answers 409.
const maxAttempts = 5

// idNamespace seeds the deterministic ids derived from Idempotency-Keys.
var idNamespace = uuid.MustParse("6f1c0a51-6a0e-4d4b-9d55-2b7c2f1f8a3e")

// request is one HTTP request's command context: who, when, and the
// idempotency key that makes its ids deterministic.
type request struct {
	caller    Caller
	now       time.Time
	requestID string
	// keyHash is the hex SHA-256 of the caller and its Idempotency-Key, or "".
	keyHash  string
	bodyHash string
	ids      int
}

// newID returns the id of a new aggregate: UUIDv7, or derived from the
// idempotency key so that a retry creates the same aggregate.
func (r *request) newID() uuid.UUID {
	r.ids++
	if r.keyHash != "" {
		return uuid.NewSHA1(idNamespace, []byte(r.keyHash+"/id/"+strconv.Itoa(r.ids)))
	}
	return uuid.Must(uuid.NewV7())
}

// eventID is the id of the i-th event this request appends to stream.
func (r *request) eventID(stream string, i int) uuid.UUID {
	if r.keyHash != "" {
		return uuid.NewSHA1(idNamespace, []byte(r.keyHash+"/event/"+stream+"/"+strconv.Itoa(i)))
	}
	return uuid.Must(uuid.NewV7())
}

func (r *request) actor() eventstore.Actor {
	if r.caller.Operator {
		return eventstore.Actor{Kind: eventstore.ActorOperator, UserID: r.caller.TokenSubject, Name: r.caller.TokenSubject}
	}
	return eventstore.Actor{Kind: eventstore.ActorUser, UserID: r.caller.User.ID.String(), OrgID: r.caller.User.OrgID.String(), Name: r.caller.User.Name}
}

// result is what a command did.
type result[S any] struct {
	State    S
	Position eventstore.Position
	// Existed says whether the stream had events before the command: a
	// NotFound refusal of an existing aggregate hides it from the caller.
	Existed bool
	// Status and Body are the answer, when the step ends the request.
	Status int
	Body   any
}

// step is one command of a request against one stream. decide turns the
// current state into events. respond, on the step that ends the request,
// builds the answer from the state after the events; with an Idempotency-Key
// the answer is recorded in the same append (domain.RequestRecorded).
type step[S domain.State[S]] struct {
	stream  string
	decide  func(S) ([]domain.Event, error)
	respond func(S) (int, any)
	// fresh says the stream is new: its id was just made by r.newID. Then
	// nothing is read; the append expects no stream (and a clash, which a
	// UUIDv7 makes all but impossible, is retried with a read).
	fresh bool
}

// execute loads the stream, decides, and appends with the revision it read,
// retrying a few times when the stream moved meanwhile.
func execute[S domain.State[S]](ctx context.Context, s *server, r *request, st step[S]) (result[S], error) {
	var res result[S]
	for attempt := 0; attempt < maxAttempts; attempt++ {
		// Without an idempotency key the state may come from the cache of
		// recently written streams: the append's exact expected revision
		// catches a stale one, and the next attempt reads the stream.
		anyState, rev, exists, done, cached := s.aggs.get(st.stream, attempt)
		if st.fresh && attempt == 0 && r.keyHash == "" {
			var zero S
			anyState, rev, exists, done, cached = zero, 0, false, doneMark{}, true
		}
		var err error
		var cachedState S
		if cached && r.keyHash == "" {
			cachedState, cached = anyState.(S)
		} else {
			cached = false
		}
		var loaded S
		if cached {
			loaded = cachedState
		} else {
			loaded, rev, exists, done, err = load[S](ctx, s.store, st.stream, r.eventID(st.stream, 0), r.keyHash != "")
			if err != nil {
				return res, err
			}
			if exists {
				s.aggs.put(st.stream, loaded, rev, done.position)
			}
		}
		state := loaded
		res.State, res.Existed = state, exists
		if done.found {
			// This request's events are already stored: a retry after a
			// crash between two steps. Answer from the current state.
			res.Position = done.position
			if st.respond != nil {
				res.Status, res.Body = st.respond(state)
			}
			return res, nil
		}
		evs, err := st.decide(state)
		if cached && !st.fresh && (err != nil || len(evs) == 0) {
			// The cache is trusted where the append's expected revision
			// checks it. A refusal or a no-op appends nothing, so it is
			// decided again on the stream as stored: another instance
			// may have written it since.
			s.aggs.drop(st.stream)
			continue
		}
		if err != nil {
			return res, err
		}
		next := state
		for _, e := range evs {
			next = next.Evolve(e)
		}
		if st.respond != nil {
			res.Status, res.Body = st.respond(next)
		}
		if len(evs) == 0 && (r.keyHash == "" || st.respond == nil) {
			// Nothing to do: answer with the stream's current position.
			res.Position = done.position
			return res, nil
		}
		n := len(evs)
		if r.keyHash != "" {
			n++ // RequestRecorded
		}
		batch := make([]eventstore.Event, 0, n)
		for i, e := range evs {
			data, err := json.Marshal(e)
			if err != nil {
				return res, fmt.Errorf("encode %s: %w", e.EventType(), err)
			}
			batch = append(batch, s.envelope(r, st.stream, i, e.EventType(), data))
		}
		if r.keyHash != "" && st.respond != nil {
			body, err := json.Marshal(res.Body)
			if err != nil {
				return res, err
			}
			rec := domain.RequestRecorded{KeyHash: r.keyHash, BodyHash: r.bodyHash, Status: res.Status, Response: body}
			data, _ := json.Marshal(rec)
			batch = append(batch, s.envelope(r, st.stream, len(evs), rec.EventType(), data))
		}
		expected := eventstore.NoStream
		if exists {
			expected = eventstore.Exact(rev)
		}
		ar, err := s.store.Append(ctx, st.stream, expected, batch...)
		if errors.Is(err, eventstore.ErrWrongRevision) {
			s.aggs.drop(st.stream)
			continue
		}
		if err != nil {
			s.aggs.drop(st.stream)
			return res, fmt.Errorf("append %s: %w", st.stream, err)
		}
		s.aggs.put(st.stream, next, ar.Revision, ar.Position)
		s.acked(ar.Position)
		res.State, res.Position = next, ar.Position
		return res, nil
	}
	return res, fmt.Errorf("%s kept changing: %w", st.stream, eventstore.ErrWrongRevision)
}

// doneMark says whether a stream already holds a request's first event, and
// the stream's last position, to answer with when there is nothing to append.
type doneMark struct {
	found    bool
	position eventstore.Position
}

// load folds a stream into its state and returns its last revision, whether
// it exists, its last position, and — for idempotent requests — whether
// firstID is in it.
func load[S domain.State[S]](ctx context.Context, store eventstore.Store, stream string, firstID uuid.UUID, checkDone bool) (S, eventstore.Revision, bool, doneMark, error) {
	var state S
	var rev eventstore.Revision
	var exists bool
	var mark doneMark
	err := store.ReadStream(ctx, stream, eventstore.Forward, 0, func(env eventstore.Envelope) error {
		e, err := eventcodec.Decode(env.Type, env.Data)
		if err != nil {
			return fmt.Errorf("%s revision %d: %w", stream, env.Revision, err)
		}
		state = state.Evolve(e)
		rev, exists, mark.position = env.Revision, true, env.Position
		mark.found = mark.found || checkDone && env.ID == firstID
		return nil
	})
	return state, rev, exists, mark, err
}

// envelope builds the i-th event of this request's append to stream.
func (s *server) envelope(r *request, stream string, i int, typ string, data []byte) eventstore.Event {
	return eventstore.Event{
		ID:            r.eventID(stream, i),
		Type:          typ,
		SchemaVersion: 1,
		RecordedAt:    r.now,
		Actor:         r.actor(),
		CorrelationID: r.requestID,
		RequestID:     r.requestID,
		Data:          data,
	}
}

// hide turns a NotFound refusal of something that exists into a recorded
// refused attempt (design §6); the answer stays a plain 404.
func hide(err error, exists bool, targetType string, id uuid.UUID) error {
	aggregateNotFound := errors.Is(err, domain.ErrCaseNotFound) || errors.Is(err, domain.ErrEvidenceNotFound) ||
		errors.Is(err, domain.ErrUserNotFound) || errors.Is(err, domain.ErrRoleNotFound) ||
		errors.Is(err, domain.ErrGroupNotFound) || errors.Is(err, domain.ErrOrganizationNotFound)
	if exists && aggregateNotFound {
		return &targeted{err: err, targetType: targetType, targetID: id.String()}
	}
	return err
}

// hashKey returns the hex SHA-256 of its parts joined by NUL bytes.
func hashKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// reply writes a command's answer: body as a JSON object with the position
// added, and the Custodian-Position header.
func reply(c echo.Context, status int, body any, pos eventstore.Position) error {
	buf := getBuf()
	defer putBuf(buf)
	if err := json.NewEncoder(buf).Encode(body); err != nil { // as json.Marshal, and a newline
		return err
	}
	return replyRaw(c, status, buf.Bytes(), pos)
}

// replyRaw writes an already encoded JSON object with the position added as
// its first member.
func replyRaw(c echo.Context, status int, b []byte, pos eventstore.Position) error {
	p := pos.String()
	c.Response().Header().Set("Custodian-Position", p)
	out := getBuf()
	defer putBuf(out) // JSONBlob has copied it into the response when it returns
	out.WriteString(`{"position":"`)
	out.WriteString(p)
	out.WriteByte('"')
	if b = bytes.TrimSpace(b); len(b) >= 2 && b[0] == '{' {
		if inner := bytes.TrimSpace(b[1 : len(b)-1]); len(inner) > 0 {
			out.WriteByte(',')
			out.Write(inner)
		}
	}
	out.WriteByte('}')
	return c.JSONBlob(status, out.Bytes())
}

// bufs holds the buffers that encode answers and read request bodies, so
// that a request allocates none. A buffer that grew over maxPooledBuf is
// left to the collector, not kept.
var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBuf = 64 << 10

func getBuf() *bytes.Buffer {
	b := bufs.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBuf {
		bufs.Put(b)
	}
}

// aggCacheSize bounds the aggregate cache. Each cached case is ~400 bytes
// of pointers the collector marks at every collection: 50,000 of them were
// a quarter of the heap it scanned under the command load, while a
// command's working set is the streams written in the last moments.
const aggCacheSize = 8192

// aggCache holds the state of recently used streams, so that a command on a
// stream this process wrote needs no read: it appends with the cached
// revision, and a stream that moved meanwhile (another instance, a reactor)
// fails that exact expected revision and is read again.
type aggCache struct {
	mu  sync.Mutex
	max int
	m   map[string]cachedAgg
}

type cachedAgg struct {
	state    any
	revision eventstore.Revision
	position eventstore.Position
}

func newAggCache(max int) *aggCache { return &aggCache{max: max, m: map[string]cachedAgg{}} }

// get returns the cached state of stream; only on a first attempt.
func (c *aggCache) get(stream string, attempt int) (any, eventstore.Revision, bool, doneMark, bool) {
	if attempt > 0 {
		return nil, 0, false, doneMark{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.m[stream]
	if !ok {
		return nil, 0, false, doneMark{}, false
	}
	return a.state, a.revision, true, doneMark{position: a.position}, true
}

func (c *aggCache) put(stream string, state any, rev eventstore.Revision, pos eventstore.Position) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k := range c.m { // drop about a tenth, arbitrarily: cheap, and enough
			delete(c.m, k)
			if len(c.m) < c.max*9/10 {
				break
			}
		}
	}
	c.m[stream] = cachedAgg{state: state, revision: rev, position: pos}
}

func (c *aggCache) drop(stream string) {
	c.mu.Lock()
	delete(c.m, stream)
	c.mu.Unlock()
}
