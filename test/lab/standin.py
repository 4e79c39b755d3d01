#!/usr/bin/python3
"""Stand-ins for the two ends of Alluxio's data path, for the namespace lab.

  standin.py worker --listen ADDR --port P
      Accepts connections; on each, every line "<n>\n" gets n bytes back,
      until the client closes. Prints "listening" once bound.

  standin.py client --dst ADDR --port P --bytes N [--src ADDR] [--count K] [--hold]
      Makes K connections one after another (from --src if given, the way
      Alluxio's client binds for alluxio.user.network.data.bind.device), reads
      N bytes on each and closes it. With --hold the last connection stays
      open until stdin closes. Prints "done <total bytes read>" when all bytes
      arrived. With --every SECONDS the last connection keeps asking for N
      more bytes every SECONDS until stdin closes (steady traffic for rates).

Only the standard library: the lab must run wherever the tests run.
"""
import argparse
import socket
import sys
import threading

CHUNK = 1 << 16
PAYLOAD = bytes(range(256)) * (CHUNK // 256)


def serve_one(conn):
    with conn, conn.makefile("rb") as requests:
        for line in requests:  # until the client closes
            remaining = int(line)
            while remaining > 0:
                n = conn.send(PAYLOAD[:min(CHUNK, remaining)])
                remaining -= n


def worker(args):
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind((args.listen, args.port))
    lst.listen(256)
    print("listening", flush=True)
    while True:
        conn, _ = lst.accept()
        threading.Thread(target=serve_one, args=(conn,), daemon=True).start()


def fetch(s, nbytes, i):
    s.sendall(b"%d\n" % nbytes)
    got = 0
    while got < nbytes:
        b = s.recv(min(CHUNK, nbytes - got))
        if not b:
            sys.exit("client: connection %d closed after %d of %d bytes" % (i, got, nbytes))
        got += len(b)
    return got


def client(args):
    total = 0
    last = None
    for i in range(args.count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if args.src:
            s.bind((args.src, 0))
        s.connect((args.dst, args.port))
        total += fetch(s, args.bytes, i)
        if (args.hold or args.every) and i == args.count - 1:
            last = s
        else:
            s.close()
    print("done %d" % total, flush=True)
    if last is None:
        return
    if args.every:
        stop = threading.Event()
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
        while not stop.wait(args.every):
            fetch(last, args.bytes, args.count - 1)
    else:
        sys.stdin.read()
    last.close()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("worker")
    w.add_argument("--listen", default="0.0.0.0")
    w.add_argument("--port", type=int, required=True)
    # Shows up in the command line, where the agent recognises Alluxio
    # processes (e.g. --as alluxio.worker.AlluxioWorker); otherwise unused.
    w.add_argument("--as", dest="as_class")
    c = sub.add_parser("client")
    c.add_argument("--src")
    c.add_argument("--dst", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--bytes", type=int, required=True)
    c.add_argument("--count", type=int, default=1)
    c.add_argument("--hold", action="store_true")
    c.add_argument("--every", type=float)
    c.add_argument("--as", dest="as_class")
    args = p.parse_args()
    worker(args) if args.cmd == "worker" else client(args)


if __name__ == "__main__":
    main()
