package domain_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custodian/custodian/domain"
)

// The permissions example of api.md decodes into Permissions, and reads
// back with the same meaning.
func TestPermissionsJSONShapeOfAPI(t *testing.T) {
	const doc = `{"cases":    {"list": {"unrestricted":"all","restricted":"own","confidential":"none"},
              "view": {"unrestricted":"allow","restricted":"allow","confidential":"deny"},
              "applyClass": {"restricted":"allow","confidential":"deny"},
              "removeClass": {"restricted":"allow","confidential":"deny"}},
 "evidence": {"list": {"restricted":"own"}, "view": {"unrestricted":"allow"}, "applyClass": {"confidential":"allow"}},
 "actions":  ["cases.create","cases.edit","evidence.add","cases.access.manage","cases.share",
              "cases.share.classic","shares.receive","audit.read","org.admin"]}`
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	var p domain.Permissions
	require.NoError(t, dec.Decode(&p))
	require.NoError(t, p.Validate())

	assert.Equal(t, domain.ListAll, p.Cases.List.For(domain.Unrestricted))
	assert.Equal(t, domain.ListOwn, p.Cases.List.For(domain.Restricted))
	assert.Equal(t, domain.ListNone, p.Cases.List.For(domain.Confidential))
	assert.True(t, p.Cases.View.For(domain.Restricted))
	assert.False(t, p.Cases.View.For(domain.Confidential))
	assert.True(t, p.Cases.ApplyClass.For(domain.Restricted))
	assert.False(t, p.Cases.RemoveClass.For(domain.Confidential))
	assert.False(t, p.Cases.ApplyClass.For(domain.Unrestricted), "unrestricted is not applied")
	assert.Equal(t, domain.ListNone, p.Evidence.List.For(domain.Unrestricted), "left out: most restrictive")
	assert.False(t, p.Evidence.View.For(domain.Confidential), "left out: most restrictive")
	assert.True(t, p.Evidence.ApplyClass.For(domain.Confidential))
	assert.ElementsMatch(t, domain.AllActions(), p.Actions)
	assert.Equal(t, domain.ListNone, p.Cases.List.For("secret"))
	assert.False(t, p.Cases.View.For("secret"))
}

func TestPermissionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		p       domain.Permissions
		wantErr error
	}{
		{name: "empty is valid", p: domain.Permissions{}},
		{name: "administrator", p: domain.AdministratorPermissions()},
		{name: "unknown list scope", p: domain.Permissions{Evidence: domain.EvidencePermissions{List: domain.ListByClass{Confidential: "some"}}}, wantErr: domain.ErrInvalidPermissions},
		{name: "unknown allowance", p: domain.Permissions{Cases: domain.CasePermissions{RemoveClass: domain.AllowByRestriction{Restricted: "yes"}}}, wantErr: domain.ErrInvalidPermissions},
		{name: "unknown action", p: domain.Permissions{Actions: []domain.Action{"cases.delete"}}, wantErr: domain.ErrInvalidPermissions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, tt.p.Validate(), tt.wantErr)
		})
	}
}

func TestPermissionsNormalized(t *testing.T) {
	p := domain.Permissions{
		Cases:   domain.CasePermissions{List: domain.ListByClass{Restricted: domain.ListOwn}},
		Actions: []domain.Action{domain.ActionShare, domain.ActionEditCases, domain.ActionShare},
	}
	n := p.Normalized()
	assert.Equal(t, domain.ListByClass{Unrestricted: domain.ListNone, Restricted: domain.ListOwn, Confidential: domain.ListNone}, n.Cases.List)
	assert.Equal(t, domain.AllowByClass{Unrestricted: domain.Deny, Restricted: domain.Deny, Confidential: domain.Deny}, n.Evidence.View)
	assert.Equal(t, domain.AllowByRestriction{Restricted: domain.Deny, Confidential: domain.Deny}, n.Cases.ApplyClass)
	assert.Equal(t, []domain.Action{domain.ActionEditCases, domain.ActionShare}, n.Actions)
	assert.Equal(t, []domain.Action{domain.ActionShare, domain.ActionEditCases, domain.ActionShare}, p.Actions, "p is not changed")
	assert.Equal(t, []domain.Action{}, domain.Permissions{}.Normalized().Actions)
	assert.True(t, n.Equal(n.Normalized()))
	assert.False(t, n.Equal(p))
	admin := domain.AdministratorPermissions().Normalized()
	assert.Equal(t, domain.AllActions(), admin.Actions, "AllActions is sorted")
	for _, a := range domain.AllActions() {
		assert.True(t, admin.Has(a))
		assert.True(t, a.Valid())
	}
}

func TestAccessClassOrder(t *testing.T) {
	classes := []domain.AccessClass{domain.Unrestricted, domain.Restricted, domain.Confidential}
	for i, a := range classes {
		assert.True(t, a.Valid())
		for j, b := range classes {
			assert.Equal(t, classes[max(i, j)], domain.Stricter(a, b))
		}
	}
	assert.False(t, domain.AccessClass("").Valid())
	assert.Equal(t, domain.Restricted, domain.Stricter(domain.Restricted, ""))
	assert.True(t, domain.LevelRole.Valid())
	assert.False(t, domain.AccessLevel("").Valid())
}

func TestErrorKinds(t *testing.T) {
	tests := []struct {
		err  error
		kind domain.Kind
		name string
	}{
		{domain.ErrInvalidInput, domain.Invalid, "invalid"},
		{domain.ErrCaseNotFound, domain.NotFound, "not found"},
		{domain.ErrForbidden, domain.Forbidden, "forbidden"},
		{domain.ErrCaseExists, domain.Conflict, "conflict"},
		{domain.ErrLastAdministrator, domain.Refused, "refused"},
	}
	for _, tt := range tests {
		wrapped := fmt.Errorf("context: %w", tt.err)
		assert.Equal(t, tt.kind, domain.KindOf(wrapped))
		assert.Equal(t, tt.name, tt.kind.String())
		assert.Equal(t, "context: "+tt.err.Error(), wrapped.Error())
	}
	assert.Equal(t, domain.Kind(0), domain.KindOf(errors.New("plain")))
	assert.Equal(t, "unknown", domain.Kind(0).String())
}

func TestDecodeEvent(t *testing.T) {
	_, err := domain.DecodeEvent("CaseDeleted", []byte(`{}`))
	assert.ErrorIs(t, err, domain.ErrUnknownEventType)
	_, err = domain.DecodeEvent("CaseCreated", []byte(`{"caseId": 7}`))
	assert.Error(t, err)
	e, err := domain.DecodeEvent("UserDeactivated", []byte(`{"userId":"`+bob.String()+`"}`))
	require.NoError(t, err)
	assert.Equal(t, domain.UserDeactivated{UserID: bob}, e)
}

func TestStreams(t *testing.T) {
	assert.Equal(t, "org-"+orgA.String(), domain.OrganizationStream(orgA))
	assert.Equal(t, "user-"+bob.String(), domain.UserStream(bob))
	assert.Equal(t, "group-"+detectives.String(), domain.GroupStream(detectives))
	assert.Equal(t, "role-"+invRole.String(), domain.RoleStream(invRole))
	assert.Equal(t, "case-"+case1.String(), domain.CaseStream(case1))
	assert.Equal(t, "evidence-"+ev1.String(), domain.EvidenceStream(ev1))
}
