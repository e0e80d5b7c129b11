// Golden-vector scenario for the zk-proto wire tests.
//
// Runs a fixed sequence of synchronous calls with the stock ZooKeeper Java
// client (Debian libzookeeper-java 3.8.0). It is meant to be connected through
// proxy.py so that every frame is logged; capture.sh drives it.
//
// Usage: java -cp <zookeeper + jute + slf4j jars>:<classes> Capture <host:port> <ping-wait-ms>
//
// Steps (the numbers are referenced by the comments in the .hex files):
//   1. connect, session timeout 30000 ms
//   2. create /golden, data "hello", OPEN_ACL_UNSAFE, PERSISTENT      (op create)
//   3. getData /golden, watch=true                                     (op getData)
//   4. create /golden/a and /golden/b, empty data, PERSISTENT          (op create)
//   5. getChildren /golden, watch=false, with Stat                     (op getChildren2)
//   6. setData /golden "world" version -1; wait for NodeDataChanged    (op setData + notification)
//   7. getData /missing, watch=false -> NONODE                         (op getData, error reply)
//   8. multi [create /golden/c, check /golden v99, create /golden/d]  (op multi, fails BADVERSION)
//   9. stay idle for <ping-wait-ms> so the client sends a ping         (op ping)
//  10. close                                                           (op closeSession)

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.Version;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs.Ids;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.Stat;

public class Capture {
    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void log(String msg) {
        System.out.println("[capture] " + msg);
        System.out.flush();
    }

    public static void main(String[] args) throws Exception {
        String connect = args[0];
        long pingWaitMs = args.length > 1 ? Long.parseLong(args[1]) : 11000L;

        log("client version: " + Version.getFullVersion());

        final CountDownLatch connected = new CountDownLatch(1);
        final CountDownLatch dataChanged = new CountDownLatch(1);
        Watcher watcher = new Watcher() {
            @Override
            public void process(WatchedEvent e) {
                log("event: " + e);
                if (e.getType() == Event.EventType.None
                        && e.getState() == Event.KeeperState.SyncConnected) {
                    connected.countDown();
                }
                if (e.getType() == Event.EventType.NodeDataChanged
                        && "/golden".equals(e.getPath())) {
                    dataChanged.countDown();
                }
            }
        };

        // 1. connect
        ZooKeeper zk = new ZooKeeper(connect, 30000, watcher);
        if (!connected.await(20, TimeUnit.SECONDS)) {
            throw new IllegalStateException("not connected");
        }
        log("connected, session 0x" + Long.toHexString(zk.getSessionId())
                + " timeout " + zk.getSessionTimeout());

        // 2. create /golden "hello"
        String p = zk.create("/golden", utf8("hello"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        log("created " + p);

        // 3. getData /golden with watch
        Stat st = new Stat();
        byte[] d = zk.getData("/golden", true, st);
        log("getData /golden -> " + new String(d, StandardCharsets.UTF_8) + " stat " + st);

        // 4. create /golden/a and /golden/b
        log("created " + zk.create("/golden/a", utf8(""), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT));
        log("created " + zk.create("/golden/b", utf8(""), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT));

        // 5. getChildren2
        Stat cst = new Stat();
        List<String> children = zk.getChildren("/golden", false, cst);
        log("getChildren /golden -> " + children + " stat " + cst);

        // 6. setData fires the data watch
        Stat sst = zk.setData("/golden", utf8("world"), -1);
        log("setData /golden -> stat " + sst);
        if (!dataChanged.await(10, TimeUnit.SECONDS)) {
            throw new IllegalStateException("no NodeDataChanged event");
        }

        // 7. getData /missing -> NONODE
        try {
            zk.getData("/missing", false, null);
            throw new IllegalStateException("getData /missing succeeded");
        } catch (KeeperException.NoNodeException e) {
            log("getData /missing -> " + e.code());
        }

        // 8. failing multi
        try {
            zk.multi(Arrays.asList(
                    Op.create("/golden/c", utf8(""), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT),
                    Op.check("/golden", 99),
                    Op.create("/golden/d", utf8(""), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT)));
            throw new IllegalStateException("multi succeeded");
        } catch (KeeperException e) {
            log("multi -> " + e.code());
            List<OpResult> results = e.getResults();
            if (results != null) {
                for (OpResult r : results) {
                    if (r instanceof OpResult.ErrorResult) {
                        log("  result type " + r.getType() + " err " + ((OpResult.ErrorResult) r).getErr());
                    } else {
                        log("  result type " + r.getType());
                    }
                }
            }
        }

        // 9. idle long enough for a ping (readTimeout = 2/3 * 30000; ping after readTimeout/2 idle)
        log("idle " + pingWaitMs + " ms");
        Thread.sleep(pingWaitMs);

        // 10. close
        zk.close();
        log("closed");
    }
}
