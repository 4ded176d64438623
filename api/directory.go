package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/custodian/custodian/domain"
	"github.com/custodian/custodian/eventstore"
	"github.com/custodian/custodian/projections"
)

// directory runs fn under the Directory read model's read lock.
func (s *server) directory(fn func(d *projections.Directory) error) error {
	return projections.View(s.runner, projections.DirectoryName, fn)
}

// ---- organizations ----

type adminDTO struct {
	Name    string `json:"name"`
	Email   string `json:"email"`
	BadgeID string `json:"badgeId"`
	Subject string `json:"subject,omitempty"`
}

type createOrgDTO struct {
	Name  string    `json:"name"`
	Admin *adminDTO `json:"admin"`
}

func (d *createOrgDTO) Valid() []FieldError {
	var fs []FieldError
	if strings.TrimSpace(d.Name) == "" {
		fs = append(fs, FieldError{"name", "required"})
	}
	if d.Admin == nil {
		return append(fs, FieldError{"admin", "required"})
	}
	if strings.TrimSpace(d.Admin.Name) == "" {
		fs = append(fs, FieldError{"admin.name", "required"})
	}
	if strings.TrimSpace(d.Admin.Email) == "" {
		fs = append(fs, FieldError{"admin.email", "required"})
	}
	return fs
}

// createOrg: POST /v1/orgs (operator). Three commands on three streams; each
// is safe to repeat, so a retry completes a request a crash interrupted.
func (s *server) createOrg(c echo.Context) error {
	r := req(c)
	if !r.caller.Operator {
		return errOperatorOnly
	}
	var dto createOrgDTO
	if err := decode(c, &dto); err != nil {
		return err
	}
	orgID, roleID, userID := r.newID(), r.newID(), r.newID()
	ctx := c.Request().Context()
	s.dirMu.Lock()
	defer s.dirMu.Unlock()
	if err := s.waitFor(ctx, eventstore.Start); err != nil {
		return err
	}
	// The administrator is created by the last of three appends: its
	// fields are checked before the first, so that bad input appends nothing.
	if err := domain.CheckUserFields(dto.Admin.Name, dto.Admin.Email, dto.Admin.BadgeID); err != nil {
		return inField("admin", err)
	}
	if err := s.directory(func(d *projections.Directory) error {
		return domain.CheckSubject(dto.Admin.Subject, userID, d.SubjectHolder, s.auth.IsOperator)
	}); err != nil {
		return inField("admin", err)
	}
	org, err := execute(ctx, s, r, step[domain.Organization]{
		stream: domain.OrganizationStream(orgID),
		fresh:  true,
		decide: func(o domain.Organization) ([]domain.Event, error) {
			return o.Decide(domain.CreateOrganization{OrgID: orgID, Name: dto.Name, AdminRoleID: roleID, AdminUserID: userID, Now: r.now})
		},
	})
	if err != nil {
		return err
	}
	if _, err := execute(ctx, s, r, step[domain.Role]{
		stream: domain.RoleStream(roleID),
		fresh:  true,
		decide: func(ro domain.Role) ([]domain.Event, error) {
			return ro.Decide(domain.CreateAdministratorRole{Org: org.State, Now: r.now})
		},
	}); err != nil {
		return err
	}
	res, err := execute(ctx, s, r, step[domain.User]{
		stream: domain.UserStream(userID),
		fresh:  true,
		decide: func(u domain.User) ([]domain.Event, error) {
			return u.Decide(domain.CreateFirstAdministrator{Org: org.State, Name: dto.Admin.Name, Email: dto.Admin.Email,
				BadgeID: dto.Admin.BadgeID, Subject: dto.Admin.Subject, Now: r.now})
		},
		respond: func(domain.User) (int, any) {
			return http.StatusCreated, map[string]string{"id": orgID.String(), "adminUserId": userID.String(), "adminRoleId": roleID.String()}
		},
	})
	if err != nil {
		return err
	}
	return reply(c, res.Status, res.Body, res.Position)
}

type orgDTO struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}

// getOrg: GET /v1/orgs/{id}, for its members and operators.
func (s *server) getOrg(c echo.Context) error {
	r := req(c)
	id, err := pathUUID(c, "id")
	if err != nil {
		return err
	}
	var org domain.Organization
	var ok bool
	_ = s.directory(func(d *projections.Directory) error { org, ok = d.Org(id); return nil })
	if !ok || (!r.caller.Operator && r.caller.OrgID() != id) {
		return hide(fmt.Errorf("organization %s: %w", id, domain.ErrOrganizationNotFound), ok, "organization", id)
	}
	return c.JSON(http.StatusOK, map[string]any{"id": org.ID, "name": org.Name, "adminRoleId": org.AdminRoleID})
}

// listOrgs: GET /v1/orgs?q= — the directory of organizations (id and name),
// for administrators looking for partners, and for operators.
func (s *server) listOrgs(c echo.Context) error {
	r := req(c)
	if !r.caller.Operator && !domain.CanAdminister(r.caller.Subject, r.caller.OrgID()) {
		return fmt.Errorf("list organizations: %w", domain.ErrForbidden)
	}
	vals, err := queryParams(c, "q")
	if err != nil {
		return err
	}
	items := []orgDTO{}
	_ = s.directory(func(d *projections.Directory) error {
		for _, o := range d.Orgs(vals.Get("q")) {
			items = append(items, orgDTO{ID: o.ID, Name: o.Name})
		}
		return nil
	})
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// listOf answers an administrator's list of its organization's roles, users
// or groups: {items: [...]}, each item as toJSON makes it.
func listOf[T, J any](c echo.Context, s *server, all func(*projections.Directory, uuid.UUID) []T, toJSON func(T) J) error {
	r, err := adminOf(c)
	if err != nil {
		return err
	}
	items := []J{}
	_ = s.directory(func(d *projections.Directory) error {
		for _, x := range all(d, r.caller.OrgID()) {
			items = append(items, toJSON(x))
		}
		return nil
	})
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// adminOf returns the request of an administrator of its organization.
func adminOf(c echo.Context) (*request, error) {
	r, err := userCaller(c)
	if err != nil {
		return nil, err
	}
	if !domain.CanAdminister(r.caller.Subject, r.caller.OrgID()) {
		return nil, fmt.Errorf("%s: needs org.admin: %w", c.Path(), domain.ErrForbidden)
	}
	return r, nil
}

// ---- roles ----

type roleDTO struct {
	Name        *string             `json:"name"`
	Permissions *domain.Permissions `json:"permissions"`
}

func (d *roleDTO) Valid() []FieldError {
	var fs []FieldError
	if d.Name == nil || strings.TrimSpace(*d.Name) == "" {
		fs = append(fs, FieldError{"name", "required"})
	}
	if d.Permissions == nil {
		d.Permissions = &domain.Permissions{}
	}
	if err := d.Permissions.Validate(); err != nil {
		fs = append(fs, FieldError{"permissions", err.Error()})
	}
	return fs
}

type roleOut struct {
	ID          uuid.UUID          `json:"id"`
	Name        string             `json:"name"`
	Permissions domain.Permissions `json:"permissions"`
	BuiltIn     bool               `json:"builtIn"`
}

func roleJSON(ro domain.Role) roleOut {
	return roleOut{ID: ro.ID, Name: ro.Name, Permissions: ro.Permissions, BuiltIn: ro.BuiltIn}
}

func (s *server) createRole(c echo.Context) error {
	r, err := userCaller(c)
	if err != nil {
		return err
	}
	var dto roleDTO
	if err := decode(c, &dto); err != nil {
		return err
	}
	id := r.newID()
	res, err := execute(c.Request().Context(), s, r, step[domain.Role]{
		stream: domain.RoleStream(id),
		fresh:  true,
		decide: func(ro domain.Role) ([]domain.Event, error) {
			return ro.Decide(domain.CreateRole{RoleID: id, Name: *dto.Name, Permissions: *dto.Permissions, Actor: r.caller.Subject, Now: r.now})
		},
		respond: func(ro domain.Role) (int, any) { return http.StatusCreated, roleJSON(ro) },
	})
	if err != nil {
		return err
	}
	return reply(c, res.Status, res.Body, res.Position)
}

func (s *server) updateRole(c echo.Context) error {
	var dto roleDTO
	r, id, err := commandOn(c, &dto)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	s.dirMu.Lock()
	defer s.dirMu.Unlock()
	if err := s.waitFor(ctx, eventstore.Start); err != nil {
		return err
	}
	var holders, others int
	_ = s.directory(func(d *projections.Directory) error {
		holders, others = d.ActiveHolders(id), d.ActiveAdminsOutsideRole(r.caller.OrgID(), id)
		return nil
	})
	res, err := execute(ctx, s, r, step[domain.Role]{
		stream: domain.RoleStream(id),
		decide: func(ro domain.Role) ([]domain.Event, error) {
			return ro.Decide(domain.UpdateRole{RoleID: id, Name: *dto.Name, Permissions: *dto.Permissions,
				ActiveHolders: holders, OtherActiveAdmins: others, Actor: r.caller.Subject, Now: r.now})
		},
		respond: func(ro domain.Role) (int, any) { return http.StatusOK, roleJSON(ro) },
	})
	if err != nil {
		return hide(err, res.Existed, "role", id)
	}
	return reply(c, res.Status, res.Body, res.Position)
}

func (s *server) listRoles(c echo.Context) error {
	return listOf(c, s, (*projections.Directory).Roles, roleJSON)
}

// ---- users ----

type createUserDTO struct {
	Name    string `json:"name"`
	Email   string `json:"email"`
	BadgeID string `json:"badgeId"`
	RoleID  string `json:"roleId"`
	Subject string `json:"subject,omitempty"`
	roleID  uuid.UUID
}

func (d *createUserDTO) Valid() []FieldError {
	var fs []FieldError
	if strings.TrimSpace(d.Name) == "" {
		fs = append(fs, FieldError{"name", "required"})
	}
	if strings.TrimSpace(d.Email) == "" {
		fs = append(fs, FieldError{"email", "required"})
	}
	var err error
	if d.roleID, err = uuid.Parse(d.RoleID); err != nil {
		fs = append(fs, FieldError{"roleId", "required, a UUID"})
	}
	return fs
}

type userOut struct {
	ID      uuid.UUID `json:"id"`
	OrgID   uuid.UUID `json:"orgId"`
	Name    string    `json:"name"`
	Email   string    `json:"email"`
	BadgeID string    `json:"badgeId"`
	RoleID  uuid.UUID `json:"roleId"`
	Subject string    `json:"subject"`
	Active  bool      `json:"active"`
}

func userJSON(u domain.User) userOut {
	return userOut{ID: u.ID, OrgID: u.OrgID, Name: u.Name, Email: u.Email, BadgeID: u.BadgeID, RoleID: u.RoleID, Subject: u.Subject, Active: u.Active}
}

func (s *server) createUser(c echo.Context) error {
	r, err := userCaller(c)
	if err != nil {
		return err
	}
	var dto createUserDTO
	if err := decode(c, &dto); err != nil {
		return err
	}
	id := r.newID()
	ctx := c.Request().Context()
	s.dirMu.Lock()
	defer s.dirMu.Unlock()
	if err := s.waitFor(ctx, eventstore.Start); err != nil {
		return err
	}
	var role domain.Role
	if err := s.directory(func(d *projections.Directory) error {
		role, _ = d.Role(dto.roleID)
		if !domain.CanAdminister(r.caller.Subject, r.caller.OrgID()) {
			return nil // the domain refuses it with 403
		}
		return domain.CheckSubject(dto.Subject, id, d.SubjectHolder, s.auth.IsOperator)
	}); err != nil {
		return err
	}
	res, err := execute(ctx, s, r, step[domain.User]{
		stream: domain.UserStream(id),
		fresh:  true,
		decide: func(u domain.User) ([]domain.Event, error) {
			return u.Decide(domain.CreateUser{UserID: id, Name: dto.Name, Email: dto.Email, BadgeID: dto.BadgeID,
				Subject: dto.Subject, Role: role, Actor: r.caller.Subject, Now: r.now})
		},
		respond: func(u domain.User) (int, any) { return http.StatusCreated, userJSON(u) },
	})
	if err != nil {
		return err
	}
	return reply(c, res.Status, res.Body, res.Position)
}

type updateUserDTO struct {
	RoleID *string `json:"roleId"`
	Active *bool   `json:"active"`
	roleID uuid.UUID
}

func (d *updateUserDTO) Valid() []FieldError {
	if d.RoleID == nil && d.Active == nil {
		return []FieldError{{"", "roleId or active is required"}}
	}
	if d.RoleID != nil {
		var err error
		if d.roleID, err = uuid.Parse(*d.RoleID); err != nil {
			return []FieldError{{"roleId", "must be a UUID"}}
		}
	}
	return nil
}

func (s *server) updateUser(c echo.Context) error {
	var dto updateUserDTO
	r, id, err := commandOn(c, &dto)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	s.dirMu.Lock()
	defer s.dirMu.Unlock()
	if err := s.waitFor(ctx, eventstore.Start); err != nil {
		return err
	}
	cmd := domain.UpdateUser{UserID: id, Actor: r.caller.Subject, Now: r.now}
	_ = s.directory(func(d *projections.Directory) error {
		if u, ok := d.User(id); ok {
			cmd.CurrentRole, _ = d.Role(u.RoleID)
		}
		if dto.RoleID != nil {
			ro, _ := d.Role(dto.roleID)
			if ro.ID == uuid.Nil {
				ro.ID = dto.roleID // unknown: the domain refuses it
			}
			cmd.Role = domain.Some(ro)
		}
		cmd.OtherActiveAdmins = d.OtherActiveAdmins(r.caller.OrgID(), id)
		return nil
	})
	if dto.Active != nil {
		cmd.Active = domain.Some(*dto.Active)
	}
	res, err := execute(ctx, s, r, step[domain.User]{
		stream:  domain.UserStream(id),
		decide:  func(u domain.User) ([]domain.Event, error) { return u.Decide(cmd) },
		respond: func(u domain.User) (int, any) { return http.StatusOK, userJSON(u) },
	})
	if err != nil {
		return hide(err, res.Existed, "user", id)
	}
	return reply(c, res.Status, res.Body, res.Position)
}

func (s *server) listUsers(c echo.Context) error {
	return listOf(c, s, (*projections.Directory).Users, userJSON)
}

// ---- groups ----

type nameDTO struct {
	Name string `json:"name"`
}

func (d *nameDTO) Valid() []FieldError {
	if strings.TrimSpace(d.Name) == "" {
		return []FieldError{{"name", "required"}}
	}
	return nil
}

type groupOut struct {
	ID      uuid.UUID   `json:"id"`
	Name    string      `json:"name"`
	Members []uuid.UUID `json:"members"`
}

func groupJSON(g domain.Group) groupOut {
	m := append([]uuid.UUID{}, g.Members...)
	return groupOut{ID: g.ID, Name: g.Name, Members: m}
}

func (s *server) createGroup(c echo.Context) error {
	r, err := userCaller(c)
	if err != nil {
		return err
	}
	var dto nameDTO
	if err := decode(c, &dto); err != nil {
		return err
	}
	id := r.newID()
	res, err := execute(c.Request().Context(), s, r, step[domain.Group]{
		stream: domain.GroupStream(id),
		fresh:  true,
		decide: func(g domain.Group) ([]domain.Event, error) {
			return g.Decide(domain.CreateGroup{GroupID: id, Name: dto.Name, Actor: r.caller.Subject, Now: r.now})
		},
		respond: func(g domain.Group) (int, any) { return http.StatusCreated, groupJSON(g) },
	})
	if err != nil {
		return err
	}
	return reply(c, res.Status, res.Body, res.Position)
}

func (s *server) listGroups(c echo.Context) error {
	return listOf(c, s, (*projections.Directory).Groups, groupJSON)
}

type memberDTO struct {
	UserID string `json:"userId"`
	id     uuid.UUID
}

func (d *memberDTO) Valid() []FieldError {
	var err error
	if d.id, err = uuid.Parse(d.UserID); err != nil {
		return []FieldError{{"userId", "required, a UUID"}}
	}
	return nil
}

func (s *server) addGroupMember(c echo.Context) error {
	var dto memberDTO
	r, id, err := commandOn(c, &dto)
	if err != nil {
		return err
	}
	var userOrg uuid.UUID
	_ = s.directory(func(d *projections.Directory) error {
		if u, ok := d.User(dto.id); ok {
			userOrg = u.OrgID
		}
		return nil
	})
	res, err := execute(c.Request().Context(), s, r, step[domain.Group]{
		stream: domain.GroupStream(id),
		decide: func(g domain.Group) ([]domain.Event, error) {
			return g.Decide(domain.AddGroupMember{GroupID: id, UserID: dto.id, UserOrgID: userOrg, Actor: r.caller.Subject, Now: r.now})
		},
		respond: func(g domain.Group) (int, any) { return http.StatusOK, groupJSON(g) },
	})
	if err != nil {
		return hide(err, res.Existed, "group", id)
	}
	return reply(c, res.Status, res.Body, res.Position)
}

func (s *server) removeGroupMember(c echo.Context) error {
	r, err := userCaller(c)
	if err != nil {
		return err
	}
	id, err := pathUUID(c, "id")
	if err != nil {
		return err
	}
	userID, err := pathUUID(c, "userId")
	if err != nil {
		return err
	}
	res, err := execute(c.Request().Context(), s, r, step[domain.Group]{
		stream: domain.GroupStream(id),
		decide: func(g domain.Group) ([]domain.Event, error) {
			return g.Decide(domain.RemoveGroupMember{GroupID: id, UserID: userID, Actor: r.caller.Subject, Now: r.now})
		},
		respond: func(g domain.Group) (int, any) { return http.StatusOK, groupJSON(g) },
	})
	if err != nil {
		return hide(err, res.Existed, "group", id)
	}
	return reply(c, res.Status, res.Body, res.Position)
}

// ---- the caller ----

func (s *server) me(c echo.Context) error {
	r := req(c)
	if r.caller.Operator {
		return c.JSON(http.StatusOK, map[string]any{"operator": true, "subject": r.caller.TokenSubject})
	}
	u := r.caller.User
	out := map[string]any{"id": u.ID, "orgId": u.OrgID, "name": u.Name, "email": u.Email, "badgeId": u.BadgeID,
		"subject": u.Subject, "operator": false}
	_ = s.directory(func(d *projections.Directory) error {
		if ro, ok := d.Role(u.RoleID); ok {
			out["role"] = roleJSON(ro)
		}
		groups := []orgDTO{}
		for _, gid := range d.GroupsOf(u.ID) {
			if g, ok := d.Group(gid); ok {
				groups = append(groups, orgDTO{ID: g.ID, Name: g.Name})
			}
		}
		out["groups"] = groups
		return nil
	})
	return c.JSON(http.StatusOK, out)
}

func (s *server) myNotifications(c echo.Context) error {
	r, err := userCaller(c)
	if err != nil {
		return err
	}
	vals, err := queryParams(c, "limit", "cursor")
	if err != nil {
		return err
	}
	limit := 50
	if v := vals.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return invalid("limit", "a number from 1 to 200")
		}
		limit = n
	}
	var items []projections.Notification
	var next string
	var qerr error
	if err := projections.View(s.runner, projections.NotificationsName, func(n *projections.Notifications) error {
		items, next, qerr = n.For(r.caller.User.ID, vals.Get("cursor"), limit)
		return nil
	}); err != nil {
		return err
	}
	if qerr != nil {
		return invalid("cursor", "not a cursor of this list")
	}
	if items == nil {
		items = []projections.Notification{}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items, "nextCursor": next})
}
