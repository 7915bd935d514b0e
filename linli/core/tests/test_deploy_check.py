"""`linli check --deploy` is clean in the production configuration (issue 3, web security defaults)."""

import os
import subprocess
import sys


def test_check_deploy_is_clean_in_production_settings(tmp_path):
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("LINLI_", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"))
        },
        "DATABASE_URL": "postgres://linli@db.internal:5432/linli",
        "LINLI_SECRET_KEY": "p" * 20 + "-production-secret-" + "q" * 30,
        "LINLI_ALLOWED_HOSTS": "linli.district.gov.cn",
        "LINLI_BEHIND_HTTPS_PROXY": "1",
        "LINLI_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "linli.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
