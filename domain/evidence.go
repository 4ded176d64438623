package domain

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// Evidence is the state of one evidence stream, evidence-<id>: its content
// and custody facts. The zero Evidence is not registered.
type Evidence struct {
	ID     uuid.UUID
	CaseID uuid.UUID
	OrgID  uuid.UUID
	// Declared is what the client declared when adding the item.
	Declared EvidenceContent
	// Content is what was stored; its SHA256 is empty until then.
	Content EvidenceContent
}

// EvidenceContent describes an item's bytes.
type EvidenceContent struct {
	MediaType string
	SHA256    string
	SizeBytes int64
}

// Attached reports whether e's content has been stored.
func (e Evidence) Attached() bool { return e.Content.SHA256 != "" }

var _ State[Evidence] = Evidence{}

// Evolve returns e with ev applied.
func (e Evidence) Evolve(ev Event) Evidence {
	switch ev := ev.(type) {
	case EvidenceRegistered:
		return Evidence{ID: ev.EvidenceID, CaseID: ev.CaseID, OrgID: ev.OrgID,
			Declared: EvidenceContent{MediaType: ev.MediaType, SHA256: ev.SHA256, SizeBytes: ev.SizeBytes}}
	case EvidenceContentAttached:
		e.Content = EvidenceContent{MediaType: ev.MediaType, SHA256: ev.SHA256, SizeBytes: ev.SizeBytes}
	}
	return e
}

// Decide returns the events cmd produces against e.
func (e Evidence) Decide(cmd Command) ([]Event, error) {
	switch cmd := cmd.(type) {
	case RegisterEvidence:
		return e.register(cmd)
	case AttachContent:
		return e.attach(cmd)
	}
	return nil, fmt.Errorf("evidence: unknown command %T: %w", cmd, ErrInvalidInput)
}

func (e Evidence) register(cmd RegisterEvidence) ([]Event, error) {
	const op = "register evidence"
	c := cmd.Case
	if err := c.visible(op, c.ID, cmd.Actor, cmd.Now); err != nil {
		return nil, err
	}
	item, ok := c.Item(cmd.EvidenceID)
	if !ok || !CanListEvidence(cmd.Actor, c, item, cmd.Now) {
		return nil, fmt.Errorf("%s %s: %w", op, cmd.EvidenceID, ErrEvidenceNotFound)
	}
	declared, err := content(cmd.MediaType, cmd.SHA256, cmd.SizeBytes, false)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", op, cmd.EvidenceID, err)
	}
	if !CanAddEvidence(cmd.Actor, c, cmd.Now) {
		return nil, forbidden(op, cmd.EvidenceID, string(ActionAddEvidence))
	}
	if item.AddedBy != cmd.Actor.UserID {
		return nil, forbidden(op, cmd.EvidenceID, "to be the user who added it")
	}
	if e.ID != uuid.Nil {
		if e.CaseID == c.ID {
			return nil, nil
		}
		return nil, fmt.Errorf("%s %s: %w", op, cmd.EvidenceID, ErrEvidenceExists)
	}
	return []Event{EvidenceRegistered{EvidenceID: cmd.EvidenceID, CaseID: c.ID, OrgID: c.OrgID,
		MediaType: declared.MediaType, SHA256: declared.SHA256, SizeBytes: declared.SizeBytes}}, nil
}

func (e Evidence) attach(cmd AttachContent) ([]Event, error) {
	const op = "attach content to evidence"
	c := cmd.Case
	if e.ID == uuid.Nil || e.ID != cmd.EvidenceID || c.ID != e.CaseID {
		return nil, fmt.Errorf("%s %s: %w", op, cmd.EvidenceID, ErrEvidenceNotFound)
	}
	if err := c.visible(op, e.CaseID, cmd.Actor, cmd.Now); err != nil {
		return nil, err
	}
	if err := c.visibleItem(op, e.ID, cmd.Actor, cmd.Now); err != nil {
		return nil, err
	}
	got, err := content(cmd.MediaType, cmd.SHA256, cmd.SizeBytes, true)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", op, e.ID, err)
	}
	if !CanAddEvidence(cmd.Actor, c, cmd.Now) {
		return nil, forbidden(op, e.ID, string(ActionAddEvidence))
	}
	if err := c.actsOnItem(op, e.ID, cmd.Actor, cmd.Now); err != nil {
		return nil, err
	}
	if e.Attached() {
		return nil, fmt.Errorf("%s %s: %w", op, e.ID, ErrContentAlreadyAttached)
	}
	if d := e.Declared; (d.SHA256 != "" && d.SHA256 != got.SHA256) || (d.SizeBytes != 0 && d.SizeBytes != got.SizeBytes) {
		return nil, fmt.Errorf("%s %s: %w", op, e.ID, ErrContentMismatch)
	}
	return []Event{EvidenceContentAttached{EvidenceID: e.ID, SHA256: got.SHA256, SizeBytes: got.SizeBytes,
		MediaType: got.MediaType}}, nil
}

// content validates a content description; with required, the digest and
// media type must be present. The digest is returned in lower case.
func content(mediaType, sha string, size int64, required bool) (EvidenceContent, error) {
	sha = strings.ToLower(sha)
	if raw, err := hex.DecodeString(sha); (sha != "" || required) && (err != nil || len(raw) != 32) {
		return EvidenceContent{}, fieldErr("sha256", ErrInvalidInput, "%q is not 64 hex digits", sha)
	}
	if size < 0 {
		return EvidenceContent{}, fieldErr("sizeBytes", ErrInvalidInput, "%d is negative", size)
	}
	if mediaType != "" || required {
		if !validMediaType(mediaType) {
			return EvidenceContent{}, fieldErr("mediaType", ErrInvalidInput, "%q is not a media type", mediaType)
		}
	}
	return EvidenceContent{MediaType: mediaType, SHA256: sha, SizeBytes: size}, nil
}

// validMediaType reports whether m has the form type/subtype, optionally
// followed by ;parameters, with RFC 9110 token characters.
func validMediaType(m string) bool {
	m, _, _ = strings.Cut(m, ";")
	typ, sub, ok := strings.Cut(strings.TrimSpace(m), "/")
	return ok && isToken(typ) && isToken(sub)
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	return true
}
