package io.pgrelay.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.decode.PgOutputFixtureFile.Frame;
import io.pgrelay.decode.PgOutputMessage.Begin;
import io.pgrelay.decode.PgOutputMessage.Commit;
import io.pgrelay.decode.PgOutputMessage.Delete;
import io.pgrelay.decode.PgOutputMessage.Insert;
import io.pgrelay.decode.PgOutputMessage.LogicalMessage;
import io.pgrelay.decode.PgOutputMessage.Origin;
import io.pgrelay.decode.PgOutputMessage.Relation;
import io.pgrelay.decode.PgOutputMessage.Truncate;
import io.pgrelay.decode.PgOutputMessage.Update;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.postgresql.replication.LogSequenceNumber;

/**
 * {@link PgOutputDecoder} against pgoutput messages captured from a real PostgreSQL server
 * ({@code src/test/resources/pgoutput/}, made by {@code PgOutputFixtureCaptureIT}), and against
 * every way those messages can be cut, stretched or corrupted.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PgOutputDecoderTest {

    private static final Map<String, List<Frame>> FIXTURES = loadFixtures();

    private final PgOutputDecoder decoder = new PgOutputDecoder();

    private static Map<String, List<Frame>> loadFixtures() {
        Map<String, List<Frame>> fixtures = new LinkedHashMap<>();
        for (String scenario : PgOutputScenarios.NAMES) {
            fixtures.put(scenario, PgOutputFixtureFile.readResource(scenario));
        }
        return fixtures;
    }

    static Stream<String> scenarios() {
        return PgOutputScenarios.NAMES.stream();
    }

    // ---------------------------------------------------------------- captured messages

    @ParameterizedTest(name = "{0}.bin")
    @MethodSource("scenarios")
    void fixtureDecodesToExactlyTheCapturedRecords(String scenario) {
        PgOutputScenarios.check(scenario, FIXTURES.get(scenario), captureYear());
    }

    @Test
    void relationIdsXidsAndLsnsAreConsistentAcrossTheWholeCapture() {
        PgOutputScenarios.checkCapture(FIXTURES);
    }

    @Test
    void everyMessageTypeOfProtocolVersion1IsCovered() {
        StringBuilder seen = new StringBuilder();
        for (List<Frame> frames : FIXTURES.values()) {
            for (Frame frame : frames) {
                if (seen.indexOf(String.valueOf(frame.type())) < 0) {
                    seen.append(frame.type());
                }
            }
        }
        char[] types = seen.toString().toCharArray();
        Arrays.sort(types);
        assertEquals("BCDIMORTUY", new String(types));
    }

    @Test
    void commitTimesLieInTheYearOfCaptureExceptTheOriginsOwn() {
        int year = LocalDate.ofInstant(captureYear().from(), ZoneOffset.UTC).getYear();
        int checked = 0;
        for (Map.Entry<String, List<Frame>> entry : FIXTURES.entrySet()) {
            for (PgOutputMessage message : decodeAll(entry.getValue())) {
                Instant time = message instanceof Begin b ? b.commitTime()
                        : message instanceof Commit c ? c.commitTime() : null;
                if (time == null) {
                    continue;
                }
                checked++;
                if (entry.getKey().equals("origin")) {
                    assertEquals(PgOutputScenarios.ORIGIN_TIMESTAMP, time, "origin commit time, to the microsecond");
                } else {
                    assertEquals(year, LocalDate.ofInstant(time, ZoneOffset.UTC).getYear(), entry.getKey() + ": " + time);
                    assertEquals(0, time.getNano() % 1_000, "microsecond precision: " + time);
                }
            }
        }
        assertEquals(36, checked, "Begin and Commit messages of the 18 captured transactions");
    }

    @Test
    void insertedRowsEqualTextTuples() {
        List<PgOutputMessage> messages = decodeAll(FIXTURES.get("insert"));
        List<TupleData> inserted = new ArrayList<>();
        for (PgOutputMessage message : messages) {
            if (message instanceof Insert insert) {
                inserted.add(insert.newTuple());
            }
        }
        List<TupleData> expected = new ArrayList<>();
        for (List<String> row : PgOutputScenarios.ITEM_ROWS) {
            expected.add(TupleData.ofText(row.toArray(new String[0])));
        }
        assertEquals(expected, inserted);
        assertEquals(PgOutputScenarios.TRICKY_TEXT, inserted.get(1).text(1));
        assertTrue(inserted.get(1).text(1).contains("🐘"), "4-byte UTF-8 survives");
    }

    @Test
    void unchangedToastColumnHasNoValue() {
        Update update = null;
        for (PgOutputMessage message : decodeAll(FIXTURES.get("update_toast"))) {
            if (message instanceof Update u) {
                update = u;
            }
        }
        assertNotNull(update);
        TupleData tuple = update.newTuple();
        assertEquals(TupleData.Kind.UNCHANGED_TOAST, tuple.kind(2));
        assertThrows(IllegalStateException.class, () -> tuple.text(2));
        assertEquals("t2", tuple.text(1));
    }

    @Test
    void originNamesTheOriginAndItsCommitLsn() {
        List<PgOutputMessage> messages = decodeAll(FIXTURES.get("origin"));
        assertInstanceOf(Begin.class, messages.get(0));
        assertEquals(new Origin(LogSequenceNumber.valueOf(0xABCDEFL), "o1"), messages.get(1));
        assertEquals("0/ABCDEF", ((Origin) messages.get(1)).originCommitLsn().asString());
    }

    @Test
    void readmeDescribesTheFixturesAsCaptured() {
        String readme = PgOutputFixtureFile.readTextResource("README.md");
        assertTrue(readme.contains("pg_logical_slot_peek_binary_changes"), "README names the capture query");
        assertTrue(readme.contains("-Dpgrelay.capture=true"), "README names the capture command");
        assertTrue(Pattern.compile("PostgreSQL \\d+\\.\\d+").matcher(readme).find(), "README names the server version");
        for (Map.Entry<String, List<Frame>> entry : FIXTURES.entrySet()) {
            StringBuilder types = new StringBuilder();
            entry.getValue().forEach(frame -> types.append(frame.type()));
            String row = "| `" + entry.getKey() + ".bin` | " + entry.getValue().size() + " | `" + types + "` |";
            assertTrue(readme.contains(row), "README lists " + row);
        }
    }

    @Test
    void fixtureFramingRoundTrips() {
        for (List<Frame> frames : FIXTURES.values()) {
            assertEquals(frames, PgOutputFixtureFile.decode(PgOutputFixtureFile.encode(frames)));
        }
    }

    // ---------------------------------------------------------------- buffers

    /** The same bytes in every kind of buffer the decoder may be handed. */
    private static List<Function<byte[], ByteBuffer>> bufferFlavours() {
        return List.of(
                ByteBuffer::wrap,
                // In the middle of a larger array: position and arrayOffset are not 0, and what
                // follows the limit is a complete copy of the message, so reading past the limit
                // would go unnoticed by anything but the limit check.
                bytes -> {
                    byte[] larger = new byte[7 + bytes.length * 2 + 5];
                    Arrays.fill(larger, (byte) 'B');
                    System.arraycopy(bytes, 0, larger, 7, bytes.length);
                    System.arraycopy(bytes, 0, larger, 7 + bytes.length, bytes.length);
                    return ByteBuffer.wrap(larger, 7, bytes.length).slice();
                },
                bytes -> {
                    byte[] larger = new byte[3 + bytes.length * 2];
                    System.arraycopy(bytes, 0, larger, 3, bytes.length);
                    System.arraycopy(bytes, 0, larger, 3 + bytes.length, bytes.length);
                    ByteBuffer buffer = ByteBuffer.wrap(larger);
                    buffer.position(3).limit(3 + bytes.length);
                    return buffer;
                },
                bytes -> ByteBuffer.allocateDirect(bytes.length).put(bytes).flip(),
                bytes -> ByteBuffer.wrap(bytes.clone()).asReadOnlyBuffer());
    }

    @Test
    void everyBufferKindDecodesTheSame() {
        for (List<Frame> frames : FIXTURES.values()) {
            for (Frame frame : frames) {
                String expected = render(decoder.decode(ByteBuffer.wrap(frame.data())));
                for (Function<byte[], ByteBuffer> flavour : bufferFlavours()) {
                    ByteBuffer buffer = flavour.apply(frame.data());
                    int position = buffer.position();
                    assertEquals(expected, render(decoder.decode(buffer)), frame.toString());
                    assertEquals(position, buffer.position(), "the caller's buffer is left as it was");
                }
            }
        }
    }

    // ---------------------------------------------------------------- malformed input

    @Test
    void everyTruncationOfEveryFixtureMessageIsMalformed() {
        int cuts = 0;
        for (Map.Entry<String, List<Frame>> entry : FIXTURES.entrySet()) {
            for (Frame frame : entry.getValue()) {
                byte[] data = frame.data();
                for (int length = 0; length < data.length; length++) {
                    byte[] cut = Arrays.copyOf(data, length);
                    for (Function<byte[], ByteBuffer> flavour : bufferFlavours()) {
                        assertMalformed(flavour.apply(cut), entry.getKey() + " " + frame + " cut to " + length);
                    }
                    cuts++;
                }
            }
        }
        assertTrue(cuts > 14_000, "truncations tried: " + cuts);
    }

    @Test
    void emptyMessageIsMalformed() {
        MalformedMessageException e = assertMalformed(ByteBuffer.allocate(0), "empty");
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
    }

    @Test
    void trailingBytesAfterAnyFixtureMessageAreRejected() {
        for (List<Frame> frames : FIXTURES.values()) {
            for (Frame frame : frames) {
                byte[] data = frame.data();
                for (byte[] garbage : List.of(new byte[] {0}, "garbage".getBytes(StandardCharsets.US_ASCII), data)) {
                    byte[] longer = Arrays.copyOf(data, data.length + garbage.length);
                    System.arraycopy(garbage, 0, longer, data.length, garbage.length);
                    MalformedMessageException e = assertMalformed(ByteBuffer.wrap(longer), frame + " + garbage");
                    assertEquals(garbage.length + " trailing bytes after pgoutput message '" + frame.type() + "'",
                            e.getMessage());
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(chars = {'Z', 'S', 'E', 'c', 'A', 'P', 'K', 'r', 'p', 'b', 'n', 'u', 't'})
    void unknownOrLaterProtocolMessageTypeIsRejectedByName(char type) {
        byte[] begin = firstOfType("insert", 'B').data();
        for (byte[] message : List.of(new byte[] {(byte) type}, withType(begin, type))) {
            MalformedMessageException e = assertMalformed(ByteBuffer.wrap(message), "type " + type);
            assertEquals("unsupported pgoutput message type '" + type + "' for protocol version 1", e.getMessage());
        }
    }

    @Test
    void unprintableMessageTypeIsShownInHex() {
        for (int type : new int[] {0x00, 0x0a, 0x7f, 0x80, 0xff}) {
            MalformedMessageException e = assertMalformed(ByteBuffer.wrap(new byte[] {(byte) type, 1, 2, 3}), "type");
            assertEquals(String.format("unsupported pgoutput message type '0x%02x' for protocol version 1", type),
                    e.getMessage());
        }
    }

    @Test
    void textLengthOf0x7fffffffIsRejectedBeforeAllocation() {
        byte[] insert = firstOfType("update_toast", 'I').data(); // holds the 12,000-character value
        int lengthAt = 1 + 4 + 1 + 2 + 1; // 'I', relation id, 'N', column count, kind 't' of column 0
        assertEquals('t', (char) insert[lengthAt - 1]);
        for (Function<byte[], ByteBuffer> flavour : bufferFlavours()) {
            MalformedMessageException e = assertRejectedWithoutAllocating(
                    flavour.apply(withInt(insert, lengthAt, 0x7fffffff)));
            assertTrue(e.getMessage().startsWith("text value needs 2147483647 bytes but only "), e.getMessage());
        }
    }

    @Test
    void binaryLengthOf0x7fffffffIsRejectedBeforeAllocation() {
        byte[] insert = firstOfType("update_toast", 'I').data();
        int kindAt = 1 + 4 + 1 + 2;
        byte[] binary = insert.clone();
        binary[kindAt] = 'b';
        // With its real length the 'b' column decodes, as BINARY.
        Insert decoded = (Insert) decoder.decode(ByteBuffer.wrap(binary));
        assertEquals(TupleData.Kind.BINARY, decoded.newTuple().kind(0));
        assertThrows(IllegalStateException.class, () -> decoded.newTuple().text(0));
        for (Function<byte[], ByteBuffer> flavour : bufferFlavours()) {
            MalformedMessageException e = assertRejectedWithoutAllocating(
                    flavour.apply(withInt(binary, kindAt + 1, 0x7fffffff)));
            assertTrue(e.getMessage().startsWith("binary value needs 2147483647 bytes but only "), e.getMessage());
        }
    }

    @Test
    void messageContentLengthOf0x7fffffffIsRejectedBeforeAllocation() {
        Frame frame = firstOfType("message", 'M');
        LogicalMessage message = (LogicalMessage) decoder.decode(frame.buffer());
        byte[] data = frame.data();
        int lengthAt = 1 + 1 + 8 + message.prefix().getBytes(StandardCharsets.UTF_8).length + 1;
        assertEquals(message.content().length, ByteBuffer.wrap(data).getInt(lengthAt));
        for (Function<byte[], ByteBuffer> flavour : bufferFlavours()) {
            MalformedMessageException e = assertRejectedWithoutAllocating(
                    flavour.apply(withInt(data, lengthAt, 0x7fffffff)));
            assertTrue(e.getMessage().startsWith("message content needs 2147483647 bytes but only "), e.getMessage());
        }
    }

    @Test
    void negativeLengthsAreRejected() {
        byte[] insert = firstOfType("insert", 'I').data();
        byte[] message = firstOfType("message", 'M').data();
        int messageLengthAt = 1 + 1 + 8 + PgOutputScenarios.MESSAGE_PREFIX.length() + 1;
        for (int negative : new int[] {-1, Integer.MIN_VALUE, -12}) {
            MalformedMessageException e = assertMalformed(ByteBuffer.wrap(withInt(insert, 9, negative)), "text");
            assertEquals("negative length " + negative + " of text value", e.getMessage());
            e = assertMalformed(ByteBuffer.wrap(withInt(message, messageLengthAt, negative)), "content");
            assertEquals("negative length " + negative + " of message content", e.getMessage());
        }
    }

    @Test
    void hugeColumnAndRelationCountsAreRejectedBeforeAllocation() {
        // Tuple column count 0xffff.
        byte[] insert = firstOfType("insert", 'I').data();
        MalformedMessageException e = assertRejectedWithoutAllocating(ByteBuffer.wrap(withShort(insert, 6, 0xffff)));
        assertTrue(e.getMessage().startsWith("tuple column list needs 65535 bytes"), e.getMessage());

        // Relation column count 0xffff.
        Frame relationFrame = firstOfType("insert", 'R');
        Relation relation = (Relation) decoder.decode(relationFrame.buffer());
        int countAt = 1 + 4 + utf8Length(relation.namespace()) + 1 + utf8Length(relation.name()) + 1 + 1;
        byte[] relationBytes = relationFrame.data();
        assertEquals(relation.columns().size(), ByteBuffer.wrap(relationBytes).getShort(countAt));
        e = assertRejectedWithoutAllocating(ByteBuffer.wrap(withShort(relationBytes, countAt, 0xffff)));
        assertTrue(e.getMessage().startsWith("relation column list needs 655350 bytes"), e.getMessage());

        // Truncate relation counts.
        byte[] truncate = firstOfType("truncate", 'T').data();
        e = assertRejectedWithoutAllocating(ByteBuffer.wrap(withInt(truncate, 1, 0x7fffffff)));
        assertTrue(e.getMessage().startsWith("truncate relation list needs 8589934588 bytes"), e.getMessage());
        e = assertMalformed(ByteBuffer.wrap(withInt(truncate, 1, -1)), "negative truncate count");
        assertEquals("Truncate: negative relation count -1", e.getMessage());
    }

    @Test
    void wrongMarkersAreRejected() {
        byte[] insert = firstOfType("insert", 'I').data();
        assertMessage("Insert: expected 'N', got 'K'", withByte(insert, 5, 'K'));
        assertMessage("unknown tuple column kind 'x' in column 1", withByte(insert, 8, 'x'));

        byte[] updateKey = firstOfType("update_key", 'U').data();
        assertEquals('K', (char) updateKey[5]);
        assertMessage("Update: expected 'N' before the new tuple, got 'X'", withByte(updateKey, 5, 'X'));
        byte[] updatePlain = firstOfType("update_plain", 'U').data();
        assertEquals('N', (char) updatePlain[5]);
        assertMessage("Update: expected 'N' before the new tuple, got '0x00'", withByte(updatePlain, 5, 0));

        byte[] delete = firstOfType("delete_key", 'D').data();
        assertMessage("Delete: expected 'K' or 'O', got 'N'", withByte(delete, 5, 'N'));

        Frame relationFrame = firstOfType("insert", 'R');
        Relation relation = (Relation) decoder.decode(relationFrame.buffer());
        int identityAt = 1 + 4 + utf8Length(relation.namespace()) + 1 + utf8Length(relation.name()) + 1;
        assertMessage("unknown replica identity 'x'", withByte(relationFrame.data(), identityAt, 'x'));

        byte[] type = firstOfType("types", 'Y').data();
        byte[] unterminated = Arrays.copyOf(type, type.length);
        unterminated[unterminated.length - 1] = 'x'; // the name's NUL
        MalformedMessageException e = assertMalformed(ByteBuffer.wrap(unterminated), "no NUL");
        assertTrue(e.getMessage().endsWith("is not NUL-terminated"), e.getMessage());
    }

    /**
     * Random corruption of real messages: whatever the bytes, the decoder returns a message or
     * throws {@link MalformedMessageException}; never another exception, never an Error.
     */
    @Test
    void randomMutationsYieldAMessageOrMalformedMessageException() {
        long seed = 0x5EED_2026L;
        Random random = new Random(seed);
        List<byte[]> corpus = new ArrayList<>();
        FIXTURES.values().forEach(frames -> frames.forEach(frame -> corpus.add(frame.data())));
        byte[] types = "BCORYIUDTMZSEcA".getBytes(StandardCharsets.US_ASCII);
        int decoded = 0;
        int malformed = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] message = corpus.get(random.nextInt(corpus.size()));
            int mutations = 1 + random.nextInt(3);
            for (int m = 0; m < mutations; m++) {
                message = mutate(message, random, types);
            }
            ByteBuffer buffer = i % 3 == 0 ? ByteBuffer.allocateDirect(message.length).put(message).flip()
                    : ByteBuffer.wrap(message);
            try {
                PgOutputMessage result = decoder.decode(buffer);
                assertNotNull(result);
                render(result);
                decoded++;
            } catch (MalformedMessageException e) {
                assertNotNull(e.getMessage());
                malformed++;
            } catch (Throwable t) {
                throw new AssertionError("mutation " + i + " (seed " + seed + ") threw " + t + " for "
                        + HexFormat.of().formatHex(message, 0, Math.min(message.length, 256)), t);
            }
        }
        // Both outcomes must be common, or the mutations are not exercising the decoder.
        assertTrue(decoded > 1_000, "decoded: " + decoded);
        assertTrue(malformed > 1_000, "malformed: " + malformed);
    }

    @Test
    void timestampsAndLsnsDecodeAcrossTheirWholeRange() {
        // Begin: final LSN, commit time (microseconds since 2000-01-01), xid.
        assertEquals(new Begin(LogSequenceNumber.valueOf(-1L), Instant.parse("2000-01-01T00:00:00Z"), -1),
                decoder.decode(ByteBuffer.allocate(21).put((byte) 'B').putLong(-1L).putLong(0L).putInt(-1).flip()));
        assertEquals(new Begin(LogSequenceNumber.valueOf(1L), Instant.parse("1999-12-31T23:59:59.999999Z"), 1),
                decoder.decode(ByteBuffer.allocate(21).put((byte) 'B').putLong(1L).putLong(-1L).putInt(1).flip()));
        Commit commit = (Commit) decoder.decode(ByteBuffer.allocate(26).put((byte) 'C').put((byte) 0)
                .putLong(0x16B3748L).putLong(0x16B3778L).putLong(Long.MAX_VALUE).flip());
        assertEquals("0/16B3748", commit.commitLsn().asString());
        assertEquals(Instant.ofEpochSecond(946_684_800L + Long.MAX_VALUE / 1_000_000L, 775_807_000L),
                commit.commitTime());
        Commit earliest = (Commit) decoder.decode(ByteBuffer.allocate(26).put((byte) 'C').put((byte) 0)
                .putLong(0).putLong(0).putLong(Long.MIN_VALUE).flip());
        assertEquals(Instant.ofEpochSecond(946_684_800L + Math.floorDiv(Long.MIN_VALUE, 1_000_000L),
                Math.floorMod(Long.MIN_VALUE, 1_000_000L) * 1_000L), earliest.commitTime());
    }

    @Test
    void deleteAndTruncateFromFixturesCarryTheirFlags() {
        List<Truncate> truncates = new ArrayList<>();
        for (PgOutputMessage message : decodeAll(FIXTURES.get("truncate"))) {
            if (message instanceof Truncate truncate) {
                truncates.add(truncate);
            }
        }
        assertEquals(4, truncates.size());
        assertEquals(List.of(true, false, false, true), truncates.stream().map(Truncate::cascade).toList());
        assertEquals(List.of(true, false, true, false), truncates.stream().map(Truncate::restartIdentity).toList());
        assertEquals(List.of(2, 2, 1, 1), truncates.stream().map(t -> t.relationIds().size()).toList());
        byte[] options = firstOfType("truncate", 'T').data();
        assertEquals(3, options[5], "CASCADE | RESTART IDENTITY on the wire");

        Delete delete = (Delete) decodeAll(FIXTURES.get("delete_full")).get(2);
        assertEquals(PgOutputMessage.OldTupleKind.FULL, delete.oldKind());
        assertEquals(TupleData.ofText("2", "b", null), delete.oldTuple());
    }

    @Test
    void logicalMessageContentIsRawBytes() {
        List<LogicalMessage> messages = new ArrayList<>();
        for (PgOutputMessage message : decodeAll(FIXTURES.get("message"))) {
            if (message instanceof LogicalMessage m) {
                messages.add(m);
            }
        }
        assertEquals(3, messages.size());
        assertEquals(List.of(true, false, false), messages.stream().map(LogicalMessage::transactional).toList());
        assertArrayEquals("hello".getBytes(StandardCharsets.UTF_8), messages.get(0).content());
        assertEquals(PgOutputScenarios.NON_TRANSACTIONAL_CONTENT,
                new String(messages.get(1).content(), StandardCharsets.UTF_8));
        assertArrayEquals(new byte[] {0x00, (byte) 0xff, 0x0a, (byte) 0x80}, messages.get(2).content());
        assertEquals("pgrelay.bin", messages.get(2).prefix());
    }

    // ---------------------------------------------------------------- helpers

    /** The capture's year, read from the README the IT wrote with the fixtures. */
    private static PgOutputScenarios.Window captureYear() {
        String readme = PgOutputFixtureFile.readTextResource("README.md");
        Matcher matcher = Pattern.compile("Captured: (\\d{4})-\\d{2}-\\d{2}").matcher(readme);
        assertTrue(matcher.find(), "README.md names the capture date");
        int year = Integer.parseInt(matcher.group(1));
        return new PgOutputScenarios.Window(LocalDate.of(year, 1, 1).atStartOfDay().toInstant(ZoneOffset.UTC),
                LocalDate.of(year + 1, 1, 1).atStartOfDay().toInstant(ZoneOffset.UTC));
    }

    private List<PgOutputMessage> decodeAll(List<Frame> frames) {
        List<PgOutputMessage> messages = new ArrayList<>();
        for (Frame frame : frames) {
            messages.add(decoder.decode(frame.buffer()));
        }
        return messages;
    }

    private static Frame firstOfType(String scenario, char type) {
        for (Frame frame : FIXTURES.get(scenario)) {
            if (frame.type() == type) {
                return frame;
            }
        }
        throw new AssertionError(scenario + ".bin has no '" + type + "' message");
    }

    private MalformedMessageException assertMalformed(ByteBuffer buffer, String what) {
        try {
            PgOutputMessage message = decoder.decode(buffer);
            throw new AssertionError(what + ": expected MalformedMessageException, decoded " + message);
        } catch (MalformedMessageException e) {
            assertNotNull(e.getMessage(), what);
            return e;
        } catch (AssertionError e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(what + ": expected MalformedMessageException, got " + t, t);
        }
    }

    private void assertMessage(String expected, byte[] message) {
        assertEquals(expected, assertMalformed(ByteBuffer.wrap(message), expected).getMessage());
    }

    /** Rejected, and the decoder allocated far less than the length it was offered. */
    private MalformedMessageException assertRejectedWithoutAllocating(ByteBuffer buffer) {
        // Warm up, so class loading and the first exception's costs are not counted.
        for (int i = 0; i < 3; i++) {
            assertMalformed(buffer.duplicate(), "warm-up");
        }
        long before = allocatedBytes();
        MalformedMessageException e = assertMalformed(buffer, "huge length");
        long after = allocatedBytes();
        if (before >= 0 && after >= 0) {
            assertTrue(after - before < 64 * 1024, "allocated " + (after - before) + " bytes to reject: " + e.getMessage());
        }
        return e;
    }

    /** Bytes allocated by this thread so far, or -1 where the JVM cannot tell. */
    private static long allocatedBytes() {
        if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean threads
                && threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled()) {
            return threads.getThreadAllocatedBytes(Thread.currentThread().getId());
        }
        return -1;
    }

    private static byte[] mutate(byte[] message, Random random, byte[] types) {
        byte[] out = message.clone();
        int n = out.length;
        switch (random.nextInt(9)) {
            case 0 -> { // random byte
                if (n > 0) {
                    out[random.nextInt(n)] = (byte) random.nextInt(256);
                }
            }
            case 1 -> { // bit flip
                if (n > 0) {
                    out[random.nextInt(n)] ^= (byte) (1 << random.nextInt(8));
                }
            }
            case 2 -> { // an interesting 32-bit value anywhere: lengths, counts
                if (n >= 4) {
                    int at = random.nextInt(n - 3);
                    int[] values = {0, 1, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, 0xffff, n, n - at, n - at - 4,
                        random.nextInt()};
                    out = withInt(out, at, values[random.nextInt(values.length)]);
                }
            }
            case 3 -> { // an interesting 16-bit value anywhere: column counts
                if (n >= 2) {
                    int[] values = {0, 1, 0x7fff, 0xffff, random.nextInt(16)};
                    out = withShort(out, random.nextInt(n - 1), values[random.nextInt(values.length)]);
                }
            }
            case 4 -> { // another message type over the same body
                if (n > 0) {
                    out[0] = types[random.nextInt(types.length)];
                }
            }
            case 5 -> { // cut
                out = Arrays.copyOf(out, random.nextInt(n + 1));
            }
            case 6 -> { // delete a range
                if (n > 1) {
                    int from = random.nextInt(n);
                    int to = Math.min(n, from + 1 + random.nextInt(8));
                    byte[] shorter = new byte[n - (to - from)];
                    System.arraycopy(out, 0, shorter, 0, from);
                    System.arraycopy(out, to, shorter, from, n - to);
                    out = shorter;
                }
            }
            case 7 -> { // insert random bytes
                int at = random.nextInt(n + 1);
                byte[] inserted = new byte[1 + random.nextInt(8)];
                random.nextBytes(inserted);
                byte[] longer = new byte[n + inserted.length];
                System.arraycopy(out, 0, longer, 0, at);
                System.arraycopy(inserted, 0, longer, at, inserted.length);
                System.arraycopy(out, at, longer, at + inserted.length, n - at);
                out = longer;
            }
            default -> { // a NUL or a marker byte somewhere: strings, tuple kinds
                if (n > 0) {
                    byte[] markers = {0, 'n', 'u', 't', 'b', 'N', 'K', 'O', 'd', 'f', 'i'};
                    out[random.nextInt(n)] = markers[random.nextInt(markers.length)];
                }
            }
        }
        return out;
    }

    private static byte[] withInt(byte[] message, int at, int value) {
        byte[] out = message.clone();
        ByteBuffer.wrap(out).putInt(at, value);
        return out;
    }

    private static byte[] withShort(byte[] message, int at, int value) {
        byte[] out = message.clone();
        ByteBuffer.wrap(out).putShort(at, (short) value);
        return out;
    }

    private static byte[] withByte(byte[] message, int at, int value) {
        byte[] out = message.clone();
        out[at] = (byte) value;
        return out;
    }

    private static byte[] withType(byte[] message, char type) {
        return withByte(message, 0, type);
    }

    private static int utf8Length(String text) {
        return text.getBytes(StandardCharsets.UTF_8).length;
    }

    /** Every field of a message, tuple values and message content included, for comparisons. */
    static String render(PgOutputMessage message) {
        if (message instanceof LogicalMessage m) {
            return "LogicalMessage[" + m.transactional() + ", " + m.lsn().asString() + ", " + m.prefix() + ", "
                    + HexFormat.of().formatHex(m.content()) + "]";
        }
        if (message instanceof Insert i) {
            return "Insert[" + i.relationId() + ", " + render(i.newTuple()) + "]";
        }
        if (message instanceof Update u) {
            return "Update[" + u.relationId() + ", " + u.oldKind() + ", " + render(u.oldTuple()) + ", "
                    + render(u.newTuple()) + "]";
        }
        if (message instanceof Delete d) {
            return "Delete[" + d.relationId() + ", " + d.oldKind() + ", " + render(d.oldTuple()) + "]";
        }
        return message.toString();
    }

    private static String render(TupleData tuple) {
        if (tuple == null) {
            return "null";
        }
        StringBuilder out = new StringBuilder("(");
        for (int i = 0; i < tuple.size(); i++) {
            out.append(i == 0 ? "" : ", ").append(tuple.kind(i));
            if (tuple.kind(i) == TupleData.Kind.TEXT) {
                out.append(':').append(tuple.text(i));
            }
        }
        return out.append(')').toString();
    }
}
