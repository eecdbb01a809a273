#!/usr/bin/env python3
"""PSS of idle shmchatd workers: plain clients next to TLS clients.

Starts shmchatd (from --build-dir) with a plain and a TLS listener on
loopback and a throw-away certificate (openssl req), connects and registers
--clients plain clients and as many TLS clients (Python's ssl module), waits
--settle seconds, then reads /proc/PID/smaps_rollup of every worker (the
fork server's children) and prints the average and largest PSS of each
kind, and the fork server's. Run as root or as the owner of the build tree;
docs/benchmarks.md ("TLS: idle workers") has the numbers.
"""
import argparse
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def children(pid):
    out = []
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/children") as f:
                out += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def peer_ports(pid):
    """the local ports of the TCP sockets pid holds (the listener's port)"""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    ports = set()
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            if parts[9] in inodes:
                ports.add(int(parts[1].split(":")[1], 16))
    return ports


def register(sock, nick):
    sock.sendall(f"NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\n".encode())
    buf = b""
    while b" 376 " not in buf and b" 422 " not in buf:
        data = sock.recv(65536)
        if not data:
            sys.exit(f"{nick}: closed during registration")
        buf += data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=".")
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--settle", type=float, default=2.0)
    ap.add_argument("--no-tls", action="store_true",
                    help="plain clients only, no TLS configured (a build without TLS)")
    ap.add_argument("--port", type=int, default=0, help="plain port (default: a free one)")
    a = ap.parse_args()
    if a.port == 0:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            a.port = s.getsockname()[1]

    d = tempfile.mkdtemp(prefix="shmchat-tls-idle-")
    cert, key = f"{d}/cert.pem", f"{d}/key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj",
                    "/CN=bench.test", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        tport = s.getsockname()[1]
    with open(f"{d}/shmchatd.conf", "w") as f:
        f.write(f'listen = ["127.0.0.1:{a.port}"];\n')
        if not a.no_tls:
            f.write(f'listen_tls = ["127.0.0.1:{tport}"];\n'
                    f'tls = {{ certificate = "{cert}"; key = "{key}"; }};\n')
        f.write(f'max_clients = {2 * a.clients + 16}; user = "root"; group = "root";\n'
                f'admin = {{ queue_key = 0x5c7e1500; group = "root"; }};\n'
                'log_level = "warning";\n')
    srv = subprocess.Popen([f"{a.build_dir}/server/shmchatd", "--config",
                            f"{d}/shmchatd.conf"], stderr=open(f"{d}/log", "w"))
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", a.port)).close()
                break
            except OSError:
                time.sleep(0.05)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        socks = []
        for i in range(a.clients):
            s = socket.create_connection(("127.0.0.1", a.port))
            register(s, f"p{i}")
            socks.append(s)
            if a.no_tls:
                continue
            t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", tport)))
            register(t, f"t{i}")
            socks.append(t)
        time.sleep(a.settle)
        fs = [c for c in children(srv.pid)
              if open(f"/proc/{c}/comm").read().strip().startswith("shmchatd-worker")]
        kinds = {"plain": [], "tls": []}
        for f in fs:
            for w in children(f):
                p = pss_kb(w)
                ports = peer_ports(w)
                if p is None:
                    continue
                kinds["tls" if tport in ports else "plain"].append(p)
        for k, v in kinds.items():
            if v:
                print(f"{k}: {len(v)} idle workers, PSS average {sum(v) / len(v):.1f} kB, "
                      f"largest {max(v)} kB")
        for f in fs:
            print(f"fork server: PSS {pss_kb(f)} kB")
        for s in socks:
            s.close()
    finally:
        srv.send_signal(signal.SIGTERM)
        srv.wait(timeout=30)
        subprocess.run(["rm", "-rf", d])


if __name__ == "__main__":
    main()
