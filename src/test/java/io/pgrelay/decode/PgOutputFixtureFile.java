package io.pgrelay.decode;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * The framing of the captured pgoutput fixtures in {@code src/test/resources/pgoutput/*.bin}.
 *
 * <pre>
 *   file   = magic frame*
 *   magic  = the 8 ASCII bytes "PGOUT01\n"
 *   frame  = int64 lsn, int32 length, byte[length] message     (all big-endian)
 * </pre>
 *
 * {@code lsn} is the {@code lsn} column of {@code pg_logical_slot_peek_binary_changes} for the row,
 * {@code message} its {@code data} column: exactly one pgoutput message, type byte first.
 */
final class PgOutputFixtureFile {

    static final byte[] MAGIC = "PGOUT01\n".getBytes(StandardCharsets.US_ASCII);
    /** The resource folder, relative to the Maven basedir and to the test classpath root. */
    static final String RESOURCE_DIR = "pgoutput";

    /** One row of the slot: its LSN and the raw pgoutput message. */
    record Frame(long lsn, byte[] data) {
        Frame {
            data = data.clone();
        }

        @Override
        public byte[] data() {
            return data.clone();
        }

        ByteBuffer buffer() {
            return ByteBuffer.wrap(data.clone());
        }

        char type() {
            return data.length == 0 ? '?' : (char) data[0];
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Frame that && lsn == that.lsn && Arrays.equals(data, that.data);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(lsn) * 31 + Arrays.hashCode(data);
        }

        @Override
        public String toString() {
            String hex = HexFormat.of().formatHex(data, 0, Math.min(data.length, 64));
            return "Frame[" + type() + " @" + Long.toHexString(lsn) + ", " + data.length + " bytes: " + hex
                    + (data.length > 64 ? "..." : "") + "]";
        }
    }

    private PgOutputFixtureFile() {
    }

    static byte[] encode(List<Frame> frames) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bytes);
            out.write(MAGIC);
            for (Frame frame : frames) {
                byte[] data = frame.data();
                out.writeLong(frame.lsn());
                out.writeInt(data.length);
                out.write(data);
            }
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Frame> decode(byte[] file) {
        ByteBuffer in = ByteBuffer.wrap(file);
        byte[] magic = new byte[MAGIC.length];
        if (in.remaining() < magic.length) {
            throw new IllegalArgumentException("not a pgoutput fixture: too short");
        }
        in.get(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new IllegalArgumentException("not a pgoutput fixture: bad magic " + HexFormat.of().formatHex(magic));
        }
        List<Frame> frames = new ArrayList<>();
        while (in.hasRemaining()) {
            if (in.remaining() < 12) {
                throw new IllegalArgumentException("truncated frame header at offset " + in.position());
            }
            long lsn = in.getLong();
            int length = in.getInt();
            if (length < 0 || length > in.remaining()) {
                throw new IllegalArgumentException("frame length " + length + " at offset " + (in.position() - 4)
                        + " exceeds the " + in.remaining() + " bytes left");
            }
            byte[] data = new byte[length];
            in.get(data);
            frames.add(new Frame(lsn, data));
        }
        return frames;
    }

    static void write(Path file, List<Frame> frames) throws IOException {
        Files.createDirectories(file.getParent());
        Files.write(file, encode(frames));
    }

    static List<Frame> read(Path file) throws IOException {
        return decode(Files.readAllBytes(file));
    }

    /** Reads {@code pgoutput/NAME.bin} from the test classpath. */
    static List<Frame> readResource(String scenario) {
        String resource = "/" + RESOURCE_DIR + "/" + scenario + ".bin";
        try (InputStream in = PgOutputFixtureFile.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(resource + " is not on the test classpath; regenerate the fixtures"
                        + " with PgOutputFixtureCaptureIT and -Dpgrelay.capture=true");
            }
            return decode(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads a text file, e.g. the README, from {@code pgoutput/} on the test classpath. */
    static String readTextResource(String name) {
        String resource = "/" + RESOURCE_DIR + "/" + name;
        try (InputStream in = PgOutputFixtureFile.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(resource + " is not on the test classpath");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
