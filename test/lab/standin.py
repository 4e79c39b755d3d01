#!/usr/bin/python3
"""Stand-ins for the two ends of Alluxio's data path, for the namespace lab.

  standin.py worker --listen ADDR --port P
      Accepts connections; each sends "<n>\n" and gets n bytes back, then the
      worker waits for the client to close. Prints "listening" once bound.

  standin.py client --dst ADDR --port P --bytes N [--src ADDR] [--count K] [--hold]
      Makes K connections one after another (from --src if given, the way
      Alluxio's client binds for alluxio.user.network.data.bind.device), reads
      N bytes on each and closes it. With --hold the last connection stays
      open until stdin closes. Prints "done <total bytes read>" when all bytes
      arrived.

Only the standard library: the lab must run wherever the tests run.
"""
import argparse
import socket
import sys
import threading

CHUNK = 1 << 16
PAYLOAD = bytes(range(256)) * (CHUNK // 256)


def serve_one(conn):
    with conn:
        line = b""
        while not line.endswith(b"\n"):
            b = conn.recv(64)
            if not b:
                return
            line += b
        remaining = int(line)
        while remaining > 0:
            n = conn.send(PAYLOAD[:min(CHUNK, remaining)])
            remaining -= n
        while conn.recv(CHUNK):  # until the client closes
            pass


def worker(args):
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind((args.listen, args.port))
    lst.listen(256)
    print("listening", flush=True)
    while True:
        conn, _ = lst.accept()
        threading.Thread(target=serve_one, args=(conn,), daemon=True).start()


def client(args):
    total = 0
    last = None
    for i in range(args.count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if args.src:
            s.bind((args.src, 0))
        s.connect((args.dst, args.port))
        s.sendall(b"%d\n" % args.bytes)
        got = 0
        while got < args.bytes:
            b = s.recv(min(CHUNK, args.bytes - got))
            if not b:
                sys.exit("client: connection %d closed after %d of %d bytes" % (i, got, args.bytes))
            got += len(b)
        total += got
        if args.hold and i == args.count - 1:
            last = s
        else:
            s.close()
    print("done %d" % total, flush=True)
    if last is not None:
        sys.stdin.read()
        last.close()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("worker")
    w.add_argument("--listen", default="0.0.0.0")
    w.add_argument("--port", type=int, required=True)
    c = sub.add_parser("client")
    c.add_argument("--src")
    c.add_argument("--dst", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--bytes", type=int, required=True)
    c.add_argument("--count", type=int, default=1)
    c.add_argument("--hold", action="store_true")
    args = p.parse_args()
    worker(args) if args.cmd == "worker" else client(args)


if __name__ == "__main__":
    main()
