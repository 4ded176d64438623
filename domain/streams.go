package domain

import "github.com/google/uuid"

// Stream names, one per aggregate (design §3). A command's events go to the
// one stream of the aggregate whose state decided it.

// OrganizationStream returns "org-<id>", the stream of Organization.
func OrganizationStream(id uuid.UUID) string { return "org-" + id.String() }

// UserStream returns "user-<id>", the stream of User.
func UserStream(id uuid.UUID) string { return "user-" + id.String() }

// GroupStream returns "group-<id>", the stream of Group.
func GroupStream(id uuid.UUID) string { return "group-" + id.String() }

// RoleStream returns "role-<id>", the stream of Role.
func RoleStream(id uuid.UUID) string { return "role-" + id.String() }

// CaseStream returns "case-<id>", the stream of Case.
func CaseStream(id uuid.UUID) string { return "case-" + id.String() }

// EvidenceStream returns "evidence-<id>", the stream of Evidence.
func EvidenceStream(id uuid.UUID) string { return "evidence-" + id.String() }
