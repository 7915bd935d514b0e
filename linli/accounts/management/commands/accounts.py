from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.core.management.base import BaseCommand

from linli.registry.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, DEMO_URL


class Command(BaseCommand):
    help = "Show the demo accounts that exist in this database, their password and where to sign in."

    def handle(self, *args, **options):
        users = get_user_model().objects.in_bulk([a.username for a in DEMO_ACCOUNTS], field_name="username")
        present = [
            (account, users[account.username]) for account in DEMO_ACCOUNTS if account.username in users
        ]
        if not present:
            self.stdout.write("还没有演示账号，请先运行 linli demo (no demo accounts yet: run `linli demo`)")
            return
        self.stdout.write("演示账号 Demo accounts")
        for account, user in present:
            # Only show the password while it still works: after a change it would just mislead.
            # hashers.check_password, unlike User.check_password, never rehashes and saves the user.
            valid = check_password(DEMO_PASSWORD, user.password)
            password = DEMO_PASSWORD if valid else "(已修改 changed)"
            role = f"{account.role_zh} {account.role_en}"
            self.stdout.write(f"  {account.username:<12} {password:<16} {user.full_name or '':<8} {role}")
        self.stdout.write(f"登录地址 Sign in at: {DEMO_URL}")
        self.stdout.write(
            "街道、系统管理员、审计员账号首次登录需绑定手机验证器 (TOTP)；"
            "sub-district, admin and auditor accounts enrol a TOTP authenticator at first sign-in"
        )
        self.stdout.write("正式使用前请修改或停用这些账号 (change or disable these accounts before real use)")
