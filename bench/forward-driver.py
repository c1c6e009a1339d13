"""Byte pusher and counting sink for bench/forward.ts, outside node so that the driver costs little CPU.

Prints the sink's port on its first line, then reads commands on stdin, one a line:
  push <port> <bytes>   writes <bytes> zeros into 127.0.0.1:<port> and waits until the sink has them
                        all on one connection; answers "<seconds> <driver cpu seconds> <received>"
The sink accepts any number of connections (the tunnels' readiness probes connect without data).
"""

import socket
import sys
import threading
import time

BLOCK = memoryview(bytes(1 << 20))


def now_cpu():
    t = time.process_time()
    return t


class Sink:
    def __init__(self):
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(64)
        self.port = self.srv.getsockname()[1]
        self.done = threading.Condition()
        self.last = None
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            conn, _ = self.srv.accept()
            threading.Thread(target=self.drain, args=(conn,), daemon=True).start()

    def drain(self, conn):
        buf = bytearray(1 << 20)
        n = 0
        try:
            while True:
                k = conn.recv_into(buf)
                if k == 0:
                    break
                n += k
        except OSError:
            pass
        conn.close()
        if n > 0:
            with self.done:
                self.last = n
                self.done.notify_all()


def main():
    sink = Sink()
    print(sink.port, flush=True)
    for line in sys.stdin:
        parts = line.split()
        if len(parts) != 3 or parts[0] != "push":
            continue
        port, total = int(parts[1]), int(parts[2])
        with sink.done:
            sink.last = None
        s = socket.create_connection(("127.0.0.1", port))
        c0 = now_cpu()
        t0 = time.perf_counter()
        left = total
        while left > 0:
            k = min(left, len(BLOCK))
            s.sendall(BLOCK[:k])
            left -= k
        s.shutdown(socket.SHUT_WR)
        with sink.done:
            while sink.last is None:
                sink.done.wait()
            got = sink.last
        secs = time.perf_counter() - t0
        cpu = now_cpu() - c0
        s.close()
        print(f"{secs} {cpu} {got}", flush=True)


main()
