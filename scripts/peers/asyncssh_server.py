#!/usr/bin/python3
"""Test peer: an asyncssh server on 127.0.0.1 that needs no system accounts.

Modes (--mode):
  password         user "alice", password "secret"
  kbdint           keyboard-interactive: "Password: " (echo off) -> "secret", "Code: " (echo on) -> "123"
  password-change  "alice"/"secret" is expired: the server asks for a new password (any non-empty one
                   different from the old), then accepts the user
Every session answers an exec request "<command>" with "ok <command>\\n" on stdout and exit status 0.
Prints one JSON line {"port": N, "fingerprint": "SHA256:..."} on stdout once listening; exits when
stdin reaches EOF (so the parent's death ends it).
"""
import argparse
import asyncio
import json
import sys
import warnings

warnings.filterwarnings('ignore')
import asyncssh  # noqa: E402

USER, PASSWORD = 'alice', 'secret'


class Server(asyncssh.SSHServer):
    def __init__(self, mode):
        self.mode = mode
        self.changed = False

    def begin_auth(self, username):
        return True

    def public_key_auth_supported(self):
        return False

    def password_auth_supported(self):
        return self.mode in ('password', 'password-change')

    def kbdint_auth_supported(self):
        return self.mode == 'kbdint'

    def validate_password(self, username, password):
        if username != USER or password != PASSWORD:
            return False
        if self.mode == 'password-change' and not self.changed:
            raise asyncssh.PasswordChangeRequired('Password expired; choose a new one')
        return True

    def change_password(self, username, old_password, new_password):
        if username != USER or old_password != PASSWORD or not new_password or new_password == old_password:
            return False
        self.changed = True
        return True

    def get_kbdint_challenge(self, username, lang, submethods):
        return ('secsh-test', 'Answer both prompts', '', [('Password: ', False), ('Code: ', True)])

    def validate_kbdint_response(self, username, responses):
        return username == USER and list(responses) == [PASSWORD, '123']


async def handle(process):
    command = process.command
    if command is None:
        process.stdout.write('ok shell\n')
    else:
        process.stdout.write(f'ok {command}\n')
    process.exit(0)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--mode', required=True, choices=['password', 'kbdint', 'password-change'])
    args = ap.parse_args()
    key = asyncssh.generate_private_key('ssh-ed25519')
    server = await asyncssh.create_server(
        lambda: Server(args.mode), '127.0.0.1', 0, server_host_keys=[key], process_factory=handle,
        login_timeout=30,
    )
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({'port': port, 'fingerprint': key.get_fingerprint('sha256')}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == '__main__':
    asyncio.run(main())
