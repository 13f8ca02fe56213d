from __future__ import annotations

from podsponsor.errors import AppError, Conflict, Forbidden, NotAuthenticated


class InvalidCredentials(NotAuthenticated):
    type = "invalid-credentials"
    title = "E-mail or password is wrong"


class WorkspaceRequired(AppError):
    status = 409
    type = "workspace-required"
    title = "This e-mail belongs to several workspaces"


class SlugTaken(Conflict):
    type = "workspace-taken"
    title = "That workspace name is taken"


class EmailTaken(Conflict):
    type = "email-taken"
    title = "A user with that e-mail already exists"


class RoleNotAssignable(Forbidden):
    type = "role-not-assignable"
    title = "You cannot grant that role"
