package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Event is a fact that happened to one aggregate. Only this package defines
// events; each is a flat value struct whose stored name is the literal
// returned by EventType.
type Event interface {
	// EventType returns the stored type name, e.g. "CaseCreated". It is a
	// literal, never derived by reflection, so a Go rename cannot change
	// what is written to the log.
	EventType() string
	isEvent()
}

// Command asks the domain to change one aggregate. Only this package defines
// commands. A command carries everything Decide needs and may not compute:
// IDs, the time the rules depend on, the acting Subject, and the few facts
// of other aggregates a rule reads (documented on each command).
type Command interface{ isCommand() }

// State is implemented by the state type of every aggregate: Organization,
// User, Group, Role, Case and Evidence. The zero value of S is an aggregate
// that does not exist yet.
type State[S any] interface {
	// Evolve returns the state with e applied. It never fails: every event
	// ever stored must still be accepted. Events it does not know leave the
	// state unchanged.
	Evolve(Event) S
	// Decide returns the events the command produces against the state, or
	// an error wrapping one of the *Error sentinels of errors.go. It does not
	// change the state. No events and no error means there is nothing to do.
	Decide(Command) ([]Event, error)
}

// ErrUnknownEventType is returned by DecodeEvent for a type name that is not
// in the event table. Readers stop on it, naming the event, rather than skip.
var ErrUnknownEventType = errors.New("domain: unknown event type")

// Optional is a command field that may be left out: Set says whether Value
// is meant. It keeps commands free of pointers.
type Optional[T any] struct {
	Set   bool
	Value T
}

// Some returns an Optional holding v.
func Some[T any](v T) Optional[T] { return Optional[T]{Set: true, Value: v} }

// Unmarshal is the signature of json.Unmarshal. DecodeEventWith takes one,
// so that a reader may decode with a faster JSON package than the standard
// library's while the domain depends on neither.
type Unmarshal func(data []byte, v any) error

// eventTable maps every stored type name to its decoder. It is the one
// place that knows all event types; it is never modified.
var eventTable = map[string]func([]byte, Unmarshal) (Event, error){
	"OrganizationCreated":     decode[OrganizationCreated],
	"RoleCreated":             decode[RoleCreated],
	"RoleUpdated":             decode[RoleUpdated],
	"UserCreated":             decode[UserCreated],
	"UserRoleChanged":         decode[UserRoleChanged],
	"UserDeactivated":         decode[UserDeactivated],
	"UserReactivated":         decode[UserReactivated],
	"GroupCreated":            decode[GroupCreated],
	"GroupMemberAdded":        decode[GroupMemberAdded],
	"GroupMemberRemoved":      decode[GroupMemberRemoved],
	"CaseCreated":             decode[CaseCreated],
	"CaseTitleChanged":        decode[CaseTitleChanged],
	"CaseDescriptionChanged":  decode[CaseDescriptionChanged],
	"CaseOwnerChanged":        decode[CaseOwnerChanged],
	"FolderCreated":           decode[FolderCreated],
	"EvidenceAdded":           decode[EvidenceAdded],
	"EvidenceRemoved":         decode[EvidenceRemoved],
	"AccessClassApplied":      decode[AccessClassApplied],
	"AccessClassRemoved":      decode[AccessClassRemoved],
	"InternalAccessGranted":   decode[InternalAccessGranted],
	"InternalAccessModified":  decode[InternalAccessModified],
	"InternalAccessRemoved":   decode[InternalAccessRemoved],
	"InternalAccessExpired":   decode[InternalAccessExpired],
	"EvidenceRegistered":      decode[EvidenceRegistered],
	"EvidenceContentAttached": decode[EvidenceContentAttached],
	"AccessDenied":            decode[AccessDenied],
	"RequestRecorded":         decode[RequestRecorded],
}

func decode[E Event](data []byte, unmarshal Unmarshal) (Event, error) {
	var e E
	if err := unmarshal(data, &e); err != nil {
		return nil, err
	}
	return e, nil
}

// DecodeEvent turns a stored type name and its JSON data back into the event
// value. An unknown type name wraps ErrUnknownEventType; data that does not
// fit the type returns the JSON error, wrapped with the type name.
func DecodeEvent(eventType string, data []byte) (Event, error) {
	return DecodeEventWith(eventType, data, json.Unmarshal)
}

// DecodeEventWith is DecodeEvent with the JSON decoding done by unmarshal,
// which must decode as encoding/json does.
func DecodeEventWith(eventType string, data []byte, unmarshal Unmarshal) (Event, error) {
	dec, ok := eventTable[eventType]
	if !ok {
		return nil, fmt.Errorf("decode %q: %w", eventType, ErrUnknownEventType)
	}
	e, err := dec(data, unmarshal)
	if err != nil {
		return nil, fmt.Errorf("decode %q: %w", eventType, err)
	}
	return e, nil
}

// EventTypes returns every stored type name DecodeEvent accepts, sorted.
func EventTypes() []string {
	names := make([]string, 0, len(eventTable))
	for name := range eventTable {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
