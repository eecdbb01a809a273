#!/usr/bin/env python3
"""Channel moderation with real IRC clients: irssi and weechat against a server.

alice runs irssi, bob runs weechat (both inside a private tmux server), carol
is a scripted client on a raw socket. alice creates #room, ops bob and works
through the moderation commands (/op, /voice, /mode +m +k +i, /topic, /ban,
the ban list, /kick, /invite); then bob does the same from weechat. Every step
is checked from three sides:
  - carol's socket: the server relayed the right command to the channel
    (and enforces it: +k, +i, +m and bans refuse what they must);
  - irssi's autolog and weechat's logger files: each client understood
    the server's reply and shows it (kick wording, mode changes, nick
    prefixes @ and +, the ban list).
Then TLS: the server also listens for TLS, with a certificate made for the
run; erin, a second irssi, connects with /connect -tls (verifying it) and
talks in #tls with carol (plain) and dave (openssl s_client).
Then IRCv3 (shmchatd only; ngircd keeps no history): weechat's negotiated
capabilities (CAP LIST), and the replay on JOIN (join_replay_lines) of lines
carol said in #hist before: weechat (server-time) logs them at the times the
server stamped them, irssi (server-time dropped) shows "[... UTC]" in the text.

Usage: interop.py [--server shmchatd|ngircd] [--build-dir DIR] [--keep] [-v]
                  [--timeout SECONDS] [--no-install]
Exit status: 0 all steps passed, 1 a step failed, 77 irssi, weechat, tmux,
openssl (or ngircd for --server ngircd) missing and not installable.
Run through make: `make check-interop [INTEROP_SERVER=ngircd]`.
"""

import argparse
import calendar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

POLL = 0.05            # seconds between looks at a log or a socket
STEP_TIMEOUT = 3.0     # one step's expectations; local replies take ms
GLOBAL_TIMEOUT = 270   # the whole run, whatever happens (every step failing: ~210 s)
ROOM = "#room"
KEY = "sekrit"
TLS_ROOM = "#tls"
HIST_ROOM = "#hist"
REPLAY_LINES = 5       # shmchatd's join_replay_lines
HIST_SAID = 6          # lines carol says in #hist: the first is not replayed
HIST_GAP = 0.6         # seconds between two of them
HIST_AGE = 2.5         # the newest is at least this old when the others join


class GlobalTimeout(Exception):
    pass


class Interrupted(Exception):
    pass


class Skip(Exception):
    pass


class Fatal(Exception):
    """Nothing after this can be tested (set-up failed, the server died)."""


def say(msg=""):
    # a closed output (| head) must not cut the clean-up short
    try:
        print(msg, flush=True)
    except OSError:
        pass


def wait_until(pred, timeout):
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tail(text, n=25, indent="    | "):
    lines = text.splitlines()[-n:]
    return "\n".join(indent + l for l in lines) if lines else indent + "(empty)"


# ---------------------------------------------------------------- servers

class TlsPair:
    """A self-signed certificate for 127.0.0.1 and localhost, made for the run."""

    def __init__(self, workdir):
        self.cert = os.path.join(workdir, "tls-cert.pem")
        self.key = os.path.join(workdir, "tls-key.pem")
        self.dh = os.path.join(workdir, "tls-dh.pem")
        # CA:TRUE (req -x509's default): the certificate is its own CA file
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                      "-nodes", "-days", "1", "-subj", "/CN=localhost",
                      "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                      "-keyout", self.key, "-out", self.cert)
        # ngircd's DHFile: a named group, not generated (that takes seconds)
        self._openssl("genpkey", "-genparam", "-algorithm", "DH",
                      "-pkeyopt", "group:ffdhe2048", "-out", self.dh)

    @staticmethod
    def _openssl(*args):
        r = subprocess.run(["openssl"] + list(args), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise Fatal("openssl %s failed (status %d):\n%s"
                        % (args[0], r.returncode, tail(r.stderr)))


class Server:
    """A daemon in its own process group, logging to a file."""

    name = "?"

    def __init__(self, workdir, tls):
        self.dir = workdir
        self.port = free_port()
        self.tls = tls
        self.tls_port = free_port()
        self.log = os.path.join(workdir, self.name + ".log")
        self.proc = None

    def spawn(self, argv):
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        for port in (self.port, self.tls_port):
            if not wait_until(lambda: self._accepts(port), 10):
                raise Fatal("%s did not accept on 127.0.0.1:%d within 10 s\n%s"
                            % (self.name, port, tail(self.log_text())))

    def _accepts(self, port):
        if self.proc.poll() is not None:
            raise Fatal("%s exited with status %s at start-up\n%s"
                        % (self.name, self.proc.returncode, tail(self.log_text())))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        """SIGTERM, wait; returns a list of problems (empty when clean)."""
        if self.proc is None:
            return []
        problems = []
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                problems.append("%s did not stop within 10 s of SIGTERM" % self.name)
        elif self.proc.returncode != 0:
            problems.append("%s had exited by itself, status %d"
                            % (self.name, self.proc.returncode))
        # the master's children (workers) must end with it
        if not wait_until(lambda: not _group_members(self.proc.pid), 2):
            problems.append("%s left processes behind (now killed): %s"
                            % (self.name, " ".join(map(str, _group_members(self.proc.pid)))))
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.proc = None
        return problems


class Ngircd(Server):
    name = "ngircd"

    def start(self):
        path = shutil.which("ngircd") or "/usr/sbin/ngircd"
        if not os.access(path, os.X_OK):
            raise Skip("ngircd is not installed (tools/install-deps --test installs it)")
        conf = os.path.join(self.dir, "ngircd.conf")
        with open(conf, "w") as f:
            f.write("[Global]\n\tName = irc.ngircd.test\n\tInfo = interop test\n"
                    "\tListen = 127.0.0.1\n\tPorts = %d\n\tMotdPhrase = \"interop\"\n"
                    "\tPidFile = %s/ngircd.pid\n"
                    # no penalty delays: the steps' deadlines are for answers
                    "[Limits]\n\tMaxNickLength = 9\n\tMaxPenaltyTime = 0\n"
                    "[Options]\n\tDNS = no\n\tIdent = no\n\tPAM = no\n"
                    "[SSL]\n\tCertFile = %s\n\tKeyFile = %s\n\tDHFile = %s\n\tPorts = %d\n"
                    % (self.port, self.dir, self.tls.cert, self.tls.key, self.tls.dh,
                       self.tls_port))
        self.spawn([path, "-n", "-f", conf])


class Shmchatd(Server):
    name = "shmchatd"

    def __init__(self, workdir, tls, build_dir):
        super().__init__(workdir, tls)
        self.binary = os.path.join(build_dir, "server", "shmchatd")
        # a queue key of its own, never the default one of an installed daemon
        self.key = 0x5d000000 | ((os.getpid() & 0xffff) << 8) | 0x11

    def start(self):
        if not os.access(self.binary, os.X_OK):
            raise Fatal("%s is not built (run make first)" % self.binary)
        root = os.geteuid() == 0
        conf = os.path.join(self.dir, "shmchatd.conf")
        with open(conf, "w") as f:
            f.write('server_name = "irc.shmchat.test";\nnetwork = "InteropNet";\n'
                    'log_level = "debug";\nlisten = ["127.0.0.1:%d"];\n' % self.port)
            # the IRCv3 section: the last lines of a channel replayed on JOIN
            # to clients without draft/chathistory (carol's rejoins of #room
            # get one too: "[... UTC] "-marked lines no earlier step looks for)
            f.write('join_replay_lines = %d;\n' % REPLAY_LINES)
            # no sts policy: the moderation scenario's clients stay in the clear
            f.write('listen_tls = ["127.0.0.1:%d"];\n'
                    'tls = { certificate = "%s"; key = "%s"; sts_duration = 0; };\n'
                    % (self.tls_port, self.tls.cert, self.tls.key))
            if root:    # keep root: the temporary files are root's
                f.write('user = "root";\ngroup = "root";\n')
            f.write('admin = { queue_key = 0x%x; group = "%s"; };\n'
                    % (self.key, "root" if root else _group_name()))
        self.spawn([self.binary, "-c", conf])
        self.pid = self.proc.pid

    def stop(self):
        pid = self.proc.pid if self.proc else None
        problems = super().stop()
        if pid is None:
            return problems
        # what the daemon must remove itself: its shared memory, its queue
        left = [n for n in os.listdir("/dev/shm") if n.startswith("shmchat-%d-" % pid)]
        for n in left:
            os.unlink(os.path.join("/dev/shm", n))
        if left:
            problems.append("left behind in /dev/shm (now removed): " + " ".join(left))
        q = _msq_ids(self.key)
        for msqid in q:
            subprocess.run(["ipcrm", "-q", msqid], check=False)
        if q:
            problems.append("SysV message queue 0x%x left behind (now removed)" % self.key)
        return problems


def _group_members(pgid):
    """Live processes of a process group (zombies do not count)."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(int(d))
    return found


def _group_name():
    import grp
    return grp.getgrgid(os.getegid()).gr_name


def _msq_ids(key):
    try:
        with open("/proc/sysvipc/msg") as f:
            rows = f.read().splitlines()[1:]
    except OSError:
        return []
    return [r.split()[1] for r in rows if int(r.split()[0]) == key]


# ---------------------------------------------------------------- carol

class RawClient:
    """A scripted IRC client: keeps every line received, answers PING."""

    def __init__(self, nick, port, realname="Carol the scripted client"):
        self.nick = nick
        self.lines = []
        self.lock = threading.Lock()
        self._open(port)
        self.closed = False
        self.thread = threading.Thread(target=self._reader, daemon=True)
        self.thread.start()
        self.send("NICK " + nick)
        self.send("USER %s 0 * :%s" % (nick, realname))

    @property
    def label(self):
        return "%s's socket" % self.nick

    def _open(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.settimeout(None)

    def _write(self, data):
        self.sock.sendall(data)

    def _read(self):
        return self.sock.recv(65536)

    def send(self, line):
        try:
            self._write(line.encode() + b"\r\n")
        except OSError as e:
            # a step waiting for an answer fails and shows this line
            with self.lock:
                self.lines.append("(interop: cannot send %r: %s)" % (line, e))

    def _reader(self):
        buf = b""
        while True:
            try:
                data = self._read()
            except OSError:
                data = b""
            if not data:
                self.closed = True
                return
            buf += data
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                line = raw.rstrip(b"\r").decode("utf-8", "replace")
                if line.startswith("PING"):
                    self.send("PONG" + line[4:])
                with self.lock:
                    self.lines.append(line)

    def mark(self):
        with self.lock:
            return len(self.lines)

    def since(self, mark):
        with self.lock:
            return self.lines[mark:]

    def close(self):
        try:
            self.send("QUIT :done")
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class SClient(RawClient):
    """The same over TLS, through `openssl s_client` (which verifies the server)."""

    def __init__(self, nick, port, tls, errlog):
        self.port = port
        self.err = LogFile("%s's openssl s_client stderr" % nick, errlog)
        self.cafile = tls.cert
        super().__init__(nick, port, "Dave through openssl s_client")

    @property
    def label(self):
        return "%s's openssl s_client output" % self.nick

    def _open(self, port):
        # -quiet: only the IRC lines on stdout (and -ign_eof); the rest to errlog
        with open(self.err.path, "ab") as err:
            self.proc = subprocess.Popen(
                ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-quiet",
                 "-CAfile", self.cafile, "-verify_return_error"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                start_new_session=True)

    def _write(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def _read(self):
        return os.read(self.proc.stdout.fileno(), 65536)

    def close(self):
        self.send("QUIT :done")
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------- tmux, clients

class Tmux:
    """A tmux server of our own (-L), one session per client."""

    def __init__(self, workdir, env):
        self.sock = "shmchat-interop-%d" % os.getpid()
        self.env = env
        self.started = False
        # a client that dies keeps its last screen for the failure report
        self.conf = os.path.join(workdir, "tmux.conf")
        with open(self.conf, "w") as f:
            f.write("set -g remain-on-exit on\nset -g history-limit 5000\n")

    def run(self, *args, check=True):
        return subprocess.run(["tmux", "-L", self.sock, "-f", self.conf] + list(args),
                              env=self.env, check=check, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=10)

    def new(self, name, argv):
        self.run("new-session", "-d", "-s", name, "-x", "160", "-y", "48",
                 " ".join(_shquote(a) for a in argv))
        self.started = True

    @staticmethod
    def _pane(name):
        # the session of exactly that name: a bare "irssi" could also be the
        # window of that name in another session (irssi-erin's)
        return "=%s:" % name

    def type(self, name, text):
        self.run("send-keys", "-t", self._pane(name), "-l", "--", text)
        self.run("send-keys", "-t", self._pane(name), "Enter")

    def screen(self, name):
        r = self.run("capture-pane", "-p", "-t", self._pane(name), check=False)
        return r.stdout if r.returncode == 0 else "(no screen: %s)" % r.stderr.strip()

    def kill(self):
        """Stop the clients and the tmux server; wait until they are gone."""
        if not self.started:
            return
        r = self.run("list-panes", "-a", "-F", "#{pane_pid}", check=False)
        pids = [int(p) for p in r.stdout.split()]
        self.run("kill-server", check=False)
        self.started = False

        def gone():
            for p in pids:
                try:
                    os.kill(p, 0)
                    return False
                except ProcessLookupError:
                    pass
            return True
        if not wait_until(gone, 5):
            for p in pids:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def _shquote(s):
    return "'" + s.replace("'", "'\\''") + "'"


class LogFile:
    """A client's log file, read from a remembered offset on."""

    def __init__(self, label, path):
        self.label, self.path = label, path

    def text(self):
        try:
            with open(self.path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def mark(self):
        return len(self.text())

    def since(self, mark):
        return self.text()[mark:].splitlines()


class Irssi:
    def __init__(self, home, logdir, port, tmux, nick="alice", room=ROOM):
        """port: the server to connect to at start; None: none (/connect later)."""
        os.makedirs(home)
        os.makedirs(logdir)
        # one server with autoconnect (or none), nothing else: a config
        # written whole replaces irssi's default one and its network list
        server = ("""  { address = "127.0.0.1"; chatnet = "interop"; port = "%d"; use_tls = "no"; autoconnect = "yes"; }
""" % port) if port is not None else ""
        with open(os.path.join(home, "config"), "w") as f:
            f.write("""servers = (
%s);
chatnets = { interop = { type = "IRC"; }; };
logs = { "%s/all.log" = { auto_open = "yes"; level = "ALL"; }; };
settings = {
  core = { real_name = "%s on irssi"; user_name = "%s"; nick = "%s"; };
  "fe-common/core" = {
    autolog = "yes";
    autolog_path = "%s/$0.log";
    autolog_level = "all";
  };
  "irc/core" = { cmd_queue_speed = "0msec"; cmds_max_at_once = "100"; };
  "fe-common/irc" = { group_multi_mode = "no"; };
};
""" % (server, logdir, nick.capitalize(), nick, nick, logdir))
        self.session = "irssi" if nick == "alice" else "irssi-" + nick
        self.logdir = logdir
        self.who = "irssi" if nick == "alice" else "%s's irssi" % nick
        tmux.new(self.session, ["irssi", "--home=" + home])
        self.tmux = tmux
        self.room = LogFile("%s's log of %s" % (self.who, room), os.path.join(logdir, room + ".log"))
        # every window: replies such as 341 go to the window of the nick
        self.all = LogFile("%s's log of all windows" % self.who, os.path.join(logdir, "all.log"))

    def type(self, text):
        self.tmux.type(self.session, text)

    def log_of(self, channel):
        return LogFile("%s's log of %s" % (self.who, channel),
                       os.path.join(self.logdir, channel + ".log"))

    def screen(self):
        return self.tmux.screen(self.session)


class Weechat:
    def __init__(self, home, port, tmux):
        os.makedirs(home)
        # only the plugins under test: no scripts, relay or fifo
        with open(os.path.join(home, "weechat.conf"), "w") as f:
            f.write('[plugin]\nautoload = "irc,logger"\n')
        # logger.file.flush_delay 0: lines reach the file at once (default 120 s)
        cmds = ["/set logger.file.flush_delay 0",
                "/set irc.server_default.nicks bob",
                "/set irc.server_default.username bob",
                "/set irc.server_default.realname Bob on weechat",
                "/set irc.server_default.anti_flood_prio_high 0",
                "/set irc.server_default.anti_flood_prio_low 0",
                # every capability weechat knows ("*": those the server offers
                # too) but draft/chathistory, whatever the version: a
                # chathistory client gets no replay on JOIN from shmchatd
                "/set irc.server_default.capabilities *,!draft/chathistory",
                "/server add interop 127.0.0.1/%d" % port,
                "/connect interop"]
        tmux.new("weechat", ["weechat", "--dir", home, "--run-command", ";".join(cmds)])
        self.tmux = tmux
        self.home = home
        self.room = LogFile("weechat's log of " + ROOM,
                            os.path.join(home, "logs", "irc.interop.%s.weechatlog" % ROOM))
        self.server = LogFile("weechat's log of the server buffer",
                              os.path.join(home, "logs", "irc.server.interop.weechatlog"))

    def type(self, text):
        self.tmux.type("weechat", text)

    def log_of(self, channel):
        return LogFile("weechat's log of " + channel,
                       os.path.join(self.home, "logs", "irc.interop.%s.weechatlog" % channel))


# ---------------------------------------------------------------- steps

class Expect:
    """A line matching a regular expression in a log or among carol's lines."""

    def __init__(self, where, pattern, why):
        self.where, self.pattern, self.why = where, re.compile(pattern), why
        self.mark = None

    def arm(self):
        self.mark = self.where.mark()

    def met(self):
        return any(self.pattern.search(l) for l in self.where.since(self.mark))

    def label(self):
        return self.where.label

    def report(self):
        new = self.where.since(self.mark)
        out = ["  expected: %s" % self.why,
               "    in %s, a line matching /%s/" % (self.label(), self.pattern.pattern)]
        if isinstance(self.where, LogFile):
            out.append("    (file %s)" % self.where.path)
        if new:
            out.append("    what arrived there during the step:")
            # control characters and trailing blanks made visible
            out.append(tail("\n".join(l if l.isprintable() and l == l.rstrip() else repr(l)
                                      for l in new), 8))
        else:
            out.append("    nothing arrived there during the step")
        return "\n".join(out)


class Run:
    def __init__(self, server, verbose):
        self.server = server
        self.verbose = verbose
        self.n = 0
        self.passed = 0
        self.failed = []

    def step(self, name, action, *expects, by=None, timeout=STEP_TIMEOUT):
        """Do action; pass when every expectation is met within timeout.

        by: where the acting client shows the server's answers to it (an
        error reply, say), printed when the step fails.
        """
        self.n += 1
        t0 = time.monotonic()
        for e in expects:
            e.arm()
        by_mark = by.mark() if by else None
        srv_mark = len(self.server.log_text())
        action()
        pending = list(expects)

        def check():
            for e in [e for e in pending if e.met()]:
                pending.remove(e)
                if self.verbose:
                    say("# %.2f s: %s" % (time.monotonic() - t0, e.why))
            return not pending
        if wait_until(check, timeout):
            self.passed += 1
            say("ok %d - %s (%.2f s)" % (self.n, name, time.monotonic() - t0))
            return True
        self.failed.append(name)
        say("not ok %d - %s (nothing more after %.1f s)" % (self.n, name, timeout))
        for e in pending:
            say(e.report())
        if by and all(e.where is not by for e in pending):
            new = by.since(by_mark)
            say("  %s, during the step:" % by.label)
            say(tail("\n".join(new), 8) if new else "    (nothing)")
        slog = self.server.log_text()[srv_mark:]
        say("  %s's log during the step:" % self.server.name)
        say(tail(slog, 10) if slog.strip() else "    (nothing)")
        if self.server.proc.poll() is not None:
            raise Fatal("%s exited (status %d): no step can pass any more"
                        % (self.server.name, self.server.proc.returncode))
        return False

    def check(self, name, problems):
        """A step with nothing to do: its problems were found by the caller."""
        self.n += 1
        if not problems:
            self.passed += 1
            say("ok %d - %s" % (self.n, name))
            return True
        self.failed.append(name)
        say("not ok %d - %s" % (self.n, name))
        for p in problems:
            say("  " + p)
        return False


def raw(who, pattern, why):
    return Expect(who, pattern, why)


def nick_re(n):
    return r":%s!\S+ " % n


def ison(carol, nick):
    """Registration readiness: the server knows the nick (15 s at most)."""
    def probe():
        m = carol.mark()
        carol.send("ISON " + nick)
        return wait_until(lambda: any(re.search(r" 303 carol :.*\b%s\b" % nick, l)
                                      for l in carol.since(m)), 1)
    return wait_until(probe, 15)


# ---------------------------------------------------------------- scenario

def scenario(run, irssi, weechat, carol):
    I, W, C = irssi.room, weechat.room, carol
    rm = re.escape(ROOM)

    def nothing():
        pass

    # --- set-up: everyone on the server, alice creates #room
    if not run.step("carol registers", nothing,
                    raw(C, r"^:\S+ 001 carol ", "the welcome (001)"), timeout=10):
        raise Fatal("the scripted client could not register")
    if not ison(carol, "alice"):
        raise Fatal("irssi did not register as alice within 15 s\n  irssi's screen:\n"
                    + tail(irssi.tmux.screen("irssi")))
    if not ison(carol, "bob"):
        raise Fatal("weechat did not register as bob within 15 s\n  weechat's screen:\n"
                    + tail(weechat.tmux.screen("weechat")))

    run.step("irssi: alice creates %s and is its operator" % ROOM,
             lambda: irssi.type("/join " + ROOM),
             Expect(I, r"alice .* has joined %s" % rm, "irssi shows its own join"),
             Expect(I, r"\[@alice\]", "irssi's names list shows @alice"), timeout=8, by=irssi.all)
    run.step("carol joins; the server lists alice as @",
             lambda: carol.send("JOIN " + ROOM),
             raw(C, r" 353 carol . %s :.*@alice" % rm, "NAMES (353) with @alice"),
             Expect(I, r"carol .* has joined %s" % rm, "irssi shows carol's join"), by=carol)
    run.step("weechat: bob joins",
             lambda: weechat.type("/join " + ROOM),
             raw(C, nick_re("bob") + r"JOIN :?%s" % rm, "carol sees bob's JOIN"),
             Expect(W, r"bob .*has joined %s" % rm, "weechat shows its own join"),
             Expect(I, r"bob .* has joined %s" % rm, "irssi shows bob's join"), timeout=8,
             by=weechat.server)

    # --- alice (irssi) moderates
    run.step("irssi /op bob",
             lambda: irssi.type("/op bob"),
             raw(C, nick_re("alice") + r"MODE %s \+o bob" % rm, "MODE +o bob relayed"),
             Expect(I, r"mode/%s \[\+o bob\] by alice" % rm, "irssi shows the mode change"),
             Expect(W, r"Mode %s \[\+o bob\] by alice" % rm, "weechat shows the mode change"),
             by=irssi.all)
    run.step("the @ prefix: bob speaks as an operator",
             lambda: weechat.type("hello from bob"),
             raw(C, nick_re("bob") + r"PRIVMSG %s :hello from bob" % rm, "carol gets the message"),
             Expect(I, r"<@bob> hello from bob", "irssi shows <@bob>"),
             Expect(W, r"@bob\s+hello from bob", "weechat shows @bob"), by=weechat.server)
    run.step("irssi /voice carol",
             lambda: irssi.type("/voice carol"),
             raw(C, nick_re("alice") + r"MODE %s \+v carol" % rm, "MODE +v carol relayed"),
             Expect(I, r"mode/%s \[\+v carol\] by alice" % rm, "irssi shows +v"),
             Expect(W, r"Mode %s \[\+v carol\] by alice" % rm, "weechat shows +v"), by=irssi.all)
    run.step("irssi /mode %s +m" % ROOM,
             lambda: irssi.type("/mode %s +m" % ROOM),
             raw(C, nick_re("alice") + r"MODE %s :?\+m\s*$" % rm, "MODE +m relayed"),
             Expect(I, r"mode/%s \[\+m\] by alice" % rm, "irssi shows +m"),
             Expect(W, r"Mode %s \[\+m\] by alice" % rm, "weechat shows +m"), by=irssi.all)
    run.step("+m: voiced carol may still speak, shown as +carol",
             lambda: carol.send("PRIVMSG %s :voiced hello" % ROOM),
             Expect(I, r"<\+carol> voiced hello", "irssi shows <+carol>"),
             Expect(W, r"\+carol\s+voiced hello", "weechat shows +carol"), by=carol)
    run.step("irssi /mode %s +k %s" % (ROOM, KEY),
             lambda: irssi.type("/mode %s +k %s" % (ROOM, KEY)),
             raw(C, nick_re("alice") + r"MODE %s \+k :?%s" % (rm, KEY), "MODE +k relayed"),
             Expect(I, r"mode/%s \[\+k %s\] by alice" % (rm, KEY), "irssi shows +k"),
             Expect(W, r"Mode %s \[\+k %s\] by alice" % (rm, KEY), "weechat shows +k"),
             by=irssi.all)
    run.step("irssi /topic",
             lambda: irssi.type("/topic Moderated by alice"),
             raw(C, nick_re("alice") + r"TOPIC %s :Moderated by alice" % rm, "TOPIC relayed"),
             Expect(I, r"alice changed the topic of %s to: Moderated by alice" % rm,
                    "irssi shows the topic change"),
             Expect(W, r"alice has changed topic for %s .*Moderated by alice" % rm,
                    "weechat shows the topic change"), by=irssi.all)
    run.step("irssi /ban *!*@banned.example",
             lambda: irssi.type("/ban *!*@banned.example"),
             raw(C, nick_re("alice") + r"MODE %s \+b :?\*!\*@banned\.example" % rm,
                 "MODE +b relayed"),
             Expect(I, r"mode/%s \[\+b \*!\*@banned\.example\] by alice" % rm, "irssi shows +b"),
             Expect(W, r"Mode %s \[\+b \*!\*@banned\.example\] by alice" % rm,
                    "weechat shows +b"), by=irssi.all)
    run.step("irssi /mode %s b lists the ban" % ROOM,
             lambda: irssi.type("/mode %s b" % ROOM),
             Expect(I, r"%s: ban \*!\*@banned\.example" % rm, "irssi shows the ban list entry"),
             by=irssi.all)
    run.step("carol reads the ban list herself",
             lambda: carol.send("MODE %s b" % ROOM),
             raw(C, r" 367 carol %s \*!\*@banned\.example" % rm, "RPL_BANLIST (367)"),
             raw(C, r" 368 carol %s " % rm, "RPL_ENDOFBANLIST (368)"), by=carol)
    run.step("irssi /kick carol with a reason",
             lambda: irssi.type("/kick carol Too chatty"),
             raw(C, nick_re("alice") + r"KICK %s carol :Too chatty" % rm, "KICK relayed"),
             Expect(I, r"carol was kicked from %s by alice \[Too chatty\]" % rm,
                    "irssi shows the kick"),
             Expect(W, r"alice has kicked carol \(Too chatty\)", "weechat shows the kick"),
             by=irssi.all)
    run.step("+k: carol cannot rejoin without the key",
             lambda: carol.send("JOIN " + ROOM),
             raw(C, r" 475 carol %s " % rm, "ERR_BADCHANNELKEY (475)"), by=carol)
    run.step("irssi /mode %s +i" % ROOM,
             lambda: irssi.type("/mode %s +i" % ROOM),
             Expect(I, r"mode/%s \[\+i\] by alice" % rm, "irssi shows +i"),
             Expect(W, r"Mode %s \[\+i\] by alice" % rm, "weechat shows +i"), by=irssi.all)
    run.step("+i: carol cannot join with the key alone",
             lambda: carol.send("JOIN %s %s" % (ROOM, KEY)),
             raw(C, r" 473 carol %s " % rm, "ERR_INVITEONLYCHAN (473)"), by=carol)
    run.step("irssi /invite carol",
             lambda: irssi.type("/invite carol " + ROOM),
             raw(C, nick_re("alice") + r"INVITE carol :?%s" % rm, "INVITE delivered"),
             Expect(irssi.all, r"Inviting carol to %s" % rm,
                    "irssi confirms the invitation (341)"), by=irssi.all)
    run.step("the invitation lets carol in (with the key)",
             lambda: carol.send("JOIN %s %s" % (ROOM, KEY)),
             raw(C, r"^:carol!\S+ JOIN :?%s" % rm, "carol's JOIN echoed"),
             Expect(I, r"carol .* has joined %s" % rm, "irssi shows carol's join"),
             Expect(W, r"carol .*has joined %s" % rm, "weechat shows carol's join"), by=carol)
    run.step("+m: carol, no longer voiced, cannot speak",
             lambda: carol.send("PRIVMSG %s :let me talk" % ROOM),
             raw(C, r" 404 carol %s " % rm, "ERR_CANNOTSENDTOCHAN (404)"), by=carol)

    # --- bob (weechat, now an operator) moderates
    run.step("weechat /deop alice",
             lambda: weechat.type("/deop alice"),
             raw(C, nick_re("bob") + r"MODE %s -o alice" % rm, "MODE -o alice relayed"),
             Expect(W, r"Mode %s \[-o alice\] by bob" % rm, "weechat shows -o"),
             Expect(I, r"mode/%s \[-o alice\] by bob" % rm, "irssi shows -o"), by=weechat.server)
    run.step("weechat /op alice",
             lambda: weechat.type("/op alice"),
             raw(C, nick_re("bob") + r"MODE %s \+o alice" % rm, "MODE +o alice relayed"),
             Expect(W, r"Mode %s \[\+o alice\] by bob" % rm, "weechat shows +o"),
             Expect(I, r"mode/%s \[\+o alice\] by bob" % rm, "irssi shows +o"), by=weechat.server)
    run.step("the @ prefix: alice speaks as an operator",
             lambda: irssi.type("hello from alice"),
             raw(C, nick_re("alice") + r"PRIVMSG %s :hello from alice" % rm, "carol gets it"),
             Expect(W, r"@alice\s+hello from alice", "weechat shows @alice"),
             Expect(I, r"<@alice> hello from alice", "irssi shows <@alice>"), by=irssi.all)
    run.step("weechat /voice carol",
             lambda: weechat.type("/voice carol"),
             raw(C, nick_re("bob") + r"MODE %s \+v carol" % rm, "MODE +v carol relayed"),
             Expect(W, r"Mode %s \[\+v carol\] by bob" % rm, "weechat shows +v"),
             Expect(I, r"mode/%s \[\+v carol\] by bob" % rm, "irssi shows +v"), by=weechat.server)
    run.step("weechat /mode %s -m" % ROOM,
             lambda: weechat.type("/mode %s -m" % ROOM),
             raw(C, nick_re("bob") + r"MODE %s :?-m\s*$" % rm, "MODE -m relayed"),
             Expect(W, r"Mode %s \[-m\] by bob" % rm, "weechat shows -m"),
             Expect(I, r"mode/%s \[-m\] by bob" % rm, "irssi shows -m"), by=weechat.server)
    run.step("weechat /mode %s -k %s" % (ROOM, KEY),
             lambda: weechat.type("/mode %s -k %s" % (ROOM, KEY)),
             raw(C, nick_re("bob") + r"MODE %s -k" % rm, "MODE -k relayed"),
             # the key is echoed as given, or as "*" (ngircd)
             Expect(W, r"Mode %s \[-k( \S+)?\] by bob" % rm, "weechat shows -k"),
             Expect(I, r"mode/%s \[-k( \S+)?\] by bob" % rm, "irssi shows -k"), by=weechat.server)
    run.step("weechat /topic",
             lambda: weechat.type("/topic Now bob decides"),
             raw(C, nick_re("bob") + r"TOPIC %s :Now bob decides" % rm, "TOPIC relayed"),
             Expect(W, r"bob has changed topic for %s .*Now bob decides" % rm,
                    "weechat shows the topic change"),
             Expect(I, r"bob changed the topic of %s to: Now bob decides" % rm,
                    "irssi shows the topic change"), by=weechat.server)
    run.step("weechat /ban *!*@other.example",
             lambda: weechat.type("/ban *!*@other.example"),
             raw(C, nick_re("bob") + r"MODE %s \+b :?\*!\*@other\.example" % rm,
                 "MODE +b relayed"),
             Expect(W, r"Mode %s \[\+b \*!\*@other\.example\] by bob" % rm, "weechat shows +b"),
             Expect(I, r"mode/%s \[\+b \*!\*@other\.example\] by bob" % rm, "irssi shows +b"),
             by=weechat.server)
    run.step("weechat /mode %s b lists both bans" % ROOM,
             lambda: weechat.type("/mode %s b" % ROOM),
             Expect(W, r"\*!\*@banned\.example.* by alice", "weechat lists alice's ban"),
             Expect(W, r"\*!\*@other\.example.* by bob", "weechat lists bob's ban"),
             by=weechat.server)
    run.step("a ban keeps out whom it matches",
             lambda: weechat.type("/ban carol!*@*"),
             raw(C, nick_re("bob") + r"MODE %s \+b :?carol!\*@\*" % rm, "MODE +b relayed"),
             by=weechat.server)
    run.step("weechat /kick carol with a reason",
             lambda: weechat.type("/kick carol Out you go"),
             raw(C, nick_re("bob") + r"KICK %s carol :Out you go" % rm, "KICK relayed"),
             Expect(W, r"bob has kicked carol \(Out you go\)", "weechat shows the kick"),
             Expect(I, r"carol was kicked from %s by bob \[Out you go\]" % rm,
                    "irssi shows the kick"), by=weechat.server)
    run.step("+b: the banned carol cannot rejoin",
             lambda: carol.send("JOIN " + ROOM),
             raw(C, r" 474 carol %s " % rm, "ERR_BANNEDFROMCHAN (474)"), by=carol)
    run.step("weechat /unban carol!*@*",
             lambda: weechat.type("/unban carol!*@*"),
             Expect(W, r"Mode %s \[-b carol!\*@\*\] by bob" % rm, "weechat shows -b"),
             Expect(I, r"mode/%s \[-b carol!\*@\*\] by bob" % rm, "irssi shows -b"),
             by=weechat.server)
    run.step("weechat /invite carol",
             lambda: weechat.type("/invite carol " + ROOM),
             raw(C, nick_re("bob") + r"INVITE carol :?%s" % rm, "INVITE delivered"),
             Expect(weechat.server, r"bob has invited carol to %s|carol .*invited.*%s" % (rm, rm),
                    "weechat confirms the invitation (341)"), by=weechat.server)
    run.step("the invitation lets carol into the +i channel, no key now",
             lambda: carol.send("JOIN " + ROOM),
             raw(C, r"^:carol!\S+ JOIN :?%s" % rm, "carol's JOIN echoed"),
             Expect(W, r"carol .*has joined %s" % rm, "weechat shows carol's join"),
             Expect(I, r"carol .* has joined %s" % rm, "irssi shows carol's join"), by=carol)
    run.step("-m: carol speaks again",
             lambda: carol.send("PRIVMSG %s :back again" % ROOM),
             # rejoined, she has lost her voice: no prefix any more
             Expect(I, r"< carol> back again", "irssi shows it, no prefix"),
             Expect(W, r"\d\tcarol\tback again", "weechat shows it, no prefix"), by=carol)


def tls_scenario(run, erin, carol, dave):
    """erin (irssi, /connect -tls), carol (plain) and dave (s_client) in #tls."""
    E, C, D = erin.room, carol, dave
    rm = re.escape(TLS_ROOM)
    port = dave.port

    run.step("openssl s_client: dave registers over TLS", lambda: None,
             raw(D, r"^:\S+ 001 dave ", "the welcome (001) through s_client"),
             timeout=10, by=dave.err)
    run.step("carol joins %s" % TLS_ROOM, lambda: carol.send("JOIN " + TLS_ROOM),
             raw(C, r"^:carol!\S+ JOIN :?%s" % rm, "carol's JOIN echoed"), by=carol)
    run.step("s_client: dave joins %s over TLS" % TLS_ROOM,
             lambda: dave.send("JOIN " + TLS_ROOM),
             raw(C, nick_re("dave") + r"JOIN :?%s" % rm, "carol sees dave's JOIN"),
             raw(D, r" 366 dave %s " % rm, "end of NAMES (366) through s_client"), by=dave)
    # the keys would be read only once irssi's screen is set up
    wait_until(lambda: "(status)" in erin.screen(), 5)
    # by name: irssi 1.4 matches the host against the DNS names only, not
    # the IP address ones; -4: the servers listen on 127.0.0.1 only
    run.step("irssi /connect -tls -tls_verify -tls_cafile: erin registers",
             lambda: erin.type("/connect -4 -tls -tls_verify -tls_cafile %s localhost %d"
                               % (dave.cafile, port)),
             Expect(erin.all, r"Welcome to the .*\berin!", "irssi shows the welcome (001)"),
             timeout=10, by=erin.all)
    run.step("irssi over TLS: erin joins %s" % TLS_ROOM,
             lambda: erin.type("/join " + TLS_ROOM),
             Expect(E, r"erin .* has joined %s" % rm, "irssi shows its own join"),
             raw(C, nick_re("erin") + r"JOIN :?%s" % rm, "carol sees erin's JOIN"),
             raw(D, nick_re("erin") + r"JOIN :?%s" % rm, "dave sees erin's JOIN"), by=erin.all)
    run.step("irssi over TLS speaks to carol and dave",
             lambda: erin.type("hello over TLS"),
             raw(C, nick_re("erin") + r"PRIVMSG %s :hello over TLS" % rm, "carol gets it"),
             raw(D, nick_re("erin") + r"PRIVMSG %s :hello over TLS" % rm, "dave gets it"),
             by=erin.all)

    def answer():
        carol.send("PRIVMSG %s :in the clear" % TLS_ROOM)
        dave.send("PRIVMSG %s :through s_client" % TLS_ROOM)
    run.step("carol and dave answer; irssi over TLS shows both", answer,
             # carol made the channel: its operator
             Expect(E, r"<@carol> in the clear", "irssi shows carol's message"),
             Expect(E, r"< dave> through s_client", "irssi shows dave's message"),
             raw(D, nick_re("carol") + r"PRIVMSG %s :in the clear" % rm, "dave gets carol's"),
             raw(C, nick_re("dave") + r"PRIVMSG %s :through s_client" % rm, "carol gets dave's"),
             by=carol)

    def whois():
        carol.send("WHOIS erin")
        carol.send("WHOIS dave")
    # 671 is RPL_WHOISSECURE; ngircd says it with 275 instead
    run.step("WHOIS: the server has erin and dave on TLS (671)", whois,
             raw(C, r" (671|275) carol erin :", "671 for erin"),
             raw(C, r" (671|275) carol dave :", "671 for dave"), by=carol)


def _tag_time(line):
    """The seconds of a line's server-time tag (floored), or None."""
    m = re.match(r"@(?:\S*;)?time=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?Z[; ]", line)
    return calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) if m else None


def _utc(text, fmt="%Y-%m-%d %H:%M:%S"):
    return calendar.timegm(time.strptime(text, fmt))


def _stamp(t):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


def hist_scenario(run, irssi, weechat, carol):
    """IRCv3: weechat's capabilities; the replay on JOIN with server-time
    (weechat) and without it (irssi, the time in the text)."""
    C, S = carol, weechat.server
    rm = re.escape(HIST_ROOM)
    WH, IH = weechat.log_of(HIST_ROOM), irssi.log_of(HIST_ROOM)

    # weechat 3.8 knows account-notify away-notify cap-notify chghost
    # extended-join invite-notify message-tags multi-prefix server-time
    # setname userhost-in-names (/help cap); "*" takes those the server has
    run.step("weechat /cap list: the capabilities it negotiated",
             lambda: weechat.type("/cap list"),
             Expect(S, r"client capability, currently enabled: (?!.*draft/chathistory)"
                       r"(?=.*\bserver-time\b)(?=.*\bmessage-tags\b)(?=.*\bmulti-prefix\b)"
                       r"(?=.*\baway-notify\b)(?=.*\bextended-join\b)",
                    "server-time, message-tags, multi-prefix, away-notify and extended-join "
                    "enabled, draft/chathistory not"), by=S)

    # carol's own lines come back stamped: the times the server gave them
    run.step("carol asks for server-time and echo-message",
             lambda: carol.send("CAP REQ :server-time echo-message"),
             raw(C, r"^:\S+ CAP carol ACK :(?=.*\bserver-time\b)(?=.*\becho-message\b)",
                 "CAP ACK (both)"), by=carol)
    run.step("carol creates %s" % HIST_ROOM, lambda: carol.send("JOIN " + HIST_ROOM),
             raw(C, r"^(@\S+ )?:carol!\S+ JOIN :?%s" % rm, "carol's JOIN echoed"), by=carol)
    said_mark = carol.mark()

    # the last line is a /me: CTCP ACTION, whose \1 must stay the last byte
    def text(i):
        return "\001ACTION hist line %d\001" % i if i == HIST_SAID else "hist line %d" % i

    def say_lines():
        for i in range(1, HIST_SAID + 1):
            if i > 1:
                time.sleep(HIST_GAP)    # the lines a little apart in time
            carol.send("PRIVMSG %s :%s" % (HIST_ROOM, text(i)))
    run.step("carol says %d numbered lines in %s, %.1f s apart (the last a /me)"
             % (HIST_SAID, HIST_ROOM, HIST_GAP), say_lines,
             *[raw(C, r"^@\S*time=\S+ :carol!\S+ PRIVMSG %s :%s$" % (rm, re.escape(text(i))),
                   "line %d echoed with its time" % i) for i in range(1, HIST_SAID + 1)],
             by=carol)
    stamped = {}
    for l in carol.since(said_mark):
        m = re.search(r" PRIVMSG %s :\001?(?:ACTION )?hist line (\d+)\001?$" % rm, l)
        if m and _tag_time(l) is not None:
            stamped[int(m.group(1))] = _tag_time(l)
    replayed = list(range(HIST_SAID - REPLAY_LINES + 1, HIST_SAID + 1))
    # the replayed lines must be older than the joins by more than the tolerance
    if stamped:
        time.sleep(max(0.0, max(stamped.values()) + 1 + HIST_AGE - time.time()))

    # weechat: "DATE\t@carol\ttext", a /me "DATE\t *\tcarol text"
    wpat = (r"^(?P<when>\S+ \S+)\t(?:[@%+]?carol\t|(?P<act> \*\t)[@%+]?carol )"
            r"hist line (?P<n>\d+)(?P<rest>.*)$")
    # irssi: "HH:MM <@carol> [DATE UTC] text", a /me "HH:MM  * carol [DATE UTC] text"
    ipat = (r"^\d\d:\d\d (?:<[@%+ ]?carol>|(?P<act> \* )[@%+]?carol) "
            r"\[(?P<when>\S+ \S+) UTC\] hist line (?P<n>\d+)(?P<rest>.*)$")

    wj = time.time()
    run.step("weechat joins %s: the server replays the last %d lines" % (HIST_ROOM, REPLAY_LINES),
             lambda: weechat.type("/join " + HIST_ROOM),
             raw(C, nick_re("bob") + r"JOIN :?%s" % rm, "carol sees bob's JOIN"),
             *[Expect(WH, r"carol\s+hist line %d\b" % i, "weechat logs line %d" % i)
               for i in replayed],
             timeout=8, by=S)
    _check_replay(run, "weechat", WH, wpat, stamped, replayed, wj)

    # the same replay on a raw socket: what exactly the server sends a
    # client without server-time (CR, LF, \1 and trailing blanks shown)
    gina = RawClient("gina", run.server.port, "Gina without capabilities")
    try:
        if run.step("gina (no capabilities) registers", lambda: None,
                    raw(gina, r"^:\S+ 001 gina ", "the welcome (001)"), timeout=10, by=gina):
            mark = gina.mark()
            run.step("gina joins %s: the replay, the time in the text" % HIST_ROOM,
                     lambda: gina.send("JOIN " + HIST_ROOM),
                     *[raw(gina, r"^:carol!\S+ PRIVMSG %s :.*\bhist line %d\b" % (rm, i),
                           "line %d" % i) for i in replayed], by=gina)
            got = {}
            for l in gina.since(mark):
                m = re.search(r"\bhist line (\d+)", l)
                if m:
                    got[int(m.group(1))] = l
            bad = []
            for i in replayed:
                want = re.compile(r"^:carol!\S+ PRIVMSG %s :%s$" % (rm, re.escape(text(i)).replace(
                    "hist", r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\] hist")))
                if i in got and not want.search(got[i]):
                    bad.append("line %d: %r" % (i, got[i]))
            if bad:
                bad.insert(0, "expected \"[YYYY-MM-DD HH:MM:SS UTC] \" in front of the text "
                           "(after \"\\x01ACTION \" for the /me), nothing after it; got:")
            run.check("gina: the replayed text as said, the time in front, nothing after it",
                      bad)
    finally:
        gina.close()

    # irssi 1.4 asks for server-time itself: it drops it here, so that it
    # gets the replay the way a client without it does
    run.step("irssi drops server-time (CAP REQ :-server-time)",
             lambda: irssi.type("/quote CAP REQ :-server-time"),
             Expect(irssi.all, r"Capabilities acknowledged: -server-time",
                    "irssi shows the CAP ACK"), by=irssi.all)
    ij = time.time()
    run.step("irssi joins %s: the replay, the time in the text" % HIST_ROOM,
             lambda: irssi.type("/join " + HIST_ROOM),
             raw(C, nick_re("alice") + r"JOIN :?%s" % rm, "carol sees alice's JOIN"),
             *[Expect(IH, r"carol>? \[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\] hist line %d\b" % i,
                      "irssi shows line %d with its time in front" % i) for i in replayed],
             timeout=8, by=irssi.all)
    _check_replay(run, "irssi", IH, ipat, stamped, replayed, ij)


def _check_replay(run, who, log, pattern, stamped, replayed, joined):
    """Two checks of what a client logged of the replay: its times are those
    the server stamped (a second's tolerance), older than the join; the text
    is the text said (the /me a /me), nothing after it."""
    times, text = [], []
    seen = {}
    for l in log.text().splitlines():
        m = re.search(pattern, l)
        if m:
            seen.setdefault(int(m.group("n")), []).append(m)
        elif "hist line" in l:
            text.append("not the line said: %r" % l)
    for i in replayed:
        got = seen.get(i, [])
        if len(got) != 1:
            times.append("line %d shown %d times" % (i, len(got)))
            continue
        m = got[0]
        if m.group("rest"):
            text.append("line %d: %r after the text (%r)" % (i, m.group("rest"), m.group(0)))
        if bool(m.group("act")) != (i == HIST_SAID):
            text.append("line %d: %s (%r)" % (i, "not shown as a /me" if i == HIST_SAID
                                              else "shown as a /me", m.group(0)))
        when = _utc(m.group("when"))
        if i not in stamped:
            times.append("line %d: carol got no time for it" % i)
        elif abs(when - stamped[i]) > 1:
            times.append("line %d at %s, stamped %s" % (i, _stamp(when), _stamp(stamped[i])))
        elif when > joined - 1:
            times.append("line %d at %s: not older than the join at %s"
                         % (i, _stamp(when), _stamp(joined)))
    for i in sorted(set(seen) - set(replayed)):
        times.append("line %d replayed too (only the last %d should be)" % (i, len(replayed)))
    for p in (times, text):
        if p:
            p.append("(file %s)" % log.path)
    run.check("%s: the replayed lines at the times the server stamped them" % who, times)
    run.check("%s: the replayed text unchanged (the /me a /me, nothing after it)" % who, text)


# ---------------------------------------------------------------- main

def have_tools(install):
    need = {"irssi": "irssi", "weechat": "weechat-curses", "tmux": "tmux", "openssl": "openssl"}
    missing = [p for c, p in need.items() if not shutil.which(c)]
    if missing and install and shutil.which("apt-get"):
        sudo = [] if os.geteuid() == 0 else (["sudo", "-n"] if shutil.which("sudo") else None)
        if sudo is not None:
            say("# installing %s" % " ".join(missing))
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            quiet = dict(env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         check=False, timeout=600)
            subprocess.run(sudo + ["apt-get", "update", "-qq"], **quiet)
            subprocess.run(sudo + ["apt-get", "install", "-y", "-qq",
                                   "--no-install-recommends"] + missing, **quiet)
            missing = [p for c, p in need.items() if not shutil.which(c)]
    if missing:
        raise Skip("not installed and could not be installed: %s "
                   "(tools/install-deps --test installs them)" % " ".join(missing))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", choices=["shmchatd", "ngircd"], default="shmchatd")
    ap.add_argument("--build-dir", default=os.getcwd(),
                    help="where server/shmchatd was built (default: .)")
    ap.add_argument("--timeout", type=int, default=GLOBAL_TIMEOUT,
                    help="seconds for the whole run (default %(default)s)")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="say when each expectation of a step was met")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directory (configs and logs)")
    ap.add_argument("--no-install", action="store_true",
                    help="skip instead of installing missing clients")
    args = ap.parse_args()

    # the first signal or the alarm ends the run; nothing may cut the
    # clean-up short after it (timeout(1) signals the group a second time)
    def quiet():
        for sig in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)

    def on_alarm(*_):
        quiet()
        raise GlobalTimeout()

    def on_signal(sig, _):
        quiet()
        raise Interrupted(sig)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    try:
        have_tools(not args.no_install)
    except Skip as e:
        say("SKIP: interop: %s" % e)
        return 77

    work = tempfile.mkdtemp(prefix="shmchat-interop-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
    # TMUX_TMPDIR: the tmux socket goes with the temporary directory
    env.update(HOME=work, TMUX_TMPDIR=work, TERM="xterm-256color",
               LANG="C.UTF-8", LC_ALL="C.UTF-8", TZ="UTC")
    env.pop("XDG_CONFIG_HOME", None)
    env.pop("XDG_DATA_HOME", None)
    tmux = Tmux(work, env)
    server = None
    carol = None
    dave = None
    run = None
    rc = 1
    bailed = False
    signal.alarm(args.timeout)
    try:
        tls = TlsPair(work)
        server = (Ngircd(work, tls) if args.server == "ngircd"
                  else Shmchatd(work, tls, os.path.abspath(args.build_dir)))
        server.start()
        say("# %s on 127.0.0.1:%d, TLS on %d, files in %s"
            % (server.name, server.port, server.tls_port, work))
        run = Run(server, args.verbose)
        irssi = Irssi(os.path.join(work, "irssi"), os.path.join(work, "irssi-logs"),
                      server.port, tmux)
        weechat = Weechat(os.path.join(work, "weechat"), server.port, tmux)
        erin = Irssi(os.path.join(work, "irssi-erin"), os.path.join(work, "irssi-erin-logs"),
                     None, tmux, nick="erin", room=TLS_ROOM)
        carol = RawClient("carol", server.port)
        scenario(run, irssi, weechat, carol)
        dave = SClient("dave", server.tls_port, tls, os.path.join(work, "s_client.err"))
        tls_scenario(run, erin, carol, dave)
        if args.server == "ngircd":
            say("# SKIP IRCv3 section (capabilities, history replay): ngircd keeps no "
                "history (no CHATHISTORY, no replay on JOIN)")
        else:
            hist_scenario(run, irssi, weechat, carol)
        rc = 0 if not run.failed else 1
    except Skip as e:
        say("SKIP: interop: %s" % e)
        rc = 77
    except Fatal as e:
        say("Bail out! %s" % e)
        bailed = True
        rc = 1
    except GlobalTimeout:
        say("Bail out! the whole run took more than %d s" % args.timeout)
        bailed = True
        rc = 1
    except Interrupted as e:
        say("Bail out! stopped by signal %d" % e.args[0])
        bailed = True
        rc = 128 + e.args[0]
    finally:
        signal.alarm(0)
        quiet()
        if carol:
            carol.close()
        if dave:
            dave.close()
        tmux.kill()
        problems = server.stop() if server else []
        for p in problems:
            say("not ok - clean stop: %s" % p)
        if problems:
            say("  %s's log, last lines:" % server.name)
            say(tail(server.log_text(), 12))
        if problems and rc == 0:
            rc = 1
        if args.keep:
            say("# kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if run:
        for name in run.failed:
            say("# FAILED: %s" % name)
        say("# against %s" % args.server)
        nfail = len(run.failed) + (1 if problems else 0) + (1 if bailed else 0)
        say("interop: %d passed, %d failed" % (run.passed, nfail))
    return rc


if __name__ == "__main__":
    sys.exit(main())
