// A Curator GroupMember.
//
//   CuratorGroupMember CONNECT PATH 1 HOLD_MS [--sessions N] [--id NAME] [--payload P]
//
// Each session joins the group at PATH as member ID (its session id) with payload P
// (default "payload-ID") as soon as it is connected: no start barrier. It prints
// `MEMBERS id k1=v1 k2=v2 ...` (getCurrentMembers(), sorted by id, payloads as UTF-8)
// first and then whenever that changes. When the node PATH-cs/update-ID appears or its
// data changes, it calls setThisData with that data and prints UPDATED. It leaves (close)
// when PATH-cs/leave-ID appears, or after HOLD_MS when HOLD_MS is not 0, and prints LEFT.
// A session that has not left after 120 s prints TIMEOUT and leaves. ROUNDS must be 1.

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.nodes.GroupMember;

public final class CuratorGroupMember {
    /** How long a session stays in the group at most. */
    static final long STAY_LIMIT_MS = 120_000;

    public static void main(String[] args) throws Exception {
        Peer peer = new Peer("CuratorGroupMember", args);
        if (peer.rounds != 1) {
            System.err.println("CuratorGroupMember joins once: ROUNDS must be 1");
            System.exit(2);
        }
        System.exit(peer.runSessions((client, sessionId) -> session(peer, client, sessionId), false));
    }

    static void session(Peer peer, CuratorFramework client, String sessionId) throws Exception {
        String payload = peer.option("--payload", "payload-" + sessionId);
        GroupMember member = new GroupMember(client, peer.path, sessionId,
                payload.getBytes(StandardCharsets.UTF_8));
        member.start();
        Peer.say("JOINED " + sessionId);
        String update = peer.markers() + "/update-" + sessionId;
        String leave = peer.markers() + "/leave-" + sessionId;
        long started = System.nanoTime();
        long limit = started + TimeUnit.MILLISECONDS.toNanos(STAY_LIMIT_MS);
        String shown = null;
        byte[] applied = null;
        while (client.checkExists().forPath(leave) == null) {
            if (peer.holdMs > 0
                    && System.nanoTime() - started >= TimeUnit.MILLISECONDS.toNanos(peer.holdMs)) {
                break;
            }
            if (System.nanoTime() > limit) {
                peer.timeout(sessionId, 0);
                break;
            }
            String now = members(sessionId, member.getCurrentMembers());
            if (!now.equals(shown)) {
                shown = now;
                Peer.say(now);
            }
            if (client.checkExists().forPath(update) != null) {
                byte[] data = client.getData().forPath(update);
                if (applied == null || !Arrays.equals(applied, data)) {
                    applied = data;
                    member.setThisData(data);
                    Peer.say("UPDATED " + sessionId + " " + new String(data, StandardCharsets.UTF_8));
                }
            }
            Thread.sleep(10);
        }
        member.close();
        peer.grants.incrementAndGet();
        Peer.say("LEFT " + sessionId);
    }

    /** `MEMBERS id k1=v1 k2=v2 ...`, sorted by id. */
    static String members(String sessionId, Map<String, byte[]> current) {
        StringBuilder line = new StringBuilder("MEMBERS ").append(sessionId);
        for (Map.Entry<String, byte[]> e : new TreeMap<>(current).entrySet()) {
            line.append(' ').append(e.getKey()).append('=')
                    .append(new String(e.getValue(), StandardCharsets.UTF_8));
        }
        return line.toString();
    }
}
