package tests

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The scenarios of ../shared/seeds/case-access-control.txt over HTTP, each
// against its own server and organization.

var classes = []string{"unrestricted", "restricted", "confidential"}

// controlClass is a class other than c, for the case that shows the row's
// role works for the classes it does not restrict.
func controlClass(c string) string {
	return map[string]string{"unrestricted": "restricted", "restricted": "confidential", "confidential": "unrestricted"}[c]
}

func otherRestricting(c string) string {
	if c == "restricted" {
		return "confidential"
	}
	return "restricted"
}

func title(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

func q(tag string) string { return "q=" + url.QueryEscape(tag) }

// TestPermissionTable drives every row of the source's "User permissions for
// case access" table, with its Role-Based Access (User) column and its
// Access List Member column.
func TestPermissionTable(t *testing.T) {
	s := startServer(t, t.TempDir())
	o := s.newOrg(t, "Permission Table PD")
	n := 0
	tagOf := func(what string) string { n++; return fmt.Sprintf("pt%02d-%s", n, what) }

	for _, class := range classes {
		for _, scope := range []struct{ name, value string }{{"Prohibited", "none"}, {"Only Their Own", "own"}} {
			row := "List " + title(class) + " Cases: " + scope.name
			t.Run(row, func(t *testing.T) {
				tag := tagOf("list-" + class + "-" + scope.value)
				role := s.newRole(t, o, row, perms{List: with(each("all"), class, scope.value), View: each("allow"),
					EvList: each("all"), EvView: each("allow")}.doc())
				u := s.newUser(t, o, "User "+tag, role)
				own := s.newCase(t, o.Admin, map[string]any{"title": tag + " owned by the user", "accessClass": class, "ownerId": u})
				others := s.newCase(t, o.Admin, map[string]any{"title": tag + " owned by another", "accessClass": class})
				control := s.newCase(t, o.Admin, map[string]any{"title": tag + " control", "accessClass": controlClass(class)})

				ids, locked := s.search(t, u, q(tag))
				report := s.report(t, u, q(tag))
				assert.False(t, locked, "the role lists other classes as all: the owner filter is not locked")
				assert.Contains(t, ids, control, "a case of a class the role lists is found")
				assert.Contains(t, report, control)
				assert.NotContains(t, ids, others, "another owner's %s case is not found", class)
				assert.NotContains(t, report, others)
				assert.Equal(t, http.StatusNotFound, s.do(t, u, "GET", "/v1/cases/"+others, nil).Status)
				switch scope.value {
				case "none": // "No Cases": not even the user's own
					assert.NotContains(t, ids, own, "Prohibited: not even a case the user owns")
					assert.NotContains(t, report, own)
					assert.Equal(t, http.StatusNotFound, s.do(t, u, "GET", "/v1/cases/"+own, nil).Status)
				case "own": // "If assigned as case owner"
					assert.Contains(t, ids, own, "Only Their Own: the case the user owns is found")
					assert.Contains(t, report, own)
					assert.Equal(t, http.StatusOK, s.do(t, u, "GET", "/v1/cases/"+own, nil).Status)
				}

				// Access List Member: "Can search and run reports if on the case access list".
				s.grant(t, o.Admin, others, userEntry(u, "view"))
				ids, _ = s.search(t, u, q(tag))
				assert.Contains(t, ids, others, "on the access list: found by search")
				assert.Contains(t, s.report(t, u, q(tag)), others, "on the access list: in the report")
				assert.Equal(t, http.StatusOK, s.do(t, u, "GET", "/v1/cases/"+others, nil).Status)
			})
		}
	}

	for _, class := range classes {
		row := "View " + title(class) + " Case: Prohibited"
		t.Run(row, func(t *testing.T) {
			tag := tagOf("view-" + class)
			role := s.newRole(t, o, row, perms{List: each("all"), View: with(each("allow"), class, "deny"),
				EvList: each("all"), EvView: each("allow")}.doc())
			u := s.newUser(t, o, "User "+tag, role)
			c := s.newCase(t, o.Admin, map[string]any{"title": tag + " case", "accessClass": class})
			ev := s.addEvidence(t, o.Admin, c, map[string]any{"title": tag + " evidence"})
			control := s.newCase(t, o.Admin, map[string]any{"title": tag + " control", "accessClass": controlClass(class)})

			ids, _ := s.search(t, u, q(tag))
			assert.Contains(t, ids, c, "listed by the role, so found")
			assert.Equal(t, http.StatusForbidden, s.do(t, u, "GET", "/v1/cases/"+c, nil).Status, "No Case: listed but not viewable is 403")
			assert.Equal(t, http.StatusNotFound, s.do(t, u, "GET", "/v1/evidence/"+ev, nil).Status, "evidence of a case it may not view is not listable")
			assert.Equal(t, http.StatusOK, s.do(t, u, "GET", "/v1/cases/"+control, nil).Status)

			// Access List Member: "Can view case if on the access list".
			s.grant(t, o.Admin, c, userEntry(u, "view"))
			got := s.must(t, http.StatusOK, u, "GET", "/v1/cases/"+c, nil)
			assert.Contains(t, evidenceIDs(got), ev, "on the list: the case and all its evidence")
			assert.Equal(t, http.StatusOK, s.do(t, u, "GET", "/v1/evidence/"+ev, nil).Status)
		})
	}

	allowBoth := map[string]string{"restricted": "allow", "confidential": "allow"}
	for _, class := range []string{"restricted", "confidential"} {
		row := "Apply Access Class - " + title(class) + ": Prohibited"
		t.Run(row, func(t *testing.T) {
			tag := tagOf("apply-" + class)
			role := s.newRole(t, o, row, perms{List: each("all"), View: each("allow"), Apply: with(allowBoth, class, "deny"),
				Remove: allowBoth, EvList: each("all"), EvView: each("allow"), EvApply: allowBoth,
				Actions: []string{"cases.access.manage"}}.doc())
			u := s.newUser(t, o, "User "+tag, role)
			c := s.newCase(t, o.Admin, map[string]any{"title": tag + " case"})
			control := s.newCase(t, o.Admin, map[string]any{"title": tag + " control"})

			r := s.do(t, u, "PUT", "/v1/cases/"+c+"/access-class", map[string]any{"accessClass": class})
			assert.Equal(t, http.StatusForbidden, r.Status, "Cannot apply access class: %s", r)
			assert.Equal(t, "unrestricted", str(s.must(t, http.StatusOK, o.Admin, "GET", "/v1/cases/"+c, nil), "accessClass"))
			r = s.do(t, u, "PUT", "/v1/cases/"+control+"/access-class", map[string]any{"accessClass": otherRestricting(class)})
			assert.Equal(t, http.StatusOK, r.Status, "the role may apply the other class: %s", r)

			// Access List Member: "No effect".
			s.grant(t, o.Admin, c, userEntry(u, "role"))
			r = s.do(t, u, "PUT", "/v1/cases/"+c+"/access-class", map[string]any{"accessClass": class})
			assert.Equal(t, http.StatusForbidden, r.Status, "an entry of level Role does not give the class permission: %s", r)
			assert.Equal(t, "unrestricted", str(s.must(t, http.StatusOK, o.Admin, "GET", "/v1/cases/"+c, nil), "accessClass"))
		})
	}
	for _, class := range []string{"restricted", "confidential"} {
		row := "Remove Access Class - " + title(class) + ": Prohibited"
		t.Run(row, func(t *testing.T) {
			tag := tagOf("remove-" + class)
			role := s.newRole(t, o, row, perms{List: each("all"), View: each("allow"), Apply: allowBoth,
				Remove: with(allowBoth, class, "deny"), EvList: each("all"), EvView: each("allow"), EvApply: allowBoth,
				Actions: []string{"cases.access.manage"}}.doc())
			u := s.newUser(t, o, "User "+tag, role)
			c := s.newCase(t, o.Admin, map[string]any{"title": tag + " case", "accessClass": class})
			control := s.newCase(t, o.Admin, map[string]any{"title": tag + " control", "accessClass": otherRestricting(class)})

			r := s.do(t, u, "PUT", "/v1/cases/"+c+"/access-class", map[string]any{"accessClass": "unrestricted"})
			assert.Equal(t, http.StatusForbidden, r.Status, "Cannot remove access class: %s", r)
			assert.Equal(t, class, str(s.must(t, http.StatusOK, o.Admin, "GET", "/v1/cases/"+c, nil), "accessClass"))
			r = s.do(t, u, "PUT", "/v1/cases/"+control+"/access-class", map[string]any{"accessClass": "unrestricted"})
			assert.Equal(t, http.StatusOK, r.Status, "the role may remove the other class: %s", r)

			// Access List Member: "No effect".
			s.grant(t, o.Admin, c, userEntry(u, "role"))
			r = s.do(t, u, "PUT", "/v1/cases/"+c+"/access-class", map[string]any{"accessClass": "unrestricted"})
			assert.Equal(t, http.StatusForbidden, r.Status, "an entry of level Role does not give the class permission: %s", r)
			assert.Equal(t, class, str(s.must(t, http.StatusOK, o.Admin, "GET", "/v1/cases/"+c, nil), "accessClass"))
		})
	}
}

// TestOwnOnlySearch: "If a user has list permission for an access class set
// to Only Their Own, then the user will only see the cases they are assigned
// as the owner … and the Owner search filter is locked" — plus the cases
// the user is on the access list for.
func TestOwnOnlySearch(t *testing.T) {
	s := startServer(t, t.TempDir())
	o := s.newOrg(t, "Own Only PD")
	clerkRole := s.newRole(t, o, "Records Clerk", perms{List: map[string]string{"unrestricted": "own", "restricted": "own"},
		View: map[string]string{"unrestricted": "allow", "restricted": "allow"}, Actions: []string{"cases.create"}}.doc())
	allRole := s.newRole(t, o, "Supervisor", perms{List: each("all"), View: each("allow")}.doc())
	clerk := s.newUser(t, o, "Riley Clerk", clerkRole)
	other := s.newUser(t, o, "Sam Other", clerkRole)
	super := s.newUser(t, o, "Sue Supervisor", allRole)

	own1 := s.newCase(t, clerk, map[string]any{"title": "own-only: clerk's first"})
	own2 := s.newCase(t, o.Admin, map[string]any{"title": "own-only: assigned to clerk", "accessClass": "restricted", "ownerId": clerk})
	othersCase := s.newCase(t, other, map[string]any{"title": "own-only: other's case"})
	adminCase := s.newCase(t, o.Admin, map[string]any{"title": "own-only: admin's case"})
	listed := s.newCase(t, o.Admin, map[string]any{"title": "own-only: clerk on the list", "accessClass": "confidential"})
	s.grant(t, o.Admin, listed, userEntry(clerk, "view"))

	ids, locked := s.search(t, clerk, q("own-only"))
	assert.True(t, locked, "ownerFilterLocked: the role lists no class as all")
	assert.ElementsMatch(t, []string{own1, own2, listed}, ids, "own cases and the listed one, nothing else")
	report := s.report(t, clerk, q("own-only"))
	for _, id := range []string{own1, own2, listed} {
		assert.Contains(t, report, id)
	}
	for _, id := range []string{othersCase, adminCase} {
		assert.NotContains(t, report, id)
		assert.Equal(t, http.StatusNotFound, s.do(t, clerk, "GET", "/v1/cases/"+id, nil).Status)
	}

	// Paging with limit=1 walks the same selection once.
	var paged []string
	cursor := ""
	for page := 0; page < 10; page++ {
		path := "/v1/cases?limit=1&" + q("own-only")
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		out := s.must(t, http.StatusOK, clerk, "GET", path, nil)
		items, _ := out["items"].([]any)
		require.LessOrEqual(t, len(items), 1)
		for _, it := range items {
			paged = append(paged, str(it.(map[string]any), "id"))
		}
		assert.Equal(t, true, out["ownerFilterLocked"])
		cursor, _ = out["nextCursor"].(string)
		if cursor == "" {
			break
		}
	}
	assert.ElementsMatch(t, []string{own1, own2, listed}, paged, "pages hold every case once")

	// The owner filter set to the clerk gives the clerk's own cases.
	ids, _ = s.search(t, clerk, q("own-only")+"&ownerId="+clerk)
	assert.ElementsMatch(t, []string{own1, own2}, ids)

	// Malformed search input is a 400, not an empty page.
	for _, bad := range []string{"accessClass=secret", "ownerId=someone", "limit=0", "cursor=garbage", "colour=red"} {
		r := s.do(t, clerk, "GET", "/v1/cases?"+bad, nil)
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", bad, r)
		assert.Equal(t, "application/problem+json", r.Header.Get("Content-Type"), bad)
	}
	ids, _ = s.search(t, clerk, q("own-only")+"&accessClass=restricted")
	assert.Equal(t, []string{own2}, ids, "the class filter")

	// "If assigned as case owner": reassigning a case moves it.
	s.must(t, http.StatusOK, o.Admin, "PATCH", "/v1/cases/"+othersCase, map[string]any{"ownerId": clerk})
	ids, _ = s.search(t, clerk, q("own-only"))
	assert.ElementsMatch(t, []string{own1, own2, listed, othersCase}, ids)
	assert.Equal(t, http.StatusOK, s.do(t, clerk, "GET", "/v1/cases/"+othersCase, nil).Status)
	assert.Equal(t, http.StatusNotFound, s.do(t, other, "GET", "/v1/cases/"+othersCase, nil).Status, "the previous owner no longer lists it")

	// A role that lists every class: not locked, sees them all.
	ids, locked = s.search(t, super, q("own-only"))
	assert.False(t, locked)
	assert.Subset(t, ids, []string{own1, own2, othersCase, adminCase, listed})
	assert.Len(t, ids, 5)
}

// TestAccessListMembers: "Users and groups on the case access list are able
// to view the case and all evidence in the case", and the source's
// "Evidence access vs. case access" example.
func TestAccessListMembers(t *testing.T) {
	s := startServer(t, t.TempDir())
	o := s.newOrg(t, "Access List PD")
	nothing := s.newRole(t, o, "No Access", perms{}.doc())
	member := s.newUser(t, o, "Morgan Member", nothing)

	c := s.newCase(t, o.Admin, map[string]any{"title": "acl-members: confidential case", "accessClass": "confidential"})
	e1 := s.addEvidence(t, o.Admin, c, map[string]any{"title": "acl-members: interview"})
	e2 := s.addEvidence(t, o.Admin, c, map[string]any{"title": "acl-members: photos"})
	assert.Equal(t, http.StatusNotFound, s.do(t, member, "GET", "/v1/cases/"+c, nil).Status)
	ids, _ := s.search(t, member, q("acl-members"))
	assert.Empty(t, ids)

	s.grant(t, o.Admin, c, userEntry(member, "view"))
	ids, locked := s.search(t, member, q("acl-members"))
	assert.Equal(t, []string{c}, ids, "an access-list member finds the case")
	assert.True(t, locked, "a role that lists nothing has the owner filter locked")
	assert.Contains(t, s.report(t, member, q("acl-members")), c)
	got := s.must(t, http.StatusOK, member, "GET", "/v1/cases/"+c, nil)
	assert.ElementsMatch(t, []string{e1, e2}, evidenceIDs(got), "and all its evidence")
	for _, e := range []string{e1, e2} {
		ev := s.must(t, http.StatusOK, member, "GET", "/v1/evidence/"+e, nil)
		assert.Equal(t, "confidential", str(ev, "accessClass"))
	}

	// Evidence access vs. case access: a role that lists and views
	// restricted cases but not restricted evidence sees the case without
	// the evidence, until it is on the case's list or on the item's own list.
	caseOnly := s.newRole(t, o, "Case Reader", perms{List: each("all"), View: each("allow"),
		EvList: map[string]string{"unrestricted": "all"}, EvView: map[string]string{"unrestricted": "allow"}}.doc())
	reader := s.newUser(t, o, "Casey Reader", caseOnly)
	rc := s.newCase(t, o.Admin, map[string]any{"title": "acl-members: restricted case", "accessClass": "restricted"})
	re1 := s.addEvidence(t, o.Admin, rc, map[string]any{"title": "acl-members: restricted item one"})
	re2 := s.addEvidence(t, o.Admin, rc, map[string]any{"title": "acl-members: restricted item two"})
	got = s.must(t, http.StatusOK, reader, "GET", "/v1/cases/"+rc, nil)
	assert.Empty(t, evidenceIDs(got), "the role does not list restricted evidence")
	assert.Equal(t, http.StatusNotFound, s.do(t, reader, "GET", "/v1/evidence/"+re1, nil).Status)

	r := s.do(t, o.Admin, "POST", "/v1/evidence/"+re1+"/access", map[string]any{"entries": []any{userEntry(reader, "view")}})
	require.Equal(t, http.StatusOK, r.Status, "grant on the item's own list: %s", r)
	got = s.must(t, http.StatusOK, reader, "GET", "/v1/cases/"+rc, nil)
	assert.Equal(t, []string{re1}, evidenceIDs(got), "the item's own list shows that item only")
	assert.Equal(t, http.StatusOK, s.do(t, reader, "GET", "/v1/evidence/"+re1, nil).Status)
	assert.Equal(t, http.StatusNotFound, s.do(t, reader, "GET", "/v1/evidence/"+re2, nil).Status)

	s.grant(t, o.Admin, rc, userEntry(reader, "view"))
	got = s.must(t, http.StatusOK, reader, "GET", "/v1/cases/"+rc, nil)
	assert.ElementsMatch(t, []string{re1, re2}, evidenceIDs(got), "on the case's list: all its evidence")
	assert.Equal(t, http.StatusOK, s.do(t, reader, "GET", "/v1/evidence/"+re2, nil).Status)

	// An item the role lists but may not view: 403, not 404 (design §4:
	// the case view lists it, saying it cannot be opened).
	listNoView := s.newRole(t, o, "Evidence Lister", perms{List: each("all"), View: each("allow"), EvList: each("all"),
		EvView: map[string]string{"unrestricted": "allow"}}.doc())
	lister := s.newUser(t, o, "Lin Lister", listNoView)
	got = s.must(t, http.StatusOK, lister, "GET", "/v1/cases/"+rc, nil)
	assert.ElementsMatch(t, []string{re1, re2}, evidenceIDs(got), "listed items appear in the case view")
	for _, it := range got["evidence"].([]any) {
		assert.Equal(t, false, it.(map[string]any)["canView"], "listed but not viewable: %v", it)
	}
	r = s.do(t, lister, "GET", "/v1/evidence/"+re1, nil)
	assert.Equal(t, http.StatusForbidden, r.Status, "listable but not viewable evidence: %s", r)

	// Evidence removed from its case is gone for everyone, also from the
	// case's access-list members.
	s.must(t, http.StatusOK, o.Admin, "DELETE", "/v1/cases/"+c+"/evidence/"+e2, nil)
	assert.Equal(t, http.StatusNotFound, s.do(t, member, "GET", "/v1/evidence/"+e2, nil).Status)
	assert.Equal(t, http.StatusNotFound, s.do(t, o.Admin, "GET", "/v1/evidence/"+e2, nil).Status)
	got = s.must(t, http.StatusOK, member, "GET", "/v1/cases/"+c, nil)
	assert.Equal(t, []string{e1}, evidenceIDs(got))
	assert.Equal(t, http.StatusNotFound, s.do(t, o.Admin, "DELETE", "/v1/cases/"+c+"/evidence/"+e2, nil).Status, "already removed")

	// Folders: an item added to a folder shows it; an unknown folder is invalid input.
	folder := str(s.must(t, http.StatusCreated, o.Admin, "POST", "/v1/cases/"+c+"/folders", map[string]any{"name": "Interviews"}), "id")
	require.NotEmpty(t, folder)
	inFolder := s.addEvidence(t, o.Admin, c, map[string]any{"title": "acl-members: second interview", "folderId": folder})
	assert.Equal(t, folder, str(s.must(t, http.StatusOK, member, "GET", "/v1/evidence/"+inFolder, nil), "folderId"))
	got = s.must(t, http.StatusOK, member, "GET", "/v1/cases/"+c, nil)
	assert.Contains(t, fmt.Sprint(got["folders"]), folder)
	r = s.do(t, o.Admin, "POST", "/v1/cases/"+c+"/evidence", map[string]any{"title": "x", "folderId": "0190a0a0-0000-7000-8000-00000000f01d"})
	assert.Equal(t, http.StatusBadRequest, r.Status, "%s", r)
	r = s.do(t, o.Admin, "POST", "/v1/cases/"+c+"/folders", map[string]any{"name": "interviews"})
	assert.Equal(t, http.StatusConflict, r.Status, "folder names are unique in a case, ignoring case: %s", r)
}

// TestGroupEntries: a group on a case's list acts for its members; joining
// the group gives access, leaving it takes access away from the very next
// request.
func TestGroupEntries(t *testing.T) {
	s := startServer(t, t.TempDir())
	o := s.newOrg(t, "Group PD")
	nothing := s.newRole(t, o, "No Access", perms{}.doc())
	u := s.newUser(t, o, "Gale Member", nothing)
	g := s.newGroup(t, o, "Burglary Unit")
	c := s.newCase(t, o.Admin, map[string]any{"title": "group-entries: case", "accessClass": "restricted"})
	e := s.addEvidence(t, o.Admin, c, map[string]any{"title": "group-entries: video"})
	s.grant(t, o.Admin, c, groupEntry(g, "view"))

	assert.Equal(t, http.StatusNotFound, s.do(t, u, "GET", "/v1/cases/"+c, nil).Status, "not a member yet")

	s.addMember(t, o, g, u)
	got := s.must(t, http.StatusOK, u, "GET", "/v1/cases/"+c, nil)
	assert.Equal(t, []string{e}, evidenceIDs(got))
	ids, _ := s.search(t, u, q("group-entries"))
	assert.Equal(t, []string{c}, ids, "a member finds the case")
	assert.Equal(t, http.StatusOK, s.do(t, u, "GET", "/v1/evidence/"+e, nil).Status)

	s.must(t, http.StatusOK, o.Admin, "DELETE", "/v1/groups/"+g+"/members/"+u, nil)
	assert.Equal(t, http.StatusNotFound, s.do(t, u, "GET", "/v1/cases/"+c, nil).Status, "the very next request after leaving the group is refused")
	assert.Equal(t, http.StatusNotFound, s.do(t, u, "GET", "/v1/evidence/"+e, nil).Status)
	ids, _ = s.search(t, u, q("group-entries"))
	assert.Empty(t, ids)

	// A role change takes effect from the next request on.
	readerRole := s.newRole(t, o, "Reader", perms{List: each("all"), View: each("allow")}.doc())
	reader := s.newUser(t, o, "Rory Reader", readerRole)
	assert.Equal(t, http.StatusOK, s.do(t, reader, "GET", "/v1/cases/"+c, nil).Status)
	s.must(t, http.StatusOK, o.Admin, "PUT", "/v1/roles/"+readerRole, map[string]any{"name": "Reader",
		"permissions": perms{List: each("all"), View: map[string]string{"unrestricted": "allow"}}.doc()})
	assert.Equal(t, http.StatusForbidden, s.do(t, reader, "GET", "/v1/cases/"+c, nil).Status, "the role no longer views restricted cases")
	s.must(t, http.StatusOK, o.Admin, "PATCH", "/v1/users/"+reader, map[string]any{"roleId": nothing})
	assert.Equal(t, http.StatusNotFound, s.do(t, reader, "GET", "/v1/cases/"+c, nil).Status, "the new role lists nothing")

	// The same for a user entry removed from the list.
	s.grant(t, o.Admin, c, userEntry(u, "view"))
	assert.Equal(t, http.StatusOK, s.do(t, u, "GET", "/v1/cases/"+c, nil).Status)
	s.must(t, http.StatusOK, o.Admin, "DELETE", "/v1/cases/"+c+"/access/user/"+u, nil)
	assert.Equal(t, http.StatusNotFound, s.do(t, u, "GET", "/v1/cases/"+c, nil).Status, "the very next request after removal is refused")
}

// TestExpiry: an entry with a short duration grants access until it
// expires, nothing after, and the trail records InternalAccessExpired (seen
// as the access-expired notification and the entry leaving the list).
func TestExpiry(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	o := s.newOrg(t, "Expiry PD")
	nothing := s.newRole(t, o, "No Access", perms{}.doc())
	u := s.newUser(t, o, "Eli Temporary", nothing)
	c := s.newCase(t, o.Admin, map[string]any{"title": "expiry: case", "accessClass": "restricted"})

	kept := s.newUser(t, o, "Kim Kept", nothing)

	expires := time.Now().Add(1500 * time.Millisecond)
	entry := userEntry(u, "view")
	entry["expiresAt"] = rfc3339(expires)
	keptEntry := userEntry(kept, "view")
	keptEntry["expiresAt"] = rfc3339(expires)
	s.grant(t, o.Admin, c, entry, keptEntry)
	// Kim's duration is changed to "until removed" (expiresAt null).
	s.must(t, http.StatusOK, o.Admin, "PATCH", "/v1/cases/"+c+"/access/user/"+kept, map[string]any{"expiresAt": nil})
	// Before the expiry. A check counts only when its answer came before the
	// expiry (a loaded machine may be slower than the entry is long).
	inTime := func(what string) bool {
		if time.Now().Before(expires) {
			return true
		}
		t.Logf("%s answered after the expiry; not checked", what)
		return false
	}
	if r := s.do(t, u, "GET", "/v1/cases/"+c, nil); inTime("GET before expiry") {
		assert.Equal(t, http.StatusOK, r.Status, "before expiry: %s", r)
	}
	if ids, _ := s.search(t, u, q("expiry")); inTime("search before expiry") {
		assert.Equal(t, []string{c}, ids)
	}
	if acl := s.accessList(t, o.Admin, c); inTime("access list before expiry") {
		e, ok := entryFor(acl, "user", u)
		require.True(t, ok, "the entry is on the list: %v", acl)
		at, err := time.Parse(time.RFC3339Nano, str(e, "expiresAt"))
		require.NoError(t, err, "expiresAt %v", e["expiresAt"])
		assert.WithinDuration(t, expires, at, time.Millisecond, "expiresAt keeps the instant given")
	}

	time.Sleep(time.Until(expires) + 50*time.Millisecond)
	assert.Equal(t, http.StatusNotFound, s.do(t, u, "GET", "/v1/cases/"+c, nil).Status, "after expiry the entry grants nothing")
	ids, _ := s.search(t, u, q("expiry"))
	assert.Empty(t, ids)
	assert.Equal(t, http.StatusOK, s.do(t, kept, "GET", "/v1/cases/"+c, nil).Status, "an entry made until removed does not expire")
	ke, ok := entryFor(s.accessList(t, o.Admin, c), "user", kept)
	assert.True(t, ok)
	assert.Nil(t, ke["expiresAt"])
	r := s.do(t, o.Admin, "POST", "/v1/cases/"+c+"/access", map[string]any{"entries": []any{
		map[string]any{"principal": map[string]any{"type": "user", "id": u}, "level": "view", "expiresAt": rfc3339(time.Now().Add(-time.Minute))}}})
	assert.Equal(t, http.StatusBadRequest, r.Status, "an expiry in the past is invalid: %s", r)

	// The reactor records InternalAccessExpired: the user is notified and
	// the entry leaves the list.
	deadline := time.Now().Add(10 * time.Second)
	var kinds []string
	for {
		kinds = kinds[:0]
		for _, n := range s.notifications(t, u) {
			if str(n, "caseId") == c {
				kinds = append(kinds, str(n, "kind"))
			}
		}
		if len(kinds) > 0 && kinds[0] == "access-expired" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no access-expired notification within 10 s of expiry; notifications for the case: %v", kinds)
		}
		time.Sleep(100 * time.Millisecond)
	}
	assert.Equal(t, []string{"access-expired", "access-granted"}, kinds, "newest first")
	_, ok = entryFor(s.accessList(t, o.Admin, c), "user", u)
	assert.False(t, ok, "the expired entry left the list")
}

// TestViewLevelIsReadOnly: "If View is selected, the user can only view the
// case and the evidence in the case."
func TestViewLevelIsReadOnly(t *testing.T) {
	s := startServer(t, t.TempDir())
	o := s.newOrg(t, "View Level PD")
	doer := s.newRole(t, o, "Doer Without Lists", perms{Apply: map[string]string{"restricted": "allow", "confidential": "allow"},
		Remove: map[string]string{"restricted": "allow", "confidential": "allow"}, EvApply: map[string]string{"restricted": "allow", "confidential": "allow"},
		Actions: []string{"cases.create", "cases.edit", "evidence.add", "cases.access.manage"}}.doc())
	u := s.newUser(t, o, "Vic Viewer", doer)
	other := s.newUser(t, o, "Oli Other", doer)
	c := s.newCase(t, o.Admin, map[string]any{"title": "view-level: case", "accessClass": "restricted"})
	e := s.addEvidence(t, o.Admin, c, map[string]any{"title": "view-level: item"})
	s.grant(t, o.Admin, c, userEntry(u, "view"))

	base := "/v1/cases/" + c
	got := s.must(t, http.StatusOK, u, "GET", base, nil)
	assert.Equal(t, []string{e}, evidenceIDs(got))
	assert.Equal(t, http.StatusOK, s.do(t, u, "GET", "/v1/evidence/"+e, nil).Status)

	writes := []struct {
		method, path string
		body         any
	}{
		{"PATCH", base, map[string]any{"title": "renamed by a viewer"}},
		{"POST", base + "/folders", map[string]any{"name": "Viewer folder"}},
		{"POST", base + "/evidence", map[string]any{"title": "added by a viewer"}},
		{"DELETE", base + "/evidence/" + e, nil},
		{"PUT", base + "/access-class", map[string]any{"accessClass": "confidential"}},
		{"POST", base + "/access", map[string]any{"entries": []any{userEntry(other, "view")}}},
		{"PATCH", base + "/access/user/" + u, map[string]any{"level": "role"}},
		{"POST", "/v1/evidence/" + e + "/access", map[string]any{"entries": []any{userEntry(other, "view")}}},
	}
	for _, w := range writes {
		r := s.do(t, u, w.method, w.path, w.body)
		assert.Equal(t, http.StatusForbidden, r.Status, "View level is read-only: %s %s: %s", w.method, w.path, r)
	}
	// Refused attempts are recorded in the audit stream, but the case did
	// not change.
	got2 := s.must(t, http.StatusOK, o.Admin, "GET", base, nil)
	assert.Equal(t, "view-level: case", str(got2, "title"))
	assert.Equal(t, "restricted", str(got2, "accessClass"))
	assert.Empty(t, got2["folders"])
	assert.Equal(t, []string{e}, evidenceIDs(got2))
	acl := s.accessList(t, o.Admin, c)
	_, onList := entryFor(acl, "user", other)
	assert.False(t, onList)
	ue, _ := entryFor(acl, "user", u)
	assert.Equal(t, "view", str(ue, "level"))

	// The same user with level Role may act as its role allows.
	s.must(t, http.StatusOK, o.Admin, "PATCH", base+"/access/user/"+u, map[string]any{"level": "role"})
	r := s.do(t, u, "PATCH", base, map[string]any{"title": "renamed with level role"})
	assert.Equal(t, http.StatusOK, r.Status, "%s", r)
	assert.Equal(t, "renamed with level role", str(s.must(t, http.StatusOK, u, "GET", base, nil), "title"))
}

// TestClassChange: applying a class raises every evidence item's class
// (inheritance), adds the actor to the list, and returning to unrestricted
// leaves the evidence classes as they are.
func TestClassChange(t *testing.T) {
	s := startServer(t, t.TempDir())
	o := s.newOrg(t, "Class Change PD")
	both := map[string]string{"restricted": "allow", "confidential": "allow"}
	sup := s.newRole(t, o, "Supervisor", perms{List: each("all"), View: each("allow"), Apply: both, Remove: both,
		EvList: each("all"), EvView: each("allow"), EvApply: both,
		Actions: []string{"cases.create", "cases.edit", "evidence.add", "cases.access.manage"}}.doc())
	actor := s.newUser(t, o, "Sam Supervisor", sup)
	nothing := s.newRole(t, o, "No Access", perms{}.doc())
	watcher := s.newUser(t, o, "Wren Watcher", nothing)

	c := s.newCase(t, o.Admin, map[string]any{"title": "class-change: case"})
	plain := s.addEvidence(t, o.Admin, c, map[string]any{"title": "class-change: plain item"})
	secret := s.addEvidence(t, o.Admin, c, map[string]any{"title": "class-change: confidential item", "accessClass": "confidential"})
	s.grant(t, o.Admin, c, userEntry(watcher, "view"))
	_, on := entryFor(s.accessList(t, o.Admin, c), "user", actor)
	require.False(t, on)

	out := s.must(t, http.StatusOK, actor, "PUT", "/v1/cases/"+c+"/access-class", map[string]any{"accessClass": "restricted"})
	assert.Equal(t, "restricted", str(out, "accessClass"))
	assert.Equal(t, true, out["actorAddedToList"], "the actor was not on the list: %v", out)
	assertReclassified(t, out, 1, plain)
	assert.NotEmpty(t, out["position"], "a command answers with its position")
	assert.Equal(t, "restricted", str(s.must(t, http.StatusOK, o.Admin, "GET", "/v1/evidence/"+plain, nil), "accessClass"), "inherits the case's class")
	assert.Equal(t, "confidential", str(s.must(t, http.StatusOK, o.Admin, "GET", "/v1/evidence/"+secret, nil), "accessClass"), "a case change never lowers an item's class")

	acl := s.accessList(t, o.Admin, c)
	assert.Equal(t, "restricted", str(acl, "accessClass"))
	e, on := entryFor(acl, "user", actor)
	require.True(t, on, "the actor is added to the list: %v", acl)
	assert.Equal(t, "role", str(e, "level"))
	assert.Nil(t, e["expiresAt"], "until removed")
	assert.Equal(t, actor, str(e, "grantedBy"))

	// Already on the list: not added again.
	out = s.must(t, http.StatusOK, actor, "PUT", "/v1/cases/"+c+"/access-class", map[string]any{"accessClass": "confidential"})
	assert.Equal(t, false, out["actorAddedToList"], "%v", out)
	assertReclassified(t, out, 1, plain)
	assert.Equal(t, "confidential", str(s.must(t, http.StatusOK, o.Admin, "GET", "/v1/evidence/"+plain, nil), "accessClass"))

	// Back to unrestricted: evidence keeps its class.
	out = s.must(t, http.StatusOK, actor, "PUT", "/v1/cases/"+c+"/access-class", map[string]any{"accessClass": "unrestricted"})
	assert.Equal(t, "unrestricted", str(out, "accessClass"))
	assert.Equal(t, false, out["actorAddedToList"])
	assertReclassified(t, out, 0)
	assert.Equal(t, "unrestricted", str(s.must(t, http.StatusOK, o.Admin, "GET", "/v1/cases/"+c, nil), "accessClass"))
	for _, ev := range []string{plain, secret} {
		assert.Equal(t, "confidential", str(s.must(t, http.StatusOK, o.Admin, "GET", "/v1/evidence/"+ev, nil), "accessClass"),
			"evidence does not inherit unrestricted")
	}

	// Evidence added later gets the stricter of its class and the case's.
	s.must(t, http.StatusOK, actor, "PUT", "/v1/cases/"+c+"/access-class", map[string]any{"accessClass": "restricted"})
	later := s.addEvidence(t, actor, c, map[string]any{"title": "class-change: later item"})
	assert.Equal(t, "restricted", str(s.must(t, http.StatusOK, o.Admin, "GET", "/v1/evidence/"+later, nil), "accessClass"))
	laterSecret := s.addEvidence(t, actor, c, map[string]any{"title": "class-change: later secret", "accessClass": "confidential"})
	assert.Equal(t, "confidential", str(s.must(t, http.StatusOK, o.Admin, "GET", "/v1/evidence/"+laterSecret, nil), "accessClass"))
	laterLax := s.addEvidence(t, actor, c, map[string]any{"title": "class-change: later lax", "accessClass": "unrestricted"})
	assert.Equal(t, "restricted", str(s.must(t, http.StatusOK, o.Admin, "GET", "/v1/evidence/"+laterLax, nil), "accessClass"))

	// Access through a group entry of level Role does not count as being on
	// the list: the actor gets its own entry.
	grouped := s.newRole(t, o, "Class Changer Without Lists", perms{Apply: both, Remove: both, EvApply: both}.doc())
	gm := s.newUser(t, o, "Gwen Grouped", grouped)
	g := s.newGroup(t, o, "Class Unit")
	s.addMember(t, o, g, gm)
	gc := s.newCase(t, o.Admin, map[string]any{"title": "class-change: group case"})
	s.grant(t, o.Admin, gc, groupEntry(g, "role"))
	out = s.must(t, http.StatusOK, gm, "PUT", "/v1/cases/"+gc+"/access-class", map[string]any{"accessClass": "confidential"})
	assert.Equal(t, true, out["actorAddedToList"], "%v", out)
	_, on = entryFor(s.accessList(t, o.Admin, gc), "user", gm)
	assert.True(t, on, "the actor has its own entry")
	s.must(t, http.StatusOK, o.Admin, "DELETE", "/v1/groups/"+g+"/members/"+gm, nil)
	assert.Equal(t, http.StatusOK, s.do(t, gm, "GET", "/v1/cases/"+gc, nil).Status, "it keeps access after leaving the group")

	// A class given at creation counts as applying it: the creator is on the list.
	created := s.newCase(t, actor, map[string]any{"title": "class-change: created restricted", "accessClass": "restricted"})
	e, on = entryFor(s.accessList(t, actor, created), "user", actor)
	assert.True(t, on, "the creator of a restricted case is on its list")
	assert.Equal(t, "role", str(e, "level"))
}

// assertReclassified checks evidenceReclassified, which api.md does not
// shape: a count, or a list of the items (ids or objects with an id).
func assertReclassified(t *testing.T, out map[string]any, n int, ids ...string) {
	t.Helper()
	switch v := out["evidenceReclassified"].(type) {
	case float64:
		assert.Equal(t, float64(n), v, "evidenceReclassified")
	case []any:
		assert.Len(t, v, n, "evidenceReclassified")
		for _, id := range ids {
			assert.Contains(t, fmt.Sprint(v), id, "evidenceReclassified")
		}
	default:
		t.Errorf("evidenceReclassified missing or of an unexpected type: %v", out)
	}
}

// TestBulkGrant: "Add users and groups to an Internal Access list from the
// Case Search page" — one request, one result per case.
func TestBulkGrant(t *testing.T) {
	s := startServer(t, t.TempDir())
	o := s.newOrg(t, "Bulk PD")
	b := s.newOrg(t, "Bulk Other Org")
	granterRole := s.newRole(t, o, "Granter", perms{List: map[string]string{"unrestricted": "all", "restricted": "all"},
		View: map[string]string{"unrestricted": "allow"}, Actions: []string{"cases.access.manage"}}.doc())
	granter := s.newUser(t, o, "Gus Granter", granterRole)
	nothing := s.newRole(t, o, "No Access", perms{}.doc())
	grantee := s.newUser(t, o, "Gina Grantee", nothing)

	ok1 := s.newCase(t, o.Admin, map[string]any{"title": "bulk: first"})
	ok2 := s.newCase(t, o.Admin, map[string]any{"title": "bulk: second"})
	listOnly := s.newCase(t, o.Admin, map[string]any{"title": "bulk: restricted", "accessClass": "restricted"})
	hidden := s.newCase(t, o.Admin, map[string]any{"title": "bulk: confidential", "accessClass": "confidential"})
	foreign := s.newCase(t, b.Admin, map[string]any{"title": "bulk: other org"})
	missing := "0190a0a0-0000-7000-8000-000000000001"

	caseIDs := []string{ok1, listOnly, hidden, missing, foreign, ok2}
	out := s.must(t, http.StatusOK, granter, "POST", "/v1/access-grants", map[string]any{"caseIds": caseIDs,
		"entries": []any{userEntry(grantee, "view")}})
	assert.NotEmpty(t, out["position"])
	want := map[string]string{ok1: "granted", ok2: "granted", listOnly: "forbidden", hidden: "not_found", missing: "not_found", foreign: "not_found"}
	assertBulk(t, out, caseIDs, want)

	ids, _ := s.search(t, grantee, q("bulk"))
	assert.ElementsMatch(t, []string{ok1, ok2}, ids, "granted exactly where the result says so")
	for _, c := range []string{listOnly, hidden} {
		_, on := entryFor(s.accessList(t, o.Admin, c), "user", grantee)
		assert.False(t, on, "nothing granted on %s", c)
	}
	_, on := entryFor(s.accessList(t, b.Admin, foreign), "user", grantee)
	assert.False(t, on)

	// A grant the domain refuses for a case it can see is invalid for that
	// case (a principal of another organization), beside not_found.
	out = s.must(t, http.StatusOK, granter, "POST", "/v1/access-grants", map[string]any{"caseIds": []string{ok1, missing},
		"entries": []any{userEntry(b.Admin, "view")}})
	assertBulk(t, out, []string{ok1, missing}, map[string]string{ok1: "invalid", missing: "not_found"})
	for _, r := range out["results"].([]any) {
		m := r.(map[string]any)
		if str(m, "caseId") == ok1 {
			assert.NotEmpty(t, m["detail"], "an invalid result says why")
		}
	}
	_, on = entryFor(s.accessList(t, o.Admin, ok1), "user", b.Admin)
	assert.False(t, on)

	// A malformed case id makes the whole request invalid input: nothing granted.
	other := s.newUser(t, o, "Otto Other", nothing)
	head := s.head(t)
	r := s.do(t, granter, "POST", "/v1/access-grants", map[string]any{"caseIds": []string{ok1, "not-a-uuid"},
		"entries": []any{userEntry(other, "view")}})
	assert.Equal(t, http.StatusBadRequest, r.Status, "%s", r)
	assert.Equal(t, head, s.head(t), "nothing appended")
}

func assertBulk(t *testing.T, out map[string]any, order []string, want map[string]string) {
	t.Helper()
	results, ok := out["results"].([]any)
	require.True(t, ok, "no results: %v", out)
	require.Len(t, results, len(order), "one result per case: %v", out)
	for i, r := range results {
		m := r.(map[string]any)
		assert.Equal(t, order[i], str(m, "caseId"), "results in the order given")
		assert.Equal(t, want[order[i]], str(m, "status"), "case %s: %v", order[i], m)
	}
}

// TestManageAccessCounts: "This page shows the number of users and groups
// on the access list, the number of users that can view the case due to
// their role-based permissions, and the access class for the case."
func TestManageAccessCounts(t *testing.T) {
	s := startServer(t, t.TempDir())
	o := s.newOrg(t, "Counts PD")
	viewer := s.newRole(t, o, "Viewer", perms{List: each("all"), View: map[string]string{"unrestricted": "allow", "restricted": "allow"}}.doc())
	lister := s.newRole(t, o, "Lister", perms{List: each("all")}.doc())
	ownRole := s.newRole(t, o, "Own Only", perms{List: each("own"), View: each("allow")}.doc())
	nothing := s.newRole(t, o, "No Access", perms{}.doc())
	v1 := s.newUser(t, o, "Vera One", viewer)
	v2 := s.newUser(t, o, "Vince Two", viewer)
	v3 := s.newUser(t, o, "Val Three", viewer)
	s.newUser(t, o, "Lee Lister", lister)
	owner := s.newUser(t, o, "Owen Owner", ownRole)
	s.newUser(t, o, "Ola Own Other", ownRole)
	n1 := s.newUser(t, o, "Nia Listed", nothing)
	n2 := s.newUser(t, o, "Ned Listed", nothing)
	g := s.newGroup(t, o, "Night Shift")
	s.addMember(t, o, g, n1)
	s.must(t, http.StatusOK, o.Admin, "PATCH", "/v1/users/"+v3, map[string]any{"active": false})

	c := s.newCase(t, o.Admin, map[string]any{"title": "counts: case", "ownerId": owner})
	s.grant(t, o.Admin, c, userEntry(n1, "view"), userEntry(n2, "role"), groupEntry(g, "view"), userEntry(v1, "view"))

	counts := func() map[string]any {
		acl := s.accessList(t, o.Admin, c)
		m, ok := acl["counts"].(map[string]any)
		require.True(t, ok, "no counts: %v", acl)
		return m
	}
	got := counts()
	assert.Equal(t, float64(3), got["users"], "user entries")
	assert.Equal(t, float64(1), got["groups"], "group entries")
	// Active users who view it through their role alone: the administrator,
	// v1, v2 (not the deactivated v3, not the lister, not n1/n2 who are
	// only on the list) and the owner whose role lists its own cases.
	assert.Equal(t, float64(4), got["roleViewers"], "role viewers")
	assert.Equal(t, "unrestricted", str(s.accessList(t, o.Admin, c), "accessClass"))

	// Confidential: the viewer role may not view it any more; the
	// administrator (added to the list) and the owner's role still do.
	s.must(t, http.StatusOK, o.Admin, "PUT", "/v1/cases/"+c+"/access-class", map[string]any{"accessClass": "confidential"})
	got = counts()
	assert.Equal(t, float64(4), got["users"], "the administrator was added to the list")
	assert.Equal(t, float64(1), got["groups"])
	assert.Equal(t, float64(2), got["roleViewers"], "administrator and owner")

	s.must(t, http.StatusOK, o.Admin, "DELETE", "/v1/cases/"+c+"/access/group/"+g, nil)
	s.must(t, http.StatusOK, o.Admin, "PUT", "/v1/cases/"+c+"/access-class", map[string]any{"accessClass": "restricted"})
	s.must(t, http.StatusOK, o.Admin, "PATCH", "/v1/users/"+v2, map[string]any{"active": false})
	got = counts()
	assert.Equal(t, float64(4), got["users"])
	assert.Equal(t, float64(0), got["groups"])
	assert.Equal(t, float64(3), got["roleViewers"], "administrator, v1 and the owner")
}

// TestNotifications: the grantee is told of a grant, a class change (that
// it keeps access), the removal of the restriction and its removal from
// the list; a group is told through its members; the actor is not told of
// what it did.
func TestNotifications(t *testing.T) {
	s := startServer(t, t.TempDir())
	o := s.newOrg(t, "Notify PD")
	nothing := s.newRole(t, o, "No Access", perms{}.doc())
	u := s.newUser(t, o, "Nora Notified", nothing)
	member := s.newUser(t, o, "Gil Groupmember", nothing)
	g := s.newGroup(t, o, "Robbery Unit")
	s.addMember(t, o, g, member)
	c := s.newCase(t, o.Admin, map[string]any{"title": "notify: case"})

	kindsFor := func(sub string) []string {
		var kinds []string
		for _, n := range s.notifications(t, sub) {
			if str(n, "caseId") == c {
				kinds = append(kinds, str(n, "kind"))
			}
		}
		return kinds
	}
	assert.Empty(t, kindsFor(u))

	s.grant(t, o.Admin, c, userEntry(u, "view"), groupEntry(g, "view"))
	assert.Equal(t, []string{"access-granted"}, kindsFor(u))
	assert.Equal(t, []string{"access-granted"}, kindsFor(member), "a group is notified through its members")
	n := s.notifications(t, u)[0]
	assert.Equal(t, "view", str(n, "level"))

	s.must(t, http.StatusOK, o.Admin, "PUT", "/v1/cases/"+c+"/access-class", map[string]any{"accessClass": "restricted"})
	assert.Equal(t, []string{"class-applied", "access-granted"}, kindsFor(u), "told that the class changed and it keeps access")
	assert.Equal(t, []string{"class-applied", "access-granted"}, kindsFor(member))
	assert.Equal(t, "restricted", str(s.notifications(t, u)[0], "accessClass"))

	s.must(t, http.StatusOK, o.Admin, "PUT", "/v1/cases/"+c+"/access-class", map[string]any{"accessClass": "unrestricted"})
	assert.Equal(t, []string{"restriction-removed", "class-applied", "access-granted"}, kindsFor(u))

	s.must(t, http.StatusOK, o.Admin, "PATCH", "/v1/cases/"+c+"/access/user/"+u, map[string]any{"level": "role"})
	assert.Equal(t, []string{"access-modified", "restriction-removed", "class-applied", "access-granted"}, kindsFor(u))

	s.must(t, http.StatusOK, o.Admin, "DELETE", "/v1/cases/"+c+"/access/user/"+u, nil)
	assert.Equal(t, []string{"access-removed", "access-modified", "restriction-removed", "class-applied", "access-granted"}, kindsFor(u))
	assert.Equal(t, []string{"restriction-removed", "class-applied", "access-granted"}, kindsFor(member), "not told of another principal's removal")

	// The actor is not notified of its own grant (the administrator was
	// added to the list by its own class change, too).
	assert.Empty(t, kindsFor(o.Admin))
	assert.Equal(t, http.StatusForbidden, s.do(t, operatorSub, "GET", "/v1/me/notifications", nil).Status, "operators have no inbox")
}

// TestTenantIsolation: another organization's administrator cannot find,
// open or change a case, and cannot put the first organization's users on
// its own lists or in its groups.
func TestTenantIsolation(t *testing.T) {
	s := startServer(t, t.TempDir())
	a := s.newOrg(t, "Tenant A")
	b := s.newOrg(t, "Tenant B")
	nothing := s.newRole(t, a, "No Access", perms{}.doc())
	ua := s.newUser(t, a, "Ada Alpha", nothing)
	ga := s.newGroup(t, a, "Alpha Group")
	ca := s.newCase(t, a.Admin, map[string]any{"title": "tenant: alpha case"})
	ea := s.addEvidence(t, a.Admin, ca, map[string]any{"title": "tenant: alpha evidence"})
	s.grant(t, a.Admin, ca, userEntry(ua, "view"))
	cb := s.newCase(t, b.Admin, map[string]any{"title": "tenant: beta case"})
	gb := s.newGroup(t, b, "Beta Group")
	missing := "0190a0a0-0000-7000-8000-0000000000ff"

	absent := s.do(t, b.Admin, "GET", "/v1/cases/"+missing, nil)
	require.Equal(t, http.StatusNotFound, absent.Status)
	for _, req := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1/cases/" + ca, nil},
		{"PATCH", "/v1/cases/" + ca, map[string]any{"title": "taken over"}},
		{"GET", "/v1/cases/" + ca + "/access", nil},
		{"POST", "/v1/cases/" + ca + "/access", map[string]any{"entries": []any{userEntry(b.Admin, "view")}}},
		{"PUT", "/v1/cases/" + ca + "/access-class", map[string]any{"accessClass": "restricted"}},
		{"POST", "/v1/cases/" + ca + "/folders", map[string]any{"name": "B's folder"}},
		{"POST", "/v1/cases/" + ca + "/evidence", map[string]any{"title": "B's evidence"}},
		{"DELETE", "/v1/cases/" + ca + "/evidence/" + ea, nil},
		{"DELETE", "/v1/cases/" + ca + "/access/user/" + ua, nil},
		{"GET", "/v1/evidence/" + ea, nil},
		{"GET", "/v1/evidence/" + ea + "/access", nil},
		{"GET", "/v1/orgs/" + a.ID, nil},
		{"PATCH", "/v1/users/" + ua, map[string]any{"active": false}},
		{"POST", "/v1/groups/" + ga + "/members", map[string]any{"userId": b.Admin}},
	} {
		r := s.do(t, b.Admin, req.method, req.path, req.body)
		assert.Equal(t, http.StatusNotFound, r.Status, "%s %s: %s", req.method, req.path, r)
		if req.method == "GET" && strings.HasPrefix(req.path, "/v1/cases/") && r.Status == http.StatusNotFound {
			assert.Equal(t, str(absent.JSON, "detail"), str(r.JSON, "detail"), "a hidden case reads like a missing one")
		}
	}
	// The directory of organizations, to find partners: id and name only.
	orgs := s.must(t, http.StatusOK, b.Admin, "GET", "/v1/orgs?q="+url.QueryEscape("Tenant A"), nil)
	items, _ := orgs["items"].([]any)
	require.Len(t, items, 1, "%v", orgs)
	assert.Equal(t, map[string]any{"id": a.ID, "name": "Tenant A"}, items[0])

	ids, _ := s.search(t, b.Admin, q("tenant"))
	assert.Equal(t, []string{cb}, ids, "search shows only the caller's organization")
	assert.NotContains(t, s.report(t, b.Admin, q("tenant")), ca)
	bulk := s.must(t, http.StatusOK, b.Admin, "POST", "/v1/access-grants", map[string]any{"caseIds": []string{ca},
		"entries": []any{userEntry(b.Admin, "view")}})
	assertBulk(t, bulk, []string{ca}, map[string]string{ca: "not_found"})

	// B cannot put A's principals on its lists, in its groups, or own its cases.
	for _, req := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/v1/cases/" + cb + "/access", map[string]any{"entries": []any{userEntry(ua, "view")}}},
		{"POST", "/v1/cases/" + cb + "/access", map[string]any{"entries": []any{groupEntry(ga, "view")}}},
		{"POST", "/v1/groups/" + gb + "/members", map[string]any{"userId": ua}},
		{"POST", "/v1/cases", map[string]any{"title": "tenant: owned by A's user", "ownerId": ua}},
		{"PATCH", "/v1/cases/" + cb, map[string]any{"ownerId": ua}},
		{"POST", "/v1/users", map[string]any{"name": "x", "email": "x@b.example", "roleId": nothing}},
	} {
		r := s.do(t, b.Admin, req.method, req.path, req.body)
		assert.Equal(t, http.StatusBadRequest, r.Status, "another organization's principal or role is unknown input: %s %s: %s", req.method, req.path, r)
	}
	acl := s.accessList(t, b.Admin, cb)
	assert.Empty(t, acl["entries"])
	users := s.must(t, http.StatusOK, b.Admin, "GET", "/v1/users", nil)["items"].([]any)
	for _, u := range users {
		assert.NotEqual(t, ua, str(u.(map[string]any), "id"), "B's directory holds no user of A")
	}
	assert.Equal(t, "tenant: alpha case", str(s.must(t, http.StatusOK, a.Admin, "GET", "/v1/cases/"+ca, nil), "title"))
	assert.Equal(t, http.StatusOK, s.do(t, ua, "GET", "/v1/cases/"+ca, nil).Status, "A's grant is untouched")
}
