// A Curator InterProcessReadWriteLock contender.
//
//   CuratorRwLock CONNECT PATH ROUNDS HOLD_MS [--sessions N] [--id NAME] [--role read|write|mixed]
//
// --role (default write) applies to every session; `mixed` makes even sessions writers and
// odd ones readers. Inside the lock a writer creates the ephemeral marker PATH-cs/writer (a
// VIOLATION when it exists) and then lists PATH-cs (a VIOLATION for any reader-* marker); a
// reader creates an ephemeral-sequential PATH-cs/reader-* and then checks for the writer
// marker (a VIOLATION when present). Readers may overlap each other, never a writer.

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.data.Stat;

public final class CuratorRwLock {
    public static void main(String[] args) throws Exception {
        Peer peer = new Peer("CuratorRwLock", args);
        String role = peer.option("--role", "write");
        if (!List.of("read", "write", "mixed").contains(role)) {
            System.err.println("--role must be read, write or mixed");
            System.exit(2);
        }
        int[] next = {0};
        System.exit(peer.runSessions((client, sessionId) -> {
            boolean writer;
            synchronized (next) {
                writer = role.equals("write") || (role.equals("mixed") && next[0] % 2 == 0);
                next[0]++;
            }
            rounds(peer, client, sessionId, writer);
        }));
    }

    static void rounds(Peer peer, CuratorFramework client, String sessionId, boolean writer)
            throws Exception {
        InterProcessReadWriteLock rw = new InterProcessReadWriteLock(
                client, peer.path, sessionId.getBytes(StandardCharsets.UTF_8));
        InterProcessMutex lock = writer ? rw.writeLock() : rw.readLock();
        String kind = writer ? "__WRIT__" : "__READ__";
        for (int round = 0; round < peer.rounds; round++) {
            if (!lock.acquire(Peer.ACQUIRE_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                peer.timeout(sessionId, round);
                continue;
            }
            long from = Peer.nowMicros();
            String node = ownNode(client, peer.path, kind);
            String marker = writer ? enterAsWriter(peer, client, sessionId, round)
                    : enterAsReader(peer, client, sessionId, round);
            Thread.sleep(peer.holdMs);
            if (marker != null) {
                client.delete().forPath(marker);
            }
            long to = Peer.nowMicros();
            lock.release();
            peer.granted(sessionId, round, node, from, to);
        }
    }

    /** The writer marker if we made it (null if another writer had it). */
    static String enterAsWriter(Peer peer, CuratorFramework client, String sessionId, int round)
            throws Exception {
        String marker = peer.markers() + "/writer";
        boolean mine = peer.mark(client, marker, sessionId);
        if (!mine) {
            peer.violation(sessionId, round, "writer=" + peer.markedBy(client, marker));
        }
        List<String> readers = client.getChildren().forPath(peer.markers()).stream()
                .filter(name -> name.startsWith("reader-")).collect(Collectors.toList());
        if (!readers.isEmpty()) {
            peer.violation(sessionId, round, "readers=" + readers);
        }
        return mine ? marker : null;
    }

    /** Our reader marker. */
    static String enterAsReader(Peer peer, CuratorFramework client, String sessionId, int round)
            throws Exception {
        String marker = client.create().withMode(CreateMode.EPHEMERAL_SEQUENTIAL)
                .forPath(peer.markers() + "/reader-", sessionId.getBytes(StandardCharsets.UTF_8));
        String writerMarker = peer.markers() + "/writer";
        if (client.checkExists().forPath(writerMarker) != null) {
            peer.violation(sessionId, round, "writer=" + peer.markedBy(client, writerMarker));
        }
        return marker;
    }

    /** Our session's contender node of `kind` under `path` (Curator does not expose it). */
    static String ownNode(CuratorFramework client, String path, String kind) throws Exception {
        long session = client.getZookeeperClient().getZooKeeper().getSessionId();
        for (String name : client.getChildren().forPath(path)) {
            if (!name.contains(kind)) {
                continue;
            }
            Stat stat = client.checkExists().forPath(path + "/" + name);
            if (stat != null && stat.getEphemeralOwner() == session) {
                return name;
            }
        }
        return "?";
    }
}
