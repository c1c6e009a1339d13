#!/usr/bin/python3
"""Test peer: hostbased authentication with asyncssh, either role, on 127.0.0.1.

server --known-client-hosts FILE
    An asyncssh server that accepts only hostbased auth: the client host key must be listed for the
    client host name in FILE (known_hosts format), the name is taken from the request
    (trust_client_host, like sshd's HostbasedUsesNameFromPacketOnly) and the client user must equal
    the login user (asyncssh's default rule). Exec "<command>" answers "ok <command>\\n", exit 0.
    Prints {"port": N, "fingerprint": "SHA256:..."} once listening; exits when stdin reaches EOF.

client --port N --host-key FILE --client-host NAME --client-user USER --user USER --command CMD
    Connects with hostbased auth only (no host key check), runs CMD and prints one JSON line
    {"ok": true, "stdout": "..."} or {"ok": false, "error": "..."}; exits 0 either way.
"""
import argparse
import asyncio
import json
import sys
import warnings

warnings.filterwarnings('ignore')
import asyncssh  # noqa: E402


class Server(asyncssh.SSHServer):
    def begin_auth(self, username):
        return True

    def host_based_auth_supported(self):
        return True

    def public_key_auth_supported(self):
        return False

    def password_auth_supported(self):
        return False

    def kbdint_auth_supported(self):
        return False


async def handle(process):
    process.stdout.write(f'ok {process.command}\n')
    process.exit(0)


async def serve(args):
    key = asyncssh.generate_private_key('ssh-ed25519')
    server = await asyncssh.create_server(
        Server, '127.0.0.1', 0, server_host_keys=[key], process_factory=handle, login_timeout=30,
        known_client_hosts=args.known_client_hosts, trust_client_host=True,
    )
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({'port': port, 'fingerprint': key.get_fingerprint('sha256')}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


async def client(args):
    try:
        async with asyncssh.connect(
            '127.0.0.1', args.port, username=args.user, known_hosts=None, preferred_auth='hostbased',
            client_host_keys=[args.host_key], client_host=args.client_host, client_username=args.client_user,
            client_keys=None, agent_path=None,
        ) as conn:
            result = await conn.run(args.command, check=True)
            print(json.dumps({'ok': True, 'stdout': result.stdout}), flush=True)
    except Exception as e:  # noqa: BLE001 -- the test reads the failure
        print(json.dumps({'ok': False, 'error': f'{type(e).__name__}: {e}'}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('role', choices=['server', 'client'])
    ap.add_argument('--known-client-hosts')
    ap.add_argument('--port', type=int)
    ap.add_argument('--host-key')
    ap.add_argument('--client-host')
    ap.add_argument('--client-user')
    ap.add_argument('--user')
    ap.add_argument('--command', default='id')
    args = ap.parse_args()
    asyncio.run(serve(args) if args.role == 'server' else client(args))


if __name__ == '__main__':
    main()
