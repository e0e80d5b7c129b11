// What the counter peers (CuratorSharedCount, CuratorAtomicLong) share: the gates the
// test opens under PATH-cs and the output lines (README.md in the folder above).

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.apache.curator.framework.CuratorFramework;

final class CounterPeer {
    private CounterPeer() {}

    /** Waits (at most 60 s) until the test creates `PATH-cs/name`, and returns its data. */
    static String awaitGate(Peer peer, CuratorFramework client, String name) throws Exception {
        String gate = peer.markers() + "/" + name;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (client.checkExists().forPath(gate) == null) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(gate + " did not appear within 60 s");
            }
            Thread.sleep(5);
        }
        return new String(client.getData().forPath(gate), StandardCharsets.UTF_8);
    }

    /**
     * After the rounds: waits for `PATH-cs/end` (its data is the final count the test
     * expects), then until `value` reads it (at most 30 s), and prints `SEEN id value`.
     */
    static void seen(Peer peer, CuratorFramework client, String sessionId, LongSupplier value)
            throws Exception {
        Peer.say("INCREMENTED " + sessionId);
        long expected = Long.parseLong(awaitGate(peer, client, "end").trim());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        long now = value.getAsLong();
        while (now != expected && System.nanoTime() < deadline) {
            Thread.sleep(5);
            now = value.getAsLong();
        }
        Peer.say("SEEN " + sessionId + " " + now);
    }

    /** `INCR id round pre post`. */
    static void incremented(Peer peer, String sessionId, int round, long pre, long post) {
        peer.grants.incrementAndGet();
        Peer.say("INCR " + sessionId + " " + round + " " + pre + " " + post);
    }
}
