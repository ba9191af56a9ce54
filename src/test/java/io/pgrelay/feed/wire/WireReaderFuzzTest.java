package io.pgrelay.feed.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgrelay.fuzz.ClientSessions;
import io.pgrelay.fuzz.Fuzz;
import io.pgrelay.fuzz.Mutator;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Hostile bytes into the feed's wire reader: only the documented failures (IOException for a
 * short stream, ProtocolException for a broken protocol) may come out, and no input makes the
 * reader allocate more than its message cap.
 */
@Timeout(120)
class WireReaderFuzzTest {

    private static final int CAP = 1 << 20;
    /** Allowance for the reader's own small objects next to the one body array. */
    private static final long SLACK = 256 * 1024;

    @Test
    void mutatedSessionsFailOnlyWithProtocolOrIoErrorsAndStayUnderTheCap() {
        List<List<byte[]>> sessions = new ArrayList<>(ClientSessions.trusted("u", "s", "pub"));
        sessions.add(ClientSessions.scram("u"));
        List<byte[]> allFrames = sessions.stream().flatMap(List::stream).toList();
        Random random = new Random(Fuzz.seed());
        Mutator mutator = new Mutator(random);
        int iterations = Fuzz.iterations(20_000);
        long[] messages = {0};
        long protocolErrors = 0;
        long largest = 0;
        for (int i = 0; i < iterations; i++) {
            byte[] input = mutator.mutateSession(sessions.get(random.nextInt(sessions.size())), allFrames);
            long before = Fuzz.allocatedBytes();
            try {
                readAll(input, messages);
            } catch (ProtocolException e) {
                protocolErrors++;
            } catch (IOException e) {
                // Truncated: the client went away mid-message.
            } catch (RuntimeException | Error e) {
                throw new AssertionError("input " + i + " (seed " + Fuzz.seed() + ") escaped with " + e + ": " + Fuzz.hex(input), e);
            }
            long allocated = Fuzz.allocatedBytes() - before - input.length;
            largest = Math.max(largest, allocated);
            if (allocated > CAP + SLACK + 64L * input.length) {
                fail("input " + i + " made the reader allocate " + allocated + " bytes: " + Fuzz.hex(input));
            }
        }
        Fuzz.report("WireReader", iterations, messages[0] + " messages read, " + protocolErrors + " protocol errors, largest allocation "
                + largest + " bytes");
        assertTrue(protocolErrors > iterations / 20, "the mutations should hit the protocol checks often: " + protocolErrors);
    }

    /** Reads like a session does: startup packets until a real startup, then messages. */
    private static void readAll(byte[] input, long[] messages) throws IOException, ProtocolException {
        WireReader reader = new WireReader(new ByteArrayInputStream(input), CAP);
        StartupPacket packet = reader.readStartup();
        for (int i = 0; i < 3 && !(packet instanceof StartupPacket.Startup); i++) {
            packet = reader.readStartup();
        }
        while (true) {
            FrontendMessage message = reader.read();
            messages[0]++;
            if (message.type() == FrontendMessage.QUERY) {
                try {
                    message.queryText();
                } catch (IllegalArgumentException documented) {
                    // queryText's documented failure: the session turns it into 08P01.
                }
            }
        }
    }

    @Test
    void anOversizedStartupLengthIsRefusedBeforeAllocating() {
        for (int length : new int[] {10_001, 1 << 20, Integer.MAX_VALUE, 7, -1, Integer.MIN_VALUE}) {
            byte[] header = ByteBuffer.allocate(8).putInt(length).putInt(ClientSessions.PROTOCOL_3_0).array();
            long before = Fuzz.allocatedBytes();
            ProtocolException e = assertThrows(ProtocolException.class,
                    () -> new WireReader(endless(header), CAP).readStartup(), "length " + length);
            long allocated = Fuzz.allocatedBytes() - before;
            assertEquals("08P01", e.sqlState());
            assertTrue(allocated < SLACK, "length " + length + " allocated " + allocated + " bytes before refusing");
        }
    }

    @Test
    void aStartupPacketOfExactlyTheLimitIsRead() throws Exception {
        byte[] padding = "x".repeat(10_000 - 12).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        byte[] packet = ClientSessions.startup("u", new String(padding, java.nio.charset.StandardCharsets.US_ASCII));
        assertEquals(10_000, packet.length);
        StartupPacket.Startup startup = (StartupPacket.Startup) new WireReader(new ByteArrayInputStream(packet), CAP).readStartup();
        assertEquals(padding.length, startup.parameter("u").length());
    }

    @Test
    void anOversizedMessageLengthIsRefusedBeforeAllocating() {
        for (int length : new int[] {CAP + 5, 1 << 30, Integer.MAX_VALUE}) {
            byte[] header = ByteBuffer.allocate(5).put((byte) 'd').putInt(length).array();
            long before = Fuzz.allocatedBytes();
            ProtocolException e = assertThrows(ProtocolException.class, () -> new WireReader(endless(header), CAP).read());
            long allocated = Fuzz.allocatedBytes() - before;
            assertEquals("54000", e.sqlState(), e.getMessage());
            assertTrue(allocated < SLACK, "length " + length + " allocated " + allocated + " bytes before refusing");
        }
        for (int length : new int[] {3, 0, -1, Integer.MIN_VALUE}) {
            byte[] header = ByteBuffer.allocate(5).put((byte) 'Q').putInt(length).array();
            ProtocolException e = assertThrows(ProtocolException.class, () -> new WireReader(endless(header), CAP).read());
            assertEquals("08P01", e.sqlState());
        }
    }

    @Test
    void aStartupPacketWithoutTerminatorIsAProtocolError() {
        byte[] body = "user\0u\0database".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        byte[] packet = ByteBuffer.allocate(8 + body.length).putInt(8 + body.length).putInt(ClientSessions.PROTOCOL_3_0).put(body).array();
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> new WireReader(new ByteArrayInputStream(packet), CAP).readStartup());
        assertEquals("08P01", e.sqlState());
    }

    /** The header, then zeros forever: a reader that trusted the length would allocate and read on. */
    private static InputStream endless(byte[] header) {
        return new InputStream() {
            private int at;

            @Override
            public int read() {
                return at < header.length ? header[at++] & 0xff : 0;
            }
        };
    }
}
