// A Curator SharedCount peer.
//
//   CuratorSharedCount CONNECT PATH ROUNDS HOLD_MS [--sessions N] [--id NAME] [--seed S]
//
// Each session, once the test creates PATH-cs/go: start a SharedCount on PATH with seed S
// (default 0) and print START with the count it read; once PATH-cs/inc appears, increment
// ROUNDS times by Curator's compare-and-set loop (getVersionedValue, then trySetCount of
// value + 1, again until it succeeds), printing INCR with the values before and after;
// then INCREMENTED, and SEEN once the count the SharedCount keeps (by its watch) is the
// final count written in PATH-cs/end. HOLD_MS is not used.

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.VersionedValue;

public final class CuratorSharedCount {
    public static void main(String[] args) throws Exception {
        Peer peer = new Peer("CuratorSharedCount", args);
        int seed = Integer.parseInt(peer.option("--seed", "0"));
        System.exit(peer.runSessions((client, sessionId) -> rounds(peer, client, sessionId, seed)));
    }

    static void rounds(Peer peer, CuratorFramework client, String sessionId, int seed)
            throws Exception {
        SharedCount count = new SharedCount(client, peer.path, seed);
        count.start();
        try {
            Peer.say("START " + sessionId + " " + count.getCount());
            CounterPeer.awaitGate(peer, client, "inc");
            for (int round = 0; round < peer.rounds; round++) {
                while (true) {
                    VersionedValue<Integer> seen = count.getVersionedValue();
                    if (count.trySetCount(seen, seen.getValue() + 1)) {
                        CounterPeer.incremented(peer, sessionId, round, seen.getValue(), seen.getValue() + 1);
                        break;
                    }
                }
            }
            CounterPeer.seen(peer, client, sessionId, count::getCount);
        } finally {
            count.close();
        }
    }
}
