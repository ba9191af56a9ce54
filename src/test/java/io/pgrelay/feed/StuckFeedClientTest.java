package io.pgrelay.feed;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.changelog.Changelog;
import io.pgrelay.changelog.ChangelogOptions;
import java.io.DataOutputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A streaming client that stops reading its socket (paused process, wedged consumer) blocks its
 * session thread in a socket write. The feed's watchdog must still end the session after
 * feed.timeout, so that the slot is no longer active and, once lost, no reader pins its data.
 */
@org.junit.jupiter.api.Timeout(60)
class StuckFeedClientTest {

    static ByteBuffer bigInsert(int id, int size) {
        byte[] v = new byte[size];
        java.util.Arrays.fill(v, (byte) 'x');
        return ByteBuffer.wrap(ByteBuffer.allocate(1 + 4 + 1 + 2 + 1 + 4 + v.length).put((byte) 'I').putInt(id)
                .put((byte) 'N').putShort((short) 1).put((byte) 't').putInt(v.length).put(v).array());
    }

    @Test
    void aClientThatStopsReadingIsDisconnectedAndItsDataReleased(@TempDir Path dir) throws Exception {
        long segment = 1L << 20;
        try (Changelog changelog = Changelog.open(dir.resolve("changelog"),
                ChangelogOptions.defaults().withSegmentBytes(segment))) {
            FeedSlots slots = FeedSlots.open(dir);
            slots.create("s", 0, false);
            FeedContext context = new FeedContext("u", null, true, null, "db", Set.of("pub"),
                    () -> new SystemIdentity("1", 1), slots, changelog, () -> 0L, Duration.ofSeconds(1), 1 << 20, null);
            FeedServer server = FeedServer.start(context, new InetSocketAddress("127.0.0.1", 0), 4);
            try (Socket client = new Socket()) {
                client.setReceiveBufferSize(4096);
                client.connect(new InetSocketAddress("127.0.0.1", server.port()));
                DataOutputStream out = new DataOutputStream(client.getOutputStream());
                byte[] params = "user\0u\0replication\0database\0database\0db\0\0".getBytes(StandardCharsets.UTF_8);
                out.writeInt(8 + params.length);
                out.writeInt(196608);
                out.write(params);
                byte[] q = "START_REPLICATION SLOT s LOGICAL 0/0 (proto_version '1', publication_names 'pub')\0"
                        .getBytes(StandardCharsets.UTF_8);
                out.writeByte('Q');
                out.writeInt(4 + q.length);
                out.write(q);
                out.flush();
                // The client never reads again and never sends status: a paused consumer.

                long lsn = 0x1000_0000L;
                for (int t = 0; t < 40; t++) {
                    long commit = lsn + 0x10_0000L;
                    changelog.append(lsn, ChangelogTapTest.begin(commit));
                    changelog.append(lsn + 1, ChangelogTapTest.relation(1));
                    for (int i = 0; i < 4; i++) {
                        changelog.append(lsn + 2 + i, bigInsert(1, 64 * 1024));
                    }
                    changelog.append(commit + 0x30, ChangelogTapTest.commit(commit, commit + 0x30));
                    changelog.sync();
                    lsn = commit + 0x100;
                }
                long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                while (server.isStreaming("s") && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                assertFalse(server.isStreaming("s"), "a client silent for longer than feed.timeout (1 s) still holds its slot");
                long end = changelog.endLsn();
                new Retention(changelog, slots, () -> end, 2 * segment).run(); // apply is caught up to the end
                assertTrue(slots.get("s").orElseThrow().lost(), "the slot holding the changelog above the bound is lost");
                assertTrue(changelog.retainedBytes() <= 3 * segment, "nothing pins a lost slot's data: "
                        + changelog.retainedBytes() + " bytes in " + changelog.segmentCount() + " segments");
            } finally {
                server.close();
            }
        }
    }
}
