package io.pgrelay.feed.wire;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Writes backend messages of protocol 3.0. Buffered: nothing reaches the client before
 * {@link #flush()}. Not thread-safe: one session thread owns it.
 */
public final class WireWriter {

    /** Type OIDs used in the few result sets the feed returns. */
    public static final int TEXT = 25;
    public static final int INT4 = 23;
    public static final int INT8 = 20;

    private final DataOutputStream out;

    public WireWriter(OutputStream out) {
        this.out = new DataOutputStream(new BufferedOutputStream(out, 64 * 1024));
    }

    /** A single byte, unframed: the answer to SSLRequest / GSSENCRequest ('S' or 'N'). */
    public void rawByte(char answer) throws IOException {
        out.write(answer);
        out.flush();
    }

    public void authenticationOk() throws IOException {
        authentication(0, new byte[0]);
    }

    public void authenticationSasl(String mechanism) throws IOException {
        byte[] name = mechanism.getBytes(StandardCharsets.UTF_8);
        byte[] body = new byte[name.length + 2];
        System.arraycopy(name, 0, body, 0, name.length);
        authentication(10, body);
    }

    public void authenticationSaslContinue(byte[] data) throws IOException {
        authentication(11, data);
    }

    public void authenticationSaslFinal(byte[] data) throws IOException {
        authentication(12, data);
    }

    private void authentication(int code, byte[] data) throws IOException {
        out.writeByte('R');
        out.writeInt(4 + 4 + data.length);
        out.writeInt(code);
        out.write(data);
    }

    public void parameterStatus(String name, String value) throws IOException {
        byte[] n = cString(name);
        byte[] v = cString(value);
        out.writeByte('S');
        out.writeInt(4 + n.length + v.length);
        out.write(n);
        out.write(v);
    }

    public void backendKeyData(int processId, int secretKey) throws IOException {
        out.writeByte('K');
        out.writeInt(12);
        out.writeInt(processId);
        out.writeInt(secretKey);
    }

    public void readyForQuery() throws IOException {
        out.writeByte('Z');
        out.writeInt(5);
        out.writeByte('I');
    }

    /** A column of a text result set. */
    public record Field(String name, int typeOid) {}

    public void rowDescription(List<Field> fields) throws IOException {
        int length = 4 + 2;
        for (Field field : fields) {
            length += cString(field.name()).length + 18;
        }
        out.writeByte('T');
        out.writeInt(length);
        out.writeShort(fields.size());
        for (Field field : fields) {
            out.write(cString(field.name()));
            out.writeInt(0);       // table oid
            out.writeShort(0);     // column number
            out.writeInt(field.typeOid());
            out.writeShort(-1);    // type size: variable
            out.writeInt(-1);      // type modifier
            out.writeShort(0);     // text format
        }
    }

    /** One row of text values; null is SQL NULL. */
    public void dataRow(List<String> values) throws IOException {
        int length = 4 + 2;
        byte[][] encoded = new byte[values.size()][];
        for (int i = 0; i < values.size(); i++) {
            String value = values.get(i);
            encoded[i] = value == null ? null : value.getBytes(StandardCharsets.UTF_8);
            length += 4 + (encoded[i] == null ? 0 : encoded[i].length);
        }
        out.writeByte('D');
        out.writeInt(length);
        out.writeShort(values.size());
        for (byte[] value : encoded) {
            if (value == null) {
                out.writeInt(-1);
            } else {
                out.writeInt(value.length);
                out.write(value);
            }
        }
    }

    public void commandComplete(String tag) throws IOException {
        byte[] t = cString(tag);
        out.writeByte('C');
        out.writeInt(4 + t.length);
        out.write(t);
    }

    public void emptyQueryResponse() throws IOException {
        out.writeByte('I');
        out.writeInt(4);
    }

    /** ErrorResponse (severity ERROR or FATAL) with SQLSTATE and message. */
    public void error(String severity, String sqlState, String message) throws IOException {
        notice('E', severity, sqlState, message);
    }

    public void notice(String sqlState, String message) throws IOException {
        notice('N', "NOTICE", sqlState, message);
    }

    private void notice(char type, String severity, String sqlState, String message) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        field(body, 'S', severity);
        field(body, 'V', severity);
        field(body, 'C', sqlState);
        field(body, 'M', message);
        body.write(0);
        out.writeByte(type);
        out.writeInt(4 + body.size());
        body.writeTo(out);
    }

    private static void field(ByteArrayOutputStream body, char code, String value) {
        body.write(code);
        body.writeBytes(cString(value));
    }

    /** Switches the session to streaming: CopyBothResponse, text format, no columns. */
    public void copyBothResponse() throws IOException {
        out.writeByte('W');
        out.writeInt(4 + 1 + 2);
        out.writeByte(0);
        out.writeShort(0);
    }

    public void copyDone() throws IOException {
        out.writeByte('c');
        out.writeInt(4);
    }

    /** XLogData: one pgoutput message at its upstream position. */
    public void xLogData(long dataStart, long walEnd, long sendTimeMicros, ByteBuffer payload) throws IOException {
        int size = payload.remaining();
        out.writeByte('d');
        out.writeInt(4 + 1 + 24 + size);
        out.writeByte('w');
        out.writeLong(dataStart);
        out.writeLong(walEnd);
        out.writeLong(sendTimeMicros);
        if (payload.hasArray()) {
            out.write(payload.array(), payload.arrayOffset() + payload.position(), size);
        } else {
            byte[] bytes = new byte[size];
            payload.duplicate().get(bytes);
            out.write(bytes);
        }
    }

    /** Primary keepalive: the end of what was sent, and whether the client must answer now. */
    public void keepalive(long walEnd, long sendTimeMicros, boolean replyRequested) throws IOException {
        out.writeByte('d');
        out.writeInt(4 + 1 + 17);
        out.writeByte('k');
        out.writeLong(walEnd);
        out.writeLong(sendTimeMicros);
        out.writeByte(replyRequested ? 1 : 0);
    }

    public void flush() throws IOException {
        out.flush();
    }

    private static byte[] cString(String value) {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        byte[] terminated = new byte[bytes.length + 1];
        System.arraycopy(bytes, 0, terminated, 0, bytes.length);
        return terminated;
    }
}
