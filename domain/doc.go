// Package domain is Custodian's model: the aggregates (Organization, User,
// Group, Role, Case, Evidence) as decide/evolve over value-typed states,
// their commands and events, the event-type table, the domain errors, and the
// access rules of design §4 — who may find a case, open it, see each of its
// evidence items, and change it, its class or its access lists, and why.
//
// # Purity
//
// Everything here is a pure function of its arguments: no I/O, no clock, no
// randomness, no context, no logging. Time and IDs arrive in commands (Now,
// and IDs the api generated); deterministic uuid.NewSHA1 would be allowed,
// uuid.New and uuid.NewV7 are not. The package imports the standard library
// and github.com/google/uuid only (deps_test.go enforces it, and rejects os,
// net/..., log, log/slog, database/sql, math/rand, crypto/rand and context).
//
// # Aggregates and streams
//
// Each aggregate has one stream (streams.go): org-<id>, user-<id>,
// group-<id>, role-<id>, case-<id>, evidence-<id>. Its state type implements
// State: Evolve(Event) never fails; Decide(Command) returns events for that
// one stream, or an error wrapping an *Error sentinel whose Kind (Invalid,
// NotFound, Forbidden, Conflict, Refused) the api maps to 400, 404, 403, 409,
// 422. Decide with no events and no error means there is nothing to do.
//
// The case stream holds everything an access decision reads about the case's
// evidence (items, classes, folders, who added them, their own access
// lists), so a class change and its inheritance are one atomic append. The
// evidence stream holds content and custody facts only.
//
// # Requests that span streams
//
// A command's events go to one stream, so some requests are several
// commands, issued in this order; each later command carries the state the
// earlier ones produced, and each is safe to retry:
//
//   - POST /v1/orgs: CreateOrganization on org-<id> (it records the ids of
//     the admin role and user), then CreateAdministratorRole on
//     role-<adminRoleId>, then CreateFirstAdministrator on
//     user-<adminUserId>. The last two take the Organization state, and do
//     nothing when already done.
//   - POST /v1/cases/{id}/evidence: AddEvidence on case-<id>, then
//     RegisterEvidence on evidence-<evidenceId> with the case state after it.
//
// # Authorization
//
// Commands on cases, evidence and the directory carry the acting Subject and
// Decide authorizes them itself, with the functions of access.go, so no
// caller can forget. A case the actor may not list is ErrCaseNotFound (404:
// its existence is not revealed); an evidence item it may not list is
// ErrEvidenceNotFound; what it may see but not do is ErrForbidden (403).
// Directory objects of another organization are not found. The exceptions
// carry no Subject: CreateOrganization and the two bootstrap commands
// after it (operator only, checked by the api), and RecordAccessExpiry (the
// expiry reactor). The api calls the same functions (CanList, CanView,
// CanViewEvidence, ListableEvidence, ...) for queries.
//
// # Rules across aggregates
//
// One aggregate cannot see another, so two directory rules are pure
// functions over facts the api gathers from its read models and passes in
// the command: CheckAdministratorRemains (the last active holder of
// org.admin can be neither deactivated nor demoted; UpdateUser and
// UpdateRole carry the count of other active administrators) and
// CheckSubject (sign-in subjects are unique across organizations; the api
// calls it with a lookup before creating a user). References to other
// aggregates (an owner, a principal, a group member, a role) carry the
// organization, or state, the api found for them, and Decide checks it.
package domain
