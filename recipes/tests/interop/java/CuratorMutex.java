// A Curator InterProcessMutex contender.
//
//   CuratorMutex CONNECT PATH ROUNDS HOLD_MS [--sessions N] [--id NAME] [--list]
//
// Each session, each round: acquire the mutex on PATH, create the ephemeral marker
// PATH-cs/holder (a VIOLATION when it exists: someone else is inside), hold for HOLD_MS,
// delete the marker, release. --list prints the participants as Curator sees them and exits.

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.zookeeper.KeeperException;

public final class CuratorMutex {
    /** Exposes the node of the hold, which Curator keeps protected. */
    static final class Mutex extends InterProcessMutex {
        Mutex(CuratorFramework client, String path) {
            super(client, path);
        }

        String node() {
            return getLockPath();
        }
    }

    public static void main(String[] args) throws Exception {
        Peer peer = new Peer("CuratorMutex", args);
        if (peer.list) {
            System.exit(list(peer));
        }
        System.exit(peer.runSessions((client, sessionId) -> rounds(peer, client, sessionId)));
    }

    static void rounds(Peer peer, CuratorFramework client, String sessionId) throws Exception {
        Mutex mutex = new Mutex(client, peer.path);
        String marker = peer.markers() + "/holder";
        for (int round = 0; round < peer.rounds; round++) {
            if (!mutex.acquire(Peer.ACQUIRE_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                peer.timeout(sessionId, round);
                continue;
            }
            long from = Peer.nowMicros();
            String node = mutex.node();
            boolean mine = peer.mark(client, marker, sessionId);
            if (!mine) {
                peer.violation(sessionId, round, "holder=" + peer.markedBy(client, marker));
            }
            Thread.sleep(peer.holdMs);
            if (mine) {
                client.delete().forPath(marker);
            }
            long to = Peer.nowMicros();
            mutex.release();
            peer.granted(sessionId, round, node, from, to);
        }
    }

    /** `PARTICIPANT NODE DATA` for each participant, in Curator's order (the holder first). */
    static int list(Peer peer) throws Exception {
        Peer.version();
        CuratorFramework client = peer.connect(peer.id);
        int n = 0;
        for (String node : new InterProcessMutex(client, peer.path).getParticipantNodes()) {
            try {
                byte[] data = client.getData().forPath(node);
                Peer.say("PARTICIPANT " + Peer.lastSegment(node) + " "
                        + new String(data, StandardCharsets.UTF_8));
                n++;
            } catch (KeeperException.NoNodeException e) {
                // Gone since the listing.
            }
        }
        client.close();
        Peer.say("SUMMARY CuratorMutex participants=" + n);
        return 0;
    }
}
