"""OpenAPI description of Linli's bearer tokens (drf-spectacular discovers this on import)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "linli.accounts.authentication.ApiTokenAuthentication"
    name = "linliToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "接口令牌：Authorization: Bearer ll_…（由管理员在用户管理中签发，按签发用户的范围授权）",
        }
