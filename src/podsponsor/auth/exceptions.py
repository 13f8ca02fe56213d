from __future__ import annotations

from podsponsor.errors import AppError, Conflict, Forbidden, NotAuthenticated, ValidationFailed


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


class TotpRequired(NotAuthenticated):
    type = "totp-required"
    title = "A code from your authenticator app is needed"


class TotpInvalid(NotAuthenticated):
    type = "totp-invalid"
    title = "The code is wrong, expired or used already"


class CodeWrong(ValidationFailed):
    type = "code-wrong"
    title = "The code or password does not prove it is you"


class SecondFactorState(Conflict):
    type = "second-factor-state"
    title = "The second factor is not in the state this needs"
