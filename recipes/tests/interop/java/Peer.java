// What every Curator contender shares: arguments, sessions, the start barrier, the
// critical-section markers and the output lines that zk-recipes' interop tests read
// (README.md in the folder above describes them).

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.Participant;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Version;

final class Peer {
    /** How long one acquire may wait before the round counts as a timeout. */
    static final long ACQUIRE_TIMEOUT_MS = 30_000;

    final String program;
    final String connect;
    final String path;
    final int rounds;
    final long holdMs;
    final int sessions;
    final String id;
    final boolean list;
    /** Options of one program (--role, --leases), as given. */
    final List<String> extra = new ArrayList<>();

    final AtomicInteger grants = new AtomicInteger();
    final AtomicInteger violations = new AtomicInteger();
    final AtomicInteger timeouts = new AtomicInteger();
    final AtomicInteger errors = new AtomicInteger();

    /** `PROGRAM CONNECT PATH ROUNDS HOLD_MS [--sessions N] [--id NAME] [--list] [other options]`. */
    Peer(String program, String[] args) {
        if (args.length < 4) {
            System.err.println("usage: " + program
                    + " CONNECT PATH ROUNDS HOLD_MS [--sessions N] [--id NAME] [--list] [options]");
            System.exit(2);
        }
        this.program = program;
        connect = args[0];
        path = args[1];
        rounds = Integer.parseInt(args[2]);
        holdMs = Long.parseLong(args[3]);
        int sessions = 1;
        String id = program.toLowerCase() + "-" + ProcessHandle.current().pid();
        boolean list = false;
        for (int i = 4; i < args.length; i++) {
            switch (args[i]) {
                case "--sessions" -> sessions = Integer.parseInt(args[++i]);
                case "--id" -> id = args[++i];
                case "--list" -> list = true;
                default -> extra.add(args[i]);
            }
        }
        this.sessions = sessions;
        this.id = id;
        this.list = list;
    }

    /** The value of `--name VALUE` among the program's own options, or `fallback`. */
    String option(String name, String fallback) {
        int i = extra.indexOf(name);
        return i >= 0 && i + 1 < extra.size() ? extra.get(i + 1) : fallback;
    }

    /** The id of session `k`: the `--id` itself for one session, `ID-k` for more. */
    String sessionId(int k) {
        return sessions == 1 ? id : id + "-" + k;
    }

    /** A started, connected Curator session whose default node data is `sessionId`. */
    CuratorFramework connect(String sessionId) throws Exception {
        CuratorFramework client = CuratorFrameworkFactory.builder()
                .connectString(connect)
                .sessionTimeoutMs(10_000)
                .connectionTimeoutMs(15_000)
                .retryPolicy(new ExponentialBackoffRetry(100, 5))
                .defaultData(sessionId.getBytes(StandardCharsets.UTF_8))
                .build();
        client.start();
        if (!client.blockUntilConnected(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("no connection to " + connect + " within 30 s");
        }
        return client;
    }

    /** The folder of the critical-section markers: `PATH-cs`. */
    String markers() {
        return path + "-cs";
    }

    /** Waits until the test creates `PATH-cs/go`, so every contender starts together. */
    void awaitGo(CuratorFramework client) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (client.checkExists().forPath(markers() + "/go") == null) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(markers() + "/go did not appear within 60 s");
            }
            Thread.sleep(10);
        }
    }

    /** Creates the ephemeral marker `name` holding `sessionId`; false when it exists. */
    boolean mark(CuratorFramework client, String name, String sessionId) throws Exception {
        try {
            client.create().withMode(CreateMode.EPHEMERAL)
                    .forPath(name, sessionId.getBytes(StandardCharsets.UTF_8));
            return true;
        } catch (KeeperException.NodeExistsException e) {
            return false;
        }
    }

    /** The data of a marker (who set it), or `?` when it is gone. */
    String markedBy(CuratorFramework client, String name) throws Exception {
        try {
            return new String(client.getData().forPath(name), StandardCharsets.UTF_8);
        } catch (KeeperException.NoNodeException e) {
            return "?";
        }
    }

    /** Microseconds since the epoch (the same clock every peer reads). */
    static long nowMicros() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000 + now.getNano() / 1_000;
    }

    static String lastSegment(String node) {
        return node == null ? "?" : node.substring(node.lastIndexOf('/') + 1);
    }

    static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    /** Prints `VERSION curator-framework X zookeeper Y` from the jars on the classpath. */
    static void version() {
        String curator = "?";
        try (var in = CuratorFramework.class.getResourceAsStream(
                "/META-INF/maven/org.apache.curator/curator-framework/pom.properties")) {
            if (in != null) {
                Properties pom = new Properties();
                pom.load(in);
                curator = pom.getProperty("version", "?");
            }
        } catch (java.io.IOException e) {
            curator = "? (" + e + ")";
        }
        say("VERSION curator-framework " + curator + " zookeeper " + Version.getFullVersion());
    }

    void ready(String sessionId) {
        say("READY " + sessionId);
    }

    void granted(String sessionId, int round, String node, long fromUs, long toUs) {
        grants.incrementAndGet();
        say("GRANT " + sessionId + " " + round + " " + lastSegment(node) + " " + fromUs + " " + toUs);
    }

    void violation(String sessionId, int round, String detail) {
        violations.incrementAndGet();
        say("VIOLATION " + sessionId + " " + round + " " + detail);
    }

    /**
     * `PARTICIPANTS id ID...`: an election's participants as Curator lists them
     * (`getParticipants()`, in its order), each id followed by `*` when Curator marks it as
     * the leader.
     */
    static void participants(String sessionId, Collection<Participant> participants) {
        StringBuilder line = new StringBuilder("PARTICIPANTS ").append(sessionId);
        for (Participant p : participants) {
            line.append(' ').append(p.getId()).append(p.isLeader() ? "*" : "");
        }
        say(line.toString());
    }

    void timeout(String sessionId, int round) {
        timeouts.incrementAndGet();
        say("TIMEOUT " + sessionId + " " + round);
    }

    /** A session's loop of rounds. */
    interface Body {
        void run(CuratorFramework client, String sessionId) throws Exception;
    }

    /**
     * Runs `body` on every session, each in its own thread, after all are connected and the
     * start barrier has opened; prints the per-session and final lines; returns the exit code.
     */
    int runSessions(Body body) throws Exception {
        return runSessions(body, true);
    }

    /**
     * Like {@link #runSessions(Body)}; without `startTogether` the bodies start as soon as
     * every session is connected, without waiting for `PATH-cs/go` (the test decides when a
     * participant joins by when it starts the program).
     */
    int runSessions(Body body, boolean startTogether) throws Exception {
        version();
        List<CuratorFramework> clients = new ArrayList<>();
        for (int k = 0; k < sessions; k++) {
            CuratorFramework client = connect(sessionId(k));
            clients.add(client);
            ready(sessionId(k));
        }
        if (startTogether) {
            awaitGo(clients.get(0));
        }
        List<Thread> threads = new ArrayList<>();
        for (int k = 0; k < sessions; k++) {
            CuratorFramework client = clients.get(k);
            String sessionId = sessionId(k);
            Thread thread = new Thread(() -> {
                try {
                    body.run(client, sessionId);
                } catch (Exception e) {
                    errors.incrementAndGet();
                    say("ERROR " + sessionId + " " + e);
                    e.printStackTrace();
                }
                say("DONE " + sessionId);
            }, sessionId);
            thread.start();
            threads.add(thread);
        }
        for (Thread thread : threads) {
            thread.join();
        }
        for (CuratorFramework client : clients) {
            client.close();
        }
        say("SUMMARY " + program + " sessions=" + sessions + " grants=" + grants.get()
                + " violations=" + violations.get() + " timeouts=" + timeouts.get()
                + " errors=" + errors.get());
        return errors.get() == 0 ? 0 : 1;
    }
}
