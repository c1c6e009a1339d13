#!/usr/bin/python3
"""Test peer: a paramiko server on 127.0.0.1 that needs no system accounts.

Mode pubkey-then-password: user "alice" must first pass publickey with a key from
--authorized-keys (answered with partial success), then password "secret".
Every session answers an exec request "<command>" with "ok <command>\\n" and exit status 0.
Prints one JSON line {"port": N, "fingerprint": "SHA256:..."} once listening; exits on stdin EOF.
"""
import argparse
import base64
import hashlib
import json
import socket
import sys
import threading
import time
import warnings

warnings.filterwarnings('ignore')
import paramiko  # noqa: E402

USER, PASSWORD = 'alice', 'secret'


class Server(paramiko.ServerInterface):
    def __init__(self, authorized):
        self.authorized = authorized
        self.pubkey_ok = False

    def get_allowed_auths(self, username):
        return 'password' if self.pubkey_ok else 'publickey'

    def check_auth_publickey(self, username, key):
        if username == USER and key.get_base64() in self.authorized:
            self.pubkey_ok = True
            return paramiko.AUTH_PARTIALLY_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_auth_password(self, username, password):
        if self.pubkey_ok and username == USER and password == PASSWORD:
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        if kind == 'session':
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_exec_request(self, channel, command):
        def reply():
            # let paramiko send CHANNEL_SUCCESS for this request before the data and the close
            time.sleep(0.05)
            channel.sendall(b'ok ' + bytes(command) + b'\n')
            channel.send_exit_status(0)
            channel.close()
        threading.Thread(target=reply, daemon=True).start()
        return True


def serve(conn, host_key, authorized):
    t = paramiko.Transport(conn)
    t.add_server_key(host_key)
    try:
        t.start_server(server=Server(authorized))
        while t.is_active():
            ch = t.accept(1)
            if ch is None:
                continue
    except Exception:
        pass
    finally:
        t.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--mode', required=True, choices=['pubkey-then-password'])
    ap.add_argument('--authorized-keys', required=True)
    args = ap.parse_args()
    with open(args.authorized_keys) as f:
        authorized = {line.split()[1] for line in f if len(line.split()) >= 2}
    host_key = paramiko.ECDSAKey.generate(bits=256)
    digest = hashlib.sha256(host_key.asbytes()).digest()
    fingerprint = 'SHA256:' + base64.b64encode(digest).decode().rstrip('=')
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(('127.0.0.1', 0))
    sock.listen(16)
    print(json.dumps({'port': sock.getsockname()[1], 'fingerprint': fingerprint}), flush=True)

    def accept_loop():
        while True:
            conn, _ = sock.accept()
            threading.Thread(target=serve, args=(conn, host_key, authorized), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    sys.stdin.read()


if __name__ == '__main__':
    main()
