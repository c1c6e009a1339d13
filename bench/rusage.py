#!/usr/bin/python3
"""Runs a command and reports its wall time, CPU and peak RSS as one JSON line.

usage: rusage.py [--stdin-bytes N] [--discard-stdout] -- command args...
The wrapper feeds N zero bytes to the command's stdin (then EOF) and counts its stdout (or sends it
to /dev/null), so its own work is not in the child's rusage (RUSAGE_CHILDREN covers only the command).
"""
import json
import resource
import subprocess
import sys
import threading
import time


def main():
    args = sys.argv[1:]
    stdin_bytes = None
    if args and args[0] == '--stdin-bytes':
        stdin_bytes = int(args[1])
        args = args[2:]
    discard = False
    if args and args[0] == '--discard-stdout':
        discard = True
        args = args[1:]
    if args and args[0] == '--':
        args = args[1:]
    start = time.monotonic()
    p = subprocess.Popen(args, stdin=subprocess.PIPE if stdin_bytes is not None else subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL if discard else subprocess.PIPE, stderr=subprocess.PIPE)

    def feed():
        block = bytes(1 << 20)
        left = stdin_bytes
        try:
            while left > 0:
                n = min(left, len(block))
                p.stdin.write(block[:n] if n < len(block) else block)
                left -= n
        finally:
            p.stdin.close()

    if stdin_bytes is not None:
        threading.Thread(target=feed, daemon=True).start()
    err = []
    threading.Thread(target=lambda: err.append(p.stderr.read()), daemon=True).start()
    out = 0
    while not discard:
        chunk = p.stdout.read1(1 << 20)
        if not chunk:
            break
        out += len(chunk)
    status = p.wait()
    seconds = time.monotonic() - start
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        'status': status, 'stdoutBytes': out, 'seconds': seconds,
        'cpu': ru.ru_utime + ru.ru_stime, 'maxRssKb': ru.ru_maxrss,
        'stderr': (err[0] if err else b'')[-2000:].decode('utf8', 'replace'),
    }))


if __name__ == '__main__':
    main()
