package io.pgrelay.feed.clients;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * A hand-written frontend of protocol 3.0, independent of pgjdbc and of the relay's own wire
 * classes: for what a library hides (keepalive contents, XLogData headers) and for what no
 * library would send (garbage). SCRAM-SHA-256 is implemented here from RFC 5802.
 */
final class RawFeedClient implements AutoCloseable {

    /** One backend message: its type byte and body. */
    record Message(char type, byte[] body) {
        ByteBuffer buffer() {
            return ByteBuffer.wrap(body);
        }

        /** For a CopyData: its first byte, 'w' (XLogData) or 'k' (keepalive). */
        char copyKind() {
            return (char) body[0];
        }
    }

    /** The fields of an ErrorResponse or NoticeResponse by code ('C' = SQLSTATE, 'M' = message, …). */
    static Map<Character, String> fields(Message message) {
        Map<Character, String> fields = new HashMap<>();
        ByteBuffer b = message.buffer();
        while (b.hasRemaining()) {
            byte code = b.get();
            if (code == 0) {
                break;
            }
            int start = b.position();
            while (b.get() != 0) {
                // to the terminator
            }
            fields.put((char) code, new String(message.body(), start, b.position() - start - 1, StandardCharsets.UTF_8));
        }
        return fields;
    }

    /** An ErrorResponse the server sent where the test expected success. */
    static final class ServerError extends Exception {
        private static final long serialVersionUID = 1L;
        final String sqlState;

        ServerError(Map<Character, String> fields) {
            super(fields.get('S') + " " + fields.get('C') + ": " + fields.get('M'));
            this.sqlState = fields.get('C');
        }
    }

    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;

    private RawFeedClient(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new DataInputStream(socket.getInputStream());
        this.out = new DataOutputStream(socket.getOutputStream());
    }

    static RawFeedClient connect(int port) throws IOException {
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
        socket.setSoTimeout(10_000);
        socket.setTcpNoDelay(true);
        return new RawFeedClient(socket);
    }

    /** Connects, logs in as a logical replication client of {@code database}, waits for ReadyForQuery. */
    static RawFeedClient login(int port, String user, String password) throws IOException, ServerError {
        RawFeedClient client = connect(port);
        try {
            Map<String, String> parameters = new LinkedHashMap<>();
            parameters.put("user", user);
            parameters.put("database", FeedFixture.DB);
            parameters.put("replication", "database");
            parameters.put("application_name", "pgrelay-it-raw");
            client.startup(parameters);
            client.authenticate(password);
            client.readUntilReady();
            return client;
        } catch (IOException | ServerError | RuntimeException | Error e) {
            client.close();
            throw e;
        }
    }

    Socket socket() {
        return socket;
    }

    void startup(Map<String, String> parameters) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        parameters.forEach((name, value) -> {
            body.writeBytes(cString(name));
            body.writeBytes(cString(value));
        });
        body.write(0);
        out.writeInt(8 + body.size());
        out.writeInt(3 << 16);
        body.writeTo(out);
        out.flush();
    }

    /** SCRAM-SHA-256 as the only mechanism the feed offers; fails on anything else. */
    void authenticate(String password) throws IOException, ServerError {
        Message m = expectAuthentication(10);
        String mechanisms = new String(m.body(), 4, m.body().length - 4, StandardCharsets.UTF_8);
        if (!mechanisms.contains("SCRAM-SHA-256")) {
            fail("feed offers " + mechanisms + ", not SCRAM-SHA-256");
        }
        byte[] nonceBytes = new byte[18];
        new SecureRandom().nextBytes(nonceBytes);
        String clientNonce = Base64.getEncoder().encodeToString(nonceBytes);
        String clientFirstBare = "n=,r=" + clientNonce;
        byte[] clientFirst = ("n,," + clientFirstBare).getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream initial = new ByteArrayOutputStream();
        initial.writeBytes(cString("SCRAM-SHA-256"));
        initial.writeBytes(ByteBuffer.allocate(4).putInt(clientFirst.length).array());
        initial.writeBytes(clientFirst);
        send('p', initial.toByteArray());

        m = expectAuthentication(11);
        String serverFirst = new String(m.body(), 4, m.body().length - 4, StandardCharsets.UTF_8);
        Map<String, String> attributes = scramAttributes(serverFirst);
        String nonce = attributes.get("r");
        if (nonce == null || !nonce.startsWith(clientNonce)) {
            fail("server nonce " + nonce + " does not extend the client nonce " + clientNonce);
        }
        byte[] salt = Base64.getDecoder().decode(attributes.get("s"));
        int iterations = Integer.parseInt(attributes.get("i"));
        byte[] salted = pbkdf2(password, salt, iterations);
        byte[] clientKey = hmac(salted, "Client Key");
        byte[] storedKey = sha256(clientKey);
        String withoutProof = "c=biws,r=" + nonce;
        String authMessage = clientFirstBare + "," + serverFirst + "," + withoutProof;
        byte[] signature = hmac(storedKey, authMessage);
        byte[] proof = new byte[clientKey.length];
        for (int i = 0; i < proof.length; i++) {
            proof[i] = (byte) (clientKey[i] ^ signature[i]);
        }
        send('p', (withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof)).getBytes(StandardCharsets.UTF_8));

        m = expectAuthentication(12);
        String serverFinal = new String(m.body(), 4, m.body().length - 4, StandardCharsets.UTF_8);
        byte[] expectedServerSignature = hmac(hmac(salted, "Server Key"), authMessage);
        assertArrayEquals(expectedServerSignature, Base64.getDecoder().decode(scramAttributes(serverFinal).get("v")),
                "the feed's SCRAM server signature does not prove it knows the password");
        expectAuthentication(0);
    }

    private Message expectAuthentication(int code) throws IOException, ServerError {
        Message m = readNoError();
        if (m.type() != 'R') {
            fail("expected Authentication (" + code + "), got '" + m.type() + "'");
        }
        assertEquals(code, m.buffer().getInt(), "authentication message code");
        return m;
    }

    /** Reads ParameterStatus, BackendKeyData, notices up to ReadyForQuery; returns the ParameterStatus values. */
    Map<String, String> readUntilReady() throws IOException, ServerError {
        Map<String, String> parameters = new HashMap<>();
        while (true) {
            Message m = readNoError();
            switch (m.type()) {
                case 'Z' -> {
                    return parameters;
                }
                case 'S' -> {
                    ByteBuffer b = m.buffer();
                    String name = cString(b);
                    parameters.put(name, cString(b));
                }
                case 'K', 'N' -> {
                    // nothing to do
                }
                default -> fail("unexpected message '" + m.type() + "' before ReadyForQuery");
            }
        }
    }

    /** Sends a simple query and returns every message up to and including ReadyForQuery. */
    List<Message> query(String sql) throws IOException {
        send('Q', cString(sql));
        List<Message> messages = new ArrayList<>();
        while (true) {
            Message m = read();
            messages.add(m);
            if (m.type() == 'Z') {
                return messages;
            }
        }
    }

    /** A query that must succeed: the DataRows' first values, or a ServerError. */
    List<List<String>> queryRows(String sql) throws IOException, ServerError {
        List<List<String>> rows = new ArrayList<>();
        for (Message m : query(sql)) {
            if (m.type() == 'E') {
                throw new ServerError(fields(m));
            }
            if (m.type() == 'D') {
                ByteBuffer b = m.buffer();
                int columns = b.getShort();
                List<String> row = new ArrayList<>();
                for (int i = 0; i < columns; i++) {
                    int length = b.getInt();
                    if (length < 0) {
                        row.add(null);
                    } else {
                        row.add(new String(m.body(), b.position(), length, StandardCharsets.UTF_8));
                        b.position(b.position() + length);
                    }
                }
                rows.add(row);
            }
        }
        return rows;
    }

    /** Sends START_REPLICATION and waits for CopyBothResponse. */
    void startReplication(String slot, String startLsn, String publication) throws IOException, ServerError {
        send('Q', cString("START_REPLICATION SLOT " + slot + " LOGICAL " + startLsn
                + " (proto_version '1', publication_names '" + publication + "')"));
        Message m = readNoError();
        if (m.type() != 'W') {
            fail("expected CopyBothResponse after START_REPLICATION, got '" + m.type() + "'");
        }
    }

    /** A standby status update ('r'). */
    void sendStatus(long received, long flushed, long applied, boolean replyRequested) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(34);
        b.put((byte) 'r').putLong(received).putLong(flushed).putLong(applied)
                .putLong(System.currentTimeMillis() * 1000 - 946_684_800_000_000L).put((byte) (replyRequested ? 1 : 0));
        send('d', b.array());
    }

    void send(char type, byte[] body) throws IOException {
        out.writeByte(type);
        out.writeInt(4 + body.length);
        out.write(body);
        out.flush();
    }

    void sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    /** The next message; EOFException when the server closed the connection. */
    Message read() throws IOException {
        int type = in.read();
        if (type < 0) {
            throw new EOFException("server closed the connection");
        }
        int length = in.readInt();
        if (length < 4 || length > (64 << 20)) {
            fail("server sent a message '" + (char) type + "' with impossible length " + length);
        }
        byte[] body = new byte[length - 4];
        in.readFully(body);
        return new Message((char) type, body);
    }

    private Message readNoError() throws IOException, ServerError {
        Message m = read();
        if (m.type() == 'E') {
            throw new ServerError(fields(m));
        }
        return m;
    }

    /**
     * Reads until the server ends the connection; returns the ErrorResponse it sent (if any) and
     * whether the connection was then closed. CopyData and other messages before it are skipped.
     */
    Ending readToEnd(int timeoutMillis) throws IOException {
        socket.setSoTimeout(timeoutMillis);
        Message error = null;
        try {
            while (true) {
                Message m = read();
                if (m.type() == 'E') {
                    error = m;
                }
            }
        } catch (EOFException | SocketException e) {
            return new Ending(error, true);
        } catch (SocketTimeoutException e) {
            return new Ending(error, false);
        }
    }

    /** How a connection ended: the last ErrorResponse and whether the server closed the socket. */
    record Ending(Message error, boolean closed) {
        String sqlState() {
            return error == null ? null : fields(error).get('C');
        }

        String severity() {
            return error == null ? null : fields(error).get('S');
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // nothing left to release
        }
    }

    static byte[] cString(String value) {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        byte[] terminated = new byte[bytes.length + 1];
        System.arraycopy(bytes, 0, terminated, 0, bytes.length);
        return terminated;
    }

    static String cString(ByteBuffer b) {
        int start = b.position();
        while (b.get() != 0) {
            // to the terminator
        }
        byte[] bytes = new byte[b.position() - start - 1];
        b.get(start, bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static Map<String, String> scramAttributes(String message) {
        Map<String, String> attributes = new HashMap<>();
        for (String part : message.split(",")) {
            int eq = part.indexOf('=');
            if (eq > 0) {
                attributes.put(part.substring(0, eq), part.substring(eq + 1));
            }
        }
        return attributes;
    }

    private static byte[] pbkdf2(String password, byte[] salt, int iterations) {
        try {
            return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256")
                    .generateSecret(new PBEKeySpec(password.toCharArray(), salt, iterations, 256)).getEncoded();
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] hmac(byte[] key, String message) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(message.getBytes(StandardCharsets.UTF_8));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
